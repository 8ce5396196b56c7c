"""Webhook latency under concurrent load: gunicorn serving the real app, emulated callers hitting it.

Each virtual caller runs the first steps of a report call as Twilio would: the incoming-call
webhook, two keypad gathers, then the completed status callback (which files an incomplete case).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import requests
from twilio.request_validator import RequestValidator

from bench.server import TOKEN, HotlineServer, call_params


def start_gunicorn(database_url: str, data_dir: Path, workers: int) -> HotlineServer:
    """Migrate, then start `hotline serve` (gunicorn) on a free port; leave the block to stop it."""
    server = HotlineServer(data_dir, database_url, workers=workers).__enter__()
    try:
        server.wait_up(30)
    except RuntimeError:
        server.__exit__()
        raise
    return server


def run_load(base: str, *, callers: int, calls_per_caller: int) -> dict[str, list[float]]:
    """Run callers threads, each placing calls_per_caller short calls; latency samples per endpoint."""
    samples: dict[str, list[float]] = defaultdict(list)
    lock = threading.Lock()
    validator = RequestValidator(TOKEN)

    def post(http: requests.Session, path: str, params: dict[str, str], name: str) -> None:
        url = base + path
        headers = {"X-Twilio-Signature": validator.compute_signature(url, params)}
        started = time.perf_counter()
        reply = http.post(url, data=params, headers=headers, timeout=15)
        elapsed = time.perf_counter() - started
        reply.raise_for_status()
        with lock:
            samples[name].append(elapsed)

    def caller() -> None:
        with requests.Session() as http:
            for _ in range(calls_per_caller):
                params = call_params(CallStatus="in-progress")
                post(http, "/twilio/voice", params, "voice")
                post(http, "/twilio/gather?seq=1", {**params, "Digits": "1"}, "gather")
                post(http, "/twilio/gather?seq=2", {**params, "Digits": "1"}, "gather")
                post(http, "/twilio/status", {**params, "CallStatus": "completed", "CallDuration": "20"}, "status")

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    samples["_wall"] = [time.perf_counter() - started]
    return samples
