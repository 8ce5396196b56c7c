"""Stored texts of the admin-edited files and their publications (storage/config_versions.py)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from storage import config_versions as store

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_a_text_is_stored_once_per_file_and_hash(session: Session) -> None:
    first = store.record_version(session, "units.yaml", "units: []\n", "admin", "một", NOW)
    again = store.record_version(session, "units.yaml", "units: []\n", "other", "hai", NOW + timedelta(hours=1))
    elsewhere = store.record_version(session, "categories.yaml", "units: []\n", "admin", None, NOW)
    assert again.id == first.id and again.author == "admin"
    assert elsewhere.id != first.id
    assert first.sha256 == hashlib.sha256(b"units: []\n").hexdigest() == store.sha256_of("units: []\n")
    assert store.get_version(session, first.id) is first
    assert store.get_version(session, first.id + 100) is None


def test_the_latest_publication_is_live_and_history_is_newest_first(session: Session) -> None:
    assert store.live_publication(session, "units.yaml") is None and store.history(session, "units.yaml") == []
    old = store.record_version(session, "units.yaml", "a: 1\n", "admin", "cũ", NOW)
    new = store.record_version(session, "units.yaml", "a: 2\n", "admin", "mới", NOW)
    store.publish(session, "units.yaml", old, "admin", "cũ", NOW)
    store.publish(session, "units.yaml", new, "admin", "mới", NOW + timedelta(minutes=1))
    rollback = store.publish(session, "units.yaml", old, "lan", "Khôi phục", NOW + timedelta(minutes=2))
    same_time = store.publish(session, "units.yaml", new, "lan", "cùng lúc", NOW + timedelta(minutes=2))
    menu = store.record_version(session, "menus/main.yaml", "name: main\n", "admin", None, NOW)
    store.publish(session, "menus/main.yaml", menu, "admin", None, NOW + timedelta(minutes=5))
    session.commit()

    live = store.live_publication(session, "units.yaml")
    assert live is not None and live.id == same_time.id and live.version.sha256 == new.sha256
    assert [p.comment for p in store.history(session, "units.yaml")] == ["cùng lúc", "Khôi phục", "mới", "cũ"]
    assert rollback.version_id == old.id
    assert store.live_hashes(session) == {"units.yaml": (new.id, new.sha256),
                                          "menus/main.yaml": (menu.id, menu.sha256)}


def test_a_version_is_published_only_as_its_own_file(session: Session) -> None:
    version = store.record_version(session, "units.yaml", "a: 1\n", "admin", None, NOW)
    with pytest.raises(ValueError, match="not of categories.yaml"):
        store.publish(session, "categories.yaml", version, "admin", None, NOW)
