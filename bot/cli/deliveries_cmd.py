"""`bot deliveries …`: what awaits a decision, and the decision."""

from __future__ import annotations

import json

import click

from bot.cli import get_app, get_runtime


@click.group()
def deliveries() -> None:
    """List deliveries, send what is pending, resolve the uncertain ones."""


@deliveries.command("list")
@click.option(
    "--state",
    default="unknown",
    show_default=True,
    help="pending, sending, sent, failed, unknown, cancelled or all.",
)
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def list_deliveries(ctx: click.Context, state: str, limit: int) -> None:
    """Deliveries in a state (by default those awaiting a decision)."""
    import sqlalchemy as sa

    from bot.privacy import mask_target
    from bot.publish.outbox import STATES
    from bot.store.schema import deliveries as table
    from bot.store.schema import publications

    if state != "all" and state not in STATES:
        raise click.BadParameter(f"choose one of {', '.join(STATES)} or all", param_hint="--state")
    app = get_app(ctx)
    query = (
        sa.select(table, publications.c.key)
        .join(publications, publications.c.id == table.c.publication_id)
        .order_by(table.c.id)
        .limit(limit)
    )
    if state != "all":
        query = query.where(table.c.state == state)
    with app.engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        click.echo(f"No deliveries {'at all' if state == 'all' else 'in state ' + state}.")
    for row in rows:
        error = f" · {row.error}" if row.error else ""
        click.echo(
            f"[{row.id}] #{row.publication_id} {row.key} · {row.channel} · "
            f"{mask_target(row.channel, row.target)} · {row.state}{error}"
        )


@deliveries.command("resolve")
@click.argument("delivery", type=int)
@click.option(
    "--sent", "outcome", flag_value="sent", help="It did go out (checked on the platform)."
)
@click.option(
    "--not-sent", "outcome", flag_value="not-sent", help="It did not go out: send it again."
)
@click.option("--id", "platform_ids", multiple=True, help="The platform's id of a part, if known.")
@click.pass_context
def resolve(
    ctx: click.Context, delivery: int, outcome: str | None, platform_ids: tuple[str, ...]
) -> None:
    """Decide an `unknown` delivery after checking the platform."""
    import sqlalchemy as sa

    from bot.errors import BotError
    from bot.store.schema import deliveries as table
    from bot.store.schema import editions

    if outcome is None:
        raise BotError("say what you found: --sent or --not-sent")
    app = get_app(ctx)
    with app.engine.begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == delivery)).first()
        if row is None:
            raise BotError(f"there is no delivery [{delivery}]; see `bot deliveries list`")
        if row.state != "unknown":
            raise BotError(f"delivery [{delivery}] is {row.state}, not unknown; nothing to resolve")
        ids = json.loads(row.ids)
        payload = conn.execute(
            sa.select(editions.c.payload).where(editions.c.id == row.edition_id)
        ).scalar_one()
        parts = len(json.loads(payload)["parts"])
        # "It went out" is about the part in flight only: in a thread the parts after it were
        # never tried. Marking the thread sent would leave them unposted for good, so they are
        # sent next, as replies to that part, whose id is needed for it.
        left = parts - len(ids) - 1
        if outcome == "sent" and left > 0 and not platform_ids:
            raise BotError(
                f"delivery [{delivery}] is a thread of {parts} posts that stopped at part "
                f"{len(ids) + 1}; give that post's id with --id so the {left} part(s) after it "
                "follow it, or use --not-sent if it is not on the platform"
            )
        values: dict[str, object]
        if outcome == "sent" and left > 0 and len(ids) + len(platform_ids) < parts:
            values = {
                "state": "pending",
                "ids": json.dumps(ids + list(platform_ids)),
                "next_attempt_at": None,
                "error": "resolved by staff: the part in flight went out; the rest follows",
            }
        elif outcome == "sent":
            values = {
                "state": "sent",
                "ids": json.dumps(ids + list(platform_ids)),
                "sent_at": app.clock(),
                "error": "resolved by staff: it went out",
            }
        else:
            # The parts known to be out stay recorded: a thread resumes after them.
            values = {
                "state": "pending",
                "next_attempt_at": None,
                "error": "resolved by staff: it did not go out",
            }
        conn.execute(
            table.update()
            .where(table.c.id == delivery)
            .values(updated_at=app.clock(), inflight_part=None, **values)
        )
    click.echo(f"[{delivery}] is now {values['state']}.")
    if values["state"] == "pending":
        click.echo("It will be sent by the next `bot deliveries send` (or `bot run`).")


@deliveries.command("send")
@click.pass_context
def send(ctx: click.Context) -> None:
    """Send every pending delivery now."""
    from bot.cli.publish_cmd import send_publication

    states = send_publication(get_runtime(ctx), None)
    summary = ", ".join(f"{number} {state}" for state, number in sorted(states.items()))
    click.echo(summary or "Nothing was pending.")
    if states.get("failed") or states.get("unknown"):
        ctx.exit(1)
