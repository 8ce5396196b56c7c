"""The soak test: many report calls, keypad and voice, against gunicorn, with faults; nothing may be lost.

`hotline bench soak --calls N --concurrency C [--faults]` starts `hotline serve` itself (several
workers, the database DATABASE_URL names: a fresh schema on PostgreSQL, a fresh file for SQLite),
places N calls C at a time through the default menu and, with --faults, injects:
- per call (a fixed share each, shuffled): the caller hanging up mid-call, Twilio retrying every
  callback, the status callback before the others, the Media Stream dropped mid-utterance;
- at random moments: two gunicorn workers killed (SIGKILL; the arbiter starts new ones) and the
  database unreachable for ten seconds (bench/faults.py).
Then it waits for the server to settle (spool replayed, every call ended) and reconciles every
CallSid it placed with the database (bench/reconcile.py).
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from bench.calls import STEPS, CachedSynthesizer, percentiles
from bench.faults import gate_for, kill_worker
from bench.reconcile import settle
from bench.server import ACCOUNT, TOKEN, HotlineServer, fresh_schema
from ivr.twilio.emulator import CallResult, Emulator, Speak, parse_steps
from speech.synthesis import Synthesizer

FAULTS = (None, None, "hangup", "retry", "status_first", "ws_drop")  # per-call faults, cycled then shuffled
OUTAGE_S = 10.0
WORKER_KILLS = 2
PATIENCE_S = 2.0  # a caller acts once the bot has been quiet this long (the menu's no-input timeout is 5 s)
IDLE_CALL_MINUTES = 2  # the server ends calls it has heard nothing of for this long (lost status callbacks)
Out = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """One call to place: what the caller does and which fault it meets."""

    index: int
    steps: tuple[str, ...]
    fault: str | None

    @property
    def caller(self) -> str:
        return f"+849{self.index:08d}"


@dataclass(frozen=True)
class Outcome:
    """What one call showed from the caller's side."""

    plan: Plan
    sid: str | None
    completed: bool
    streamed: bool
    http_5xx: int
    speech_ms: tuple[float, ...]
    error: str = ""
    unanswered: int = 0  # the caller's speech turns the bot had not answered when the caller went on
    events: tuple[dict, ...] = ()


def plan_calls(count: int, faults: bool, rng: random.Random) -> list[Plan]:
    """The calls of a run; with faults, each per-call fault is given to its share of them."""
    kinds = [FAULTS[index % len(FAULTS)] for index in range(count)] if faults else [None] * count
    rng.shuffle(kinds)
    plans = []
    for index, fault in enumerate(kinds):
        steps = list(STEPS)
        if fault == "hangup":
            steps = steps[: rng.randrange(len(steps))] + ["hangup"]
        elif fault == "ws_drop":
            steps.insert(2, steps[2])  # the cut utterance is said again when the question comes back
        plans.append(Plan(index, tuple(steps), fault))
    return plans


def place(emulator: Emulator, plan: Plan) -> Outcome:
    """Place one planned call and judge it from the caller's side."""
    try:
        result = emulator.call(parse_steps(plan.steps), caller=plan.caller,
                               duplicate_callbacks=plan.fault == "retry" or None,
                               status_callback_first=plan.fault == "status_first" or None,
                               drop_stream_at=1 if plan.fault == "ws_drop" else None)
    except Exception as error:  # the run must go on and count it
        return Outcome(plan, None, False, False, 0, (), f"{type(error).__name__}: {error}")
    return judge(plan, result)


def judge(plan: Plan, result: CallResult) -> Outcome:
    """Completed: the server ended the call after its goodbye, with every step of the caller used."""
    completed = result.status == "completed" and result.hung_up_by == "server" and not result.unused_steps
    spoken = [t["latency_ms"] for t in result.of("turn") if t["input"] in ("say", "record")]
    speech = tuple(ms for ms in spoken if ms is not None)
    return Outcome(plan, result.sid, completed, bool(result.of("stream_started")),
                   sum(1 for r in result.requests if (r.get("status") or 0) >= 500), speech,
                   events=tuple(result.events) + tuple(result.requests), unanswered=len(spoken) - len(speech))


class Injector:
    """Server-wide faults, each fired as the call with a chosen index starts."""

    def __init__(self, server: HotlineServer, gate: Any, count: int, concurrency: int, rng: random.Random,
                 out: Out) -> None:
        self.server, self.gate, self.rng, self.out = server, gate, rng, out
        first = min(max(concurrency, count // 10), count - 3)  # after the first calls are under way
        moments = rng.sample(range(max(1, first), max(2, count - count // 10)), k=min(3, max(1, count - 2)))
        self.kills = set(moments[1:1 + WORKER_KILLS])
        self.outage_at = moments[0]
        self.fired: Counter[str] = Counter()
        self._threads: list[threading.Thread] = []

    def call_starting(self, index: int) -> None:
        if index in self.kills:
            pid = kill_worker(self.server.pid, self.rng)
            self.out(f"  fault: worker {pid} killed as call {index + 1} starts")
            self.fired["worker_kills"] += pid is not None
        if index == self.outage_at:
            self.out(f"  fault: database unreachable for {OUTAGE_S:g} s from call {index + 1}")
            self.fired["db_outages"] += 1
            thread = threading.Thread(target=self.gate.outage, args=(OUTAGE_S,), name="db-outage")
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


def run(*, calls: int, concurrency: int, faults: bool, database_url: str, workers: int, seed: int,
        synthesizer: Synthesizer, model: Path | None, pace: float = 1.0, keep: Path | None = None,
        out: Out = print) -> dict[str, Any]:
    """Run a soak and return its figures (see module docstring). keep: a directory that receives the
    server's log and every call's emulator events (calls.jsonl); otherwise they go with the run."""
    rng = random.Random(seed)
    began = time.monotonic()
    say = out
    out = lambda line: say(f"[{time.monotonic() - began:6.1f} s] {line}")  # noqa: E731
    postgres = make_url(database_url).get_backend_name() != "sqlite"
    with tempfile.TemporaryDirectory(prefix="hotline-soak-") as tmp:
        real_url = fresh_schema(database_url, "soak") if postgres else f"sqlite:///{tmp}/soak.db"
        gate = gate_for(real_url)
        env = {"HOTLINE_IDLE_CALL_MINUTES": str(IDLE_CALL_MINUTES), "HOTLINE_SPEECH": "1" if model else "0"}
        if model is not None:
            env["VOSK_MODEL_PATH"] = str(model)
        plans = plan_calls(calls, faults, rng)
        cached = CachedSynthesizer(synthesizer)
        cached.warm({step.text for plan in plans for step in parse_steps(plan.steps) if isinstance(step, Speak)})
        started = time.monotonic()
        try:
            with HotlineServer(Path(tmp), gate.url, workers=workers, env=env, migrate_url=real_url) as server:
                server.wait_up(120, speech=model is not None, workers=workers)
                out(f"  server up at {server.base}; placing {calls} calls, {concurrency} at a time")
                injector = Injector(server, gate, calls, concurrency, rng, out) if faults else None
                outcomes = _place_all(server.base, plans, concurrency, cached, pace, injector, out)
                if injector is not None:
                    injector.join()
                out("  all calls placed; waiting for the server to settle")
                settled = settle(real_url, [o.sid for o in outcomes if o.sid], server.spool_dir,
                                 wait_s=IDLE_CALL_MINUTES * 60 + 120, out=out)
                tracebacks = server.log_path.read_text(errors="replace").count("Traceback")
                if keep is not None:
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(server.log_path, keep / "server.log")
                    with (keep / "calls.jsonl").open("w") as events:
                        for outcome in outcomes:
                            events.write(json.dumps({"index": outcome.plan.index, "sid": outcome.sid,
                                                     "fault": outcome.plan.fault, "steps": outcome.plan.steps,
                                                     "completed": outcome.completed, "error": outcome.error,
                                                     "events": outcome.events}, ensure_ascii=False) + "\n")
        finally:
            gate.close()
        return _figures(outcomes, settled, injector.fired if faults and injector else Counter(),
                        time.monotonic() - started, postgres, workers, tracebacks)


def _place_all(base: str, plans: list[Plan], concurrency: int, synthesizer: Synthesizer, pace: float,
               injector: Injector | None, out: Out) -> list[Outcome]:
    outcomes: list[Outcome | None] = [None] * len(plans)
    slots = threading.Semaphore(concurrency)
    done = 0
    lock = threading.Lock()
    emulator = Emulator(base, TOKEN, ACCOUNT, synthesizer=synthesizer, pause_scale=0.0, media_pace=pace,
                        media_patience=PATIENCE_S * pace)

    def call(plan: Plan) -> None:
        nonlocal done
        try:
            outcomes[plan.index] = place(emulator, plan)
        finally:
            slots.release()
            with lock:
                done += 1
                if done % max(1, len(plans) // 10) == 0:
                    out(f"  {done}/{len(plans)} calls ended")

    threads = []
    try:
        for plan in plans:
            slots.acquire()
            if injector is not None:
                injector.call_starting(plan.index)
            thread = threading.Thread(target=call, args=(plan,), name=f"soak-call-{plan.index}")
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    finally:
        emulator.close()
    return [o or Outcome(p, None, False, False, 0, (), "no outcome") for o, p in zip(outcomes, plans)]


def _figures(outcomes: list[Outcome], settled: Any, fired: Counter[str], wall_s: float, postgres: bool,
             workers: int, tracebacks: int) -> dict[str, Any]:
    speech = [ms for o in outcomes for ms in o.speech_ms]
    unplaced = [o for o in outcomes if o.sid is None]
    per_call = Counter(o.plan.fault or "none" for o in outcomes)
    return {
        "calls": len(outcomes),
        "completed": sum(o.completed for o in outcomes),
        "cases": settled.cases,
        "incomplete_cases": settled.incomplete_cases,
        "lost": len(settled.lost) + len(unplaced),
        "duplicates": settled.duplicates,
        "errors_5xx": sum(o.http_5xx for o in outcomes),
        "voice_to_voice_ms": percentiles(speech),
        "speech_turns": len(speech),
        "unanswered_speech_turns": sum(o.unanswered for o in outcomes),
        "streamed": sum(o.streamed for o in outcomes),
        "clean_calls": per_call["none"],
        "clean_completed": sum(o.completed for o in outcomes if o.plan.fault is None),
        "faults": {**{k: v for k, v in per_call.items() if k != "none"}, **fired},
        "unended_calls": settled.unended,
        "spool_left": settled.spooled,
        "server_tracebacks": tracebacks,
        "lost_sids": settled.lost[:20],
        "emulator_errors": [o.error for o in unplaced][:5],
        "database": "postgresql" if postgres else "sqlite",
        "workers": workers,
        "wall_s": round(wall_s, 1),
    }


def describe(figures: dict[str, Any]) -> str:
    """One line for people."""
    v2v = figures["voice_to_voice_ms"]
    latency = "n/a" if v2v["p50"] is None else f"p50 {v2v['p50']:.0f} / p95 {v2v['p95']:.0f} ms"
    latency += f" over {figures['speech_turns']} answered speech turns ({figures['unanswered_speech_turns']} unanswered)"
    return (f"soak on {figures['database']} ({figures['workers']} workers): {figures['calls']} calls, "
            f"{figures['completed']} completed ({figures['clean_completed']}/{figures['clean_calls']} without "
            f"per-call faults), {figures['streamed']} by voice, {figures['cases']} cases "
            f"({figures['incomplete_cases']} incomplete); lost {figures['lost']}, duplicates "
            f"{figures['duplicates']}, 5xx {figures['errors_5xx']}; voice-to-voice {latency}; faults "
            f"{figures['faults']}; {figures['wall_s']:.0f} s")
