"""`bot subscribers …` as staff type it: import, list, count, export, delete (SQLite and PG)."""

from __future__ import annotations

import csv
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.app import App
from bot.privacy import mask_address
from bot.store.schema import deliveries, subscriber_stats, subscribers
from bot.subscribers import store
from tests.compose.helpers import enter_seed
from tests.conftest import Cli
from tests.publish.helpers import delivery_rows, publish_occasion

GOOD = (
    "email,lang,topics\n"
    "Thida@Example.org,my,\n"
    "aung.min@example.org,en,statements;weekly-digest\n"
    "\n"
    '"su.su@example.org",my,daily-briefing\n'
    "kyaw@example.net,en,statements\n"
)
PEOPLE = ("thida@example.org", "aung.min@example.org", "su.su@example.org", "kyaw@example.net")


def write(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def rows(app: App) -> dict[str, Any]:
    with app.engine.connect() as conn:
        return {row.address: row for row in conn.execute(sa.select(subscribers))}


def stats(app: App) -> dict[tuple[str, str, str], int]:
    with app.engine.connect() as conn:
        found = conn.execute(
            sa.select(
                subscriber_stats.c.channel,
                subscriber_stats.c.lang,
                subscriber_stats.c.event,
                sa.func.sum(subscriber_stats.c.count),
            ).group_by(
                subscriber_stats.c.channel, subscriber_stats.c.lang, subscriber_stats.c.event
            )
        )
        return {(c, lang, e): int(n) for c, lang, e, n in found}


def imported(cli: Cli, tmp_path: Path, *args: str, text: str = GOOD) -> str:
    result = cli("subscribers", "import", str(write(tmp_path, text)), *args)
    assert result.exit_code == 0, result.output
    return result.output


def assert_no_address(output: str, *addresses: str) -> None:
    for address in addresses:
        assert address not in output
        assert address.lower() not in output.lower()


# import -------------------------------------------------------------------------------------


def test_import_confirmed_makes_everyone_active_with_their_choices(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    output = imported(cli, tmp_path, "--confirmed")

    found = rows(app)
    assert set(found) == set(PEOPLE)  # stored as the sign-up form stores them: lower case
    assert {row.status for row in found.values()} == {"active"}
    assert {row.channel for row in found.values()} == {"email"}
    assert found["thida@example.org"].lang == "my"
    assert found["thida@example.org"].topics == ",".join(store.TOPICS)  # empty: every topic
    assert found["aung.min@example.org"].topics == "statements,weekly-digest"
    assert found["su.su@example.org"].topics == "daily-briefing"
    assert len({row.token for row in found.values()}) == 4
    assert all(row.confirmed_at is not None for row in found.values())
    assert stats(app) == {("email", "my", "subscribed"): 2, ("email", "en", "subscribed"): 2}
    assert "Imported 4 people: 4 new (active)." in output
    assert_no_address(output, *PEOPLE)


def test_import_without_confirmed_waits_for_confirmation(
    cli: Cli, app: App, tmp_path: Path, home: Path
) -> None:
    import mailbox
    from email import message_from_bytes
    from email import policy as email_policy

    output = imported(cli, tmp_path)

    assert {row.status for row in rows(app).values()} == {"pending"}
    assert "4 new (waiting for confirmation)" in output
    assert "Sent 4 confirmation email(s)" in output
    # No credentials here: the confirmation emails are in the outbox folder, one per person.
    box = mailbox.Maildir(home / "var" / "outbox" / "email", create=False)
    mails = [
        message_from_bytes(box.get_bytes(key), policy=email_policy.default)
        for key in box.iterkeys()
    ]
    assert sorted(str(mail["To"]) for mail in mails) == sorted(rows(app))
    assert all("/confirm/" in mail.get_body(("plain",)).get_content() for mail in mails)
    assert_no_address(output, *PEOPLE)


def test_telegram_people_need_confirmed(cli: Cli, app: App, tmp_path: Path) -> None:
    path = write(tmp_path, "address,lang\n123456789,en\n")

    refused = cli("subscribers", "import", str(path), "--channel", "telegram")
    accepted = cli("subscribers", "import", str(path), "--channel", "telegram", "--confirmed")

    assert refused.exit_code == 1 and "starting the bot" in refused.output
    assert accepted.exit_code == 0, accepted.output
    [person] = rows(app).values()
    assert (person.channel, person.address, person.status) == ("telegram", "123456789", "active")


BAD = (
    "email,lang,topics\n"
    "good.one@example.org,en,\n"  # 2: fine
    "not-an-address,en,\n"  # 3
    "fine@example.org,fr,\n"  # 4: unknown language
    "other@example.org,my,statements;gossip\n"  # 5: unknown topic
    '"broken\r\nline@example.org",en,\n'  # 6-7: a line break inside a field
    "GOOD.ONE@example.org,my,\n"  # 8: the same person as line 2
    "extra@example.org,en,,surplus\n"  # 9: a field too many
    "last@example.org,en,statements\n"  # 10: fine
)


def test_a_file_with_bad_lines_is_refused_whole_naming_each_line(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    result = cli("subscribers", "import", str(write(tmp_path, BAD)), "--confirmed")

    assert result.exit_code == 1
    out = result.output
    assert "not imported, nothing was stored" in out
    assert "line 3: ***: not a valid email address" in out
    assert "line 4: unknown language 'fr' (use en or my)" in out
    assert "line 5: unknown topic 'gossip'" in out
    assert "line 6: a line break inside a field" in out
    assert "line 8: the same address as line 2" in out
    assert "line 9: 4 fields, the header has 3" in out
    assert "line 2:" not in out and "line 10:" not in out
    assert rows(app) == {} and stats(app) == {}
    assert_no_address(out, "not-an-address", "good.one@example.org", "other@example.org")


def test_a_duplicate_is_named_with_the_line_it_repeats(cli: Cli, app: App, tmp_path: Path) -> None:
    text = "email,lang\na@example.org,en\nb@example.org,en\nA@EXAMPLE.org,my\nb@example.org,en\n"

    result = cli("subscribers", "import", str(write(tmp_path, text)), "--confirmed")

    assert result.exit_code == 1
    assert "line 4: the same address as line 2" in result.output
    assert "line 5: the same address as line 3" in result.output
    assert rows(app) == {}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("mail,lang\na@example.org,en\n", "unknown column 'mail'"),
        ("email,topics\na@example.org,statements\n", "no 'lang' column"),
        ("", "the file is empty"),
        ("email,lang\n", "no one in the file"),
    ],
    ids=["misspelt column", "no lang", "empty", "header only"],
)
def test_a_file_without_the_right_columns_is_refused(
    cli: Cli, app: App, tmp_path: Path, text: str, words: str
) -> None:
    result = cli("subscribers", "import", str(write(tmp_path, text)), "--confirmed")

    assert result.exit_code == 1
    assert words in result.output
    assert rows(app) == {}


def test_an_import_never_signs_up_again_who_left_and_keeps_choices_made(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    now = app.clock()
    left, _ = store.add(
        app.engine, "email", "kyaw@example.net", "en", ("statements",), now, confirmed=True
    )
    store.unsubscribe(app.engine, left.id, now)
    store.add(app.engine, "email", "thida@example.org", "en", ("statements",), now, confirmed=True)
    store.add(app.engine, "email", "su.su@example.org", "my", store.TOPICS, now, confirmed=False)

    output = imported(cli, tmp_path, "--confirmed")

    found = rows(app)
    assert found["kyaw@example.net"].status == "unsubscribed"
    assert (found["thida@example.org"].lang, found["thida@example.org"].topics) == (
        "en",
        "statements",
    )
    assert found["su.su@example.org"].status == "active"  # had signed up; the list confirms
    assert found["aung.min@example.org"].status == "active"
    assert "1 new (active)" in output
    assert "1 who had signed up but not confirmed are now active" in output
    assert "1 were already subscribed" in output
    assert "1 left out" in output


# list, count --------------------------------------------------------------------------------


def test_list_masks_every_address(cli: Cli, app: App, tmp_path: Path) -> None:
    imported(cli, tmp_path, "--confirmed")
    store.add(app.engine, "telegram", "987654321", "my", store.TOPICS, app.clock(), confirmed=True)

    result = cli("subscribers", "list")

    assert result.exit_code == 0, result.output
    assert_no_address(result.output, *PEOPLE, "987654321")
    for person in PEOPLE:
        assert mask_address(person) in result.output
    assert "9*** " in result.output or "9***\n" in result.output
    assert "5 subscribers." in result.output
    only = cli("subscribers", "list", "--channel", "telegram", "--status", "active")
    assert "1 subscriber." in only.output and "t***@example.org" not in only.output


def test_count_gives_people_and_anonymous_events(cli: Cli, app: App, tmp_path: Path) -> None:
    imported(cli, tmp_path, "--confirmed")
    person = store.find(app.engine, "email", "kyaw@example.net")
    assert person is not None
    store.unsubscribe(app.engine, person.id, app.clock())

    result = cli("subscribers", "count")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    people, events = (
        lines.index("People on the list:"),
        lines.index("Events so far (anonymous counts, kept when a person is erased):"),
    )
    assert people < events
    listed = " ".join(" ".join(line.split()) for line in lines[people:events])
    assert "email active en 1 my 2 total 3" in listed
    assert "email unsubscribed en 1 my 0 total 1" in listed
    counted = " ".join(" ".join(line.split()) for line in lines[events:])
    assert "email subscribed en 2 my 2 total 4" in counted
    assert "email unsubscribed en 1 my 0 total 1" in counted


# export -------------------------------------------------------------------------------------


def test_export_writes_full_addresses_to_a_private_file_in_batches(
    cli: Cli, app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported(cli, tmp_path, "--confirmed")
    store.add(app.engine, "telegram", "987654321", "my", store.TOPICS, app.clock(), confirmed=True)
    # Three at a time: the list is read in batches, never whole (see the queries counted).
    monkeypatch.setattr(store, "BATCH", 3)
    reads: list[str] = []

    def count_reads(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM subscribers" in statement:
            reads.append(statement)

    out = tmp_path / "export" / "list.csv"
    out.parent.mkdir()
    sa.event.listen(sa.Engine, "before_cursor_execute", count_reads)
    try:
        result = cli("subscribers", "export", "--channel", "email", str(out))
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", count_reads)

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8", newline="") as stream:
        written = list(csv.DictReader(stream))
    assert [row["address"] for row in written] == list(PEOPLE)
    assert {row["channel"] for row in written} == {"email"}
    assert written[1]["topics"] == "statements;weekly-digest"
    assert "token" not in written[0]
    assert len(reads) >= 2 and all("LIMIT" in statement.upper() for statement in reads)
    assert "Wrote 4 subscribers" in result.output
    assert_no_address(result.output, *PEOPLE)


def test_export_never_writes_over_a_file_nor_to_the_terminal(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    imported(cli, tmp_path, "--confirmed")
    existing = tmp_path / "taken.csv"
    existing.write_text("keep me", encoding="utf-8")

    over = cli("subscribers", "export", str(existing))
    dash = cli("subscribers", "export", "-")

    assert over.exit_code == 1 and "already exists" in over.output
    assert existing.read_text(encoding="utf-8") == "keep me"
    assert dash.exit_code == 1 and "never to the terminal" in dash.output
    assert_no_address(over.output + dash.output, *PEOPLE)


# delete -------------------------------------------------------------------------------------


def test_delete_erases_the_person_and_keeps_only_anonymous_counts(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    imported(cli, tmp_path, "--confirmed")
    enter_seed(app)
    publication = publish_occasion(app, "daily-briefing", "2024-02-01", ["email"])
    person = store.find(app.engine, "email", "aung.min@example.org")
    assert person is not None
    [theirs] = [d for d in delivery_rows(app.engine, publication) if d.subscriber_id == person.id]

    declined = cli("subscribers", "delete", "aung.min@example.org", input="n\n")
    assert declined.exit_code == 1 and "Nothing was erased" in declined.output
    assert store.find(app.engine, "email", "aung.min@example.org") is not None

    result = cli("subscribers", "delete", "Aung.Min@Example.org", input="y\n")

    assert result.exit_code == 0, result.output
    assert store.find(app.engine, "email", "aung.min@example.org") is None
    with app.engine.connect() as conn:
        after = conn.execute(sa.select(deliveries).where(deliveries.c.id == theirs.id)).one()
        anywhere = conn.execute(
            sa.select(sa.func.count())
            .select_from(deliveries)
            .where(deliveries.c.target.like("%aung.min%"))
        ).scalar_one()
    assert (after.target, after.subscriber_id, after.state) == (
        f"(erased)#{theirs.id}",
        None,
        "cancelled",
    )
    assert anywhere == 0
    assert stats(app)[("email", "en", "erased")] == 1
    assert stats(app)[("email", "en", "subscribed")] == 2  # the counts outlive the person
    assert 'their deliveries (1) keep only "(erased)". Only anonymous counts remain.' in (
        result.output
    )
    assert_no_address(declined.output + result.output, "aung.min@example.org")
    assert "a***@example.org" in result.output
    counted = cli("subscribers", "count").output
    assert "erased" in counted


def test_delete_reads_the_address_from_stdin_and_names_none_it_cannot_find(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    imported(cli, tmp_path, "--confirmed")

    erased = cli("subscribers", "delete", "-", "--yes", input="kyaw@example.net\n")
    missing = cli("subscribers", "delete", "nobody@example.org", "--yes")

    assert erased.exit_code == 0, erased.output
    assert store.find(app.engine, "email", "kyaw@example.net") is None
    assert missing.exit_code == 1
    assert "no email subscriber with the address n***@example.org" in missing.output
    assert_no_address(erased.output + missing.output, "kyaw@example.net", "nobody@example.org")


def test_a_file_wrong_throughout_lists_the_first_problems_and_counts_the_rest(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    lines = ["a@example.org,en"] * 61 + [f"b{n}@example.org,fr" for n in range(60)]
    text = "email,lang\n" + "\n".join(lines) + "\n"

    result = cli("subscribers", "import", str(write(tmp_path, text)), "--confirmed")

    assert result.exit_code == 1
    assert "nothing was stored; the first 50 of 120 problems (50 problems):" in result.output
    assert "line 63: unknown language 'fr'" in result.output
    assert len(result.output.splitlines()) == 51
    assert rows(app) == {}


def test_lines_that_are_not_clean_csv_or_utf8_are_named_and_the_rest_still_checked(
    cli: Cli, app: App, tmp_path: Path
) -> None:
    path = tmp_path / "exported-by-a-spreadsheet.csv"
    path.write_bytes(
        b"\xef\xbb\xbfemail,lang\n"  # a byte-order mark, as Excel writes: fine
        b'"quoted"@example.org,en\n'  # 2: stray quotes
        b"caf\xe9@example.org,en\n"  # 3: Latin-1, not UTF-8
        b"nul\x00@example.org,en\n"  # 4: a NUL byte
        b"fine@example.org,xx\n"  # 5: unknown language
    )

    result = cli("subscribers", "import", str(path), "--confirmed")

    assert result.exit_code == 1
    assert "(4 problems)" in result.output
    assert "line 2: cannot read this line as CSV" in result.output
    assert "line 3: not UTF-8 text" in result.output
    assert "line 4: a line break or control character in the address field" in result.output
    assert "line 5: unknown language 'xx'" in result.output
    assert rows(app) == {}
