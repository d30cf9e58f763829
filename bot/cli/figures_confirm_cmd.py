"""`bot figures confirm`: a second member of staff confirms figures beyond the believable change.

See bot/figures/proposals.py. Whoever typed the figures cannot confirm them; the confirmer's
name comes from their own account, as for every command that records one.
"""

from __future__ import annotations

import click

from bot.cli import get_app, who
from bot.cli.figures_cmd import figures


@figures.command("confirm")
@click.argument("code", required=False)
@click.option("--yes", is_flag=True, help="Do not show the figures and ask.")
@click.pass_context
def confirm(ctx: click.Context, code: str | None, yes: bool) -> None:
    """Confirm the figures waiting as CODE; without CODE, list what waits."""
    from bot.figures import proposals
    from bot.publish.history import local_time

    app = get_app(ctx)
    now = app.clock()
    if code is None:
        found = proposals.waiting(app.engine, now)
        if not found:
            click.echo("No figures wait for a second member of staff.")
        for proposal in found:
            values = ", ".join(f"{e.figure}={e.value}" for e in proposal.entries[:6])
            more = f" and {len(proposal.entries) - 6} more" if len(proposal.entries) > 6 else ""
            click.echo(
                f"{proposal.code}  typed by {proposal.by} {local_time(app, proposal.at)}: "
                f"{values}{more}"
            )
        return
    name = who(None)
    proposal = proposals.find(app.engine, code, now)
    if not yes:
        click.echo(f"Typed by {proposal.by} ({proposal.origin}) {local_time(app, proposal.at)}:")
        for entry in proposal.entries:
            when = f"{entry.period_start}..{entry.as_of}" if entry.period_start else entry.as_of
            click.echo(f"  {entry.figure}={entry.value} ({when}, {entry.source})")
        click.echo("Beyond the believable change:")
        for reason in proposal.reasons:
            click.echo(f"  {reason}")
        if not click.confirm(f"\nConfirm them as {name}, having checked them at the source?"):
            click.echo("Not confirmed: nothing was stored.")
            ctx.exit(1)
    kept, outcome = proposals.confirm(
        app.engine, app.book, code, by=name, now=app.clock(), today=app.today()
    )
    click.echo(
        f"Stored {outcome.stored} value{'s' if outcome.stored != 1 else ''}, entered by "
        f"{kept.by} and confirmed by {name}."
    )
