"""Menu versions stored once per (name, hash)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.menus import get_menu_version, latest_menu_version, record_menu_version
from storage.models import MenuVersion

YAML_V1 = "name: main\nnodes:\n  welcome:\n    say: Xin chào\n"
YAML_V2 = YAML_V1 + "  report:\n    say: Mời quý vị nói\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _record(
    session: Session, content: str, now: datetime, name: str = "main", author: str = "lan"
) -> MenuVersion:
    return record_menu_version(
        session, name=name, sha256=_sha(content), content=content, author=author, comment=None, now=now
    )


def test_same_text_is_stored_once(session: Session, now: datetime) -> None:
    first = _record(session, YAML_V1, now)
    session.commit()
    again = _record(session, YAML_V1, now + timedelta(hours=1), author="minh")
    other_menu = _record(session, YAML_V1, now, name="after_hours")
    session.commit()
    session.expire_all()
    rows = session.execute(
        select(MenuVersion.id, MenuVersion.name, MenuVersion.author).order_by(MenuVersion.id)
    ).all()
    assert again.id == first.id
    assert [tuple(r) for r in rows] == [(first.id, "main", "lan"), (other_menu.id, "after_hours", "lan")]
    stored = get_menu_version(session, first.id)
    assert stored is not None and stored.content == YAML_V1 and stored.created_at == now


def test_latest_menu_version(session: Session, now: datetime) -> None:
    assert latest_menu_version(session, "main") is None
    _record(session, YAML_V1, now)
    newer = _record(session, YAML_V2, now + timedelta(minutes=5))
    _record(session, YAML_V1, now + timedelta(minutes=9), name="after_hours")
    session.commit()
    session.expire_all()
    latest = latest_menu_version(session, "main")
    assert latest is not None and latest.id == newer.id and latest.content == YAML_V2
    assert get_menu_version(session, 9999) is None


def test_hash_must_look_like_sha256(session: Session, now: datetime) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        record_menu_version(
            session, name="main", sha256="ABC", content=YAML_V1, author="lan", comment=None, now=now
        )
