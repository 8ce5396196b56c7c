"""The real app on a loopback port, a real database, and an emulated Twilio placing calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app import create_app
from config.settings import Settings
from ivr.twilio.emulator import CallResult, Emulator, parse_steps
from serving import LocalServer
from speech.synthesis import EspeakSynthesizer
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN, MakeApp, Phone


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_account_sid=ACCOUNT_SID,
                    twilio_auth_token=AUTH_TOKEN)


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """Build apps that are closed (background work finished, connections closed) after the test."""
    apps: list[Flask] = []

    def make(settings: Settings) -> Flask:
        apps.append(create_app(settings))
        return apps[-1]

    yield make
    for app in apps:
        app.extensions["hotline"].close()


@pytest.fixture
def app(settings: Settings, make_app: MakeApp) -> Flask:
    return make_app(settings)


@pytest.fixture
def server(app: Flask) -> Iterator[LocalServer]:
    with LocalServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def synthesizer() -> EspeakSynthesizer:
    return EspeakSynthesizer()


@pytest.fixture
def phone(server: LocalServer, synthesizer: EspeakSynthesizer) -> Phone:
    """Place one emulated call: phone("press:1", "hangup", operator="no-answer")."""

    def call(*steps: str, **options: Any) -> CallResult:
        events: list[dict[str, Any]] = []
        with Emulator(server.url, AUTH_TOKEN, ACCOUNT_SID, synthesizer=synthesizer, out=events.append,
                      **{"pause_scale": 0.0, **options}) as emulator:
            return emulator.call(parse_steps(steps))

    return call
