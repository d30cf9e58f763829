"""The publisher: the one place that decides "publish this message now, to these channels".

The calendar (bot/schedule/runner.py), `bot post-now`, Telegram's /postnow and the release of
an approved occasion all call `Publisher.publish` and only present its answer. It decides, in
this order: the channels (asked, the message's own, switched on; the outbox folder where there
are no credentials), already published (for the calendar), the editions (composed now, or
exactly those shown to a person who confirmed), whether they can be composed, the pause, the
figures' age, X's daily budget, the approvals; then it records the publication, once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from bot import control
from bot.approvals import gate, notify
from bot.approvals.content import fingerprint
from bot.channels.base import Payload
from bot.compose.drafts import Draft, Edition, occasion_for
from bot.publish.outbox import Created
from bot.publish.outbox import publish as record
from bot.publishing.decision import Ask, Decision
from bot.store.figures import newest_date
from bot.store.schema import publications

if TYPE_CHECKING:
    from bot.compose.context import Occasion
    from bot.compose.messages import Message
    from bot.runtime import Runtime


class Admins(Protocol):
    """Where approval requests go (bot.alerts.Alerter is one)."""

    async def tell(
        self, subject: str, texts: list[str], buttons: tuple[tuple[str, str], ...] = ()
    ) -> None: ...


class Publisher:
    """Decides and records publications; see the module's docstring for the order."""

    def __init__(self, runtime: Runtime, admins: Admins | None = None) -> None:
        self.runtime = runtime
        self.app = runtime.app
        self.admins = admins

    # -- the two calls --------------------------------------------------------------------
    def preview(self, ask: Ask) -> Decision:
        """What `publish` would do now, without recording anything (nor asking approvals)."""
        return self._decide(ask, self.app.clock(), None)

    async def publish(self, ask: Ask, shown: Decision | None = None) -> Decision:
        """Decide, ask for approvals where needed, and record the publication when allowed.

        `shown`: the preview a person confirmed; exactly its editions are published (checked
        again for everything else: the pause, the channels, the approvals).
        """
        now = self.app.clock()
        decision = await asyncio.to_thread(self._decide, ask, now, shown)
        if decision.verdict == "ready" and decision.message.settings.approval:
            decision = await self._approval(decision, now)
        if decision.verdict != "ready":
            return decision
        created = await asyncio.to_thread(self._record, decision, now)
        return replace(decision, verdict="published", created=created)

    async def approval(self, shown: Decision) -> Decision:
        """For a person about to confirm: are these editions approved? (asks if not yet)."""
        if shown.verdict != "ready" or not shown.message.settings.approval:
            return shown
        return await self._approval(shown, self.app.clock())

    async def ask_approval(self, ask: Ask) -> Decision:
        """Before its time: send a gated occasion's editions to the admins, once per content."""
        now = self.app.clock()
        decision = await asyncio.to_thread(self._decide, ask, now, None)
        if not decision.message.settings.approval or decision.failures:
            return decision  # an edition that cannot be composed is reported when it is due
        if decision.verdict in ("already", "no-channel"):
            return decision
        return await self._approval(decision, now)

    # -- deciding -------------------------------------------------------------------------
    def _decide(self, ask: Ask, now: dt.datetime, shown: Decision | None) -> Decision:
        message = self.app.composer.message(ask.message)
        occasion = ask.occasion or occasion_for(
            self.app.settings, message, ask.on or self.app.today(), self.app.today()
        )
        via, left_out, folder = self._channels(message, ask)
        base = Decision(ask, message, occasion, via, left_out, folder, (), None, "ready")
        if ask.source == "schedule" and not ask.again and self.published(occasion.key):
            return replace(base, verdict="already", reason="published already")
        if not via:
            reason = f"{message.name} has no enabled channel among those asked for"
            return replace(base, verdict="no-channel", reason=reason)
        editions = self._editions(message, occasion, ask, list(via), shown)
        with self.app.engine.connect() as conn:
            newest = newest_date(conn, occasion.on)
        decision = replace(base, editions=tuple(editions), newest=newest)
        if shown is not None and self._changed(decision):
            reason = (
                "the figures or the wording changed since the preview, so what was shown is not "
                "what would go out. Preview it again"
            )
            return replace(decision, verdict="changed", reason=reason)
        if decision.failures:
            reasons = "; ".join(f"{f.channel}/{f.lang}: {f.reason}" for f in decision.failures)
            return replace(
                decision, verdict="uncomposable", reason=f"cannot be composed: {reasons}"
            )
        paused = control.current_pause(self.app.engine, now)
        if paused is not None:
            return replace(decision, verdict="paused", reason=f"the bot is {paused.describe()}")
        stale = _stale(decision.drafts, occasion, message)
        if stale:
            return replace(decision, verdict="stale", reason=stale)
        return self._within_budget(decision, now)

    def _channels(
        self, message: Message, ask: Ask
    ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """The channels it goes to (each "platform" or "folder"), those left out, the folder's."""
        own = list(message.settings.channels)
        asked = ask.channels or own
        # The calendar names its channels in schedule.toml (checked against message.toml by
        # `bot config check`); a person chooses among the message's own.
        scheduled = ask.source == "schedule"
        via: dict[str, str] = {}
        left_out: dict[str, str] = {}
        folder: dict[str, str] = {}
        for name in asked:
            if name not in own and not scheduled:
                left_out[name] = f"{message.name} is not sent there (its message.toml)"
            elif not self.runtime.enabled(name):
                left_out[name] = f"turned off in config/bot.toml ([channels.{name}] enabled)"
            else:
                via[name] = self.runtime.via(name)
                note = self.runtime.folder_note(name, via[name])
                if note:
                    folder[name] = note
        return via, left_out, folder

    def _editions(
        self,
        message: Message,
        occasion: Occasion,
        ask: Ask,
        channels: list[str],
        shown: Decision | None,
    ) -> Sequence[Edition]:
        if shown is None:
            return self.app.composer.compose(message, occasion, ask.langs, channels)
        # Exactly what the person saw, less any channel switched off since.
        return [e for e in shown.editions if e.channel in channels]

    def _changed(self, shown: Decision) -> bool:
        """Whether composing now gives other editions than those a person confirmed."""
        ask = shown.ask
        now = self.app.composer.compose(shown.message, shown.occasion, ask.langs, list(shown.via))
        if [e.channel for e in now] != [e.channel for e in shown.editions]:
            return True
        drafts = [e for e in now if isinstance(e, Draft)]
        return len(drafts) != len(shown.drafts) or fingerprint(drafts) != fingerprint(shown.drafts)

    def _within_budget(self, decision: Decision, now: dt.datetime) -> Decision:
        """Leave out a billed channel whose posts today's budget cannot pay for."""
        refused: dict[str, str] = {}
        for name, where in decision.via.items():
            budget = self.runtime.budget(name)
            if where != "platform" or budget is None:
                continue
            parts = tuple(part for d in decision.drafts if d.channel == name for part in d.parts)
            why = budget.refusal(Payload(name, "", parts), now)
            if why:
                refused[name] = why
        if not refused:
            return decision
        via = {n: w for n, w in decision.via.items() if n not in refused}
        left_out = decision.left_out | refused
        folder = {n: note for n, note in decision.folder.items() if n not in refused}
        editions = tuple(e for e in decision.editions if e.channel not in refused)
        decision = replace(decision, via=via, left_out=left_out, folder=folder, editions=editions)
        if not via:
            return replace(decision, verdict="no-channel", reason="; ".join(refused.values()))
        return decision

    async def _approval(self, decision: Decision, now: dt.datetime) -> Decision:
        """Ready only when approved by enough people who count; asks the admins if new."""
        ask, message = decision.ask, decision.message
        needed = message.settings.approval
        key = decision.occasion.key
        request, new = await asyncio.to_thread(
            gate.ensure,
            self.app.engine,
            key=key,
            message=message.name,
            needed=needed,
            due_at=ask.due_at or now,
            drafts=decision.drafts,
            now=now,
            # A person asking to publish is not one of the two who approve it.
            requested_by=ask.by if ask.source != "schedule" else None,
        )
        buttons = notify.buttons(request)
        if new is not None and self.admins is not None:
            await self.admins.tell(
                f"Approval needed: {message.name} (#{request.id})",
                notify.ask_texts(new, self.app.settings.tz),
                buttons,
            )
        decision = replace(decision, request=request, buttons=buttons, asked=new is not None)
        if request.state == "rejected":
            reason = f"rejected (#{request.id}): {request.reason}; it will not be posted"
            return replace(decision, verdict="rejected", reason=reason)
        # Who entered the figures, as they stand at this release (bot/approvals/gate.py).
        last = await asyncio.to_thread(gate.authorship, self.app.engine, request)
        if request.approved(last):
            return replace(decision, approved_by=", ".join(request.approvers(last)))
        if ask.source == "schedule":
            reason = notify.reminder(request, request.approvers(last), self.app.settings.tz)
        else:
            asked = "asked the admins for it" if new is not None else "it was asked for already"
            plural = "s" if needed != 1 else ""
            reason = (
                f"{message.name} needs {needed} approval{plural} before it goes out: request "
                f"#{request.id} ({asked}; `bot approvals {request.id}`). Once approved, post it "
                "again"
            )
        return replace(decision, verdict="awaiting", reason=reason)

    # -- recording ------------------------------------------------------------------------
    def _record(self, decision: Decision, now: dt.datetime) -> Created:
        ask = decision.ask
        by = ask.by
        if decision.approved_by:
            by = f"{by}, approved by {decision.approved_by}"
        return record(
            self.app.engine,
            decision.occasion,
            decision.drafts,
            self.runtime.targets(decision.channels),
            now=now,
            created_by=by,
            again=ask.again,
            via=decision.via,
            topic=decision.message.settings.topic,
        )

    def published(self, key: str) -> bool:
        """Whether the occasion `key` was published (the outbox is the only truth of it)."""
        with self.app.engine.connect() as conn:
            found = conn.execute(sa.select(publications.c.id).where(publications.c.key == key))
            return found.first() is not None


def _stale(drafts: list[Draft], occasion: Occasion, message: Message) -> str | None:
    """Why the figures are too old for this message, or None."""
    max_days = message.settings.max_figure_age_days
    if max_days is None:
        return None
    dated = [u for d in drafts for u in d.figures if u.period_start is None and not u.derived_from]
    if not dated:
        return None
    oldest = min(dated, key=lambda u: u.as_of)
    age = (occasion.on - oldest.as_of).days
    if age <= max_days:
        return None
    return (
        f"figures too old: {oldest.key} is as of {oldest.as_of} ({age} days; "
        f"{message.name} allows {max_days}). Enter fresh figures to release it"
    )
