"""Addresses and chat ids sealed at rest: room for sealed values and a lookup hash.

The migration has no key, so it cannot seal: existing addresses stay as they are, each row's
`address_hash` gets a unique placeholder, and `bot` seals them (and computes the hashes) when
it next opens the database with its data key (bot/store/reseal.py).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("address_hash", sa.String(32), nullable=True))
        batch.alter_column("address", type_=sa.String(600), existing_nullable=False)
    # "plain:ID" can never be a hash (those are hex): it marks a row still to be sealed.
    op.execute(
        "UPDATE subscribers SET address_hash = 'plain:' || CAST(id AS VARCHAR(20)) "
        "WHERE address_hash IS NULL"
    )
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("address_hash", existing_type=sa.String(32), nullable=False)
        batch.drop_constraint("uq_subscribers_channel_address", type_="unique")
        batch.create_unique_constraint(
            "uq_subscribers_channel_address_hash", ["channel", "address_hash"]
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("target", type_=sa.String(600), existing_nullable=False)
    with op.batch_alter_table("signup_requests") as batch:
        batch.alter_column("address", type_=sa.String(600), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("signup_requests") as batch:
        batch.alter_column("address", type_=sa.String(320), existing_nullable=True)
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("target", type_=sa.String(320), existing_nullable=False)
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_channel_address_hash", type_="unique")
        batch.create_unique_constraint("uq_subscribers_channel_address", ["channel", "address"])
        batch.drop_column("address_hash")
        batch.alter_column("address", type_=sa.String(320), existing_nullable=False)
