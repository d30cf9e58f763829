"""The `bot` command. Heavy modules are imported inside commands to keep start-up quick."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from bot.app import App
    from bot.runtime import Runtime
    from bot.staff import Person

F = TypeVar("F", bound=Callable[..., Any])


class BotGroup(click.Group):
    """Turns the bot's own errors into a clear message and exit status 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        from bot.errors import BotError, Problems

        try:
            return super().invoke(ctx)
        except Problems as exc:
            count = len(exc.problems)
            noun = "problem" if count == 1 else "problems"
            click.secho(f"{exc.title} ({count} {noun}):", err=True, fg="red")
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        except BotError as exc:
            click.secho(f"Error: {exc}", err=True, fg="red")
            sys.exit(1)
        except Exception as exc:
            # A database that is locked, full or unreachable mid-command: one line, no traceback.
            from bot.store.db import explain_failure

            app = ctx.meta.get("bot.app")
            line = explain_failure(exc, app.settings.database_url if app else None)
            if line is None:
                raise
            click.secho(f"Error: {line}", err=True, fg="red")
            sys.exit(1)


@click.group(cls=BotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BOT_HOME",
    default=".",
    show_default=True,
    help="Folder holding config/, messages/ and var/ (or set BOT_HOME).",
)
@click.version_option(package_name="spring-bot")
@click.pass_context
def main(ctx: click.Context, home: Path) -> None:
    """Compose posts from documented figures and publish them to the configured channels."""
    # PTB 22.2+ warns about RetryAfter's int seconds as soon as it builds the exception (no
    # way to read it quietly) unless the process opts in to the coming timedelta; set here, at
    # the program's start, and an explicit setting by the operator is kept.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    # Whatever the bot creates (database, outbox, exports, secrets) is its account's alone.
    from bot.store.files import private_umask

    private_umask()
    ctx.obj = home


def get_runtime(ctx: click.Context) -> Runtime:
    """The running bot's parts (channels, sender, publisher) for this invocation."""
    from bot.runtime import build_runtime

    root = ctx.find_root()
    runtime = root.meta.get("bot.runtime")
    if runtime is None:
        runtime = build_runtime(get_app(ctx))
        root.meta["bot.runtime"] = runtime
    return runtime


def get_app(ctx: click.Context) -> App:
    """The App for this invocation, built once."""
    from bot.app import build_app

    root = ctx.find_root()
    app = root.meta.get("bot.app")
    if app is None:
        app = build_app(Path(root.obj))
        root.meta["bot.app"] = app
        root.call_on_close(app.close)
    return app


def who(by: str | None) -> str:
    """The name a command records: the staff member whose account runs it (bot/staff.py).

    Without accounts under [staff]: BOT_USER, else the login name. `--by` may only name the
    same person; anything else is refused (IdentityError).
    """
    return person(by).name


def person(by: str | None) -> Person:
    """Who runs this command, and whether [staff] vouches for it."""
    from bot.staff import person as person_of

    return person_of(get_app(click.get_current_context()).settings, by)


def register() -> None:
    """Attach the sub-commands (kept in their own modules)."""
    from bot.cli import (
        approvals_cmd,
        config_cmd,
        deliveries_cmd,
        figures_cmd,
        figures_confirm_cmd,  # noqa: F401 - adds `bot figures confirm` to the group
        keys_cmd,
        preview_cmd,
        publish_cmd,
        run_cmd,
        subscribers_cmd,
        web_cmd,
    )

    main.add_command(publish_cmd.post_now)
    main.add_command(publish_cmd.history)
    main.add_command(publish_cmd.show)
    main.add_command(publish_cmd.retract)
    main.add_command(deliveries_cmd.deliveries)
    main.add_command(figures_cmd.figures)
    main.add_command(preview_cmd.preview)
    main.add_command(run_cmd.run)
    main.add_command(run_cmd.schedule)
    main.add_command(run_cmd.status)
    main.add_command(run_cmd.pause)
    main.add_command(run_cmd.resume)
    main.add_command(config_cmd.config)
    main.add_command(subscribers_cmd.subscribers)
    main.add_command(keys_cmd.keys)
    main.add_command(web_cmd.web)
    main.add_command(approvals_cmd.approvals)
    main.add_command(approvals_cmd.approve)
    main.add_command(approvals_cmd.reject)


register()
