"""Email: one message per subscriber (a subject, the statement as text and as HTML).

The SMTP client is smtp.py (building each message: email_message.py), imported only when
mail is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from bot.channels.spec import ChannelSpec, Fitted, Fitting, Wiring
from bot.config.model import Strict, secret
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.channels.base import Channel, Payload

EMAIL_LAYOUT = "_layout/email.html.j2"
NEEDS_SUBJECT = "the email edition needs a subject"


class DkimSettings(Strict):
    domain: str
    selector: str
    private_key_env: str = "BOT_DKIM_PRIVATE_KEY"


class EmailSettings(Strict):
    enabled: bool = True
    sender: str = ""
    host_env: str = "BOT_SMTP_HOST"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str = "BOT_SMTP_USERNAME"
    password_env: str = "BOT_SMTP_PASSWORD"
    timeout_seconds: float = Field(default=60, gt=0)
    # Persistent connections kept open while sending, and messages per second (0: no limit).
    connections: int = Field(default=4, ge=1, le=50)
    rate_per_second: float = Field(default=0, ge=0)
    # Where subscribers unsubscribe (the web page's address); a token is appended.
    unsubscribe_base_url: str = "http://localhost:8080/unsubscribe/"
    unsubscribe_mailto: str = ""
    list_id: str = ""
    dkim: DkimSettings | None = None


class Email(ChannelSpec):
    name = "email"
    title = "Email"
    settings_model = EmailSettings
    subscribers = True
    # An email cannot be recalled once sent; a correction is sent instead.
    can_retract = False
    folder_format = "maildir"
    requires = (("subject", "txt", NEEDS_SUBJECT),)
    archive_rank = 0

    @classmethod
    def plain_text(cls, parts: list[str]) -> str:
        """The statement itself: an email is one part."""
        return parts[0].strip() if parts else ""

    @classmethod
    def fit(cls, edition: Fitting) -> Fitted:
        """The subject, the statement as plain text, and HTML with its CSS inlined."""
        import css_inline

        from bot.channels.unsubscribe import UNSUBSCRIBE_MARK, UNSUBSCRIBE_WORDS
        from bot.compose.blocks import blocks

        subject = edition.optional("subject", "txt")
        if subject is None:
            raise ConfigError(f"{edition.path('subject', 'txt')}: missing; {NEEDS_SUBJECT}")
        subject = " ".join(subject.split())
        text = edition.text
        html_context = {
            "subject": subject,
            "blocks": blocks(text, edition.context["org"]["name"]),
            # Each recipient's own link is written in when the email is built for them.
            "unsubscribe_url": UNSUBSCRIBE_MARK,
            "unsubscribe_words": UNSUBSCRIBE_WORDS.get(edition.lang, UNSUBSCRIBE_WORDS["en"]),
        }
        html = edition.render(edition.has("email", "html") or EMAIL_LAYOUT, html_context)
        # Mail clients drop <style> in <head>; inline it, but keep it for @media rules.
        html = css_inline.CSSInliner(keep_style_tags=True).inline(html)
        return Fitted((text,), (len(text),), None, subject=subject, html=html)

    @classmethod
    def secrets(cls, settings: EmailSettings) -> dict[str, str]:
        found = {
            "SMTP host": settings.host_env,
            "SMTP user name": settings.username_env,
            "SMTP password": settings.password_env,
        }
        if settings.dkim is not None:
            found["DKIM private key"] = settings.dkim.private_key_env
        return found

    @classmethod
    def configured(cls, settings: EmailSettings) -> bool:
        return bool(secret(settings.host_env) and settings.sender)

    @classmethod
    def connect(cls, settings: EmailSettings, wiring: Wiring) -> Channel | None:
        from bot.channels.smtp import EmailChannel

        return EmailChannel.from_settings(settings)

    @classmethod
    def width(cls, settings: EmailSettings) -> int:
        return settings.connections

    @classmethod
    def folder_render(cls, settings: EmailSettings) -> Callable[[Payload], bytes] | None:
        from bot.channels.email_message import render_for_folder

        return render_for_folder(settings)
