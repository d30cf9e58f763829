"""Everything the subscriber bot says, in English and Burmese, as Telegram HTML.

The texts are fixed markup: whatever is filled in (a name from the configuration, a figure, a
date) goes through `text(..., **values)`, which escapes it, so no value can break the markup or
smuggle a link into a message.
"""

from __future__ import annotations

import html

# Telegram caps callback_data at 64 bytes; these are far below and carry no personal data.
LANGUAGE_CHOICE = "lang:"
LANGUAGE_NAMES = {"en": "English", "my": "မြန်မာ"}

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": (
            "<b>{org}</b>\n"
            "This bot sends the figures on political prisoners that we publish: statements, "
            "a weekly digest and a daily briefing. Choose your language to subscribe."
        ),
        "my": (
            "<b>{org}</b>\n"
            "ဤဘော့သည် ကျွန်ုပ်တို့ ထုတ်ပြန်သော နိုင်ငံရေးအကျဉ်းသားဆိုင်ရာ ကိန်းဂဏန်းများကို "
            "ပေးပို့ပါသည် – ထုတ်ပြန်ချက်များ၊ အပတ်စဉ်အနှစ်ချုပ်နှင့် နေ့စဉ်သတင်းများ။ "
            "စာရင်းသွင်းရန် ဘာသာစကား ရွေးချယ်ပါ။"
        ),
    },
    "choose_language": {
        "en": "Choose your language to subscribe.",
        "my": "စာရင်းသွင်းရန် ဘာသာစကား ရွေးချယ်ပါ။",
    },
    "subscribed": {
        "en": (
            "You are subscribed: you will receive our statements, the weekly digest and the "
            "daily briefing in English.\n"
            "/latest shows the latest figures, /stop unsubscribes, /help lists the commands."
        ),
        "my": (
            "စာရင်းသွင်းပြီးပါပြီ။ ထုတ်ပြန်ချက်များ၊ အပတ်စဉ်အနှစ်ချုပ်နှင့် နေ့စဉ်သတင်းများကို "
            "မြန်မာဘာသာဖြင့် ရရှိပါမည်။\n"
            "နောက်ဆုံးရ ကိန်းဂဏန်းများအတွက် /latest ၊ စာရင်းမှထွက်ရန် /stop ၊ "
            "အမိန့်များအတွက် /help ကို ပို့ပါ။"
        ),
    },
    "resubscribed": {
        "en": "Welcome back: you are subscribed again, in English. /stop unsubscribes.",
        "my": "ပြန်လည်ကြိုဆိုပါတယ်။ မြန်မာဘာသာဖြင့် ပြန်လည်စာရင်းသွင်းပြီးပါပြီ။ စာရင်းမှထွက်ရန် /stop ကို ပို့ပါ။",
    },
    "already_subscribed": {
        "en": "You are already subscribed, in English. /stop unsubscribes.",
        "my": "မြန်မာဘာသာဖြင့် စာရင်းသွင်းပြီးသား ဖြစ်ပါသည်။ စာရင်းမှထွက်ရန် /stop ကို ပို့ပါ။",
    },
    "unsubscribed": {
        "en": "You are unsubscribed and will receive nothing more. /subscribe starts again.",
        "my": "စာရင်းမှ ထွက်ပြီးပါပြီ။ နောက်ထပ် မည်သည့်စာမှ ပေးပို့မည် မဟုတ်ပါ။ ပြန်လည်စာရင်းသွင်းရန် /subscribe ကို ပို့ပါ။",
    },
    "not_subscribed": {
        "en": "You are not subscribed. /subscribe subscribes you.",
        "my": "သင် စာရင်းသွင်းထားခြင်း မရှိပါ။ စာရင်းသွင်းရန် /subscribe ကို ပို့ပါ။",
    },
    "personal": {
        "en": "Subscriptions are personal: please write to me in a private chat.",
        "my": "စာရင်းသွင်းခြင်းသည် တစ်ဦးချင်းအတွက် ဖြစ်ပါသည်။ ကျေးဇူးပြု၍ ကျွန်ုပ်ထံ သီးသန့်စာဖြင့် ဆက်သွယ်ပါ။",
    },
    "open_private_chat": {"en": "Open a private chat", "my": "သီးသန့်စာ ပို့ရန်"},
    "help": {
        "en": (
            "<b>Commands</b>\n"
            "/start – welcome and choice of language\n"
            "/subscribe – receive our statements, the weekly digest and the daily briefing\n"
            "/latest – the latest figures\n"
            "/stop or /unsubscribe – receive nothing more\n"
            "/help – this list"
        ),
        "my": (
            "<b>အမိန့်များ</b>\n"
            "/start – ကြိုဆိုခြင်းနှင့် ဘာသာစကား ရွေးချယ်ခြင်း\n"
            "/subscribe – ထုတ်ပြန်ချက်များ၊ အပတ်စဉ်အနှစ်ချုပ်နှင့် နေ့စဉ်သတင်းများ ရယူရန်\n"
            "/latest – နောက်ဆုံးရ ကိန်းဂဏန်းများ\n"
            "/stop သို့မဟုတ် /unsubscribe – စာရင်းမှ ထွက်ရန်\n"
            "/help – ဤစာရင်း"
        ),
    },
    "latest_heading": {
        "en": "<b>{org}</b>\nFigures as of {date}:",
        "my": "<b>{org}</b>\n{date} အထိ ကိန်းဂဏန်းများ -",
    },
    "latest_line": {"en": "<b>{value}</b> {label}", "my": "{label} <b>{value}</b> ဦး"},
    "older_value": {"en": " (as of {date})", "my": " ({date} အထိ)"},
    "source": {"en": "Source", "my": "ရင်းမြစ်"},
    "no_figures": {"en": "No figures yet.", "my": "ကိန်းဂဏန်းများ မထည့်သွင်းရသေးပါ။"},
    # Button answers are shown as plain text (a toast), so these carry no markup.
    "chosen": {"en": "English it is.", "my": "မြန်မာဘာသာ ရွေးချယ်ပြီးပါပြီ။"},
    "stale_button": {
        "en": "This button is no longer valid: send /start.",
        "my": "ဤခလုတ်ကို အသုံးမပြုနိုင်တော့ပါ။ /start ကို ပို့ပါ။",
    },
    "failed": {
        "en": "Sorry, something went wrong. Please try again later.",
        "my": "တောင်းပန်ပါသည်။ အမှားတစ်ခု ဖြစ်သွားပါသည်။ နောက်မှ ထပ်ကြိုးစားပါ။",
    },
}

# The command menu (setMyCommands): plain text, 1–256 characters each.
COMMANDS: dict[str, dict[str, str]] = {
    "en": {
        "start": "Welcome and choice of language",
        "subscribe": "Receive the statements and briefings",
        "latest": "The latest figures",
        "stop": "Receive nothing more",
        "help": "The commands",
    },
    "my": {
        "start": "ကြိုဆိုခြင်းနှင့် ဘာသာစကား ရွေးချယ်ခြင်း",
        "subscribe": "ထုတ်ပြန်ချက်များ ရယူရန်",
        "latest": "နောက်ဆုံးရ ကိန်းဂဏန်းများ",
        "stop": "စာရင်းမှ ထွက်ရန်",
        "help": "အမိန့်များ",
    },
}


def text(key: str, lang: str, **values: object) -> str:
    """The text `key` in `lang` ("my" or "en"), with `values` escaped for Telegram HTML."""
    template = TEXTS[key]["my" if lang == "my" else "en"]
    return template.format(**{name: html.escape(str(value)) for name, value in values.items()})


def both(key: str, langs: tuple[str, ...] = ("en", "my"), **values: object) -> str:
    """The text in each language, one paragraph each, for someone whose language is unknown."""
    return "\n\n".join(text(key, lang, **values) for lang in langs)
