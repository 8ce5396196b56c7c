"""The audit log: who did what in the console, appended and never changed; functions never commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent


def record(session: Session, *, actor: str, action: str, now: datetime, target_type: str | None = None,
           target_id: str | None = None, detail: Mapping[str, Any] | None = None,
           remote_addr: str | None = None) -> AuditEvent:
    """Append one event (e.g. action "case.correct" on target ("case", "13"))."""
    event = AuditEvent(at=now, actor=actor, action=action, target_type=target_type, target_id=target_id,
                       detail=dict(detail) if detail else None, remote_addr=remote_addr)
    session.add(event)
    session.flush()
    return event


def recent(session: Session, *, limit: int = 200, target_type: str | None = None,
           target_id: str | None = None) -> list[AuditEvent]:
    """The latest events, newest first, optionally about one target."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)
    if target_type is not None:
        query = query.where(AuditEvent.target_type == target_type)
    if target_id is not None:
        query = query.where(AuditEvent.target_id == target_id)
    return list(session.scalars(query))


def session_ended(session: Session, session_id: str) -> bool:
    """Whether the console session with this id was logged out (its "logout" event names it)."""
    query = select(AuditEvent.id).where(AuditEvent.target_type == "session", AuditEvent.target_id == session_id,
                                        AuditEvent.action == "logout").limit(1)
    return session.scalar(query) is not None
