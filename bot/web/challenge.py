"""The optional proof-of-work check on sign-up (`[web.challenge]`), ALTCHA's scheme, self-hosted.

A flood of sign-ups should cost its sender work, without a third-party CAPTCHA that would tell
another company who visits the page. The server issues a puzzle: a random salt (with its expiry
written into it, `…?expires=UNIX`), a secret number n ≤ max_number, `challenge` =
SHA-256(salt + n) in hex, and `signature` = HMAC-SHA256(key, challenge), the key derived from
the web secret. The browser (static/challenge.js) tries numbers until one hashes to
`challenge` and sends back base64(JSON {algorithm, challenge, number, salt, signature}).

The server keeps nothing when it issues one: the signature proves it made the challenge, and
the salt inside the hash carries the expiry, so neither can be changed. A solution is accepted
once: its challenge is written to `used_challenges` until it expires, and a second use is
refused (so one solved puzzle cannot be replayed for a thousand sign-ups).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.store.schema import used_challenges

if TYPE_CHECKING:
    from bot.config.settings import Challenge as ChallengeSettings
    from bot.web.site import Site

ALGORITHM = "SHA-256"
# The form field that carries the solution.
FIELD = "challenge"
SCRIPT = Path(__file__).parent / "static" / "challenge.js"
# A real payload is about 300 characters; anything longer is not read.
MAX_PAYLOAD = 1024
# The largest number any setting allows (a solution beyond it was not made by this server).
MAX_NUMBER = 10_000_000
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SALT = re.compile(r"[0-9a-f]{24}\?expires=([0-9]{1,12})")
Clock = Callable[[], dt.datetime]


class Unsolved(Exception):
    """A sign-up without a valid, fresh, unused solution; `reason` is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Challenges:
    """Issues puzzles and checks their solutions with a key only this site holds."""

    def __init__(self, key: str, settings: ChallengeSettings, clock: Clock) -> None:
        self._key = key.encode("utf-8")
        self.settings = settings
        self.clock = clock

    def __repr__(self) -> str:
        return f"Challenges(key=****, max_number={self.settings.max_number})"

    def _sign(self, challenge: str) -> str:
        return hmac.new(self._key, challenge.encode("ascii"), hashlib.sha256).hexdigest()

    def issue(self) -> dict[str, Any]:
        """A new puzzle, as ALTCHA's widget and our script read it."""
        expires = int(self.clock().timestamp()) + self.settings.expires_seconds
        salt = f"{secrets.token_hex(12)}?expires={expires}"
        number = secrets.randbelow(self.settings.max_number + 1)
        challenge = _hash(salt, number)
        return {
            "algorithm": ALGORITHM,
            "challenge": challenge,
            "maxnumber": self.settings.max_number,
            "salt": salt,
            "signature": self._sign(challenge),
        }

    def verify(self, payload: str | None) -> tuple[str, dt.datetime]:
        """(the solved challenge, its expiry) if `payload` solves a puzzle of ours in time;
        Unsolved otherwise. Checks only: nothing is written (see `redeem`)."""
        if not payload:
            raise Unsolved("missing")
        solution = _decode(payload)
        challenge, salt, number = solution["challenge"], solution["salt"], solution["number"]
        if not hmac.compare_digest(self._sign(challenge), solution["signature"]):
            raise Unsolved("not signed by this site")
        # The salt is inside the signed hash: its expiry cannot have been changed unless the
        # number is wrong too.
        if not hmac.compare_digest(_hash(salt, number), challenge):
            raise Unsolved("wrong number")
        found = _SALT.fullmatch(salt)
        assert found is not None  # _decode checked the shape
        expires = dt.datetime.fromtimestamp(int(found.group(1)), dt.UTC)
        if expires <= self.clock():
            raise Unsolved("expired")
        return challenge, expires

    def redeem(self, engine: sa.Engine, payload: str | None) -> None:
        """Verify `payload` and mark its challenge used; Unsolved if it fails or was used."""
        challenge, expires = self.verify(payload)
        now = self.clock()
        with engine.begin() as conn:
            # Expired ones can never be accepted again: they need not be remembered.
            conn.execute(used_challenges.delete().where(used_challenges.c.expires_at <= now))
        try:
            with engine.begin() as conn:
                conn.execute(
                    used_challenges.insert().values(challenge=challenge, expires_at=expires)
                )
        except sa.exc.IntegrityError:
            raise Unsolved("used before") from None


def _hash(salt: str, number: int) -> str:
    return hashlib.sha256(f"{salt}{number}".encode("ascii")).hexdigest()


def _decode(payload: str) -> dict[str, Any]:
    """The solution's fields, each of the shape this site issues; Unsolved otherwise."""
    if len(payload) > MAX_PAYLOAD:
        raise Unsolved("malformed")
    try:
        data = json.loads(base64.b64decode(payload.encode("ascii"), validate=True))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise Unsolved("malformed") from None
    if not isinstance(data, dict):
        raise Unsolved("malformed")
    number = data.get("number")
    texts = [data.get(name) for name in ("algorithm", "challenge", "salt", "signature")]
    if (
        not all(isinstance(text, str) for text in texts)
        or data["algorithm"] != ALGORITHM
        or type(number) is not int
        or not 0 <= number <= MAX_NUMBER
        or not _HEX64.fullmatch(data["challenge"])
        or not _HEX64.fullmatch(data["signature"])
        or not _SALT.fullmatch(data["salt"])
    ):
        raise Unsolved("malformed")
    return data


def challenges_for(site: Site) -> Challenges | None:
    """The site's challenges if `[web.challenge]` is on, else None."""
    settings = site.app.settings.file.web.challenge
    if not settings.enabled:
        return None
    # A key of its own, derived from the web secret: a challenge's signature is no other token.
    return Challenges(site.tokens.key("challenge", "signing key"), settings, site.clock)


def routes(challenges: Challenges | None) -> list[Route]:
    """GET /challenge (a new puzzle) and the script that solves it, when the check is on."""
    if challenges is None:
        return []
    script = SCRIPT.read_bytes()

    async def challenge(request: Request) -> Response:
        # Signed, not stored: issuing costs a hash and writes nothing.
        return JSONResponse(challenges.issue(), headers={"Cache-Control": "no-store"})

    async def solver(request: Request) -> Response:
        return Response(
            script,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return [Route("/challenge", challenge), Route("/static/challenge.js", solver)]


async def redeem(site: Site, challenges: Challenges, payload: str | None) -> None:
    """`Challenges.redeem` off the event loop (it writes to the database)."""
    await run_in_threadpool(challenges.redeem, site.app.engine, payload)


__all__ = ["FIELD", "Challenges", "Unsolved", "challenges_for", "redeem", "routes"]
