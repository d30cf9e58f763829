"""`bot web`: the public web page as a process of its own, holding no platform credential.

In production this is the only process the reverse proxy reaches. It reads the database and
queues sign-ups; the confirmation emails, like every other post, go out from `bot run`, which
holds the credentials and is reachable from nowhere. So the page refuses to start with any
channel's credential in its environment: whatever a flaw in it could reveal, no key is there.
"""

from __future__ import annotations

import os
import signal
import socket

import click

from bot.cli import get_app, get_runtime


@click.command("web")
@click.option("--host", default=None, help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: [web] port).")
@click.pass_context
def web(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the public page (figures, sign-up, email links, archive) until Ctrl-C or SIGTERM.

    Sign-ups are queued in the database; `bot run` sends their confirmation emails. Start it
    without any channel's credentials (the SMTP password, X or Telegram keys): it refuses them.
    """
    from bot.config.urls import require_public_urls
    from bot.errors import BotError
    from bot.subscribers.tokens import web_secret

    app = get_app(ctx)
    held = credentials_held()
    if held:
        raise BotError(
            f"`bot web` must not hold platform credentials, and {', '.join(held)} "
            f"{'is' if len(held) == 1 else 'are'} set in its environment: start it without "
            "them (only `bot run` sends, and needs them)"
        )
    settings = app.settings
    urls = require_public_urls(settings)
    web_secret(settings)  # made now if missing, not by the first visitor
    app.engine  # noqa: B018 - opened and migrated now: a database problem stops the start
    config = settings.file.web
    host = host or config.host
    port = config.port if port is None else port
    if not 0 <= port <= 65535:
        raise BotError(f"--port {port} is not a port (0 to 65535)")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        # Bound here, not by uvicorn: a port in use must be a message, not a sys.exit().
        listener = socket.create_server((host.strip("[]"), port), family=family)
    except OSError as exc:
        raise BotError(
            f"cannot serve the web page on {host}:{port}: {exc.strerror}; another program "
            "uses it? Give --port, or set [web] port in config/bot.toml"
        ) from None
    server = get_runtime(ctx).web_server(host, port, own_signals=False)

    def stop(signum: int, frame: object) -> None:
        # Finish the requests in flight, then return here (uvicorn's own handling would end
        # the process by the signal, without the line below). A second Ctrl-C does not wait.
        if server.should_exit and signum == signal.SIGINT:
            server.force_exit = True
        server.should_exit = True

    # Before the first line is printed: whoever waits for it may stop the process at once.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    bound = listener.getsockname()[1]
    click.echo(f"Web page: http://{host}:{bound}/  (public address {urls.site}; health: /health)")
    click.echo("Sign-ups are queued; `bot run` sends their confirmation emails.")
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
    click.echo("Stopped.")


def credentials_held() -> list[str]:
    """The environment variables of channel credentials that are set here (names only)."""
    from bot.channels import registry
    from bot.cli import get_app

    settings = get_app(click.get_current_context()).settings
    names = [
        name
        for spec in registry.REGISTRY
        for name in spec.secrets(settings.channel(spec.name)).values()
    ]
    return sorted(
        {name for name in names if os.environ.get(name) or os.environ.get(f"{name}_FILE")}
    )
