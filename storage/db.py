"""Engine, session and column-type plumbing shared by every storage module."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Dialect, Engine, MetaData, String, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Explicit names let migrations drop or alter constraints on every backend
# (SQLite batch mode cannot refer to an unnamed constraint).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                         "keepalives_count": 2}

T = TypeVar("T")


class Base(DeclarativeBase):
    """Declarative base for all models; its metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that must be timezone-aware on write and is always UTC-aware on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a timezone")
        utc = value.astimezone(UTC)
        # SQLite has no time zone storage; store naive UTC so text comparison orders correctly.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class FittedString(TypeDecorator[str]):
    """A short string from outside (a caller's number, keys pressed) cut to its column and without NUL.

    Twilio sends SIP callers as long URIs and a keypad answer can be long; PostgreSQL refuses a value
    longer than the column or holding NUL, which would fail the webhook (and then its replay from the
    spool) for good. SQLite keeps anything, so both databases store the same thing this way.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return value.replace("\x00", "")[: self.impl.length]


def make_engine(url: str, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """Create an engine for a sqlite:// or postgresql+psycopg:// URL with safe defaults."""
    # hide_parameters: a failed statement's error (logged, spooled) never shows callers' numbers or words.
    if make_url(url).get_backend_name() != "sqlite":
        # A server that cannot be reached, or a connection whose peer went silent, fails within seconds
        # instead of TCP's minutes: a webhook must spool and answer well inside Twilio's 15 s.
        return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=POSTGRES_CONNECT_ARGS)
    engine = create_engine(url, hide_parameters=True)
    _configure_sqlite(engine, sqlite_busy_timeout_ms)
    return engine


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Foreign keys, WAL and writers that wait; the driver's own transaction handling is disabled."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's implicit BEGIN breaks SAVEPOINT; SQLAlchemy emits BEGIN itself below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    # Threads of one process queue on this lock instead of polling SQLite's busy handler,
    # whose growing sleeps (up to 100 ms each) made the slowest webhooks wait for seconds.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if writer.acquire(timeout=busy_timeout_ms / 1000):
            connection.info["holds_writer_lock"] = True
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then
        # writes waits on busy_timeout instead of failing with SQLITE_BUSY mid-way.
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(connection)
            raise

    def _release(connection: Connection) -> None:
        if connection.info.pop("holds_writer_lock", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit when the block succeeds, roll back when it raises, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def add_or_get(session: Session, obj: T, find: Callable[[], T | None]) -> tuple[T, bool]:
    """Insert obj inside a SAVEPOINT, or return the row a unique constraint says already exists."""
    found = find()
    if found is not None:
        return found, False
    try:
        with session.begin_nested():
            session.add(obj)
    except IntegrityError:
        # A concurrent transaction inserted the same key and committed first.
        found = find()
        if found is None:
            raise
        return found, False
    return obj, True
