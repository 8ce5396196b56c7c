"""The migrations build exactly the schema the models describe, on every backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import storage.models  # noqa: F401
from storage.db import Base, make_engine
from storage.migrate import current, downgrade, head, upgrade

TABLES = {"units", "menu_versions", "calls", "recordings", "turns", "cases", "case_events", "case_notes",
          "case_corrections", "users", "audit_events", "config_versions", "config_publications"}
SEARCH = {"case_search", "case_search_data", "case_search_idx", "case_search_docsize", "case_search_config",
          "ix_cases_search_text"}
"""Free-text search structures the migration makes by hand (FTS5 on SQLite, a GIN index on PostgreSQL)."""


def _not_search(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return name not in SEARCH


def _inspect(url: str) -> tuple[set[str], Engine]:
    engine = make_engine(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    return tables, engine


def test_upgrade_creates_every_table_and_reaches_head(empty_db_url: str) -> None:
    assert current(empty_db_url) is None
    upgrade(empty_db_url)
    assert current(empty_db_url) == head() == "0004"
    tables, engine = _inspect(empty_db_url)
    engine.dispose()
    assert tables - SEARCH == TABLES | {"alembic_version"}


def test_models_and_migrations_agree(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _not_search})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_constraint_names_follow_the_convention(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    with engine.connect() as conn:
        inspector = inspect(conn)
        foreign_keys = {fk["name"] for fk in inspector.get_foreign_keys("cases")}
        uniques = {uq["name"] for uq in inspector.get_unique_constraints("cases")}
        checks = {ck["name"] for ck in inspector.get_check_constraints("cases")}
        indexes = {ix["name"] for ix in inspector.get_indexes("cases")}
    engine.dispose()
    assert foreign_keys == {"fk_cases_call_id_calls", "fk_cases_unit_code_units"}
    assert uniques == {"uq_cases_call_id", "uq_cases_number"}
    assert checks == {"ck_cases_status"}
    assert {"ix_cases_status_created_at", "ix_cases_caller_number_created_at"} <= indexes


def test_downgrade_to_base_and_back(empty_db_url: str) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    assert current(empty_db_url) is None
    tables, engine = _inspect(empty_db_url)
    engine.dispose()
    assert tables <= {"alembic_version"}
    upgrade(empty_db_url)
    assert current(empty_db_url) == head()


def test_test_database_is_at_head_in_its_own_schema(db_url: str, engine: Engine) -> None:
    assert current(db_url) == head()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
            homes = (
                conn.exec_driver_sql(
                    "SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'"
                )
                .scalars()
                .all()
            )
        assert schema.startswith("t_")
        assert schema in homes
