"""Every menu text the hotline has run, so a call can be traced to its menu; functions never commit."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import add_or_get
from storage.models import MenuVersion

_SHA256 = re.compile(r"[0-9a-f]{64}")


def record_menu_version(
    session: Session, *, name: str, sha256: str, content: str, author: str, comment: str | None, now: datetime
) -> MenuVersion:
    """Store a menu text under its hash; the same name and hash again returns the stored row."""
    if _SHA256.fullmatch(sha256) is None:
        raise ValueError(f"menu {name!r}: sha256 {sha256!r} is not 64 lowercase hex digits")
    version = MenuVersion(
        name=name, sha256=sha256, content=content, author=author, comment=comment, created_at=now
    )
    found, _created = add_or_get(session, version, lambda: _by_hash(session, name, sha256))
    return found


def _by_hash(session: Session, name: str, sha256: str) -> MenuVersion | None:
    query = select(MenuVersion).where(MenuVersion.name == name, MenuVersion.sha256 == sha256)
    return session.scalars(query).one_or_none()


def get_menu_version(session: Session, id: int) -> MenuVersion | None:
    """Return the menu version with this id."""
    return session.get(MenuVersion, id)


def latest_menu_version(session: Session, name: str) -> MenuVersion | None:
    """Return the most recently recorded version of the named menu."""
    query = (
        select(MenuVersion)
        .where(MenuVersion.name == name)
        .order_by(MenuVersion.created_at.desc(), MenuVersion.id.desc())
        .limit(1)
    )
    return session.scalars(query).first()
