"""Webhook capacity: the incoming-call rate at which /twilio/voice keeps its p99 under 100 ms.

Open loop, as calls arrive in life: new calls' voice webhooks are sent at a fixed rate whatever the
server's answers do, each timed from the moment it was due (so a generator that falls behind counts
against the server, not in its favour). Rates step up until the p99 passes the limit or a request
fails; the figure is the last rate that held. The load generator shares the machine with the server.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

from bench.server import ACCOUNT, TOKEN, HotlineServer, call_params
from bench.stats import percentile

P99_LIMIT_MS = 100.0
RATES = (10, 20, 40, 60, 80, 100, 130, 160, 200, 250, 300)  # new calls per second
STEP_S = 10.0
SENDERS = 64


def at_rate(base: str, rate: float, seconds: float, *, token: str = TOKEN,
            account: str = ACCOUNT) -> tuple[list[float], int]:
    """Send voice webhooks at `rate` per second for `seconds`; (latencies in ms from when each was due, failures)."""
    url = base + "/twilio/voice"
    validator = RequestValidator(token)
    local = threading.local()
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def send(due: float) -> None:
        nonlocal failures
        params = call_params(account)
        http = getattr(local, "http", None) or requests.Session()
        local.http = http
        try:
            reply = http.post(url, data=params, timeout=15,
                              headers={"X-Twilio-Signature": validator.compute_signature(url, params)})
            ok = reply.status_code == 200
        except requests.RequestException:
            ok = False
        elapsed = (time.perf_counter() - due) * 1000
        with lock:
            latencies.append(elapsed)
            failures += not ok

    count = int(rate * seconds)
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for index in range(count):
            due = start + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(send, due)
    return latencies, failures


def search(base: str, rates: Sequence[float] = RATES, seconds: float = STEP_S,
           out: Callable[[str], None] = print) -> tuple[float | None, list[dict[str, float]]]:
    """Step the rate up; (the highest rate whose p99 stayed under the limit with no failure, every step)."""
    at_rate(base, 5, 2)  # warm the workers (imports, pools) before measuring
    held, steps = None, []
    for rate in rates:
        latencies, failures = at_rate(base, rate, seconds)
        step = {"rate": rate, "requests": len(latencies), "failures": failures,
                "p50_ms": round(percentile(latencies, 0.5), 1), "p99_ms": round(percentile(latencies, 0.99), 1)}
        steps.append(step)
        out(f"  {rate:>4} calls/s: p50 {step['p50_ms']:.0f} ms, p99 {step['p99_ms']:.0f} ms, {failures} failed")
        if failures or step["p99_ms"] > P99_LIMIT_MS:
            break
        held = rate
    return held, steps


def run(database_url: str, data_dir: Path, workers: int, out: Callable[[str], None] = print) -> float | None:
    """Start a server (speech off: the webhook's own cost) and search its capacity."""
    with HotlineServer(data_dir, database_url, workers=workers, env={"HOTLINE_SPEECH": "0"}) as server:
        server.wait_up(60)
        held, _ = search(server.base, out=out)
    return held
