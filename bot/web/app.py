"""The Starlette application: the latest figures page and /health."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.lang import long_date, number
from bot.store.figures import latest
from bot.web.health import check

if TYPE_CHECKING:
    import datetime as dt

    from bot.app import App


def _link(source: str) -> str | None:
    """The web address in a source note, if it has one; only http(s), never javascript:."""
    for word in source.split():
        if word.startswith(("https://", "http://")):
            return word
    return None


def build_web(app: App, clock: Callable[[], dt.datetime]) -> Starlette:
    """The web application over the bot's database."""
    pages = Environment(
        loader=PackageLoader("bot.web", "templates"), autoescape=select_autoescape(["html"])
    )

    async def health(request: Request) -> Response:
        found = check(app.engine, clock())
        return JSONResponse(found.to_json(), status_code=200 if found.ok else 503)

    async def home(request: Request) -> Response:
        lang = "my" if request.query_params.get("lang") == "my" else "en"
        with app.engine.connect() as conn:
            values = latest(conn, app.today())
        rows = [
            (
                figure.label.get(lang),
                number(values[key].value, lang, grouped=True),
                long_date(values[key].as_of, lang),
                values[key].source,
                _link(values[key].source),
            )
            for key, figure in app.book.figures.items()
            if key in values
        ]
        page = pages.get_template("home.html").render(
            lang=lang,
            org_name=app.settings.file.organisation.name.get(lang),
            rows=rows,
            source_word="ရင်းမြစ်" if lang == "my" else "source",
            empty="ကိန်းဂဏန်းများ မထည့်သွင်းရသေးပါ။" if lang == "my" else "No figures yet.",
        )
        return HTMLResponse(page)

    return Starlette(routes=[Route("/", home), Route("/health", health)])
