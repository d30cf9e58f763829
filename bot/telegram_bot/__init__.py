"""The Telegram bot for subscribers: /start, a language, /latest, /stop, in English and Burmese.

application = build_application(app)   # None without a token
if application is not None:
    await run_bot(application, stop)    # until `stop` (an asyncio.Event) is set
"""

from bot.telegram_bot.application import build_application, run_bot

__all__ = ["build_application", "run_bot"]
