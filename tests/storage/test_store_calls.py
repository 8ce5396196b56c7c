"""Calls opened once per carrier sid, dialogue steps, turns and the end of a call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from storage.calls import add_turn, end_call, get_call, open_call, save_step
from storage.db import session_scope
from storage.models import Call, Turn

MakeCall = Callable[..., Call]


def _open(
    session: Session, now: datetime, sid: str = "CA1", state: dict[str, str] | None = None
) -> tuple[Call, bool]:
    return open_call(
        session,
        sid=sid,
        from_number="+84901234567",
        to_number="1022",
        now=now,
        menu_version_id=None,
        state=state or {"node": "start"},
    )


def test_open_call_creates_once(session: Session, now: datetime) -> None:
    first, created = _open(session, now)
    session.commit()
    again, created_again = _open(session, now + timedelta(seconds=5), state={"node": "other"})
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Call)).one()
    assert (created, created_again) == (True, False)
    assert again.id == first.id == stored.id
    assert stored.state == {"node": "start"} and stored.started_at == now
    assert (stored.seq, stored.status, stored.channel, stored.ended_at) == (0, "in-progress", "twilio", None)


def test_open_call_is_idempotent_under_concurrency(
    session_factory: sessionmaker[Session], now: datetime
) -> None:
    workers = 6
    barrier = threading.Barrier(workers)

    def open_once(_: int) -> tuple[int, bool]:
        barrier.wait()
        with session_scope(session_factory) as session:
            call, created = _open(session, now)
            return call.id, created

    with ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(open_once, range(workers)))
    with session_factory() as session:
        ids = session.scalars(select(Call.id)).all()
    assert len(ids) == 1
    assert {call_id for call_id, _ in results} == set(ids)
    assert sorted(created for _, created in results) == [False] * (workers - 1) + [True]


def test_get_call(session: Session, make_call: MakeCall) -> None:
    call = make_call(session, "CA-get")
    session.commit()
    assert get_call(session, "CA-get") is call
    assert get_call(session, "CA-get", for_update=True) is call
    assert get_call(session, "CA-none") is None


def test_save_step_counts_and_keeps_the_response(
    session: Session, make_call: MakeCall, now: datetime
) -> None:
    call = make_call(session)
    slots = {"category": "HT_NGAP"}
    state = {"node": "menu", "slots": slots}
    save_step(session, call, state=state, response="<Response>1</Response>", now=now + timedelta(seconds=3))
    session.commit()
    slots["category"] = "changed after saving"  # the dialogue core mutates its state in place
    save_step(session, call, state=state, response="<Response>2</Response>", now=now + timedelta(seconds=9))
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Call)).one()
    assert stored.seq == 2
    assert stored.state == {"node": "menu", "slots": {"category": "changed after saving"}}
    assert stored.last_response == "<Response>2</Response>"
    assert stored.updated_at == now + timedelta(seconds=9)


def test_turns_are_numbered_within_their_call(session: Session, make_call: MakeCall, now: datetime) -> None:
    one, two = make_call(session, "CA-1"), make_call(session, "CA-2")
    add_turn(session, one, speaker="bot", node="welcome", text="Xin chào", now=now)
    add_turn(session, two, speaker="bot", node="welcome", now=now)
    add_turn(
        session,
        one,
        speaker="caller",
        node="welcome",
        digits="1",
        confidence=None,
        start_s=1.5,
        end_s=2.0,
        now=now,
    )
    add_turn(session, one, speaker="caller", text="ngập nước", confidence=0.82, now=now)
    session.commit()
    session.expire_all()
    rows = session.execute(select(Turn.call_id, Turn.seq, Turn.speaker, Turn.digits).order_by(Turn.id)).all()
    assert [tuple(r) for r in rows] == [
        (one.id, 1, "bot", None),
        (two.id, 1, "bot", None),
        (one.id, 2, "caller", "1"),
        (one.id, 3, "caller", None),
    ]
    assert [t.seq for t in session.get_one(Call, one.id).turns] == [1, 2, 3]


def test_turn_speaker_is_checked(session: Session, make_call: MakeCall, now: datetime) -> None:
    call = make_call(session)
    with pytest.raises(ValueError, match="'operator'"):
        add_turn(session, call, speaker="operator", now=now)


def test_turn_numbers_are_unique_per_call(session: Session, make_call: MakeCall, now: datetime) -> None:
    call = make_call(session)
    add_turn(session, call, speaker="bot", now=now)
    session.add(Turn(call_id=call.id, seq=1, speaker="caller", created_at=now))
    with pytest.raises(IntegrityError):
        session.flush()


def test_end_call_once(session: Session, make_call: MakeCall, now: datetime) -> None:
    call = make_call(session)
    hung_up = now + timedelta(seconds=40)
    assert end_call(session, call, status="completed", duration_s=None, now=hung_up) is True
    session.commit()
    assert (
        end_call(session, call, status="failed", duration_s=41, now=hung_up + timedelta(seconds=5)) is False
    )
    assert (
        end_call(session, call, status="completed", duration_s=99, now=hung_up + timedelta(seconds=9))
        is False
    )
    session.commit()
    session.expire_all()
    stored = session.scalars(select(Call)).one()
    assert (stored.ended_at, stored.status, stored.duration_s) == (hung_up, "completed", 41)
    assert session.scalar(select(func.count()).select_from(Call)) == 1
