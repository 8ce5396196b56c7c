"""The webhook capacity search: open-loop sending at a rate, timed from when each request was due."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from bench.webhook_rate import at_rate, search
from config.settings import Settings
from serving import LocalServer
from storage.models import Call
from tests.e2e.support import ACCOUNT_SID, AUTH_TOKEN


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(Settings(data_dir=tmp_path / "var", database_url=db_url, twilio_account_sid=ACCOUNT_SID,
                              twilio_auth_token=AUTH_TOKEN, speech=False))
    yield app
    app.extensions["hotline"].close()


@pytest.fixture
def server(app: Flask) -> Iterator[LocalServer]:
    with LocalServer(app) as server:
        yield server


def test_calls_arrive_at_the_rate_asked_and_each_opens_a_call(app: Flask, server: LocalServer) -> None:
    latencies, failures = at_rate(server.url, 20, 1.0, token=AUTH_TOKEN, account=ACCOUNT_SID)
    assert failures == 0 and len(latencies) == 20
    assert all(ms > 0 for ms in latencies)
    with app.extensions["hotline"].sessions() as session:
        assert session.scalar(select(func.count(Call.id))) == 20, "every webhook was a new call the server kept"


def test_refused_requests_end_the_search_with_nothing_held(server: LocalServer) -> None:
    held, steps = search(server.url, rates=(5, 10), seconds=0.5, out=lambda line: None)  # bench's token: 403
    assert held is None and len(steps) == 1 and steps[0]["failures"] == steps[0]["requests"] > 0
