"""`bot keys rotate`: a new data key, everything sealed again under it, the old key dropped.

With the key file, the new key is written above the old one first, so every process (a running
`bot run` re-reads the file when it changes) seals under it while both still open; once no
stored value is under the old key any more, the file keeps the new key alone. An interrupted
rotation leaves both keys in the file: running it again finishes the same rotation.
With keys from the environment the operator sets the new and the old key themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from bot.errors import ConfigError
from bot.store.reseal import reseal, status
from bot.store.sealing import KEY_ENV, PREVIOUS_ENV, Sealer, new_key, write_key_file

# Rows sealed under the old key by a process that had not yet seen the new one are caught by
# another pass; after this many the old key is kept and the operator told.
PASSES = 3


def _left_behind(engine: sa.Engine, sealer: Sealer) -> int:
    with engine.connect() as conn:
        return sum(
            n
            for found in status(conn).values()
            for kid, n in found.items()
            if kid != sealer.current
        )


def rotate(engine: sa.Engine, sealer: Sealer) -> Iterator[str]:
    """Rotate, saying what happens as it happens."""
    path = sealer.file
    if path is None and len(sealer.keys) < 2:
        raise ConfigError(
            f"the data key comes from {KEY_ENV}: set {KEY_ENV} to a new key (`bot keys new`) and "
            f"{PREVIOUS_ENV} to the current one, restart `bot run`, then run `bot keys rotate` "
            "again"
        )
    if path is not None:
        lines = [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
        if len(lines) < 2:
            write_key_file(path, [new_key(), *lines])
            sealer.refresh()
            yield f"new data key {sealer.current} written to {path}, above the old one"
        else:
            yield f"resuming the rotation to key {sealer.current} ({path} holds {len(lines)} keys)"
    for _ in range(PASSES):
        written = reseal(engine, sealer)
        yield f"sealed again: {written} value(s)"
        if _left_behind(engine, sealer) == 0:
            break
    else:
        yield "some values are still under an old key (written meanwhile): run it again"
        return
    if path is not None:
        current = path.read_text(encoding="ascii").splitlines()[0]
        write_key_file(path, [current])
        sealer.refresh()
        yield f"every value is under key {sealer.current}; the old key was removed from {path}"
    else:
        yield (
            f"every value is under key {sealer.current}: remove {PREVIOUS_ENV} from the "
            "environment and restart `bot run`; the old key opens nothing any more"
        )
