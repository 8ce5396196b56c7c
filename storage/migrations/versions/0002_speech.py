"""Speech: word timings per turn, transcripts of recordings, suggestions on cases, stream backlog per call.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 17:50:00

Added columns only (all nullable), so the upgrade is instant on a large table and the
keypad flow of revision 0001 keeps working unchanged. batch_alter_table keeps SQLite happy.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("turns") as batch:
        batch.add_column(sa.Column("words", JSON, nullable=True))
    with op.batch_alter_table("recordings") as batch:
        batch.add_column(sa.Column("transcript", sa.Text(), nullable=True))
        batch.add_column(sa.Column("transcript_confidence", sa.Float(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("suggestion", JSON, nullable=True))
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("backlog_ms_max", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("backlog_ms_max")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("suggestion")
    with op.batch_alter_table("recordings") as batch:
        batch.drop_column("transcript_confidence")
        batch.drop_column("transcript")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("words")
