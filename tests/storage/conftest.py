"""Shared values for storage tests: a fixed local time and a way to open calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from storage.calls import open_call
from storage.db import session_scope
from storage.models import Call

MakeCall = Callable[..., Call]


@pytest.fixture
def now() -> datetime:
    """09:30 on 1 July 2025 in Ho Chi Minh City (02:30 UTC)."""
    return datetime(2025, 7, 1, 9, 30, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture
def make_call(now: datetime) -> MakeCall:
    """Open a call in the given session (not committed) and return it."""

    def make(session: Session, sid: str = "CA0001", from_number: str = "+84901234567") -> Call:
        call, _created = open_call(
            session,
            sid=sid,
            from_number=from_number,
            to_number="1022",
            now=now,
            menu_version_id=None,
            state={"node": "start"},
        )
        return call

    return make


@pytest.fixture
def call_id(session_factory: sessionmaker[Session], make_call: MakeCall) -> int:
    """Id of a committed call, so that concurrent sessions can refer to it."""
    with session_scope(session_factory) as session:
        return make_call(session).id
