"""Several nodes on one database: a publication on one reaches the others' files and running registries."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app, utc_now
from console.config_files import ConfigFiles
from console.config_service import ConfigService
from storage import config_versions
from storage.db import make_engine, make_session_factory
from tests.console.config_support import config_settings, edited

MENU = "menus/main.yaml"
GREETING = "Xin chào, đây là đường dây nóng 1022"
MakeNode = Callable[[str], Flask]


@pytest.fixture
def make_node(db_url: str, tmp_path: Path) -> Iterator[MakeNode]:
    """Apps on the same database, each with its own copies of the YAML files (its own disk)."""
    nodes: list[Flask] = []

    def make(name: str) -> Flask:
        nodes.append(create_app(config_settings(db_url, tmp_path / name)))
        return nodes[-1]

    yield make
    for node in nodes:
        node.extensions["hotline"].close()


def menu_text(node: Flask) -> str:
    return (node.extensions["hotline"].settings.menu_dir / "main.yaml").read_text()


def test_a_publish_on_one_node_reaches_the_other_after_its_check(make_node: MakeNode) -> None:
    a, b = make_node("a"), make_node("b")
    one, other = a.extensions["hotline"], b.extensions["hotline"]
    text = edited(menu_text(a), GREETING, "Kính chào quý vị, đây là đường dây nóng 1022")
    one.config_service.publish(MENU, text, author="admin", comment="lời chào")
    assert menu_text(b) != text, "not before b checks"

    other.config_service.check_every_s = 0.0
    assert b.test_client().get("/login").status_code == 200  # a console page runs the check first (probes do not)
    assert menu_text(b) == text
    assert other.menus.current().version == config_versions.sha256_of(text)
    live = other.config_service.live(MENU)
    assert live.in_sync and live.publication is not None and live.publication.author == "admin"


def test_a_categories_publish_changes_understanding_on_every_node(make_node: MakeNode) -> None:
    a, b = make_node("a"), make_node("b")
    one, other = a.extensions["hotline"], b.extensions["hotline"]
    path = one.settings.config_dir / "categories.yaml"
    text = edited(path.read_text(), "    phrases:\n", '    phrases:\n      - {text: "con kỳ lân", weight: 3}\n')
    one.config_service.publish("categories.yaml", text, author="admin", comment="cụm từ mới")
    said = "có con kỳ lân chạy ngoài đường"
    assert one.service.understand(said).category == "HT_DUONG"
    assert other.service.understand(said).category == "KHAC"
    assert other.config_service.sync_from_database(force=True) == ["categories.yaml"]
    assert other.service.understand(said).category == "HT_DUONG"
    assert other.config_service.sync_from_database(force=True) == [], "nothing left to write"


def test_a_node_started_later_runs_what_was_published(make_node: MakeNode) -> None:
    a = make_node("a")
    text = edited(menu_text(a), GREETING, "Kính chào quý vị")
    a.extensions["hotline"].config_service.publish(MENU, text, author="admin", comment="lời chào")
    late = make_node("late")
    assert menu_text(late) == text
    assert late.extensions["hotline"].menus.current().version == config_versions.sha256_of(text)


def test_the_database_is_asked_at_most_every_check_every_s(make_node: MakeNode) -> None:
    a, b = make_node("a"), make_node("b")
    other = b.extensions["hotline"]
    other.config_service.check_every_s = 3600.0
    before = menu_text(b)
    a.extensions["hotline"].config_service.publish(MENU, edited(before, GREETING, "Kính chào"), author="admin",
                                                   comment="lời chào")
    b.test_client().get("/healthz")
    assert other.config_service.sync_from_database() == []
    assert menu_text(b) == before
    assert other.config_service.sync_from_database(force=True) == [MENU]


def test_a_published_text_that_does_not_load_here_keeps_the_running_menu(make_node: MakeNode,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    node = make_node("a")
    hotline = node.extensions["hotline"]
    running = hotline.menus.current().version
    broken = edited(menu_text(node), "next: report_category", "next: nowhere")
    with hotline.sessions.begin() as db:  # as an older node with other checks might have published it
        version = config_versions.record_version(db, MENU, broken, "admin", "cũ", hotline.service.clock())
        config_versions.publish(db, MENU, version, "admin", "cũ", hotline.service.clock())
    with caplog.at_level(logging.ERROR, logger="hotline"):
        assert hotline.config_service.sync_from_database(force=True) == [MENU]
    assert menu_text(node) == broken, "the database is the source of truth for the file"
    assert hotline.menus.current().version == running
    assert "'nowhere' is not a node" in caplog.text


def test_a_database_outage_leaves_the_files_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = config_settings(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", tmp_path)
    engine = make_engine(settings.database_url)
    files = ConfigFiles(settings.menu_dir, settings.config_dir)
    changed: list[str] = []
    service = ConfigService(make_session_factory(engine), files, utc_now, on_change=changed.append)
    before = files.read(MENU)
    with caplog.at_level(logging.WARNING, logger="console.config_service"):
        assert service.sync_from_database(force=True) == []
    engine.dispose()
    assert "published config not checked against the database" in caplog.text
    assert files.read(MENU) == before and changed == []
