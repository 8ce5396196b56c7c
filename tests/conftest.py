"""Database fixtures: every test gets its own migrated database, on SQLite and, when configured, PostgreSQL.

TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1:5432/test) adds a PostgreSQL run of
every database test. With CI set, a missing TEST_DATABASE_URL or any skipped test fails the run,
except the tests that need the Vietnamese Vosk model, which no package registry carries: they
run when VOSK_MODEL_PATH points at it and are skipped with NEEDS_VIETNAMESE_MODEL otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import storage.models  # noqa: F401  (registers the tables truncated between tests)
from storage.db import Base, make_engine, make_session_factory
from storage.migrate import upgrade

_SKIPPED: list[str] = []
NEEDS_VIETNAMESE_MODEL = "needs the Vietnamese Vosk model: set VOSK_MODEL_PATH (hotline models install vi)"


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _postgres_url() -> str | None:
    """TEST_DATABASE_URL with the psycopg 3 driver, or None when unset."""
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not raw:
        return None
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername != "postgresql+psycopg":
        raise pytest.UsageError(f"TEST_DATABASE_URL={raw!r}: expected a postgresql:// URL")
    return url.render_as_string(hide_password=False)


def _with_search_path(url: str, schema: str) -> str:
    """The URL of a connection whose search_path is only schema, so everything lands there."""
    options = {"options": f"-csearch_path={schema}"}
    return make_url(url).update_query_dict(options).render_as_string(hide_password=False)


def pytest_configure(config: pytest.Config) -> None:
    if _ci() and _postgres_url() is None:
        raise pytest.UsageError("CI is set but TEST_DATABASE_URL is not: the PostgreSQL tests would not run")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and NEEDS_VIETNAMESE_MODEL not in str(report.longrepr):
        _SKIPPED.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # Under xdist only the controller sees every report and sets the process exit code.
    if _ci() and _SKIPPED and not hasattr(session.config, "workerinput") and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _ci() and _SKIPPED:
        terminalreporter.write_line(f"CI: {len(_SKIPPED)} skipped test(s) fail the run:", red=True)
        for nodeid in _SKIPPED:
            terminalreporter.write_line(f"  {nodeid}", red=True)


_BACKENDS = ["sqlite", "postgresql"] if _postgres_url() else ["sqlite"]


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker), copied for each test."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    # upgrade() disposed its engine, so the WAL was checkpointed into the main file.
    if path.with_name(path.name + "-wal").exists():
        raise RuntimeError(f"{path}: write-ahead log left behind; the copy would miss data")
    return path


class _PostgresSchema:
    """A schema of its own for this pytest process, migrated once and emptied before each test."""

    def __init__(self, base_url: str, schema: str) -> None:
        self.base_url = base_url
        self.schema = schema
        self.url = _with_search_path(base_url, schema)
        self._admin = make_engine(base_url)
        self._engine: Engine | None = None

    def create(self) -> None:
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        self._engine = make_engine(self.url)

    def truncate(self) -> None:
        assert self._engine is not None
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        with self._engine.begin() as conn:
            conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        with self._admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self._admin.dispose()


def _schema_name(prefix: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"{prefix}_{worker}_{os.getpid()}".lower()


@pytest.fixture(scope="session")
def _postgres_schema() -> Iterator[_PostgresSchema]:
    base_url = _postgres_url()
    if base_url is None:
        raise RuntimeError("PostgreSQL requested without TEST_DATABASE_URL")
    schema = _PostgresSchema(base_url, _schema_name("t"))
    schema.create()
    try:
        upgrade(schema.url)
        yield schema
    finally:
        schema.drop()


@pytest.fixture(params=_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a freshly migrated, empty database for this test (PostgreSQL: search_path baked in)."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "hotline.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    schema: _PostgresSchema = request.getfixturevalue("_postgres_schema")
    schema.truncate()
    return schema.url


@pytest.fixture(params=_BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a database that has never been migrated: for testing the migrations themselves."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base_url = _postgres_url()
    assert base_url is not None
    schema = _PostgresSchema(base_url, _schema_name("e"))
    schema.create()
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Engine on this test's database, disposed afterwards."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Session factory on this test's database, as the app would build it."""
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session on this test's database; the test commits when it needs to."""
    with session_factory() as session:
        yield session
