"""A whole report by voice alone, with the real Vietnamese model (run where VOSK_MODEL_PATH points at it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from config.settings import Settings
from ivr.twilio.emulator import Emulator, parse_steps
from serving import LocalServer
from speech.recognition import shared_model
from speech.synthesis import EspeakSynthesizer
from tests.conftest import NEEDS_VIETNAMESE_MODEL
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, call_row


def _vietnamese_model() -> Path | None:
    raw = os.environ.get("VOSK_MODEL_PATH", "").strip()
    if not raw or not Path(raw).is_dir():
        return None
    knows = shared_model(Path(raw)).vosk_model_find_word("phường") != -1
    return Path(raw) if knows else None


MODEL = _vietnamese_model()
pytestmark = pytest.mark.skipif(MODEL is None, reason=NEEDS_VIETNAMESE_MODEL)


@pytest.fixture
def vietnamese_app(settings: Settings, make_app: MakeApp) -> Iterator[Flask]:
    app = make_app(replace(settings, vosk_model_path=MODEL))
    assert app.extensions["hotline"].speech.load()
    yield app


def test_a_report_by_voice_alone(vietnamese_app: Flask, synthesizer: EspeakSynthesizer) -> None:
    events: list[dict[str, Any]] = []
    steps = ['say:"phản ánh"', 'say:"ngập nước"', 'say:"Nước ngập sâu nửa mét trên đường Nguyễn Hữu Cảnh"',
             'say:"phường Bến Thành"', 'say:"đúng rồi"']
    with LocalServer(vietnamese_app) as server, Emulator(
            server.url, AUTH_TOKEN, ACCOUNT_SID, synthesizer=synthesizer, out=events.append, pause_scale=0.0,
            media_pace=1.0, media_patience=2.0) as emulator:
        result = emulator.call(parse_steps(steps))
    case = call_row(vietnamese_app, result.sid).case
    assert case is not None and case.status == "new" and case.category == "HT_NGAP"
    assert case.ward is not None and "Bến Thành" in case.ward
