"""What every route module needs: the bot, the clock, the pages, the public address, the keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.config.urls import PublicUrls, public_urls
from bot.lang import digits
from bot.web.pages import NO_STORE, Pages, prefixed, queried
from bot.web.texts import TEXTS

if TYPE_CHECKING:
    from bot.app import App
    from bot.subscribers.tokens import Tokens
    from bot.web.forms import FormGuard

Clock = Callable[[], dt.datetime]


@dataclass
class Site:
    """Shared by the route modules of one web application."""

    app: App
    clock: Clock
    pages: Pages = field(init=False)
    urls: PublicUrls = field(init=False)

    def __post_init__(self) -> None:
        self.pages = Pages(self.app.settings)
        # Checked now: a web page that would send broken links must not start.
        self.urls = public_urls(self.app.settings)

    @cached_property
    def tokens(self) -> Tokens:
        """Signs and reads the tokens of confirm and unsubscribe links (on first use, since
        it may create the web secret file)."""
        from bot.subscribers.tokens import tokens_for

        return tokens_for(self.app.settings, self.clock)

    @cached_property
    def forms(self) -> FormGuard:
        """The anti-forgery check of this site's forms."""
        from bot.web.forms import FormGuard

        return FormGuard(self.tokens, self.urls)

    @property
    def base(self) -> str:
        """The public address of the site, ending in "/"."""
        return self.urls.site

    def with_form(
        self, request: Request, name: str, lang: str, *, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page holding a form: its token goes with a cookie, and the page is never cached."""
        token, cookie = self.forms.issue(request)
        response = self.pages.render(
            request, name, lang, status=status, headers=NO_STORE, form_token=token, **context
        )
        if cookie is not None:
            self.forms.set_cookie(response, cookie)
        return response

    def message(
        self,
        request: Request,
        lang: str,
        title: str,
        *lines: str,
        status: int = 200,
        both: bool = False,
        **options: object,
    ) -> HTMLResponse:
        """A short page: a title and a few lines (keys of TEXTS), formatted with `options`.

        `both` shows the message in every language, for links that do not say whose they
        are (a broken token): the reader's language is then unknown.
        """
        langs = [lang, *(other for other in TEXTS if other != lang)] if both else [lang]
        blocks = [
            {
                "lang": each,
                "title": TEXTS[each][title],
                "lines": [TEXTS[each][line].format(**_local(options, each)) for line in lines],
            }
            for each in langs
        ]
        return self.pages.render(
            request,
            "answer.html",
            lang,
            status=status,
            title=TEXTS[lang][title],
            blocks=blocks,
            headers=NO_STORE,
            alternates=_same_page(request),
        )


def _local(options: dict[str, object], lang: str) -> dict[str, str]:
    # Numbers in a Burmese page are written in Burmese digits.
    return {key: digits(str(value), lang) for key, value in options.items()}


def _same_page(request: Request) -> dict[str, str]:
    # Pages answering a form or a token link: the other language is the same address with
    # ?lang= for a GET, the home page for a POST (which cannot be repeated by a link).
    if request.method == "GET":
        return queried(request.url.path)
    return prefixed("/")
