"""Where a card joins an edition: its texts and figures read through the edition's own context.

The figures a card shows are read from the same snapshot as the edition's text (and noted in
the same usage, so a draft lists them among the figures it carries); its texts are templates
rendered like the message's. Errors name `messages/NAME/card.toml` and the line.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jinja2

from bot.cards.card import Card, CardError
from bot.cards.content import CardContent, Row
from bot.cards.spec import CardDeclaration, load_card
from bot.config.settings import Localized, Settings
from bot.config.urls import public_urls
from bot.errors import BotError, ConfigError, TemplateError
from bot.lang import long_date, number

if TYPE_CHECKING:
    from bot.compose.messages import Message


# Card texts and figure expressions compiled once per environment (the sandbox's settings are
# part of a compiled template), not on every compose: compiling was a tenth of composing.
_TEMPLATES: weakref.WeakKeyDictionary[jinja2.Environment, dict[str, jinja2.Template]] = (
    weakref.WeakKeyDictionary()
)
_EXPRESSIONS: weakref.WeakKeyDictionary[jinja2.Environment, dict[str, Callable[..., Any]]] = (
    weakref.WeakKeyDictionary()
)


def _template(env: jinja2.Environment, source: str) -> jinja2.Template:
    known = _TEMPLATES.setdefault(env, {})
    if source not in known:
        known[source] = env.from_string(source)
    return known[source]


def _expression(env: jinja2.Environment, source: str) -> Callable[..., Any]:
    known = _EXPRESSIONS.setdefault(env, {})
    if source not in known:
        known[source] = env.compile_expression(source)
    return known[source]


def card_for(
    env: jinja2.Environment, settings: Settings, message: Message, lang: str, ctx: dict[str, Any]
) -> Card | None:
    """The card of `message` in `lang` (None when it declares none); raises a BotError."""
    declared = load_card(message.folder)
    if declared is None:
        return None
    content = card_content(env, declared, lang, ctx)
    from bot.cards.alt import alt_text
    from bot.cards.draw import HEIGHT, WIDTH, draw_card

    try:
        alt = alt_text(content)
        png = draw_card(content)
    except CardError as exc:
        raise CardError(f"{declared.at()}: {exc}") from None
    return Card.of(png, alt, WIDTH, HEIGHT, settings.home, public_base(settings))


def card_content(
    env: jinja2.Environment, declared: CardDeclaration, lang: str, ctx: dict[str, Any]
) -> CardContent:
    """Every text of the card, rendered from the edition's context."""
    spec = declared.spec

    def text(name: str, value: Localized) -> str:
        return text_of(env, declared, (name,), value, lang, ctx)

    rows = []
    for index, figure in enumerate(spec.figure):
        where = declared.at("figure", index, "value")
        try:
            value = _expression(env, figure.value)(**ctx)
        except (jinja2.TemplateError, BotError, TypeError, ValueError, ArithmeticError) as exc:
            raise TemplateError(f"{where}: {figure.value}: {_reason(exc)}") from None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TemplateError(f"{where}: {figure.value} is {value!r}, not a whole number")
        key = declared.figure_key(index)
        if figure.label is not None:
            label = text_of(env, declared, ("figure", index, "label"), figure.label, lang, ctx)
        elif key is not None:
            label = ctx["labels"][key]
        else:
            raise ConfigError(
                f"{where}: a figure that is not figures.KEY or year.KEY needs a label"
            )
        rows.append(Row(number(value, lang, grouped=True), label))
    org = ctx["org"]
    return CardContent(
        lang=lang,
        title=text("title", spec.title),
        period=text("period", spec.period),
        rows=tuple(rows),
        org_name=org["name"],
        org_short=org["short_name"],
        date=text("date", spec.date) if spec.date else long_date(ctx["on"], lang),
        note=text("note", spec.note) if spec.note else "",
        website=urlsplit(org["website"]).netloc or org["website"],
    )


def text_of(
    env: jinja2.Environment,
    declared: CardDeclaration,
    where: tuple[str | int, ...],
    value: Localized,
    lang: str,
    ctx: dict[str, Any],
) -> str:
    """One localised text of card.toml rendered; errors name its line."""
    try:
        rendered = _template(env, value.get(lang)).render(ctx)
    except (jinja2.TemplateError, BotError, TypeError, ValueError, ArithmeticError) as exc:
        field = ".".join(str(part) for part in where)
        raise TemplateError(
            f"{declared.at(*where, lang)}: {field}.{lang}: {_reason(exc)}"
        ) from None
    return " ".join(rendered.split())


def public_base(settings: Settings) -> str:
    """The web page's public address, ending in "/", where the archive serves the cards.

    "" when the address is not usable: the card then has no link (the email goes without
    its picture; `bot config check` names the setting to fix).
    """
    try:
        return public_urls(settings).site
    except ConfigError:
        return ""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, jinja2.UndefinedError | jinja2.TemplateSyntaxError):
        return exc.message or str(exc)
    return str(exc)
