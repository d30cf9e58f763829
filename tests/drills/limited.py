"""Run `bot` with a cap on the size of any file it writes, as on a disk that has filled up.

    python -m tests.drills.limited BYTES ARGS…   # then `python -m bot ARGS…`

Past the cap a write fails with EFBIG ("File too large") instead of killing the process
(SIGXFSZ is ignored); the cap and the ignored signal carry over into the bot. Unlike mounting
a small file system, this needs no privileges, so it runs wherever the tests run; and the cap
can be lifted while the bot runs (`resource.prlimit`), as when someone frees the disk.
"""

from __future__ import annotations

import os
import resource
import signal
import sys


def main() -> None:
    """Cap file sizes at BYTES, then become `python -m bot ARGS…`."""
    limit = int(sys.argv[1])
    # Only the soft limit: a test may lift it again (space freed) without privileges.
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.execv(sys.executable, [sys.executable, "-m", "bot", *sys.argv[2:]])


if __name__ == "__main__":
    main()
