"""Recordings the carrier made for us and our progress fetching them; functions never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
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
