"""What the staff commands say, and fitting it into a Telegram message.

Whoever is refused may be anyone, so refusals and /whoami are in English and Burmese, fixed
markup with escaped values as in texts.py. Staff see English, as in the `bot` command.
"""

from __future__ import annotations

import html

from bot.errors import BotError, Problems

# Telegram's limit for a message's text. Counted here in UTF-16 code units of the HTML sent,
# which is never less than what Telegram counts (entities parsed, tags removed).
MESSAGE_LIMIT = 4096
CUT_NOTE = "\n… (cut: longer than a Telegram message; `bot preview` shows it whole)"

TEXTS: dict[str, dict[str, str]] = {
    "staff_only": {
        "en": "Sorry, only the organisation's staff can use this command.",
        "my": "တောင်းပန်ပါသည်။ ဤအမိန့်ကို အဖွဲ့အစည်း၏ ဝန်ထမ်းများသာ အသုံးပြုနိုင်ပါသည်။",
    },
    # A toast: plain text, at most 200 characters.
    "staff_only_button": {
        "en": "Sorry, only the organisation's staff can use this button.",
        "my": "တောင်းပန်ပါသည်။ ဤခလုတ်ကို အဖွဲ့အစည်း၏ ဝန်ထမ်းများသာ အသုံးပြုနိုင်ပါသည်။",
    },
    "whoami": {
        "en": (
            "Your Telegram user id is <code>{user_id}</code>.\n"
            "If you are on the organisation's staff, give it to whoever keeps the bot's settings."
        ),
        "my": (
            "သင်၏ Telegram အသုံးပြုသူ အမှတ်မှာ <code>{user_id}</code> ဖြစ်ပါသည်။\n"
            "အဖွဲ့အစည်း၏ ဝန်ထမ်းဖြစ်ပါက ဘော့၏ ဆက်တင်များကို ထိန်းသိမ်းသူထံ ပေးပို့ပါ။"
        ),
    },
}


def public_text(key: str, lang: str, **values: object) -> str:
    """The text `key` in `lang` ("my" or "en"), with `values` escaped for Telegram HTML."""
    template = TEXTS[key]["my" if lang == "my" else "en"]
    return template.format(**{name: html.escape(str(value)) for name, value in values.items()})


def esc(value: object) -> str:
    """A value as text inside Telegram HTML (quotes need no escaping outside attributes)."""
    return html.escape(str(value), quote=False)


def units(text: str) -> int:
    """The length Telegram measures against its limits (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def fit(head: str, body: str, note: str = CUT_NOTE, limit: int = MESSAGE_LIMIT) -> str:
    """`head` (HTML) and `body` (plain text, escaped here) in one message; the body cut if needed.

    The body is cut before escaping, so no entity (`&amp;`) is ever split.
    """
    whole = head + esc(body)
    if units(whole) <= limit:
        return whole
    budget = limit - units(head) - units(esc(note))
    kept: list[str] = []
    for char in body:
        piece = esc(char)
        budget -= units(piece)
        if budget < 0:
            break
        kept.append(piece)
    return head + "".join(kept) + esc(note)


def pre(lines: list[str]) -> str:
    """Lines in a monospaced block, so columns stay aligned; cut to fit one message."""
    return fit("<pre>", "\n".join(lines), note="\n…", limit=MESSAGE_LIMIT - len("</pre>")) + (
        "</pre>"
    )


def error_html(exc: BotError) -> str:
    """A refusal as staff read it in the terminal: the title and each problem on its own line."""
    if isinstance(exc, Problems):
        count = len(exc.problems)
        head = f"<b>{esc(exc.title)}</b> ({count} problem{'s' if count != 1 else ''}):\n"
        body = "\n".join(f"• {problem}" for problem in exc.problems)
        if "--correction" in body:
            body += '\n\nHere, add correction="why" to the command instead of --correction.'
        return fit(head, body)
    return fit("<b>Error:</b> ", str(exc))
