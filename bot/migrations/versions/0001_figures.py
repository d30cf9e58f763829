"""Figure snapshots and their values.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "figure_snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("period_start", sa.Date, nullable=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("entered_by", sa.String(200), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correction", sa.Text, nullable=True),
        sa.Column("origin", sa.String(500), nullable=False),
    )
    op.create_table(
        "figure_values",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "snapshot_id",
            sa.Integer,
            sa.ForeignKey(
                "figure_snapshots.id",
                ondelete="RESTRICT",
                name="fk_figure_values_snapshot_id_figure_snapshots",
            ),
            nullable=False,
        ),
        sa.Column("figure", sa.String(100), nullable=False),
        sa.Column("value", sa.BigInteger, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("period_start", sa.Date, nullable=True),
        sa.CheckConstraint("value >= 0", name="ck_figure_values_value_not_negative"),
    )
    op.create_index("ix_figure_values_figure_as_of", "figure_values", ["figure", "as_of"])


def downgrade() -> None:
    op.drop_index("ix_figure_values_figure_as_of", table_name="figure_values")
    op.drop_table("figure_values")
    op.drop_table("figure_snapshots")
