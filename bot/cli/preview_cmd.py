"""`bot preview`: every edition of a message as each channel would receive it."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli import get_app, get_runtime

ALL = "all"


def _choices(value: str, known: tuple[str, ...], what: str) -> list[str] | None:
    from bot.errors import ConfigError

    if value == ALL:
        return None
    chosen = [item.strip() for item in value.split(",") if item.strip()]
    unknown = [item for item in chosen if item not in known]
    if unknown or not chosen:
        raise ConfigError(
            f"unknown {what} {', '.join(unknown) or value!r}; choose from {', '.join(known)} or all"
        )
    return chosen


@click.command()
@click.argument("message")
@click.option("--on", "on", help="Compose as on this date (YYYY-MM-DD); default: today.")
@click.option("--lang", default=ALL, show_default=True, help="en, my or all.")
@click.option(
    "--channel", default=ALL, show_default=True, help="Channel names, comma-separated, or all."
)
@click.option(
    "--html-out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each email edition's HTML into this folder.",
)
@click.option(
    "--cards",
    "cards_out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write each language's figure card (PNG, and its alt text) into this folder.",
)
@click.pass_context
def preview(
    ctx: click.Context,
    message: str,
    on: str | None,
    lang: str,
    channel: str,
    html_out: Path | None,
    cards_out: Path | None,
) -> None:
    """Show every edition of MESSAGE as each channel would receive it."""
    failures = _preview(ctx, message, on, lang, channel, html_out, cards_out)
    if failures:
        what = "1 edition cannot" if failures == 1 else f"{failures} editions cannot"
        click.secho(f"{what} be sent as shown (see CANNOT BE SENT above).", err=True, fg="red")
        ctx.exit(1)


def _preview(
    ctx: click.Context,
    message_name: str,
    on: str | None,
    lang: str,
    channel: str,
    html_out: Path | None,
    cards_out: Path | None = None,
) -> int:
    from bot.channels.registry import NAMES, spec
    from bot.compose.drafts import Draft, Failure, occasion_for
    from bot.errors import ConfigError
    from bot.figures.entries import parse_date
    from bot.lang import LANGUAGES
    from bot.preview import occasion_line, show_edition, write_cards, write_html
    from bot.store.figures import newest_date

    app = get_app(ctx)
    langs = _choices(lang, LANGUAGES, "language")
    channels = _choices(channel, NAMES, "channel")
    message = app.composer.message(message_name)
    try:
        day = parse_date(on) if on else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    occasion = occasion_for(app.settings, message, day, app.today())
    with app.engine.connect() as conn:
        newest = newest_date(conn, occasion.on)
    click.echo(f"{message.name}: {message.settings.description}")
    click.echo(occasion_line(occasion, str(newest) if newest else None))
    runtime = get_runtime(ctx)
    for name in channels or message.settings.channels:
        if not runtime.enabled(name):
            click.echo(
                f"{name}: turned off in config/bot.toml ([channels.{name}] enabled): not sent"
            )
        elif runtime.via(name) == "folder":
            click.echo(f"{name}: {runtime.folder_note(name)}")
    click.echo("")
    editions = app.composer.compose(message, occasion, langs, channels)
    for edition in editions:
        show_edition(edition, click.echo)
        if html_out and isinstance(edition, Draft) and edition.html:
            click.echo(f"HTML written to {write_html(edition, html_out)}\n")
    if cards_out:
        written = write_cards(editions, cards_out)
        for path in written:
            click.echo(f"Card written to {path} (alt text: {path.with_suffix('.alt.txt')})")
        if not written:
            click.echo(f"No card: {message.name} declares none (messages/{message.name}/card.toml)")
    posts: dict[str, int] = {}
    for edition in editions:
        if isinstance(edition, Draft):
            posts[edition.channel] = posts.get(edition.channel, 0) + len(edition.parts)
    for name, count in posts.items():
        note = spec(name).preview_note(app.settings.channel(name), count)
        if note:
            click.echo(f"{name}: {note}")
    return sum(isinstance(edition, Failure) for edition in editions)
