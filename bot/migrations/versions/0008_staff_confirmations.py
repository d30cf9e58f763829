"""Staff's Confirm / Cancel questions, kept until they expire so a restart does not lose them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "staff_confirmations",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_index(
        "ix_staff_confirmations_expires_at", "staff_confirmations", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_staff_confirmations_expires_at", table_name="staff_confirmations")
    op.drop_table("staff_confirmations")
