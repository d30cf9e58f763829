"""The scheduler's records: occasion log and control values (pause, last tick).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "occasion_log",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("message", sa.String(100), nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("alerted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "control",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("control")
    op.drop_table("occasion_log")
