"""Email fan-out, one way per child process (run by benchmarks.__main__, which holds the sink).

    python -m benchmarks.email_fanout bot   --n N [--profile FILE]   # the bot's whole path
    python -m benchmarks.email_fanout bare  --n N --port P [--sample FILE]
    python -m benchmarks.email_fanout naive --n N --port P

The environment names the home (BOT_HOME, its bot.toml pointing at the sink) and the database
(BOT_DATABASE_URL, holding the subscribers). Each prints one RESULT line of JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from benchmarks.common import SENDER, Stopwatch, peak_rss_mb, report, rss_mb, say

MESSAGE = "daily-briefing"
POOL = 1000  # distinct pre-built messages for the bare baseline, sent round-robin


def _compose() -> tuple[Any, Any, list[Any]]:
    """The app, the occasion and the email drafts of today's daily briefing (both languages)."""
    from bot.app import build_app
    from bot.compose.drafts import Draft, Failure, occasion_for

    app = build_app()
    found = app.composer.message(MESSAGE)
    occasion = occasion_for(app.settings, found, None, app.today())
    editions = app.composer.compose(found, occasion, None, ["email"])
    failures = [e for e in editions if isinstance(e, Failure)]
    if failures:
        raise SystemExit(f"cannot compose {MESSAGE}: {failures}")
    return app, occasion, [e for e in editions if isinstance(e, Draft)]


# The bot ---------------------------------------------------------------------------------------


def bot(n: int, profile: Path | None) -> dict[str, Any]:
    """publish() then runtime.sender(...).run(): the path `bot post-now` and `bot run` take."""
    import sqlalchemy as sa

    from bot.publish.outbox import counts, publish
    from bot.publish.sender import Report
    from bot.runtime import build_runtime
    from bot.store.schema import deliveries

    app, occasion, drafts = _compose()
    found = app.composer.message(MESSAGE)
    ready = rss_mb()
    with Stopwatch() as publishing:
        created = publish(
            app.engine,
            occasion,
            drafts,
            [],
            now=app.clock(),
            created_by="benchmark",
            via={"email": "platform"},
            topic=found.settings.topic,
        )
    if created.new_deliveries != n:
        raise SystemExit(f"expected {n} deliveries, publish made {created.new_deliveries}")
    say(f"  publish: {n} deliveries in {publishing.seconds:.2f} s; sending…")

    async def send() -> Report:
        runtime = build_runtime(app)
        wired = runtime.connect(["email"])
        try:
            return await runtime.sender(wired).run(created.publication_id)
        finally:
            await wired.close()

    profiler = cProfile.Profile() if profile else None
    with Stopwatch() as sending:
        if profiler is not None:
            profiler.enable()
        outcome = asyncio.run(send())
        if profiler is not None:
            profiler.disable()
    if profiler is not None and profile is not None:
        profiler.dump_stats(profile)
    with app.engine.connect() as conn:
        states = counts(conn, created.publication_id)
        links = conn.execute(
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.publication_id == created.publication_id)
            .where(deliveries.c.subscriber_id.is_not(None))
        ).scalar_one()
    sent = states.get("sent", 0)
    return {
        "n": n,
        "sent": sent,
        "states": states,
        "with_subscriber": int(links),
        "outcomes": len(outcome.outcomes),
        "publish_s": publishing.seconds,
        "send_s": sending.seconds,
        "rate": sent / sending.seconds,
        "rate_with_publish": sent / (sending.seconds + publishing.seconds),
        "rss_ready_mb": ready,
        "peak_rss_mb": peak_rss_mb(),
    }


# (a) The bare baseline -------------------------------------------------------------------------


def _prebuilt(app: Any, drafts: list[Any], count: int) -> list[Any]:
    """`count` messages built by the bot's own MessageBuilder, each with its own recipient."""
    import secrets

    from bot.channels.base import Payload
    from bot.channels.email_message import MessageBuilder
    from bot.runtime import build_runtime

    email = app.settings.file.channels.email
    builder = MessageBuilder(email.sender, email.list_id, email.unsubscribe_mailto)
    link = build_runtime(app).unsubscribe_links()
    draft = next(d for d in drafts if d.lang == "en")
    built = []
    for number in range(count):
        payload = Payload(
            "email",
            draft.lang,
            draft.parts,
            draft.subject,
            draft.html,
            target=f"reader{number}@example.org",
            extra={"unsubscribe_url": link(secrets.token_urlsafe(18))},
        )
        built.append(builder.build(payload))
    return built


def bare(n: int, port: int, sample: Path | None, connections: int = 4) -> dict[str, Any]:
    """Pre-built bytes over `connections` persistent aiosmtplib connections, with sendmail."""
    import aiosmtplib

    app, _, drafts = _compose()
    pool = _prebuilt(app, drafts, min(n, POOL))
    if sample is not None:  # for smtp-source -F, which adds CRLF itself after each line
        sample.write_bytes(pool[0].data.replace(b"\r\n", b"\n"))
    sender = parseaddr(SENDER)[1]

    async def run() -> None:
        clients = [
            aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
            for _ in range(connections)
        ]
        await asyncio.gather(*(client.connect() for client in clients))
        numbers = itertools.count()

        async def worker(client: aiosmtplib.SMTP) -> None:
            while (number := next(numbers)) < n:
                message = pool[number % len(pool)]
                await client.sendmail(sender, [message.recipient], message.data)

        await asyncio.gather(*(worker(client) for client in clients))
        await asyncio.gather(*(client.quit() for client in clients))

    with Stopwatch() as watch:
        asyncio.run(run())
    return {
        "n": n,
        "send_s": watch.seconds,
        "rate": n / watch.seconds,
        "bytes": len(pool[0].data),
        "peak_rss_mb": peak_rss_mb(),
    }


# (b) The naive way -----------------------------------------------------------------------------


def naive(n: int, port: int) -> dict[str, Any]:
    """A new smtplib connection and a freshly built EmailMessage for every message."""
    import secrets

    from bot.runtime import build_runtime

    app, _, drafts = _compose()
    draft = next(d for d in drafts if d.lang == "en")
    link = build_runtime(app).unsubscribe_links()
    domain = parseaddr(SENDER)[1].rpartition("@")[2]
    tokens = [secrets.token_urlsafe(18) for _ in range(min(n, POOL))]
    with Stopwatch() as watch:
        for number in range(n):
            message = EmailMessage()
            message["From"] = SENDER
            message["To"] = f"reader{number}@example.org"
            message["Subject"] = draft.subject
            message["Date"] = formatdate(usegmt=True)
            message["Message-ID"] = make_msgid(domain=domain)
            message["List-Unsubscribe"] = f"<{link(tokens[number % len(tokens)])}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message.set_content(draft.parts[0])
            message.add_alternative(draft.html, subtype="html")
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as client:
                client.send_message(message)
    return {
        "n": n,
        "send_s": watch.seconds,
        "rate": n / watch.seconds,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks.email_fanout")
    parser.add_argument("way", choices=["bot", "bare", "naive"])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sample", type=Path)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    if args.way == "bot":
        report(bot(args.n, args.profile))
    elif args.way == "bare":
        report(bare(args.n, args.port, args.sample))
    else:
        report(naive(args.n, args.port))


if __name__ == "__main__":
    main()
