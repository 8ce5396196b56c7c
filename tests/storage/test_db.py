"""Engine set-up, the UTC timestamp type and the session scope."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from storage.db import session_scope
from storage.models import Call, Turn

MakeCall = Callable[..., Call]


def test_local_time_comes_back_as_the_same_instant_in_utc(
    session_factory: sessionmaker[Session], make_call: MakeCall, now: datetime
) -> None:
    with session_scope(session_factory) as session:
        make_call(session)
    with session_factory() as session:
        started = session.scalars(select(Call.started_at)).one()
    assert started.tzinfo == UTC
    assert started == now
    assert (started.hour, started.minute) == (2, 30)


def test_utc_is_what_the_database_holds(
    session_factory: sessionmaker[Session], engine: Engine, make_call: MakeCall
) -> None:
    with session_scope(session_factory) as session:
        make_call(session)
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT started_at FROM calls")).scalar_one()
    if engine.dialect.name == "sqlite":
        assert raw.startswith("2025-07-01 02:30:00")
    else:
        assert raw == datetime(2025, 7, 1, 2, 30, tzinfo=UTC)


def test_comparisons_use_the_instant(
    session_factory: sessionmaker[Session], make_call: MakeCall, now: datetime
) -> None:
    with session_scope(session_factory) as session:
        make_call(session)
    same_instant_elsewhere = now.astimezone(timezone(timedelta(hours=-5)))
    with session_factory() as session:
        later = select(Call.id).where(Call.started_at > same_instant_elsewhere - timedelta(seconds=1))
        assert len(session.scalars(later).all()) == 1
        assert session.scalars(select(Call.id).where(Call.started_at > same_instant_elsewhere)).all() == []


def test_naive_datetime_is_refused(session: Session, make_call: MakeCall) -> None:
    call = make_call(session)
    session.commit()
    call.ended_at = datetime(2025, 7, 1, 10, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()
    session.rollback()
    assert session.scalars(select(Call.ended_at)).one() is None


def test_fixed_offset_and_zoneinfo_times_are_both_accepted(session: Session, make_call: MakeCall) -> None:
    call = make_call(session)
    call.ended_at = datetime(2025, 7, 1, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    session.commit()
    session.expire_all()
    assert session.scalars(select(Call.ended_at)).one() == datetime(2025, 7, 1, 3, 0, tzinfo=UTC)


def test_connections_are_configured(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
        return
    # pool_pre_ping: a connection the server dropped is replaced, not handed out broken.
    with engine.connect() as killer:
        with engine.connect() as victim:
            pid = victim.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        assert killer.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)}, 5000)").scalar_one() is True
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid


def test_foreign_keys_are_enforced(session: Session, now: datetime) -> None:
    session.add(Turn(call_id=999, seq=1, speaker="bot", created_at=now))
    with pytest.raises(IntegrityError):
        session.flush()


def test_session_scope_commits(session_factory: sessionmaker[Session], make_call: MakeCall) -> None:
    with session_scope(session_factory) as session:
        make_call(session, "CA-commit")
    with session_factory() as session:
        assert session.scalars(select(Call.sid)).all() == ["CA-commit"]


def test_session_scope_rolls_back_on_error(
    session_factory: sessionmaker[Session], make_call: MakeCall
) -> None:
    with pytest.raises(RuntimeError, match="boom"), session_scope(session_factory) as session:
        make_call(session, "CA-rollback")
        session.flush()
        raise RuntimeError("boom")
    with session_factory() as session:
        assert session.scalars(select(Call.sid)).all() == []


def test_objects_stay_readable_after_commit(
    session_factory: sessionmaker[Session], make_call: MakeCall, now: datetime
) -> None:
    with session_scope(session_factory) as session:
        call = make_call(session)
    assert call.started_at == now
    assert call.state == {"node": "start"}


def test_the_url_alone_reaches_this_test_database(
    db_url: str, session_factory: sessionmaker[Session], make_call: MakeCall
) -> None:
    """Code handed only db_url (an app in another process) sees this test's rows."""
    with session_scope(session_factory) as session:
        make_call(session, "CA-shared")
    script = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from storage.db import make_engine\n"
        "with make_engine(sys.argv[1]).connect() as conn:\n"
        "    print(conn.execute(text('SELECT sid FROM calls')).scalar_one())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, db_url], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "CA-shared"
