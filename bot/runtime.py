"""The one place that wires the running bot: channels, sender, publisher, alerts, scheduler,
web page and Telegram bot, from the settings and the App.

Channels get their clock, sleep and pacing from the `Wiring` given here, so a test builds a
Runtime with virtual ones instead of patching a channel. The adapters (scheduler, web page,
Telegram bot) are imported only inside the methods that build them: this module is the
composition root, the only one allowed to put them side by side.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.app import App
from bot.channels import registry
from bot.channels.base import Channel, Payload
from bot.channels.folder import FolderChannel
from bot.channels.spec import ChannelSpec, Wiring
from bot.publish.budget import Budget

if TYPE_CHECKING:
    from bot.alerts import Alerter
    from bot.calendar.config import Schedule
    from bot.channels.telegram_queue import TelegramQueue
    from bot.publish.outbox import Target
    from bot.publish.sender import Outcome, Report, Sender, Sleep
    from bot.publishing.service import Admins, Publisher
    from bot.schedule.runner import Runner
    from bot.subscribers.confirmations import ConfirmationSender

Echo = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Wired:
    """The channels to publish through, and a note for each one that writes to the folder."""

    channels: dict[str, Channel]
    notes: dict[str, str]

    async def close(self) -> None:
        """Close every channel's connections."""
        for channel in self.channels.values():
            await channel.close()


@dataclass
class Runtime:
    """The running bot's parts, built from one App and one Wiring."""

    app: App
    wiring: Wiring
    # Sleep of the sender between retries (tests give a virtual one).
    sleep: Sleep = field(default=asyncio.sleep)
    _schedule: Schedule | None = None

    # -- channels ---------------------------------------------------------------------------
    def enabled(self, name: str) -> bool:
        """Whether `[channels.NAME] enabled` allows posting there at all."""
        return bool(self.app.settings.channel(name).enabled)

    def via(self, name: str) -> str:
        """Where a delivery decided now for channel `name` goes: "platform", or "folder"."""
        if self.app.rehearsal:
            return "folder"
        spec = registry.spec(name)
        return "platform" if spec.configured(self.app.settings.channel(name)) else "folder"

    def folder_note(self, name: str, via: str | None = None) -> str | None:
        """Why channel `name` writes to the outbox folder now (None when it posts for real).

        `via`: the channel's `via(name)` when the caller has it already (it reads secrets).
        """
        if (via or self.via(name)) == "platform":
            return None
        why = "rehearsal (BOT_CLOCK_START)" if self.app.rehearsal else "no credentials set"
        return f"{why}: writing to {self.app.settings.outbox_dir / name}"

    def connect(self, names: list[str] | tuple[str, ...] | None = None) -> Wired:
        """A channel per name (every channel when None): the real one, else the folder."""
        channels: dict[str, Channel] = {}
        notes: dict[str, str] = {}
        wiring = self.channel_wiring()
        for name in registry.NAMES if names is None else names:
            spec = registry.spec(name)
            settings = self.app.settings.channel(name)
            via = self.via(name)
            real = spec.connect(settings, wiring) if via == "platform" else None
            if real is None:
                channels[name] = FolderChannel(
                    name,
                    self.app.settings.outbox_dir,
                    self.app.clock,
                    spec.folder_render(settings),
                    spec.folder_format,
                )
                notes[name] = self.folder_note(name, "folder") or "no credentials set"
            else:
                channels[name] = real
        return Wired(channels, notes)

    def channel_wiring(self) -> Wiring:
        """The wiring handed to channels, the same object every time (the Telegram queue is
        kept per wiring)."""
        # A channel's relative paths (a saved login under var/) are the home folder's.
        if not self.wiring.home:
            self.wiring = replace(self.wiring, home=self.app.settings.home)
        return self.wiring

    def telegram_queue(self) -> TelegramQueue:
        """The one queue of everything this runtime sends to Telegram: the channel's posts and
        fan-out (its channels get it through the wiring), the bot's replies, alerts."""
        from bot.channels.telegram_queue import queue_for

        return queue_for(self.channel_wiring())

    def targets(self, names: list[str] | tuple[str, ...]) -> list[Target]:
        """The organisation's own accounts and chats of these channels (not subscribers)."""
        from bot.publish.outbox import Target

        return [
            Target(name, target, self.via(name))
            for name in names
            for target in registry.spec(name).targets(self.app.settings.channel(name))
        ]

    # -- sending ----------------------------------------------------------------------------
    def unsubscribe_links(self) -> Callable[[str], str]:
        """Subscriber token → the signed one-click unsubscribe URL under the configured base."""
        from bot.config.urls import public_urls
        from bot.subscribers.tokens import tokens_for

        tokens = tokens_for(self.app.settings, self.app.clock)
        urls = public_urls(self.app.settings)
        return lambda token: urls.unsubscribe(tokens.unsubscribe(token))

    def sender(
        self,
        wired: Wired,
        on_outcome: Callable[[Outcome], None] | None = None,
        max_wait_seconds: float = 600,
    ) -> Sender:
        """A sender over the wired channels, with a daily budget where a real channel bills."""
        from bot.publish.sender import Sender

        settings = self.app.settings
        budgets: dict[str, Budget] = {}
        for name, channel in wired.channels.items():
            budget = self.budget(name)
            if channel.via == "platform" and budget is not None:
                budgets[name] = budget
        return Sender(
            self.app.engine,
            wired.channels,
            clock=self.app.clock,
            budgets=budgets,
            unsubscribe_url=self.unsubscribe_links() if "email" in wired.channels else None,
            concurrency={
                name: registry.spec(name).width(settings.channel(name)) for name in wired.channels
            },
            max_wait_seconds=max_wait_seconds,
            on_outcome=on_outcome,
            sleep=self.sleep,
        )

    def budget(self, name: str) -> Budget | None:
        """The daily budget of a channel that bills its posts (None for the others)."""
        spec = registry.spec(name)
        if not spec.billed:
            return None
        settings = self.app.settings
        config = settings.channel(name)
        return Budget(self.app.engine, name, config, _cost(spec, config), settings.tz)

    async def send(
        self, publication_id: int | None = None, on_outcome: Callable[[Outcome], None] | None = None
    ) -> tuple[Report, Sender]:
        """Send what is pending (of one publication, or all) through every channel."""
        wired = self.connect()
        try:
            sender = self.sender(wired, on_outcome)
            report = await sender.run(publication_id)
        finally:
            await wired.close()
        if report.refused:
            await self.tell_refused(report.refused)
        return report, sender

    async def tell_refused(self, refused: dict[str, str]) -> None:
        """One alert per channel whose platform refused the bot's login in this run.

        The channel does not log in again on its own, so nothing goes out there until staff
        replace the credentials the alert names.
        """
        from bot.errors import BotError

        try:
            alerter = self.alerter()
        except BotError as exc:  # config/schedule.toml unreadable: the lines still say it
            log.error("cannot alert the admins (%s): %s", exc, "; ".join(refused.values()))
            return
        try:
            for name, why in refused.items():
                await alerter.alert(f"{name}: nothing can be posted there: {why}")
        finally:
            await alerter.close()

    # -- staff and the calendar ---------------------------------------------------------------
    @property
    def schedule(self) -> Schedule:
        """config/schedule.toml, loaded once."""
        if self._schedule is None:
            from bot.calendar.config import load_schedule

            self._schedule = load_schedule(self.app.settings.config_dir / "schedule.toml")
        return self._schedule

    def alerter(self) -> Alerter:
        """Alerts to the admin chat and/or address of config/schedule.toml."""
        from bot.alerts import Alerter

        admin = self.schedule.admin
        names = [n for n, on in (("telegram", admin.telegram_chat), ("email", admin.email)) if on]
        return Alerter(
            self.connect(names).channels,
            admin.telegram_chat,
            admin.email,
            self.app.settings.file.organisation.short_name,
        )

    def publisher(self, alerter: Admins | None = None) -> Publisher:
        """The publishing service: every "publish this now" goes through it."""
        from bot.publishing.service import Publisher

        return Publisher(self, alerter)

    @contextlib.asynccontextmanager
    async def publishing(self) -> AsyncIterator[Publisher]:
        """A publisher whose approval requests reach the admins, for one request of a person.

        The admins' channels are connected only if a request is actually sent.
        """
        admins = _OnDemand(self.alerter)
        try:
            yield self.publisher(admins)
        finally:
            await admins.close()

    def runner(self, send: Callable[[], Awaitable[Report]] | None = None) -> Runner:
        """The calendar's tick, publishing through the publisher and alerting the admins."""
        from bot.schedule.runner import Runner

        alerter = self.alerter()
        return Runner(self.app, self.schedule, self.publisher(alerter), send=send, alerter=alerter)

    def web(self) -> Any:
        """The public web page (a Starlette app)."""
        from bot.web.app import build_web

        return build_web(self.app, self.app.clock)

    def telegram(
        self,
        send: Callable[[], Awaitable[Report]] | None = None,
        approved: Callable[[], None] | None = None,
    ) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]] | None:
        """The Telegram bot for subscribers and staff, as "run until this event is set";
        None without a token (or in a rehearsal)."""
        from bot.telegram_bot.application import build_application, run_bot

        application = build_application(self, send=send, approved=approved)
        if application is None:
            return None
        return lambda stop: run_bot(application, stop)

    def web_server(self, host: str, port: int, *, own_signals: bool) -> Any:
        """The page served by a bounded uvicorn (`bot web`, and `bot run` with [web] serve)."""
        from bot.web.app import web_server

        return web_server(self.app, self.app.settings.file.web, host, port, own_signals=own_signals)

    def confirmations(self) -> ConfirmationSender:
        """Sends the confirmation emails of queued sign-ups (in `bot run`, never the web)."""
        from bot.subscribers.confirmations import ConfirmationSender
        from bot.web.subscribe import confirmation_mails

        mail = confirmation_mails(self.app, self.unsubscribe_links())
        return ConfirmationSender(
            self.app.engine,
            self.app.clock,
            lambda: self.connect(["email"]).channels["email"],
            mail,
            retention=self.app.settings.file.retention,
        )

    async def send_confirmations(self, channel: str, added_at: dt.datetime) -> int:
        """Email each person added pending at `added_at` their confirmation link (an import).

        Queued like a sign-up from the page (staff's imports count against no limit) and sent
        now by the same confirmation sender; 0 if `bot run` is sending them at this moment.
        """
        from bot.subscribers import requests, store
        from bot.subscribers.signup import Signup
        from bot.subscribers.tokens import tokens_for

        tokens = tokens_for(self.app.settings, self.app.clock)
        limits = self.app.settings.file.web.limits
        for person in store.stream(self.app.engine, channel, "pending"):
            if person.created_at == added_at:
                signup = Signup(person.address, person.lang, person.topics)
                keys = requests.keys_for(tokens, person.address, None)
                requests.enqueue(self.app.engine, signup, keys, limits, added_at, "import")
        return (await self.confirmations().run()).sent

    # -- the main job -----------------------------------------------------------------------
    async def tick_once(self, echo: Echo) -> list[str]:
        """`bot run --once`: handle what is due now, send it; the lines to show."""
        from bot.schedule.daemon import make_runner

        runner = make_runner(self, echo)
        try:
            lines = (await runner.tick(self.app.clock())).lines
            sent = (await self.confirmations().run()).sent
            return [*lines, f"Sent {sent} confirmation email(s)."] if sent else lines
        finally:
            if runner.alerter is not None:
                await runner.alerter.close()

    async def serve(self, stop: asyncio.Event, echo: Echo) -> None:
        """`bot run`: the calendar, the web page and the Telegram bot until `stop` is set."""
        from bot.config.urls import require_public_urls
        from bot.schedule.daemon import serve

        require_public_urls(self.app.settings)  # no email may carry a broken link
        await serve(self, stop, echo)


class _OnDemand:
    """The admin alerter, made on its first message (most posts by hand ask nobody)."""

    def __init__(self, make: Callable[[], Alerter]) -> None:
        self._make = make
        self._made: Alerter | None = None

    async def tell(
        self, subject: str, texts: list[str], buttons: tuple[tuple[str, str], ...] = ()
    ) -> None:
        if self._made is None:
            self._made = self._make()
        await self._made.tell(subject, texts, buttons)

    async def close(self) -> None:
        if self._made is not None:
            await self._made.close()


def build_runtime(app: App, wiring: Wiring | None = None, sleep: Sleep | None = None) -> Runtime:
    """The runtime of `app`; tests pass their own wiring (virtual clocks and sleeps)."""
    return Runtime(app, wiring or Wiring(clock=app.clock), sleep or asyncio.sleep)


def _cost(spec: type[ChannelSpec], settings: Any) -> Callable[[Payload], tuple[int, float]]:
    def cost(payload: Payload) -> tuple[int, float]:
        return spec.cost(settings, payload) or (0, 0.0)

    return cost
