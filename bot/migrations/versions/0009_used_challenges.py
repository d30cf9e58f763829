"""Sign-up challenges already solved, kept until they expire so one solution is used once.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "used_challenges",
        sa.Column("challenge", sa.String(64), primary_key=True),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_index(
        "ix_used_challenges_expires_at", "used_challenges", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_used_challenges_expires_at", table_name="used_challenges")
    op.drop_table("used_challenges")
