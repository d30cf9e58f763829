"""The bot's own files kept to the account that runs it, whatever the umask.

`var/` holds the SQLite database (with its -wal, -shm and -journal files), the web secret, the
outbox folder and exports: subscribers' addresses and chat ids, and keys. Folders are 0700 and
files 0600. `bot` sets the umask to 077 as it starts, so whatever it creates is private; the
helpers here also repair what an older version, or a looser umask, left readable by others.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FOLDER, FILE = 0o700, 0o600
# SQLite's companions of a database file; they hold the same data.
SQLITE_SIDES = ("-wal", "-shm", "-journal")


def private_umask() -> int:
    """Make everything this process creates private to its account; the previous umask."""
    return os.umask(0o077)


def _tighten(path: Path) -> None:
    """Take group and other permissions off a path this account owns (others' are left)."""
    with contextlib.suppress(FileNotFoundError):
        found = path.lstat()
        if found.st_uid == os.geteuid() and found.st_mode & 0o077 and not path.is_symlink():
            os.chmod(path, stat.S_IMODE(found.st_mode) & 0o700)


def private_folder(path: Path) -> None:
    """Create `path` (and missing parents) as 0700, or tighten it if it exists."""
    path.mkdir(mode=FOLDER, parents=True, exist_ok=True)
    _tighten(path)


def private_database(path: Path) -> None:
    """Before SQLite opens `path`: the file exists as 0600, so its -wal and -shm are too.

    SQLite gives the files it makes beside a database the database file's own permissions.
    Folders it needs are created 0700; an existing folder is the operator's choice and kept.
    """
    if not path.parent.exists():
        path.parent.mkdir(mode=FOLDER, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE))
    for each in (path, *(path.with_name(path.name + side) for side in SQLITE_SIDES)):
        _tighten(each)
