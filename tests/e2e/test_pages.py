"""The server's own pages: a Vietnamese status page and a health check."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from flask import Flask

from config.settings import Settings
from tests.e2e.support import MakeApp, signed_in


def test_index_page_is_vietnamese_and_names_the_webhook_urls(app: Flask) -> None:
    assert app.test_client().get("/").status_code == 302, "the status page is for logged-in users"
    reply = signed_in(app, "https://hotline.example.vn").get("/", base_url="https://hotline.example.vn")
    page = reply.get_data(as_text=True)
    assert reply.status_code == 200 and 'lang="vi"' in page
    assert "Máy chủ đang hoạt động" in page
    assert "https://hotline.example.vn/twilio/voice" in page and "https://hotline.example.vn/twilio/status" in page


def test_health_reports_the_database_and_the_menu(app: Flask) -> None:
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["database"] == "ok" and len(body["menu_version"]) == 64 and body["spooled"] == 0


def test_health_says_when_the_database_is_down(settings: Settings, tmp_path: Path, make_app: MakeApp) -> None:
    down = make_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path}/no/such/dir/x.db"))
    reply = down.test_client().get("/healthz")
    assert reply.status_code == 503 and reply.get_json()["database"] == "unavailable"


def test_without_a_speech_model_the_server_starts_and_says_how_to_install_one(
        settings: Settings, make_app: MakeApp, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotline"):
        app = make_app(settings)
    warnings = [r.getMessage() for r in caplog.records if "speech model" in r.getMessage()]
    assert warnings == ["no Vietnamese speech model: calls use the keypad-and-record flow; "
                        "install one with `hotline models install vi`"]
    assert app.test_client().get("/healthz").status_code == 200
