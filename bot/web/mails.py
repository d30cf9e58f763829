"""The confirmation email, in the language the person chose: plain text and HTML."""

from __future__ import annotations

from bot.channels.base import Payload
from bot.config.settings import Settings
from bot.lang import digits
from bot.subscribers.store import Subscriber
from bot.subscribers.tokens import CONFIRM_DAYS
from bot.web.pages import Pages
from bot.web.texts import TEXTS, topic_list


def confirmation(
    pages: Pages, settings: Settings, person: Subscriber, confirm_url: str, unsubscribe_url: str
) -> Payload:
    """The email carrying the confirmation link to `person`.

    It also carries the unsubscribe link (header and footer), like every email the bot sends:
    someone who never asked can stop it in one click, from their mail client or the page.
    """
    lang = person.lang
    t = TEXTS[lang]
    organisation = settings.file.organisation
    org = organisation.name.get(lang)
    days = digits(CONFIRM_DAYS, lang)
    words = {
        "subject": t["mail_subject"].format(org=organisation.short_name if lang == "en" else org),
        "hello": t["mail_hello"].format(topics=topic_list(person.topics, lang), org=org),
        "confirm": t["mail_confirm"].format(days=days),
        "button": t["mail_button"],
        "ignore": t["mail_ignore"],
        "unsubscribe_words": t["mail_unsubscribe"],
    }
    text = "\n\n".join(
        [
            words["hello"],
            f"{words['confirm']}\n{confirm_url}",
            words["ignore"],
            f"--\n{org} · {organisation.website}\n{words['unsubscribe_words']} {unsubscribe_url}",
        ]
    )
    html = pages.env.get_template("confirm_email.html").render(
        lang=lang,
        url=confirm_url,
        unsubscribe_url=unsubscribe_url,
        org_name=org,
        website=organisation.website,
        **words,
    )
    return Payload(
        channel="email",
        lang=lang,
        parts=(text + "\n",),
        subject=words["subject"],
        html=html,
        target=person.address,
        extra={"unsubscribe_url": unsubscribe_url},
    )
