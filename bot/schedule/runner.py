"""One tick of the calendar: publish what is due, hold what is stale, record what was missed.

`Runner.tick(now)` is all the daemon calls; tests call it with the moments they choose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot import control
from bot.alerts import Alerter
from bot.app import App
from bot.calendar.config import Entry, Schedule
from bot.calendar.planner import Planned, occasion_of, plan
from bot.compose.context import Occasion
from bot.publish.sender import Report
from bot.publishing.decision import Ask, Decision
from bot.publishing.service import Publisher
from bot.store.schema import figure_snapshots, figure_values, occasion_log

LOOKBACK_LIMIT = dt.timedelta(days=31)
# Occasion states that are looked at again on every tick until their grace runs out.
WAITING = ("held", "awaiting")
# How the occasion log names what the publisher decided.
_STATES = {
    "no-channel": "failed",
    "uncomposable": "failed",
    "stale": "held",
    "awaiting": "awaiting",
    "rejected": "rejected",
}


@dataclass
class TickReport:
    """What one tick decided, occasion by occasion."""

    lines: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    sent: Report | None = None


class Runner:
    """Turns the schedule and the clock into publications."""

    def __init__(
        self,
        app: App,
        schedule: Schedule,
        publisher: Publisher,
        send: Callable[[], Awaitable[Report]] | None = None,
        alerter: Alerter | None = None,
    ) -> None:
        self.app = app
        self.schedule = schedule
        self.publisher = publisher
        self.send = send
        self.alerter = alerter

    # -- what is due -------------------------------------------------------------------
    def due(self, now: dt.datetime) -> list[Planned]:
        """Occasions due by `now` since the last tick (or within their grace, on a first run)."""
        grace = max(
            (dt.timedelta(hours=e.grace_hours) for e in self._entries()), default=dt.timedelta()
        )
        last = control.last_tick(self.app.engine)
        start = min(last or now, now - grace)
        start = max(start, now - LOOKBACK_LIMIT)
        found = plan(self.schedule, self.app.settings, start, now + dt.timedelta(seconds=1))
        return found + self._figure_milestones(start, now)

    def _entries(self) -> list[Entry]:
        s = self.schedule
        return [*s.anniversary, *s.interval, *s.milestone, *s.day]

    def _figure_milestones(self, start: dt.datetime, now: dt.datetime) -> list[Planned]:
        out = []
        tz = self.app.settings.tz
        for entry in self.schedule.milestone:
            if entry.figure is None:
                continue
            for threshold in entry.thresholds:
                crossed = self._first_entered_at_or_above(entry.figure, threshold)
                if crossed is None:
                    continue
                local = crossed.astimezone(tz)
                at = dt.datetime.combine(local.date(), entry.local_time(), tzinfo=tz)
                if at < local:
                    at += dt.timedelta(days=1)  # announced at the next configured time
                if start <= at <= now:
                    out.append(
                        Planned(
                            at,
                            entry.message,
                            "milestone",
                            f"milestone/{entry.figure}/{threshold}",
                            tuple(entry.channels),
                            dt.timedelta(hours=entry.grace_hours),
                        )
                    )
        return out

    def _first_entered_at_or_above(self, figure: str, threshold: int) -> dt.datetime | None:
        query = (
            sa.select(sa.func.min(figure_snapshots.c.entered_at))
            .join(figure_values, figure_values.c.snapshot_id == figure_snapshots.c.id)
            .where(
                figure_values.c.figure == figure,
                figure_values.c.period_start.is_(None),
                figure_values.c.value >= threshold,
            )
        )
        with self.app.engine.connect() as conn:
            found: dt.datetime | None = conn.execute(query).scalar()
        if found is not None and found.tzinfo is None:
            found = found.replace(tzinfo=dt.UTC)
        return found

    # -- one tick ----------------------------------------------------------------------
    async def tick(self, now: dt.datetime) -> TickReport:
        """Handle every due occasion once, then send what is pending."""
        report = TickReport()
        paused = control.current_pause(self.app.engine, now)
        # Occasions due before the last tick were handled by it (on a first run: before the
        # bot was installed); only a held one may still turn into a missed one.
        handled_until = control.last_tick(self.app.engine) or now
        await self._ask_ahead(now, report)
        for occasion in self.due(now):
            await self._handle(occasion, now, handled_until, paused is not None, report)
        if paused is None:
            if self.send is not None:
                report.sent = await self.send()
            control.set_last_tick(self.app.engine, now)
        else:
            report.lines.append(f"not sending: {paused.describe()}")
            # The last tick stays where it was, so a resume within grace still posts.
        return report

    async def _handle(
        self,
        p: Planned,
        now: dt.datetime,
        handled_until: dt.datetime,
        paused: bool,
        report: TickReport,
    ) -> None:
        if self.publisher.published(p.key):
            return
        logged = self._log_state(p.key)
        if logged == "missed":
            return
        late = now - p.at
        if late > p.grace and p.at < handled_until and logged not in WAITING:
            return
        if late > p.grace:
            why = (
                "it was not approved in time"
                if logged == "awaiting"
                else "the bot was not running or was paused"
            )
            detail = (
                f"missed: due {p.at:%Y-%m-%d %H:%M %Z}, {_duration(late)} ago; {why} "
                f"(it may go out up to {_duration(p.grace)} late). "
                "Post it by hand if it still matters: `bot post-now`"
            )
            await self._record(p, "missed", detail, now, alert=True)
            report.missed.append(p.key)
            report.lines.append(f"{p.key}: {detail}")
            return
        if paused:
            return
        decision = await self.publisher.publish(self._ask(p))
        await self._present(p, decision, now, report)

    async def _present(
        self, p: Planned, decision: Decision, now: dt.datetime, report: TickReport
    ) -> None:
        """Record the publisher's answer in the occasion log; tell the admins once."""
        verdict, reason = decision.verdict, decision.reason
        if verdict in ("already", "paused"):
            return
        if verdict == "published" and decision.created is not None:
            number = decision.created.publication_id
            await self._record(p, "published", f"publication #{number}", now, alert=False)
            report.published.append(p.key)
            report.lines.append(f"{p.key}: publication #{number}")
            report.lines += [f"{p.key}: {n}: {why}" for n, why in decision.left_out.items()]
            return
        state = _STATES[verdict]
        detail = reason if verdict != "stale" else f"held: {reason}"
        buttons = decision.buttons if verdict == "awaiting" else ()
        changed = await self._record(p, state, reason, now, alert=True, buttons=buttons)
        if state in ("held", "awaiting"):
            report.held.append(p.key)
        # A line when something changed, not the same line on every tick.
        if changed:
            report.lines.append(f"{p.key}: {detail}")

    # -- approvals ----------------------------------------------------------------------
    async def _ask_ahead(self, now: dt.datetime, report: TickReport) -> None:
        """Send coming occasions that need approval to the admins, once per content."""
        ahead = self._ask_hours()
        if ahead is None:
            return
        for p in plan(self.schedule, self.app.settings, now, now + ahead):
            message = self.app.composer.message(p.message)
            if not message.settings.approval:
                continue
            if p.at - now > dt.timedelta(hours=message.settings.approval_ask_hours):
                continue
            decision = await self.publisher.ask_approval(self._ask(p))
            if decision.asked:
                number = decision.request.id if decision.request else "?"
                report.lines.append(f"{p.key}: approval request #{number} sent to the admins")

    def _ask_hours(self) -> dt.timedelta | None:
        hours = [
            m.settings.approval_ask_hours
            for m in map(self.app.composer.message, {e.message for e in self._entries()})
            if m.settings.approval
        ]
        return dt.timedelta(hours=max(hours)) if hours else None

    def _ask(self, p: Planned) -> Ask:
        return Ask(
            p.message,
            "schedule",
            "scheduler",
            occasion=self.occasion(p),
            channels=list(p.channels),
            due_at=p.at,
        )

    def occasion(self, p: Planned) -> Occasion:
        """The occasion a planned post is composed for."""
        return occasion_of(p, self.app.settings)

    # -- records -----------------------------------------------------------------------
    def _log_state(self, key: str) -> str | None:
        with self.app.engine.connect() as conn:
            state: str | None = conn.execute(
                sa.select(occasion_log.c.state).where(occasion_log.c.key == key)
            ).scalar()
        return state

    async def _record(
        self,
        p: Planned,
        state: str,
        detail: str,
        now: dt.datetime,
        alert: bool,
        buttons: tuple[tuple[str, str], ...] = (),
    ) -> bool:
        """Write the occasion's state; alert once per state. True when state or detail changed."""
        with self.app.engine.begin() as conn:
            row = conn.execute(
                sa.select(
                    occasion_log.c.state, occasion_log.c.alerted, occasion_log.c.detail
                ).where(occasion_log.c.key == p.key)
            ).first()
            told = bool(row and row.alerted and row.state == state)
            changed = row is None or row.state != state or row.detail != detail
            values = {
                "message": p.message,
                "due_at": p.at,
                "state": state,
                "detail": detail,
                "updated_at": now,
                "alerted": told or (alert and self.alerter is not None),
            }
            if row is None:
                conn.execute(occasion_log.insert().values(key=p.key, **values))
            else:
                conn.execute(
                    occasion_log.update().where(occasion_log.c.key == p.key).values(**values)
                )
        if alert and not told and self.alerter is not None:
            await self.alerter.alert(f"{p.key}: {detail}", buttons)
        return changed


def _duration(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if minutes or not (days or hours):
        parts.append(f"{minutes} min")
    return " ".join(part for part in parts if part)
