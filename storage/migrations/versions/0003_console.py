"""Console: users, audit log, case notes and corrections, config versions, case search.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:30:00

Free-text search over cases uses `cases.search_text` (folded words, filled by the application):
SQLite gets an FTS5 table kept in step by triggers; PostgreSQL a GIN index over
to_tsvector('simple', search_text). Both are only created here, never by create_all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE case_search USING fts5(search_text, content='cases', content_rowid='id', "
    "tokenize='unicode61')",
    "CREATE TRIGGER case_search_insert AFTER INSERT ON cases BEGIN "
    "INSERT INTO case_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER case_search_delete AFTER DELETE ON cases BEGIN "
    "INSERT INTO case_search(case_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER case_search_update AFTER UPDATE OF search_text ON cases BEGIN "
    "INSERT INTO case_search(case_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO case_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
        batch.create_index(op.f("ix_cases_ward_code_created_at"), ["ward_code", "created_at"])
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_cases_search_text ON cases USING gin (to_tsvector('simple', coalesce(search_text, '')))")
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_notes_case_id_cases"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    op.create_index(op.f("ix_case_notes_case_id_at"), "case_notes", ["case_id", "at"])
    op.create_table(
        "case_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("field", sa.String(64), nullable=False),
        sa.Column("old_value", sa.String(255), nullable=True),
        sa.Column("new_value", sa.String(255), nullable=True),
        sa.CheckConstraint("field IN ('category', 'ward', 'unit')", name=op.f("ck_case_corrections_field")),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_corrections_case_id_cases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_corrections")),
    )
    op.create_index(op.f("ix_case_corrections_case_id_at"), "case_corrections", ["case_id", "at"])
    op.create_index(op.f("ix_case_corrections_at"), "case_corrections", ["at"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(64), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_login_at", nullable=True),
        sa.CheckConstraint("role IN ('admin', 'supervisor', 'unit', 'leader')", name=op.f("ck_users_role")),
        sa.ForeignKeyConstraint(["unit_code"], ["units.code"], name=op.f("fk_users_unit_code_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(64), nullable=True),
        sa.Column("target_id", sa.String(255), nullable=True),
        sa.Column("detail", JSON, nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_target_type_target_id"), "audit_events", ["target_type", "target_id"])
    op.create_table(
        "config_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_versions")),
        sa.UniqueConstraint("file", "sha256", name=op.f("uq_config_versions_file_sha256")),
    )
    op.create_table(
        "config_publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file", sa.String(255), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _timestamp("at"),
        sa.ForeignKeyConstraint(["version_id"], ["config_versions.id"],
                                name=op.f("fk_config_publications_version_id_config_versions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_config_publications")),
    )
    op.create_index(op.f("ix_config_publications_file_at"), "config_publications", ["file", "at"])


def downgrade() -> None:
    for table in ("config_publications", "config_versions", "audit_events", "users", "case_corrections",
                  "case_notes"):
        op.drop_table(table)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("case_search_insert", "case_search_delete", "case_search_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS case_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_cases_search_text")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index(op.f("ix_cases_ward_code_created_at"))
        batch.drop_column("search_text")
