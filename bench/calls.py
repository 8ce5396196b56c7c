"""Voice-to-voice latency of concurrent calls by voice: N emulated callers against a running server.

Each call is a full report through the default menu over a Media Stream (`STEPS`): two keys
(report, flooding), a spoken description, a spoken place and a key to confirm; the server reads
the case number back and hangs up. The callers' utterances are synthesised once, before any call
starts, so the load generator spends its CPU on the streams, not on espeak-ng.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bench.stats import percentile
from ivr.twilio.emulator import CallResult, Emulator, Speak, parse_steps
from speech.synthesis import Synthesizer
from storage.db import make_engine
from storage.models import Call, Case

STEPS = (
    "press:1",  # report a problem
    "press:1",  # flooding
    'say:"Đường Nguyễn Hữu Cảnh ngập sâu nửa mét, xe chết máy nhiều."',
    'say:"phường Bến Thành"',
    "press:1",  # confirm: the case number is read back, then goodbye and the server hangs up
)
SPEECH_INPUTS = ("say", "record")
Out = Callable[[str], None]


class CachedSynthesizer:
    """A synthesiser that renders each text once and hands out copies of the WAV; thread-safe."""

    def __init__(self, inner: Synthesizer) -> None:
        self._inner = inner
        self._wavs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def warm(self, texts: Iterable[str]) -> None:
        """Render these texts now."""
        for text in texts:
            self._wav(text)

    def synthesize(self, text: str, path: Path) -> Path:
        """Write `text` spoken as a WAV file at `path` (rendered on first use only)."""
        path.write_bytes(self._wav(text))
        return path

    def _wav(self, text: str) -> bytes:
        with self._lock:
            if text not in self._wavs:
                with tempfile.TemporaryDirectory(prefix="hotline-bench-say-") as tmp:
                    self._wavs[text] = self._inner.synthesize(text, Path(tmp) / "say.wav").read_bytes()
            return self._wavs[text]


@dataclass(frozen=True)
class CallReport:
    """What one emulated call showed: its outcome, its problems and its turn latencies."""

    sid: str | None
    completed: bool
    streamed: bool
    errors: dict[str, int]
    speech_ms: list[float] = field(default_factory=list)
    keys_ms: list[float] = field(default_factory=list)
    unanswered: int = 0
    detail: str = ""


def judge(result: CallResult) -> CallReport:
    """Read one call's events: completed means one stream ended by the server, every step used, the
    server's hangup after the goodbye, status completed, and no error."""
    ended = [e for e in result.events if e["event"] == "stream_ended"]
    turns = result.of("turn")
    errors = {"emulator": len(result.errors),
              "http_5xx": sum(1 for r in result.requests if (r.get("status") or 0) >= 500),
              "dropped_streams": sum(1 for e in ended if e.get("by") != "server")}
    streamed = bool(result.of("stream_started"))
    completed = (streamed and result.status == "completed" and result.hung_up_by == "server"
                 and not result.unused_steps and not any(errors.values()))
    return CallReport(
        sid=result.sid, completed=completed, streamed=streamed, errors=errors,
        speech_ms=[t["latency_ms"] for t in turns if t["input"] in SPEECH_INPUTS and t["latency_ms"] is not None],
        keys_ms=[t["latency_ms"] for t in turns if t["input"] == "press" and t["latency_ms"] is not None],
        unanswered=sum(1 for t in turns if t["latency_ms"] is None),
        detail=_detail(result, streamed))


def _detail(result: CallResult, streamed: bool) -> str:
    how = "by voice" if streamed else "without a stream (keypad-and-record flow)"
    messages = [str(e.get("message", "")) for e in result.errors]
    return "; ".join([f"answered {how}, hung up by {result.hung_up_by}, status {result.status}", *messages[:2]])


def failed_call(error: BaseException) -> CallReport:
    """A call the emulator itself could not place or finish."""
    return CallReport(sid=None, completed=False, streamed=False, errors={"emulator": 1, "http_5xx": 0,
                      "dropped_streams": 0}, detail=f"{type(error).__name__}: {error}")


def place_calls(url: str, *, calls: int, auth_token: str, account_sid: str | None, synthesizer: Synthesizer,
                pace: float = 1.0, patience: float = 1.0, stagger_s: float = 1.0, steps: Sequence[str] = STEPS,
                out: Out = print) -> list[CallReport]:
    """Place `calls` calls at once (one thread each, the k-th starting k × stagger_s later)."""
    parsed = parse_steps(steps)
    cached = CachedSynthesizer(synthesizer)
    cached.warm(step.text for step in parsed if isinstance(step, Speak))
    reports: list[CallReport | None] = [None] * calls
    emulator = Emulator(url, auth_token, account_sid, synthesizer=cached, pause_scale=0.0,
                        media_pace=pace, media_patience=patience)
    finished: queue.Queue[int] = queue.Queue()  # indexes of ended calls: the caller's thread prints them

    def call(index: int) -> None:
        try:
            time.sleep(index * stagger_s)
            reports[index] = judge(emulator.call(parsed, caller=f"+849{index:08d}"))
        except Exception as error:  # the figures must still come out; the failure is counted and shown
            reports[index] = failed_call(error)
        finally:
            finished.put(index)

    threads = [threading.Thread(target=call, args=(index,), name=f"bench-call-{index}") for index in range(calls)]
    try:
        for thread in threads:
            thread.start()
        for _ in threads:
            index = finished.get()
            out(_progress(index, calls, reports[index]))
        for thread in threads:
            thread.join()
    finally:
        emulator.close()
    return [report or failed_call(RuntimeError("the call's thread ended without a report")) for report in reports]


def _progress(index: int, calls: int, report: CallReport | None) -> str:
    if report is None:
        return f"call {index + 1}/{calls}: no report"
    latencies = ", ".join(f"{ms:.0f}" for ms in report.speech_ms) or "-"
    return (f"call {index + 1}/{calls} {report.sid or '?'}: {'completed' if report.completed else 'NOT completed'}"
            f"; speech turns {latencies} ms" + ("" if report.completed else f" ({report.detail})"))


def database_figures(database_url: str | None, sids: Sequence[str], wait_s: float = 10.0) -> tuple[int | None, int | None]:
    """(cases filed for these CallSids, worst calls.backlog_ms_max), or (None, None) when the database
    cannot be read. Waits up to wait_s for every streamed call's backlog to be stored."""
    if not database_url or not _may_exist(database_url):
        return None, None
    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            with engine.connect() as conn:
                cases = conn.scalar(select(func.count(Case.id)).join(Call, Case.call_id == Call.id)
                                    .where(Call.sid.in_(sids)))
                backlogs = conn.scalars(select(Call.backlog_ms_max).where(Call.sid.in_(sids))).all()
            if all(b is not None for b in backlogs) or time.monotonic() > deadline:
                known = [b for b in backlogs if b is not None]
                return int(cases or 0), max(known) if known else None
            time.sleep(0.2)
    except SQLAlchemyError:
        return None, None
    finally:
        engine.dispose()


def _may_exist(database_url: str) -> bool:
    """False for a SQLite file that is not there (reading it would create an empty one)."""
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        return True
    return bool(url.database) and url.database != ":memory:" and Path(url.database).is_file()


def summarize(reports: Sequence[CallReport], *, cases: int | None, backlog_ms_max: int | None) -> dict[str, Any]:
    """The figures of one run; the first six keys are the JSON line's contract."""
    speech = [ms for report in reports for ms in report.speech_ms]
    keys = [ms for report in reports for ms in report.keys_ms]
    kinds = ("emulator", "http_5xx", "dropped_streams")
    errors = {kind: sum(report.errors.get(kind, 0) for report in reports) for kind in kinds}
    return {
        "calls": len(reports),
        "completed": sum(report.completed for report in reports),
        "cases": cases,
        "errors": sum(errors.values()),
        "voice_to_voice_ms": percentiles(speech),
        "backlog_ms_max": backlog_ms_max,
        "keys_ms": percentiles(keys),
        "speech_turns": len(speech),
        "unanswered_turns": sum(report.unanswered for report in reports),
        "streamed": sum(report.streamed for report in reports),
        "error_kinds": errors,
    }


def percentiles(samples: Sequence[float]) -> dict[str, float | None]:
    if not samples:
        return {"p50": None, "p95": None, "max": None}
    return {"p50": round(percentile(samples, 0.5), 1), "p95": round(percentile(samples, 0.95), 1),
            "max": round(max(samples), 1)}


def describe(figures: dict[str, Any]) -> str:
    """One line for people: outcome, latencies and backlog."""
    def ms(p: dict[str, float | None]) -> str:
        return "n/a" if p["p50"] is None else f"p50 {p['p50']:.0f} / p95 {p['p95']:.0f} / max {p['max']:.0f} ms"

    return (f"{figures['calls']} calls: {figures['completed']} completed, {figures['streamed']} by voice, "
            f"cases {figures['cases'] if figures['cases'] is not None else 'n/a'}, {figures['errors']} errors "
            f"{figures['error_kinds']}; voice-to-voice ({figures['speech_turns']} speech turns) "
            f"{ms(figures['voice_to_voice_ms'])}; keys {ms(figures['keys_ms'])}; "
            f"{figures['unanswered_turns']} turns unanswered; backlog max "
            f"{figures['backlog_ms_max'] if figures['backlog_ms_max'] is not None else 'n/a'} ms")
