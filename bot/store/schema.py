"""Table definitions. Changing them needs a migration in bot/migrations/versions/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from bot.store.sealing import OpenedWhenSealed, Sealed, lookup_of
from bot.topics import ALL_TOPICS


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; times must be aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


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
    sa.Column("entered_at", UTCDateTime(), nullable=False),
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

# People who receive posts directly: by email (address) or in Telegram (address = chat id).
# The address is stored sealed (bot/store/sealing.py) and found by `address_hash`, its keyed
# hash, so a copy of the database names nobody.

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("address", Sealed(), nullable=False),
    sa.Column("address_hash", sa.String(32), nullable=False, default=lookup_of("address")),
    sa.Column("lang", sa.String(5), nullable=False),
    # pending (not confirmed yet), active, unsubscribed, blocked (the platform refuses them)
    sa.Column("status", sa.String(20), nullable=False),
    # The secret in this subscriber's unsubscribe link.
    sa.Column("token", sa.String(100), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("channel", sa.String(20), nullable=False, server_default="email"),
    # What they receive, comma-separated: statements, weekly-digest, daily-briefing.
    sa.Column("topics", sa.String(200), nullable=False, server_default=ALL_TOPICS),
    sa.Column("confirmed_at", UTCDateTime(), nullable=True),
    sa.Column("unsubscribed_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=True),
    sa.UniqueConstraint("channel", "address_hash", name="uq_subscribers_channel_address_hash"),
    sa.UniqueConstraint("token", name="uq_subscribers_token"),
    sa.Index("ix_subscribers_status_lang", "status", "lang"),
)

# Anonymous counts that outlive the people: subscribed, confirmed, unsubscribed, erased.
subscriber_stats = sa.Table(
    "subscriber_stats",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("channel", sa.String(20), primary_key=True),
    sa.Column("lang", sa.String(5), primary_key=True),
    sa.Column("event", sa.String(20), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# What was decided: one row per message and occasion. `key` makes publishing idempotent.
publications = sa.Table(
    "publications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(300), nullable=False),
    sa.Column("message", sa.String(100), nullable=False),
    sa.Column("occasion_on", sa.Date, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("retracted_at", UTCDateTime(), nullable=True),
    sa.Column("retract_reason", sa.Text, nullable=True),
    sa.UniqueConstraint("key", name="uq_publications_key"),
)

# The rendered text of one channel and language, stored once and shared by its deliveries.
editions = sa.Table(
    "editions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id"), nullable=False),
    sa.Column("channel", sa.String(30), nullable=False),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),  # JSON: parts, subject, html
    sa.Column("figures", sa.Text, nullable=False),  # JSON: the figures it carries and their sources
)

# A delivery whose person was erased (or whose target outlived the retention period) keeps
# "(erased)#ID" as its target: unique per delivery, naming nobody.
ERASED = "(erased)"

# Each unit of sending. pending → sending → sent | failed | unknown (| cancelled).
deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("publication_id", sa.Integer, sa.ForeignKey("publications.id"), nullable=False),
    sa.Column("edition_id", sa.Integer, sa.ForeignKey("editions.id"), nullable=False),
    sa.Column("channel", sa.String(30), nullable=False),
    # A subscriber's sealed address (copied by the fan-out), a public broadcast target in
    # clear, or "(erased)…" once the person or the retention period is gone.
    sa.Column("target", OpenedWhenSealed(), nullable=False),
    sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id"), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    # The part being sent when the process stopped: that part may or may not have gone out.
    sa.Column("inflight_part", sa.Integer, nullable=True),
    sa.Column("ids", sa.Text, nullable=False),  # JSON list of platform ids, one per part sent
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("retracted_at", UTCDateTime(), nullable=True),
    # "platform" or "folder", fixed when the delivery is made: a post composed without
    # credentials (or in a rehearsal) never reaches a platform later, and one meant for a
    # platform is never "sent" into the folder by a shell that lacks the keys.
    sa.Column("via", sa.String(20), nullable=True),
    sa.UniqueConstraint(
        "publication_id", "channel", "target", "edition_id", name="uq_deliveries_unit"
    ),
    sa.Index("ix_deliveries_publication_state", "publication_id", "state"),
)

# Leases: at most one process holds each (the sender, later the scheduler).
leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

# What the scheduler decided for each planned occasion that did not simply go out:
# held (figures too old), missed (too late after downtime), failed (could not be composed),
# published. One row per occasion key; `alerted` keeps staff from being told twice.
occasion_log = sa.Table(
    "occasion_log",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("message", sa.String(100), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("alerted", sa.Boolean, nullable=False),
)

# Small named values that must survive restarts: the pause, the scheduler's last tick.
control = sa.Table(
    "control",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# A request for staff approval of one occasion's editions, exactly as they would go out. A
# change to what the post says voids it and a new request `replaces` it.
approval_requests = sa.Table(
    "approval_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False, index=True),
    sa.Column("message", sa.String(100), nullable=False),
    sa.Column("due_at", UTCDateTime(), nullable=False),
    sa.Column("needed", sa.Integer, nullable=False),
    # sha256 of the editions and the figures they carry.
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # The editions as JSON, to show and to diff against a later version.
    sa.Column("content", sa.Text, nullable=False),
    # pending, approved, rejected, void
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("decided_at", UTCDateTime(), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("replaces", sa.Integer, nullable=True),
)

# One decision per person per request: the unique key is what makes "approve twice" impossible.
approval_votes = sa.Table(
    "approval_votes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "request_id",
        sa.Integer,
        sa.ForeignKey("approval_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("voter", sa.String(100), nullable=False),
    # approve or reject
    sa.Column("decision", sa.String(10), nullable=False),
    # telegram or cli
    sa.Column("via", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("request_id", "voter", name="uq_approval_votes_voter"),
)

# Sign-ups from the web page, queued: the web process (which holds no mail credentials) writes
# them; `bot run` decides and sends the confirmation email. The keys are keyed hashes of the
# client's network, the address (normalised) and its domain, for the limits; the address itself
# is cleared once the request is handled.
signup_requests = sa.Table(
    "signup_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # web or import
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("address", Sealed(), nullable=True),
    sa.Column("lang", sa.String(5), nullable=False),
    sa.Column("topics", sa.String(200), nullable=False),
    sa.Column("client_key", sa.String(32), nullable=True),
    sa.Column("address_key", sa.String(32), nullable=False),
    sa.Column("domain_key", sa.String(32), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # queued → sending → sent | skipped | failed | unknown
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Index("ix_signup_requests_client", "client_key", "created_at"),
    sa.Index("ix_signup_requests_address", "address_key", "created_at"),
    sa.Index("ix_signup_requests_domain", "domain_key", "created_at"),
    sa.Index("ix_signup_requests_created", "created_at"),
    sa.Index("ix_signup_requests_state", "state"),
)

# Confirmation links: only the SHA-256 of each random token is kept, so a copy of the database
# confirms nobody. A token dies with its subscriber.
confirm_tokens = sa.Table(
    "confirm_tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "subscriber_id",
        sa.Integer,
        sa.ForeignKey("subscribers.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

# A staff member's Confirm / Cancel question (/postnow, /setfigures): what Confirm does, for
# whom and in which chat, until when. Kept here so a restart of `bot run` keeps it valid; a
# press deletes the row, so it acts once. Only the SHA-256 of the button's token is stored.
staff_confirmations = sa.Table(
    "staff_confirmations",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    # post or figures; `action` is its JSON
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

# Sign-up challenges already solved (bot/web/challenge.py), until they expire: a solution is
# accepted once. `challenge` is the SHA-256 the server signed, which names no one.
used_challenges = sa.Table(
    "used_challenges",
    metadata,
    sa.Column("challenge", sa.String(64), primary_key=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)
