"""/readyz: 200 when the server can take calls, else 503 naming what is wrong; never hangs on the database."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

from flask import Flask

from config.catalog import load_catalog
from config.menu import load_menus
from config.settings import DEFAULT_MENU_DIR, PACKAGE_DIR, Settings
from observability.readiness import ConfigCheck, DatabaseProbe, speech_check
from speech.service import SpeechStatus
from tests.e2e.support import MakeApp


def test_a_healthy_server_without_a_speech_model_is_ready(app: Flask) -> None:
    reply = app.test_client().get("/readyz")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["ready"] is True and body["failed"] == []
    assert set(body["checks"]) == {"database", "speech", "config"}
    assert "not required" in body["checks"]["speech"]["detail"]


def test_an_unreachable_database_is_named(settings: Settings, tmp_path: Path, make_app: MakeApp) -> None:
    broken = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/missing/dir/hotline.db")
    reply = make_app(broken).test_client().get("/readyz")
    assert reply.status_code == 503
    body = reply.get_json()
    assert body["ready"] is False and not body["checks"]["database"]["ok"]
    assert body["failed"] == [body["checks"]["database"]["detail"]]
    assert "database refused SELECT 1" in body["failed"][0]


class _Hanging:
    """A session factory whose SELECT 1 waits until released, like a database behind a dropped route."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.opened = 0

    def __call__(self) -> _Hanging:
        self.opened += 1
        return self

    def __enter__(self) -> _Hanging:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def execute(self, statement: Any) -> None:
        self.release.wait(10)


def test_a_hanging_database_is_reported_within_the_timeout_and_not_probed_twice() -> None:
    sessions = _Hanging()
    probe = DatabaseProbe(sessions, timeout_s=0.2)  # type: ignore[arg-type]
    began = time.monotonic()
    first, second = probe.check(), probe.check()
    assert time.monotonic() - began < 2
    assert not first.ok and "did not answer SELECT 1 within 0.2 s" in first.detail and not second.ok
    assert sessions.opened == 1, "a probe still waiting is not started again"
    sessions.release.set()
    time.sleep(0.05)
    assert probe.check().ok


def test_speech_is_required_only_when_a_model_is_configured() -> None:
    loading = SpeechStatus(model_path="/m", ready=False, error=None, load_s=None, sample_rate=None, in_use=0, limit=4)
    assert speech_check(False, None).ok
    assert speech_check(False, loading).ok
    assert speech_check(True, loading) == speech_check(True, loading) and not speech_check(True, loading).ok
    assert "still loading" in speech_check(True, loading).detail
    failed = dataclasses.replace(loading, error="model directory is empty")
    assert "could not be loaded: model directory is empty" in speech_check(True, failed).detail
    assert speech_check(True, dataclasses.replace(loading, ready=True)).ok


def test_a_menu_naming_a_category_the_catalog_lost_is_not_ready(tmp_path: Path) -> None:
    catalog = load_catalog(PACKAGE_DIR)
    menu = load_menus(DEFAULT_MENU_DIR, categories=catalog.categories.keys())["main"]
    assert ConfigCheck(lambda: menu, lambda: catalog).check().ok
    smaller = dataclasses.replace(catalog, categories={})
    check = ConfigCheck(lambda: menu, lambda: smaller).check()
    assert not check.ok and check.detail.startswith("the live menu or catalog does not load")
