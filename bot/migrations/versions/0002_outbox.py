"""The outbox: publications, editions, deliveries; subscribers; leases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("token", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("email", name="uq_subscribers_email"),
        sa.UniqueConstraint("token", name="uq_subscribers_token"),
    )
    op.create_index("ix_subscribers_status_lang", "subscribers", ["status", "lang"])
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("message", sa.String(100), nullable=False),
        sa.Column("occasion_on", sa.Date, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("retracted_at", TZ, nullable=True),
        sa.Column("retract_reason", sa.Text, nullable=True),
        sa.UniqueConstraint("key", name="uq_publications_key"),
    )
    op.create_table(
        "editions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "publication_id",
            sa.Integer,
            sa.ForeignKey("publications.id", name="fk_editions_publication_id_publications"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("lang", sa.String(5), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("figures", sa.Text, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "publication_id",
            sa.Integer,
            sa.ForeignKey("publications.id", name="fk_deliveries_publication_id_publications"),
            nullable=False,
        ),
        sa.Column(
            "edition_id",
            sa.Integer,
            sa.ForeignKey("editions.id", name="fk_deliveries_edition_id_editions"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("subscribers.id", name="fk_deliveries_subscriber_id_subscribers"),
            nullable=True,
        ),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=True),
        sa.Column("inflight_part", sa.Integer, nullable=True),
        sa.Column("ids", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("sent_at", TZ, nullable=True),
        sa.Column("retracted_at", TZ, nullable=True),
        sa.UniqueConstraint(
            "publication_id", "channel", "target", "edition_id", name="uq_deliveries_unit"
        ),
    )
    op.create_index("ix_deliveries_publication_state", "deliveries", ["publication_id", "state"])
    op.create_table(
        "leases",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_index("ix_deliveries_publication_state", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("editions")
    op.drop_table("publications")
    op.drop_index("ix_subscribers_status_lang", table_name="subscribers")
    op.drop_table("subscribers")
