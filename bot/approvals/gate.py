"""The approval gate: ask before the occasion, count the approvals, void on change.

A request belongs to an occasion (its key) and to one exact content (its fingerprint): the
editions, the figures they carry and who entered each of those values. When the post that
would go out no longer matches, the request is void and a new one is asked, with a diff, so
staff never approve one text and publish another.

Under two approvals nobody who entered or corrected a value the post carries, and nobody who
asked to publish it, counts: checked when a vote is cast and again, against the figures as they
stand, each time the post is about to be released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from bot.approvals import store
from bot.approvals.content import Authorship, diff, editions, fingerprint, slots, to_json
from bot.approvals.store import APPROVE, REJECT, Request
from bot.compose.drafts import Draft
from bot.errors import BotError
from bot.figures.entries import unstorable

MAX_REASON = 1000


class ApprovalError(BotError):
    """A decision that cannot be taken, said for staff."""


@dataclass(frozen=True)
class Ask:
    """A request to show the admins: new, or replacing one whose post changed."""

    request: Request
    changes: str | None  # the diff against the request it replaces
    replaced: Request | None
    authors: Authorship


def ensure(
    engine: sa.Engine,
    *,
    key: str,
    message: str,
    needed: int,
    due_at: dt.datetime,
    drafts: Sequence[Draft],
    now: dt.datetime,
    requested_by: str | None = None,
) -> tuple[Request, Ask | None]:
    """The request for exactly these drafts, made (and to be asked) if there is none yet.

    `requested_by`: the person asking to publish now (None for the calendar); under two
    approvals they do not count as an approver of it.
    """
    found = editions(drafts)
    with engine.begin() as conn:
        authors = store.authors(conn, slots(drafts))
        mark = fingerprint(drafts, authors)
        old = store.current(conn, key)
        if old is not None and old.fingerprint == mark:
            if requested_by and old.state == "pending" and requested_by not in old.requesters:
                more = (*old.requesters, requested_by)
                store.set_content(conn, old.id, to_json(old.editions, authors, more))
                old = store.get(conn, old.id)
                assert old is not None
            return old, None
        asked = {*(old.requesters if old else ()), *([requested_by] if requested_by else [])}
        new_id = store.create(
            conn,
            key=key,
            message=message,
            due_at=due_at,
            needed=needed,
            fingerprint=mark,
            content=to_json(found, authors, asked),
            now=now,
            replaces=old.id if old else None,
        )
        if old is not None and old.state in store.OPEN:
            # The figures or the wording changed since the request was made: what was approved
            # (or asked about) is not what would go out. A rejected one stays rejected; the new
            # version is a new question.
            store.set_state(conn, old.id, "void", now, f"the post changed; see #{new_id}")
        request = store.get(conn, new_id)
    assert request is not None
    changes = diff(old.parsed, found, authors) if old is not None else None
    return request, Ask(request, changes, old, authors)


def authorship(engine: sa.Engine, request: Request) -> Authorship:
    """Who entered or corrected each value the request carries, as the figures stand now."""
    with engine.connect() as conn:
        return store.authors(conn, request.parsed.authors)


def decide(
    engine: sa.Engine,
    request_id: int,
    *,
    voter: str,
    decision: str,
    via: str,
    now: dt.datetime,
    reason: str | None = None,
    fingerprint_start: str | None = None,
) -> tuple[Request, str]:
    """Record one person's approval or rejection; the request after it and a line for staff."""
    reason = (reason or "").strip() or None
    if decision == REJECT and not reason:
        raise ApprovalError(f"say why #{request_id} is rejected (a reason is kept in the record)")
    if reason and (len(reason) > MAX_REASON or unstorable(reason)):
        raise ApprovalError(
            f"the reason {unstorable(reason) or f'is longer than {MAX_REASON} characters'}"
        )
    with engine.begin() as conn:
        request = store.get(conn, request_id)
        if request is None:
            raise ApprovalError(f"there is no approval request #{request_id} (`bot approvals`)")
        if fingerprint_start is not None and not request.fingerprint.startswith(fingerprint_start):
            raise ApprovalError(f"this button does not belong to request #{request_id}")
        _refuse_closed(request, voter)
        current = store.authors(conn, request.parsed.authors)
        why = request.excluded(current).get(voter)
        if decision == APPROVE and why:
            raise ApprovalError(
                f"{voter} {why}, so under the two-approval rule for {request.message} "
                f"{request.needed} other people must approve #{request_id}"
            )
        try:
            store.add_vote(conn, request_id, voter, decision, via, reason, now)
        except sa.exc.IntegrityError:
            raise ApprovalError(f"{voter} has already decided on #{request_id}") from None
        after = store.get(conn, request_id)
        assert after is not None
        if decision == REJECT:
            store.set_state(conn, request_id, "rejected", now, f"{voter}: {reason}")
        elif after.approved(current):
            store.set_state(conn, request_id, "approved", now, None)
        final = store.get(conn, request_id)
    assert final is not None
    return final, summary(final, current)


def _refuse_closed(request: Request, voter: str) -> None:
    if request.state == "void":
        raise ApprovalError(
            f"#{request.id} no longer applies: {request.reason or 'the post changed'}; "
            "decide on the new request (`bot approvals`)"
        )
    if request.state == "rejected":
        raise ApprovalError(f"#{request.id} was rejected ({request.reason})")
    mine = [v for v in request.votes if v.voter == voter]
    if mine:
        raise ApprovalError(
            f"{voter} has already {'approved' if mine[0].decision == APPROVE else 'rejected'} "
            f"#{request.id}; a person counts once"
        )
    if request.state == "approved":
        raise ApprovalError(f"#{request.id} is already approved")


def summary(request: Request, current: Authorship) -> str:
    """`#12 anniversary/coup/2027-02-01: approved (aye, min)` and the like."""
    approvers = request.approvers(current)
    if request.state == "rejected":
        return f"#{request.id} {request.key}: rejected — {request.reason}"
    if request.state == "void":
        return f"#{request.id} {request.key}: void — {request.reason}"
    by = f" ({', '.join(approvers)})" if approvers else ""
    if request.approved(current):
        return f"#{request.id} {request.key}: approved{by}"
    return f"#{request.id} {request.key}: {len(approvers)} of {request.needed} approvals{by}"


def pending(engine: sa.Engine) -> tuple[list[Request], Authorship]:
    """Open requests, soonest due first, and who entered the values they carry, as of now."""
    with engine.connect() as conn:
        found = store.listing(conn, ("pending",))
        every = {slot for request in found for slot in request.parsed.authors}
        return found, store.authors(conn, every)


def find(engine: sa.Engine, request_id: int) -> tuple[Request, Authorship]:
    """One request, and who entered its values as of now; an unknown id is an error."""
    with engine.connect() as conn:
        request = store.get(conn, request_id)
        if request is None:
            raise ApprovalError(f"there is no approval request #{request_id} (`bot approvals`)")
        return request, store.authors(conn, request.parsed.authors)


def released(engine: sa.Engine, request: Request) -> bool:
    """Approved by enough people who count, as the figures stand now."""
    return request.approved(authorship(engine, request))
