"""Sign-up requests queued by the web page, and confirmation tokens kept only as hashes.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("topics", sa.String(200), nullable=False),
        sa.Column("client_key", sa.String(32), nullable=True),
        sa.Column("address_key", sa.String(32), nullable=False),
        sa.Column("domain_key", sa.String(32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_signup_requests_client", "signup_requests", ["client_key", "created_at"])
    op.create_index("ix_signup_requests_address", "signup_requests", ["address_key", "created_at"])
    op.create_index("ix_signup_requests_domain", "signup_requests", ["domain_key", "created_at"])
    op.create_index("ix_signup_requests_created", "signup_requests", ["created_at"])
    op.create_index("ix_signup_requests_state", "signup_requests", ["state"])
    op.create_table(
        "confirm_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )
    op.create_index("ix_confirm_tokens_subscriber_id", "confirm_tokens", ["subscriber_id"])


def downgrade() -> None:
    op.drop_index("ix_confirm_tokens_subscriber_id", table_name="confirm_tokens")
    op.drop_table("confirm_tokens")
    for name in ("state", "created", "domain", "address", "client"):
        op.drop_index(f"ix_signup_requests_{name}", table_name="signup_requests")
    op.drop_table("signup_requests")
