"""Recordings registered once per carrier sid, and their fetch progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Call, Recording
from storage.recordings import add_recording, mark_failed, mark_stored, pending_recordings

MakeCall = Callable[..., Call]


def _add(session: Session, call: Call, sid: str, now: datetime, purpose: str = "description") -> Recording:
    return add_recording(
        session,
        call=call,
        sid=sid,
        remote_url=f"https://api.example/{sid}",
        duration_s=12.5,
        purpose=purpose,
        now=now,
    )


def test_add_recording_is_idempotent_by_sid(session: Session, make_call: MakeCall, now: datetime) -> None:
    call = make_call(session)
    first = _add(session, call, "RE1", now)
    session.commit()
    again = _add(session, call, "RE1", now + timedelta(seconds=30), purpose="location")
    session.commit()
    session.expire_all()
    rows = session.scalars(select(Recording)).all()
    assert [r.id for r in rows] == [first.id] == [again.id]
    stored = rows[0]
    assert (stored.call_id, stored.status, stored.purpose, stored.attempts) == (
        call.id,
        "pending",
        "description",
        0,
    )
    assert stored.created_at == now and stored.duration_s == 12.5
    assert [r.sid for r in session.get_one(Call, call.id).recordings] == ["RE1"]


def test_fetch_progress(session: Session, make_call: MakeCall, now: datetime) -> None:
    call = make_call(session)
    ok, flaky, dead = (
        _add(session, call, sid, now + timedelta(seconds=i)) for i, sid in enumerate(["RE1", "RE2", "RE3"])
    )
    later = now + timedelta(minutes=1)
    mark_stored(session, ok, "var/recordings/RE1.wav", later)
    mark_failed(session, flaky, "HTTP 404", later)
    for attempt in range(3):
        mark_failed(session, dead, f"timeout {attempt}", later, max_attempts=3)
    session.commit()
    session.expire_all()
    rows = {r.sid: r for r in session.scalars(select(Recording))}
    assert (rows["RE1"].status, rows["RE1"].local_path, rows["RE1"].attempts) == (
        "stored",
        "var/recordings/RE1.wav",
        1,
    )
    assert (rows["RE2"].status, rows["RE2"].last_error, rows["RE2"].attempts) == ("pending", "HTTP 404", 1)
    assert (rows["RE3"].status, rows["RE3"].last_error, rows["RE3"].attempts) == ("failed", "timeout 2", 3)
    assert rows["RE1"].updated_at == later
    assert [r.sid for r in pending_recordings(session)] == ["RE2"]


def test_pending_recordings_oldest_first_with_limit(
    session: Session, make_call: MakeCall, now: datetime
) -> None:
    call = make_call(session)
    for i, sid in enumerate(["RE-c", "RE-a", "RE-b"]):
        _add(session, call, sid, now - timedelta(minutes=i))
    session.commit()
    assert [r.sid for r in pending_recordings(session, limit=2)] == ["RE-b", "RE-a"]
