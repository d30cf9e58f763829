"""Every drill ends with no `bot` process of its own still running, passed or failed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.drills.helpers import reap


@pytest.fixture(autouse=True)
def _reap_bots() -> Iterator[None]:
    yield
    reap()
