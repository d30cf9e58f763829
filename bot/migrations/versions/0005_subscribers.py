"""Subscribers by email and Telegram, with topics and dates; anonymous subscriber counts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
ALL_TOPICS = "statements,weekly-digest,daily-briefing"


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("email", new_column_name="address", existing_type=sa.String(320))
        batch.add_column(
            sa.Column("channel", sa.String(20), nullable=False, server_default="email")
        )
        batch.add_column(
            sa.Column("topics", sa.String(200), nullable=False, server_default=ALL_TOPICS)
        )
        batch.add_column(sa.Column("confirmed_at", TZ, nullable=True))
        batch.add_column(sa.Column("unsubscribed_at", TZ, nullable=True))
        batch.add_column(sa.Column("updated_at", TZ, nullable=True))
        batch.drop_constraint("uq_subscribers_email", type_="unique")
    # A second pass: SQLite's rebuild drops a new constraint on a column renamed in the same pass.
    with op.batch_alter_table("subscribers") as batch:
        batch.create_unique_constraint("uq_subscribers_channel_address", ["channel", "address"])
    op.create_table(
        "subscriber_stats",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("channel", sa.String(20), primary_key=True),
        sa.Column("lang", sa.String(5), primary_key=True),
        sa.Column("event", sa.String(20), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("subscriber_stats")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_channel_address", type_="unique")
        batch.create_unique_constraint("uq_subscribers_email", ["address"])
        for column in ("updated_at", "unsubscribed_at", "confirmed_at", "topics", "channel"):
            batch.drop_column(column)
        batch.alter_column("address", new_column_name="email", existing_type=sa.String(320))
