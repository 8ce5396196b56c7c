"""Menus reload without a restart; a broken edit keeps the last good menu; calls keep their version."""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from config.settings import DEFAULT_MENU_DIR, Settings
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, call_row

BASE = "http://localhost"


@pytest.fixture
def menu_dir(tmp_path: Path) -> Path:
    target = tmp_path / "menus"
    shutil.copytree(DEFAULT_MENU_DIR, target)
    return target


@pytest.fixture
def live_app(settings: Settings, menu_dir: Path, make_app: MakeApp) -> Flask:
    app = make_app(dataclasses.replace(settings, menu_dir=menu_dir))
    app.extensions["hotline"].menus.check_every_s = 0.0
    return app


def post(app: Flask, path: str, **params: str) -> ElementTree.Element:
    form = {"CallSid": "CA" + "c" * 32, "AccountSid": ACCOUNT_SID, "From": "+84902222333", "To": "1022", **params}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(BASE + path, form)
    reply = app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature}, base_url=BASE)
    assert reply.status_code == 200
    return ElementTree.fromstring(reply.data)


def said(twiml: ElementTree.Element) -> str:
    return " ".join(el.text or "" for el in twiml.iter("Say"))


def edit(menu_dir: Path, old: str, new: str) -> None:
    path = menu_dir / "main.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_an_edit_is_live_for_new_calls_without_a_restart(live_app: Flask, menu_dir: Path) -> None:
    menus = live_app.extensions["hotline"].menus
    before = menus.current().version
    edit(menu_dir, "Xin chào, đây là đường dây nóng 1022", "Kính chào quý vị, đây là đường dây nóng 1022")
    assert menus.current().version != before
    assert "Kính chào quý vị" in said(post(live_app, "/twilio/voice"))


def test_a_broken_edit_keeps_the_last_good_menu(live_app: Flask, menu_dir: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    menus = live_app.extensions["hotline"].menus
    good = menus.current().version
    edit(menu_dir, "next: main_menu", "next: nowhere")
    with caplog.at_level(logging.ERROR):
        assert menus.current().version == good
    assert "'nowhere' is not a node" in caplog.text
    assert "Xin chào" in said(post(live_app, "/twilio/voice"))


def test_a_call_in_progress_finishes_on_the_version_it_started_with(live_app: Flask, menu_dir: Path,
                                                                     make_app: MakeApp) -> None:
    post(live_app, "/twilio/voice")
    started_on = call_row(live_app, "CA" + "c" * 32).menu_version_id
    edit(menu_dir, "Vui lòng chọn lĩnh vực cần phản ánh.", "Mời chọn lĩnh vực.")
    edit(menu_dir, "Sau tiếng bíp, quý vị vui lòng mô tả", "Mời quý vị mô tả")
    assert "Vui lòng chọn lĩnh vực cần phản ánh." in said(post(live_app, "/twilio/gather?seq=1", Digits="1"))
    assert call_row(live_app, "CA" + "c" * 32).menu_version_id == started_on

    # A fresh process (empty cache, new files on disk) still finds the call's version in the database.
    restarted = make_app(dataclasses.replace(live_app.extensions["hotline"].settings))
    assert "Sau tiếng bíp, quý vị vui lòng mô tả" in said(post(restarted, "/twilio/gather?seq=2", Digits="7"))
    call = call_row(restarted, "CA" + "c" * 32)
    assert call.seq == 3 and call.menu_version_id == started_on
