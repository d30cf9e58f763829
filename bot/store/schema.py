"""Table definitions. Changing them needs a migration in bot/migrations/versions/."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per entry (a `figures set` command, or one date and source of an import).
# Append-only: a correction is a new snapshot, never an update.
figure_snapshots = sa.Table(
    "figure_snapshots",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    # Set for values counted over a span (as_of is then the span's last day).
    sa.Column("period_start", sa.Date, nullable=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("entered_by", sa.String(200), nullable=False),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("correction", sa.Text, nullable=True),
    sa.Column("origin", sa.String(500), nullable=False),
)

figure_values = sa.Table(
    "figure_values",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "snapshot_id",
        sa.Integer,
        sa.ForeignKey("figure_snapshots.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    sa.Column("figure", sa.String(100), nullable=False),
    sa.Column("value", sa.BigInteger, nullable=False),
    # Copied from the snapshot so the "latest value as of" query needs no join.
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("period_start", sa.Date, nullable=True),
    sa.CheckConstraint("value >= 0", name="value_not_negative"),
    sa.Index("ix_figure_values_figure_as_of", "figure", "as_of"),
)
