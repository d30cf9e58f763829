"""One tick of the calendar: publish what is due, hold what is stale, record what was missed.

`Runner.tick(now)` is all the daemon calls; tests call it with the moments they choose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from bot import control
from bot.app import App
from bot.approvals import gate, notify
from bot.approvals import store as approval_store
from bot.approvals.store import Request
from bot.compose.context import Occasion
from bot.compose.drafts import Draft, Failure
from bot.occasions import anniversary_on
from bot.publish.outbox import publish
from bot.publish.sender import Report
from bot.schedule.alerts import Alerter
from bot.schedule.config import Entry, Schedule
from bot.schedule.planner import Planned, plan
from bot.store.schema import figure_snapshots, figure_values, occasion_log, publications

LOOKBACK_LIMIT = dt.timedelta(days=31)
# Occasion states that are looked at again on every tick until their grace runs out.
WAITING = ("held", "awaiting")


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
        send: Callable[[], Awaitable[Report]] | None = None,
        alerter: Alerter | None = None,
    ) -> None:
        self.app = app
        self.schedule = schedule
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
        if self._published(p.key):
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
        occasion = self.occasion(p)
        message = self.app.composer.message(p.message)
        editions = self.app.composer.compose(message, occasion, None, list(p.channels))
        failures = [e for e in editions if isinstance(e, Failure)]
        if failures:
            reasons = "; ".join(f"{f.channel}/{f.lang}: {f.reason}" for f in failures)
            await self._record(p, "failed", f"cannot be composed: {reasons}", now, alert=True)
            report.lines.append(f"{p.key}: cannot be composed: {reasons}")
            return
        drafts = [e for e in editions if isinstance(e, Draft)]
        stale = self.stale(drafts, p, message.settings.max_figure_age_days)
        if stale:
            await self._record(p, "held", stale, now, alert=True)
            report.held.append(p.key)
            report.lines.append(f"{p.key}: held: {stale}")
            return
        approved_by = await self._approval(p, message.settings.approval, drafts, now, report)
        if approved_by is None:
            return
        from bot.publish.service import targets, via

        created = publish(
            self.app.engine,
            occasion,
            drafts,
            targets(self.app, list(p.channels)),
            now=now,
            created_by=f"scheduler, approved by {approved_by}" if approved_by else "scheduler",
            email_via=via(self.app, "email"),
            telegram_via=via(self.app, "telegram"),
            topic=message.settings.topic,
        )
        await self._record(
            p, "published", f"publication #{created.publication_id}", now, alert=False
        )
        report.published.append(p.key)
        report.lines.append(f"{p.key}: publication #{created.publication_id}")

    # -- approvals ----------------------------------------------------------------------
    async def _ask_ahead(self, now: dt.datetime, report: TickReport) -> None:
        """Send coming occasions that need approval to the admins, once per content."""
        ahead = self._ask_hours()
        if ahead is None:
            return
        coming = plan(self.schedule, self.app.settings, now, now + ahead)
        for p in coming:
            message = self.app.composer.message(p.message)
            needed = message.settings.approval
            if not needed or p.at - now > dt.timedelta(hours=message.settings.approval_ask_hours):
                continue
            if self._published(p.key):
                continue
            editions = self.app.composer.compose(message, self.occasion(p), None, list(p.channels))
            drafts = [e for e in editions if isinstance(e, Draft)]
            if len(drafts) != len(editions):
                continue  # reported when it is due; there is nothing to approve yet
            await self._request(p, needed, drafts, now, report)

    def _ask_hours(self) -> dt.timedelta | None:
        hours = [
            m.settings.approval_ask_hours
            for m in map(self.app.composer.message, {e.message for e in self._entries()})
            if m.settings.approval
        ]
        return dt.timedelta(hours=max(hours)) if hours else None

    async def _request(
        self, p: Planned, needed: int, drafts: list[Draft], now: dt.datetime, report: TickReport
    ) -> Request:
        request, ask = gate.ensure(
            self.app.engine,
            key=p.key,
            message=p.message,
            needed=needed,
            due_at=p.at,
            drafts=drafts,
            now=now,
        )
        if ask is not None:
            report.lines.append(f"{p.key}: approval request #{request.id} sent to the admins")
            if self.alerter is not None:
                await self.alerter.tell(
                    f"Approval needed: {p.message} (#{request.id})",
                    notify.ask_texts(ask, self.app.settings.tz),
                    notify.buttons(request),
                )
        return request

    async def _approval(
        self, p: Planned, needed: int, drafts: list[Draft], now: dt.datetime, report: TickReport
    ) -> str | None:
        """Who approved ("" when none is needed); None while held or rejected."""
        if not needed:
            return ""
        request = await self._request(p, needed, drafts, now, report)
        if request.state == "rejected":
            detail = f"rejected (#{request.id}): {request.reason}; it will not be posted"
            await self._record(p, "rejected", detail, now, alert=True)
            report.lines.append(f"{p.key}: {detail}")
            return None
        with self.app.engine.connect() as conn:
            last = approval_store.last_figure_changer(conn)
        if not request.approved(last):
            approvers = request.approvers(last)
            detail = notify.reminder(request, approvers, self.app.settings.tz)
            await self._record(
                p, "awaiting", detail, now, alert=True, buttons=notify.buttons(request)
            )
            report.held.append(p.key)
            report.lines.append(f"{p.key}: {detail}")
            return None
        return ", ".join(request.approvers(last))

    def occasion(self, p: Planned) -> Occasion:
        anniversary = None
        if p.kind == "anniversary" and p.event:
            anniversary = anniversary_on(self.app.settings.file.events[p.event].date, p.local_date)
        figure, threshold = _figure_of(p)
        return Occasion(
            p.message,
            p.local_date,
            anniversary,
            p.event,
            kind=p.kind,
            planned_key=p.key,
            days=p.days,
            figure=figure,
            threshold=threshold,
            names=p.names,
        )

    @staticmethod
    def stale(drafts: list[Draft], p: Planned, max_days: int | None) -> str | None:
        if max_days is None:
            return None
        dated = [
            u for d in drafts for u in d.figures if u.period_start is None and not u.derived_from
        ]
        if not dated:
            return None
        oldest = min(dated, key=lambda u: u.as_of)
        age = (p.local_date - oldest.as_of).days
        if age <= max_days:
            return None
        return (
            f"figures too old: {oldest.key} is as of {oldest.as_of} ({age} days; "
            f"{p.message} allows {max_days}). Enter fresh figures to release it"
        )

    # -- records -----------------------------------------------------------------------
    def _published(self, key: str) -> bool:
        with self.app.engine.connect() as conn:
            return (
                conn.execute(sa.select(publications.c.id).where(publications.c.key == key)).first()
                is not None
            )

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
    ) -> None:
        with self.app.engine.begin() as conn:
            row = conn.execute(
                sa.select(occasion_log.c.state, occasion_log.c.alerted).where(
                    occasion_log.c.key == p.key
                )
            ).first()
            told = bool(row and row.alerted and row.state == state)
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


def _duration(span: dt.timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if minutes or not (days or hours):
        parts.append(f"{minutes} min")
    return " ".join(part for part in parts if part)


def _figure_of(p: Planned) -> tuple[str | None, int | None]:
    # A figure milestone's key is milestone/FIGURE/THRESHOLD.
    parts = p.key.split("/")
    if p.kind == "milestone" and len(parts) == 3 and parts[2].isdigit():
        return parts[1], int(parts[2])
    return None, None
