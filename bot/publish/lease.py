"""Leases in the database: at most one process does a given job (sending, scheduling).

A lease names its owner as `host:pid:random`. It expires unless renewed; a lease whose owner
ran on this host and whose process is gone is taken over at once, so a restart after a crash
does not have to wait for the expiry.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Callable

import sqlalchemy as sa

from bot.store.schema import leases

Clock = Callable[[], dt.datetime]


def new_owner() -> str:
    """An owner name unique to this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(
    engine: sa.Engine, name: str, owner: str, now: dt.datetime, ttl: dt.timedelta
) -> str | None:
    """Take or renew the lease; None on success, else the current holder's name."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(leases.c.owner, leases.c.expires_at).where(leases.c.name == name)
        ).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(
                        leases.insert().values(name=name, owner=owner, expires_at=now + ttl)
                    )
                return None
            except sa.exc.IntegrityError:
                return "another process (it took the lease just now)"
        holder, expires_at = row
        if holder != owner and expires_at > now and not _dead_here(holder):
            return str(holder)
        # Compare-and-swap on the old owner: two processes cannot both take it.
        taken = conn.execute(
            leases.update()
            .where(leases.c.name == name, leases.c.owner == holder)
            .values(owner=owner, expires_at=now + ttl)
        )
        return None if taken.rowcount == 1 else "another process"


def release(engine: sa.Engine, name: str, owner: str) -> None:
    """Give the lease up, if we hold it."""
    with engine.begin() as conn:
        conn.execute(leases.delete().where(leases.c.name == name, leases.c.owner == owner))
