"""Calls, their dialogue state between webhooks, and their turns; functions never commit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import add_or_get
from storage.models import SPEAKERS, Call, Turn


def open_call(
    session: Session,
    *,
    sid: str,
    from_number: str,
    to_number: str,
    now: datetime,
    menu_version_id: int | None,
    state: Mapping[str, Any],
    channel: str = "twilio",
) -> tuple[Call, bool]:
    """Return the call with this carrier sid, creating it if needed; the flag says whether it was created."""
    call = Call(
        sid=sid,
        from_number=from_number,
        to_number=to_number,
        channel=channel,
        started_at=now,
        status="in-progress",
        menu_version_id=menu_version_id,
        state=_snapshot(state),
        seq=0,
        updated_at=now,
    )
    return add_or_get(session, call, lambda: get_call(session, sid))


def _snapshot(state: Mapping[str, Any]) -> dict[str, Any]:
    """Deep, JSON-normalised copy, so a caller mutating its dict later cannot alter the stored value."""
    return dict(json.loads(json.dumps(state, ensure_ascii=False)))


def get_call(session: Session, sid: str, *, for_update: bool = False) -> Call | None:
    """Return the call with this carrier sid; for_update locks its row until the transaction ends."""
    query = select(Call).where(Call.sid == sid)
    if for_update:
        # SQLite renders no FOR UPDATE; its BEGIN IMMEDIATE already serialises writers.
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def idle_call_sids(session: Session, *, before: datetime, limit: int = 200) -> list[str]:
    """Carrier sids of calls still open whose row has not changed since `before`, oldest first."""
    query = (select(Call.sid).where(Call.ended_at.is_(None), Call.updated_at < before)
             .order_by(Call.updated_at).limit(limit))
    return list(session.scalars(query))


def save_step(
    session: Session, call: Call, *, state: Mapping[str, Any], response: str, now: datetime
) -> None:
    """Record one applied dialogue step: new state, the response sent, and the next seq."""
    call.seq = call.seq + 1
    call.state = _snapshot(state)
    call.last_response = response
    call.updated_at = now
    session.flush()


def add_turn(
    session: Session,
    call: Call,
    *,
    speaker: str,
    node: str | None = None,
    text: str | None = None,
    digits: str | None = None,
    confidence: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    recording_id: int | None = None,
    now: datetime,
) -> Turn:
    """Append a turn to a call, numbered after the call's last turn."""
    [turn] = add_turns(session, call, [dict(
        speaker=speaker, node=node, text=text, digits=digits, confidence=confidence, start_s=start_s,
        end_s=end_s, recording_id=recording_id,
    )], now=now)
    session.flush()
    return turn


def add_turns(session: Session, call: Call, turns: Sequence[Mapping[str, Any]], *, now: datetime) -> list[Turn]:
    """Append several turns in order with one numbering query; they are inserted at the next flush."""
    for fields in turns:
        if fields.get("speaker") not in SPEAKERS:
            raise ValueError(f"unknown speaker {fields.get('speaker')!r}; expected one of {', '.join(SPEAKERS)}")
    if not turns:
        return []
    last = session.scalar(select(func.max(Turn.seq)).where(Turn.call_id == call.id)) or 0
    rows = [Turn(call=call, seq=last + index, created_at=now, **fields) for index, fields in enumerate(turns, 1)]
    session.add_all(rows)
    return rows


def end_call(session: Session, call: Call, *, status: str, duration_s: int | None, now: datetime) -> bool:
    """Mark a call ended once; a repeat only fills in a missing duration. True when this call ended it."""
    if call.ended_at is not None:
        if call.duration_s is None and duration_s is not None:
            call.duration_s = duration_s
            call.updated_at = now
            session.flush()
        return False
    call.ended_at = now
    call.status = status
    call.duration_s = duration_s
    call.updated_at = now
    session.flush()
    return True


def place_bot_turns(session: Session, call: Call, spans: Sequence[tuple[float, float]]) -> None:
    """Set (start_s, end_s) on the call's latest bot turns that have no times yet, oldest first."""
    query = (select(Turn).where(Turn.call_id == call.id, Turn.speaker == "bot", Turn.start_s.is_(None))
             .order_by(Turn.seq.desc()).limit(len(spans)))
    turns = list(reversed(session.scalars(query).all()))
    for turn, (start_s, end_s) in zip(turns, spans[-len(turns):] if turns else [], strict=True):
        turn.start_s, turn.end_s = start_s, end_s
    session.flush()
