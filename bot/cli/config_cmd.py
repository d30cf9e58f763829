"""`bot config check` and `bot config show`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.config.settings import Settings


@click.group()
def config() -> None:
    """Validate and show the settings."""


ONE_PER_LANGUAGE = "every message needs one per language"


def collect_problems(home: Path, warnings: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(problems, what was checked) for the settings, figure definitions and every template.

    `warnings` receives what is allowed but dangerous (the page exposed without a proxy).
    """
    from bot.channels import registry
    from bot.compose.check import static_problems, trial_problems
    from bot.compose.drafts import Composer
    from bot.compose.environment import make_environment
    from bot.compose.messages import list_messages, load_message
    from bot.config.figuredefs import load_figure_book
    from bot.config.settings import load_settings
    from bot.errors import BotError, Problems

    def gather(exc: BotError) -> list[str]:
        return exc.problems if isinstance(exc, Problems) else [str(exc)]

    problems: list[str] = []
    checked: list[str] = []
    try:
        settings = load_settings(home)
        checked.append("config/bot.toml")
    except BotError as exc:
        return gather(exc), checked
    try:
        from bot.config.tomlfile import load_toml
        from bot.config.urls import url_problems

        found, warned = url_problems(settings, load_toml(settings.config_dir / "bot.toml"))
    except BotError as exc:  # a _FILE secret that cannot be read
        found, warned = gather(exc), []
    problems += found
    if warnings is not None:
        warnings += warned
    for spec in registry.REGISTRY:
        # Each channel's own checks (an unusable URL, a credential half set), if it is on.
        channel = settings.channel(spec.name)
        if channel.enabled:
            problems += [_located(settings, spec.name, p) for p in spec.problems(channel)]
    problems += _zawgyi_problems(settings)
    try:
        book = load_figure_book(settings.config_dir / "figures.toml")
        checked.append(
            f"config/figures.toml ({len(book.figures)} figures, {len(book.relations)} relations)"
        )
    except BotError as exc:
        return problems + gather(exc), checked
    env = make_environment(settings.messages_dir)
    for path in sorted(settings.messages_dir.glob("_*/*.j2")):
        name = path.relative_to(settings.messages_dir).as_posix()
        problems += static_problems(env, path, name, book)
    # A composer without a database: the trial render supplies its own figures.
    composer = Composer(settings, book, engine=None)
    names = list_messages(settings.messages_dir)
    loaded = []
    if not names:
        problems.append(f"{settings.messages_dir}: no messages found (folders with a message.toml)")
    for name in names:
        try:
            message = load_message(settings.messages_dir, name)
        except BotError as exc:
            problems += gather(exc)
            continue
        loaded.append(message)
        before = len(problems)
        for lang in settings.file.languages:
            if message.template("text", lang, "txt") is None:
                problems.append(f"messages/{name}/text.{lang}.txt.j2: missing; {ONE_PER_LANGUAGE}")
            for channel in message.settings.channels:
                for part, ext, why in registry.spec(channel).requires:
                    if message.template(part, lang, ext) is None:
                        problems.append(f"messages/{name}/{part}.{lang}.{ext}.j2: missing; {why}")
        for path in message.templates():
            problems += static_problems(env, path, f"{name}/{path.name}", book)
        if len(problems) == before:
            # Only worth rendering when the templates themselves are sound.
            problems += trial_problems(settings, book, composer, message)
        checked.append(f"messages/{name} ({len(message.templates())} templates)")
    schedule_path = settings.config_dir / "schedule.toml"
    if schedule_path.exists():
        from bot.calendar.config import cross_check, load_schedule

        try:
            schedule = load_schedule(schedule_path)
        except BotError as exc:
            problems += gather(exc)
        else:
            from bot.approvals.checks import approval_problems

            problems += cross_check(
                schedule, settings, set(names), set(book.figures), schedule_path
            )
            scheduled = {
                entry.message
                for entry in (
                    *schedule.anniversary,
                    *schedule.interval,
                    *schedule.milestone,
                    *schedule.day,
                )
            }
            admins = bool(schedule.admin.telegram_chat or schedule.admin.email)
            problems += approval_problems(settings, loaded, scheduled, admins)
            checked.append("config/schedule.toml")
    return problems, checked


@config.command("check")
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate config/bot.toml, config/figures.toml and every message template."""
    from bot.errors import Problems

    home = Path(ctx.find_root().obj)
    warnings: list[str] = []
    problems, checked = collect_problems(home, warnings)
    for item in checked:
        click.echo(f"checked {item}")
    for warning in warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if problems:
        raise Problems(problems, title="The configuration has mistakes")
    click.secho("Configuration OK.", fg="green")


@config.command("show")
@click.pass_context
def show(ctx: click.Context) -> None:
    """The settings in force, with secrets shown only as set or not set."""
    import os

    from bot.channels import registry
    from bot.cli import get_app

    app = get_app(ctx)
    file = app.settings.file
    url = _mask_url(app.settings.database_url)
    click.echo(f"home:      {app.settings.home}")
    click.echo(f"database:  {url}")
    click.echo(f"time zone: {file.timezone}")
    click.echo(f"languages: {', '.join(file.languages)}")
    challenge = file.web.challenge
    check = (
        f"on (max_number {challenge.max_number}, solved within {challenge.expires_seconds} s)"
        if challenge.enabled
        else "off"
    )
    click.echo(f"sign-up:   proof-of-work check {check}")
    for spec in registry.REGISTRY:
        settings = app.settings.channel(spec.name)
        found = {
            n: os.environ.get(n) or os.environ.get(f"{n}_FILE")
            for n in spec.secrets(settings).values()
        }
        states = ", ".join(f"{n} {'set' if v else 'not set'}" for n, v in found.items())
        if not settings.enabled:
            where = "turned off"
        elif spec.configured(settings):
            where = "posts to the platform"
        else:
            where = "writes to the outbox folder"
        more = spec.summary(settings) if settings.enabled else None
        click.echo(f"{spec.name + ':':10} {where}; {states}" + (f"; {more}" if more else ""))


def _zawgyi_problems(settings: Settings) -> list[str]:
    """Lines of Burmese typed in Zawgyi in the configuration, the templates and the cards."""
    from bot.zawgyi import file_problems

    files = [
        *settings.config_dir.glob("*.toml"),
        *settings.messages_dir.rglob("*.j2"),
        *settings.messages_dir.rglob("*.toml"),
    ]
    problems = []
    for path in sorted(files):
        shown = path.relative_to(settings.home) if path.is_relative_to(settings.home) else path
        problems += file_problems(path, shown.as_posix())
    return problems


def _located(settings: Settings, channel: str, problem: str) -> str:
    """A channel's problem with the file and line of the setting it starts with (else its table)."""
    import re

    from bot.config.tomlfile import load_toml

    first = re.match(r"\w+", problem)
    key = first.group(0) if first else ""
    toml = load_toml(settings.config_dir / "bot.toml")
    fields = type(settings.channel(channel)).model_fields
    where = toml.at("channels", channel, key) if key in fields else toml.at("channels", channel)
    return f"{where}: [channels.{channel}] {problem}"


def _mask_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.make_url(url).render_as_string(hide_password=True)
