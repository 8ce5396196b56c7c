"""Recordings the carrier made for us and our progress fetching them; functions never commit."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storage.db import add_or_get
from storage.models import Call, Recording

MAX_ATTEMPTS = 5


def add_recording(
    session: Session,
    *,
    call: Call,
    sid: str,
    remote_url: str | None,
    duration_s: float | None,
    purpose: str | None,
    now: datetime,
) -> Recording:
    """Register a carrier recording as pending; a sid seen before returns the existing row."""
    # call_id, not call=: the relationship would cascade rec into the session before the SAVEPOINT.
    rec = Recording(
        call_id=call.id,
        sid=sid,
        remote_url=remote_url,
        duration_s=duration_s,
        purpose=purpose,
        status="pending",
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    found, _created = add_or_get(session, rec, lambda: _by_sid(session, sid))
    return found


def _by_sid(session: Session, sid: str) -> Recording | None:
    return session.scalars(select(Recording).where(Recording.sid == sid)).one_or_none()


def mark_stored(session: Session, rec: Recording, path: str, now: datetime) -> None:
    """Record that our own copy of the recording is at path."""
    rec.status = "stored"
    rec.local_path = path
    rec.attempts = rec.attempts + 1
    rec.last_error = None
    rec.updated_at = now
    session.flush()


def mark_failed(
    session: Session, rec: Recording, error: str, now: datetime, *, max_attempts: int = MAX_ATTEMPTS
) -> None:
    """Record a failed fetch; the recording stays pending until max_attempts fetches have failed."""
    rec.attempts = rec.attempts + 1
    rec.last_error = error
    rec.status = "failed" if rec.attempts >= max_attempts else "pending"
    rec.updated_at = now
    session.flush()


def pending_recordings(session: Session, limit: int = 100) -> list[Recording]:
    """Return recordings still to be fetched, oldest first."""
    query = (
        select(Recording)
        .where(Recording.status == "pending")
        .order_by(Recording.created_at, Recording.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def add_stream_recording(session: Session, *, call: Call, sid: str, path: str, now: datetime) -> Recording:
    """Register the stereo recording we write ourselves during a media stream (already stored locally)."""
    rec = add_recording(session, call=call, sid=sid, remote_url=None, duration_s=None, purpose="call", now=now)
    if rec.status != "stored":
        mark_stored(session, rec, path, now)
    return rec


def set_duration(session: Session, *, sid: str, duration_s: float, now: datetime) -> None:
    """Record how long a recording is, once known."""
    rec = _by_sid(session, sid)
    if rec is not None:
        rec.duration_s = duration_s
        rec.updated_at = now
        session.flush()


def set_transcript(session: Session, rec: Recording, text: str, confidence: float | None, now: datetime) -> None:
    """Keep what offline recognition heard in a recording ("" when it heard nothing)."""
    rec.transcript = text
    rec.transcript_confidence = confidence
    rec.updated_at = now
    session.flush()


def recordings_to_transcribe(session: Session, *, again: bool = False, skip_purposes: Collection[str] = (),
                             limit: int | None = None) -> list[Recording]:
    """Stored recordings without a transcript (with again: every stored one), oldest first."""
    query = select(Recording).where(Recording.status == "stored")
    if not again:
        query = query.where(Recording.transcript.is_(None))
    if skip_purposes:
        query = query.where(or_(Recording.purpose.is_(None), Recording.purpose.not_in(list(skip_purposes))))
    return list(session.scalars(query.order_by(Recording.created_at, Recording.id).limit(limit)))
