"""Building the subscriber bot's Application, and running it beside the scheduler.

`run_bot` shares `bot run`'s event loop with the scheduler, so it never raises for Telegram's
sake: a start that fails is logged and tried again with a growing pause, a rejected token is
logged once, and either way it returns only when `stop` is set, after closing its connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.channels.telegram import CONCURRENCY
from bot.config.model import secret
from bot.telegram_bot.approvals import ApprovalHandlers
from bot.telegram_bot.handlers import Context, Handlers
from bot.telegram_bot.logs import GUARD, guard_logs, scrub
from bot.telegram_bot.outgoing import ChatByChat, ThroughQueue
from bot.telegram_bot.staff_commands import StaffCommands
from bot.telegram_bot.staff_confirm import PREFIX as STAFF_BUTTONS
from bot.telegram_bot.texts import COMMANDS, both

if TYPE_CHECKING:
    from bot.publish.sender import Report
    from bot.runtime import Runtime

BotApplication = Application[
    ExtBot[None], Context, dict[Any, Any], dict[Any, Any], dict[Any, Any], None
]
# Pauses between attempts to start while Telegram cannot be reached: growing, then steady.
MAX_RETRY_SECONDS = 300.0
_LANGUAGES = "languages"
_SETTING = "[channels.telegram] token_env in config/bot.toml"
log = logging.getLogger(__name__)


def file_url(base_url: str) -> str:
    """The Bot API's file address for a base address: `…/bot` serves files under `…/file/bot`."""
    head, _, last = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{last}"


def _request(seconds: float, connections: int = 1) -> HTTPXRequest:
    return HTTPXRequest(
        connection_pool_size=connections,
        connect_timeout=seconds,
        read_timeout=seconds,
        write_timeout=seconds,
        pool_timeout=seconds,
    )


def build_application(
    runtime: Runtime,
    send: Callable[[], Awaitable[Report]] | None = None,
    approved: Callable[[], None] | None = None,
) -> BotApplication | None:
    """The bot for subscribers (and staff), or None without a token (or in a rehearsal).

    `send` sends what is pending after a staff member's /postnow: inside `bot run`, the
    scheduler's own sender; without it, a sender for that publication alone. `approved` is
    called when an approval request becomes approved: inside `bot run`, it wakes the scheduler,
    so a post approved late goes out at once rather than at the next tick.
    """
    app = runtime.app
    settings = app.settings.channel("telegram")
    if app.rehearsal:
        # A rehearsal must never reach a real platform, and its clock is not today's.
        log.info("telegram bot: off during a rehearsal (BOT_CLOCK_START)")
        return None
    token = secret(settings.token_env)
    if not token:
        return None
    # Before the Application exists: building the Bot already logs its URL, token included.
    guard_logs(token)
    base_url = settings.base_url.rstrip("/")
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_url(base_url))
        # Separate connections, so that a long poll never delays an answer; several, so that
        # answers to different people are on their way at once.
        .request(_request(settings.timeout_seconds, CONCURRENCY))
        .get_updates_request(_request(settings.timeout_seconds))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # Our own scheduler runs the calendar (REFERENCE.md 2.5); PTB's would be a second one.
        .job_queue(None)
        # Every reply through the runtime's one Telegram queue (outgoing.py), and each chat's
        # updates in order while different chats are answered at once.
        .rate_limiter(ThroughQueue(runtime.telegram_queue()))
        .concurrent_updates(ChatByChat())
        .build()
    )
    handlers = Handlers(runtime, send)
    application.bot_data[_LANGUAGES] = handlers.langs
    add_handlers(application, handlers, approved)
    return application


def add_handlers(
    application: BotApplication, handlers: Handlers, approved: Callable[[], None] | None = None
) -> None:
    """Register the commands, the language and staff buttons and the error handler."""
    # Only new messages: an edited "/start" (or "/postnow") must not act a second time.
    new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", handlers.start, filters=new))
    application.add_handler(CommandHandler("subscribe", handlers.subscribe, filters=new))
    application.add_handler(CommandHandler(["stop", "unsubscribe"], handlers.stop, filters=new))
    application.add_handler(CommandHandler("latest", handlers.latest, filters=new))
    application.add_handler(CommandHandler("help", handlers.help, filters=new))
    # Staff commands check the sender themselves; they are not in the public command menu.
    staff = StaffCommands(handlers)
    # Staff deciding on approval requests: the same staff check as every staff command.
    approvals = ApprovalHandlers(handlers.app, staff, approved)
    application.add_handler(CommandHandler("whoami", staff.whoami, filters=new))
    for name, action in {**staff.commands(), **approvals.commands()}.items():
        application.add_handler(CommandHandler(name, staff.command(name, action), filters=new))
    # Before the catch-all below, which would answer staff buttons as stale language buttons.
    application.add_handler(CallbackQueryHandler(staff.decide, pattern=f"^{STAFF_BUTTONS}"))
    application.add_handler(CallbackQueryHandler(approvals.button, pattern=r"^apv:"))
    # No pattern: forged or outdated data must still be answered, and is refused inside.
    application.add_handler(CallbackQueryHandler(handlers.choose))
    application.add_handler(MessageHandler(new & filters.ChatType.PRIVATE, handlers.help))
    application.add_error_handler(_on_error)


async def _on_error(update: object, context: Context) -> None:
    error = context.error
    if error is None:
        return
    # An exception's message may quote a chat id (a database error shows its parameters) or,
    # from PTB, the token; only Telegram's own explanations are worth keeping.
    said = f": {scrub(str(error), GUARD.tokens)}" if isinstance(error, TelegramError) else ""
    where = "".join(traceback.format_tb(error.__traceback__))
    log.error("telegram bot: an update failed: %s%s\n%s", type(error).__name__, said, where)
    # A person who sent a command deserves an answer; a button press was answered already, and
    # after a Telegram error another message would likely fail (or land twice) the same way.
    if not isinstance(update, Update) or update.callback_query or isinstance(error, TelegramError):
        return
    if update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(both("failed"))


def _polling_error(error: TelegramError) -> None:
    log.warning(
        "telegram bot: fetching updates failed (%s: %s); trying again",
        type(error).__name__,
        scrub(str(error), GUARD.tokens),
    )


async def run_bot(
    application: BotApplication,
    stop: asyncio.Event,
    *,
    poll_timeout: float = 10.0,
    retry_seconds: float = 5.0,
) -> None:
    """Answer subscribers until `stop` is set, then stop polling and close the connections."""
    try:
        await _start(application, stop, poll_timeout, retry_seconds)
        await stop.wait()
    finally:
        await _shut(application)


async def _start(
    application: BotApplication, stop: asyncio.Event, poll_timeout: float, retry_seconds: float
) -> None:
    delay = retry_seconds
    while not stop.is_set():
        try:
            await application.initialize()
            await _set_commands(application)
            await application.start()
            assert application.updater is not None  # built with the default Updater
            await application.updater.start_polling(
                timeout=dt.timedelta(seconds=poll_timeout),
                allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
                error_callback=_polling_error,
            )
            log.info("telegram bot: answering subscribers")
            return
        except InvalidToken:
            # PTB's message quotes the token; and trying again cannot help.
            log.error("telegram bot: Telegram rejected the token; check %s", _SETTING)
            return
        except Exception as exc:
            said = scrub(str(exc), GUARD.tokens)
            log.warning(
                "telegram bot: cannot start (%s: %s); trying again in %g s",
                type(exc).__name__,
                said,
                delay,
            )
        await _shut(application)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, MAX_RETRY_SECONDS)


async def _set_commands(application: BotApplication) -> None:
    """The command menu, per language; without it the bot works the same, so failure is fine."""
    langs: tuple[str, ...] = application.bot_data[_LANGUAGES]
    try:
        for index, lang in enumerate(langs):
            commands = [BotCommand(name, about) for name, about in COMMANDS[lang].items()]
            if index == 0:
                await application.bot.set_my_commands(commands)
            await application.bot.set_my_commands(commands, language_code=lang)
    except TelegramError as exc:
        log.warning("telegram bot: could not set the command menu (%s)", type(exc).__name__)


async def _shut(application: BotApplication) -> None:
    """Undo whatever part of the start happened; each step on its own, so all are tried."""
    steps: list[Callable[[], Awaitable[None]]] = []
    if application.updater is not None and application.updater.running:
        steps.append(application.updater.stop)
    if application.running:
        steps.append(application.stop)
    steps += [application.shutdown, application.bot.shutdown]
    for step in steps:
        try:
            await step()
        except Exception as exc:
            log.warning("telegram bot: stopping: %s", type(exc).__name__)
