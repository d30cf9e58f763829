"""A small fake Mastodon instance over real HTTP on 127.0.0.1: statuses, the account, the instance.

    with MastodonServer(token="tok") as mastodon:
        mastodon.queue("post", Reply.rate_limited(reset))  # the next POST /api/v1/statuses
        ...                                                # instance_url = mastodon.base_url
        assert [s.text for s in mastodon.statuses] == [...]

It answers as Mastodon 4 does: `Idempotency-Key` is honoured (the same key from the same
account gives back the status it made, and makes no second one), posts longer than
`max_characters` get 422 (counted in graphemes, each link 23), a reply to a status that is
not there gets 404, a bad or revoked token 401, and a status's `content` is the HTML Mastodon
makes of the text. Queued replies override the next requests of a route, one each, in order:
errors (401/404/422/429 with X-RateLimit-Reset/5xx), an answer that comes late after the
status was stored (a client timeout), or a dropped connection.

Media: POST /api/v2/media (and /api/v1/media) take a multipart `file` with its `description`
(at most 1,500 characters, else 422) and answer with the attachment; a status's `media_ids[]`
must name media of the account not yet attached to another status (else 422, as Mastodon 4.2
does), and the status then carries them (`server.media`, `Status.media`).

With `per_window=N` it also keeps Mastodon's per-token window (300 requests per 5 minutes on a
stock instance): every request with a token is counted, every answer says what is left
(`X-RateLimit-Limit/Remaining/Reset`), and the request past the limit gets 429. `clock` is the
instance's clock (its `Date` and the window), so a test can move it with its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.parser
import email.policy
import html
import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import grapheme  # type: ignore[import-untyped]

from tests.peers.loopback import LoopbackHTTP

ROUTES = ("post", "delete", "instance", "credentials", "statuses", "media")
ACCOUNT_ID = "109876543210"
_LINK = re.compile(r"https?://[^\s<>\"]+")
# MediaAttachment::MAX_DESCRIPTION_LENGTH
MAX_DESCRIPTION = 1500


@dataclass
class Media:
    """A file uploaded to the instance, attached to a status or not (yet)."""

    id: str
    data: bytes
    mime_type: str
    file_name: str
    description: str | None
    path: str  # /api/v2/media or /api/v1/media
    status_id: str | None = None

    def json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "image",
            "url": f"{base_url}/system/media/{self.id}/original.png",
            "preview_url": f"{base_url}/system/media/{self.id}/small.png",
            "remote_url": None,
            "description": self.description,
            "blurhash": None,
            "meta": {},
        }


@dataclass
class Status:
    """A status the instance holds."""

    id: str
    text: str
    in_reply_to_id: str | None
    visibility: str
    language: str | None
    created_at: dt.datetime
    idempotency_key: str | None = None
    deleted: bool = False
    media: tuple[Media, ...] = ()

    def json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "uri": f"{base_url}/users/aapp/statuses/{self.id}",
            "url": f"{base_url}/@aapp/{self.id}",
            "created_at": self.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": self.in_reply_to_id,
            "in_reply_to_account_id": ACCOUNT_ID if self.in_reply_to_id else None,
            "visibility": self.visibility,
            "language": self.language,
            "content": render(self.text),
            "spoiler_text": "",
            "sensitive": False,
            "reblog": None,
            "media_attachments": [m.json(base_url) for m in self.media],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "account": _account(base_url),
        }


@dataclass(frozen=True)
class Reply:
    """How the server answers one request instead of behaving normally."""

    status: int = 0  # 0: the normal answer
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    accept: bool = False  # store the status (or delete it) even though `status` is an error
    delay: float = 0.0  # seconds between storing and answering
    drop: bool = False  # close the connection instead of answering

    @classmethod
    def refuse(cls, status: int, error: str, **headers: str) -> Reply:
        """An error as Mastodon words it (`{"error": …}`); nothing is stored."""
        return cls(status, error, {k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def rate_limited(cls, reset: dt.datetime, now: dt.datetime | None = None) -> Reply:
        """429 with the 300-per-5-minutes window used up until `reset` (as Mastodon says it)."""
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
        }
        if now is not None:
            headers["Date"] = now.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
        return cls(429, "Too many requests", headers)

    @classmethod
    def accept_then_wait(cls, seconds: float = 1.0) -> Reply:
        """Store the status, then answer only after `seconds` (cut short when stopping)."""
        return cls(accept=True, delay=seconds)

    @classmethod
    def accept_then_drop(cls) -> Reply:
        """Store the status, then close the connection without a word."""
        return cls(accept=True, drop=True)


class MastodonServer(LoopbackHTTP):
    """The fake instance, serving in a background thread while used as a context manager."""

    def __init__(
        self,
        token: str = "mastodon-test-token",
        max_characters: int = 500,
        per_window: int | None = None,
        window_seconds: float = 300,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.token = token
        self.max_characters = max_characters
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.too_many = 0  # requests answered 429 because the window was used up
        self._window: tuple[dt.datetime, int] | None = None  # (its end, requests counted)
        self.revoked = False
        self.statuses: list[Status] = []
        self.media: list[Media] = []  # every upload, oldest first
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.keys: list[str | None] = []  # the Idempotency-Key of every POST /api/v1/statuses
        self.instance_paths: tuple[str, ...] = ("/api/v2/instance", "/api/v1/instance")
        self._replies: dict[str, deque[Reply]] = {route: deque() for route in ROUTES}
        self._next_id = 111_000_000_000_000_000
        self._lock = threading.Lock()
        self._serve(_handler(self))

    @property
    def posted(self) -> list[Status]:
        """The statuses still up, oldest first."""
        return [s for s in self.statuses if not s.deleted]

    def queue(self, route: str, *replies: Reply) -> None:
        """Answer the next requests of `route` (one of ROUTES) with these, in order."""
        with self._lock:
            self._replies[route].extend(replies)

    def seed(self, text: str, created_at: dt.datetime, reply_to: str | None = None) -> Status:
        """A status the account posted before the test (e.g. the same text, long ago)."""
        return self._store(text, reply_to, "public", "en", None, created_at)

    # Called from the handler threads.

    def _count(self) -> tuple[dict[str, str], bool]:
        """Count a request with a token in the window: its headers, and whether it is one too
        many."""
        if self.per_window is None:
            return {}, False
        now = self.clock()
        with self._lock:
            ends, used = self._window or (now, 0)
            if now >= ends:
                ends, used = now + dt.timedelta(seconds=self.window_seconds), 0
            used += 1
            self._window = (ends, used)
        headers = {
            "X-RateLimit-Limit": str(self.per_window),
            "X-RateLimit-Remaining": str(max(0, self.per_window - used)),
            "X-RateLimit-Reset": ends.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
            "Date": now.astimezone(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S GMT"),
        }
        if used > self.per_window:
            self.too_many += 1
            return headers, True
        return headers, False

    def _take(self, route: str) -> Reply:
        with self._lock:
            queued = self._replies[route]
            return queued.popleft() if queued else Reply()

    def _store(
        self,
        text: str,
        reply_to: str | None,
        visibility: str,
        language: str | None,
        key: str | None,
        created_at: dt.datetime | None = None,
        media: tuple[Media, ...] = (),
    ) -> Status:
        with self._lock:
            self._next_id += 1
            status = Status(
                str(self._next_id),
                text,
                reply_to,
                visibility,
                language,
                created_at or dt.datetime.now(dt.UTC),
                key,
                media=media,
            )
            for attached in media:
                attached.status_id = status.id
            self.statuses.append(status)
            return status

    def _upload(self, path: str, fields: dict[str, tuple[str, bytes, str]]) -> tuple[int, Any]:
        if "file" not in fields:
            return 422, {"error": "Validation failed: File can't be blank"}
        name, data, mime_type = fields["file"]
        description = fields["description"][1].decode() if "description" in fields else None
        if description is not None and len(description) > MAX_DESCRIPTION:
            return 422, {
                "error": "Validation failed: Description is too long (maximum is 1500 characters)"
            }
        with self._lock:
            self._next_id += 1
            media = Media(str(self._next_id), data, mime_type, name, description, path)
            self.media.append(media)
        return 200, media.json(self.base_url)

    def _post(
        self, form: dict[str, str], key: str | None, media_ids: list[str]
    ) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.keys.append(key)
            again = [s for s in self.statuses if key is not None and s.idempotency_key == key]
        if again:  # Mastodon answers a repeated key with the status it made the first time
            return 200, again[0].json(self.base_url)
        text = form.get("status", "")
        if not text.strip():
            return 422, {"error": "Validation failed: Text can't be blank"}
        if _length(text) > self.max_characters:
            return 422, {
                "error": f"Validation failed: Text character limit of {self.max_characters} "
                "exceeded"
            }
        reply_to = form.get("in_reply_to_id") or None
        if reply_to is not None and not any(
            s.id == reply_to and not s.deleted for s in self.statuses
        ):
            return 404, {"error": "The post you are trying to reply to does not appear to exist."}
        with self._lock:
            free = {m.id: m for m in self.media if m.status_id is None}
        if any(media_id not in free for media_id in media_ids):
            return 422, {"error": "Validation failed: media not found or already attached"}
        attached = tuple(free[media_id] for media_id in media_ids)
        visibility = form.get("visibility", "public")
        status = self._store(text, reply_to, visibility, form.get("language"), key, media=attached)
        return 200, status.json(self.base_url)

    def _delete(self, status_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            found = [s for s in self.statuses if s.id == status_id and not s.deleted]
            if not found:
                return 404, {"error": "Record not found"}
            found[0].deleted = True
        body = found[0].json(self.base_url)
        body["text"] = found[0].text
        return 200, body

    def _timeline(self, account: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if account != ACCOUNT_ID:
            return 404, {"error": "Record not found"}
        limit = min(40, int((query.get("limit") or ["20"])[0]))
        with self._lock:
            newest = [s for s in reversed(self.statuses) if not s.deleted][:limit]
        return 200, [s.json(self.base_url) for s in newest]

    def _instance(self, version: int) -> dict[str, Any]:
        statuses = {
            "max_characters": self.max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": 23,
        }
        host = urlsplit(self.base_url).netloc
        if version == 2:
            return {
                "domain": host,
                "title": "Test instance",
                "version": "4.3.0",
                "api_versions": {"mastodon": 2},
                "configuration": {"statuses": statuses},
            }
        return {
            "uri": host,
            "title": "Test instance",
            "version": "4.3.0",
            "configuration": {"statuses": statuses},
        }

    def _authorized(self, header: str | None) -> str | None:
        """Why the request's token is refused, or None."""
        if header != f"Bearer {self.token}":
            return "The access token is invalid"
        if self.revoked:
            return "The access token was revoked"
        return None


def _handler(server: MastodonServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive thread blocks shutdown.
        def do_GET(self) -> None:
            path, query = self._where()
            if path in server.instance_paths:
                version = 2 if "/v2/" in path else 1
                self._serve("instance", lambda: (200, server._instance(version)), auth=False)
            elif path == "/api/v1/accounts/verify_credentials":
                self._serve("credentials", lambda: (200, _account(server.base_url)))
            elif m := re.fullmatch(r"/api/v1/accounts/([^/]+)/statuses", path):
                self._serve("statuses", lambda: server._timeline(m.group(1), query))
            else:
                self._unknown(path)

        def do_POST(self) -> None:
            path, _ = self._where()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            kind = self.headers.get("Content-Type") or ""
            if path in ("/api/v2/media", "/api/v1/media"):
                fields = _multipart(kind, body)
                self._serve("media", lambda: server._upload(path, fields))
                return
            raw = body.decode()
            media_ids: list[str] = []
            if "json" in kind:
                data = json.loads(raw or "{}")
                media_ids = [str(m) for m in data.pop("media_ids", None) or []]
                form = {k: str(v) for k, v in data.items() if v is not None}
            else:
                query = parse_qs(raw)
                media_ids = query.pop("media_ids[]", [])
                form = {k: v[-1] for k, v in query.items()}
            if path != "/api/v1/statuses":
                self._unknown(path)
                return
            key = self.headers.get("Idempotency-Key")
            self._serve("post", lambda: server._post(form, key, media_ids))

        def do_DELETE(self) -> None:
            path, _ = self._where()
            m = re.fullmatch(r"/api/v1/statuses/([^/]+)", path)
            if not m:
                self._unknown(path)
                return
            self._serve("delete", lambda: server._delete(m.group(1)))

        def _where(self) -> tuple[str, dict[str, list[str]]]:
            parts = urlsplit(self.path)
            return parts.path.rstrip("/") or "/", parse_qs(parts.query)

        def _unknown(self, path: str) -> None:
            server.requests.append((self.command, path))
            # What a web server that is not a Mastodon instance answers.
            self._send(404, {"error": "Not Found"}, {}, "text/html")

        def _serve(self, route: str, normal: Any, auth: bool = True) -> None:
            server.requests.append((self.command, self._where()[0]))
            window, over = server._count() if self.headers.get("Authorization") else ({}, False)
            if over:
                self._send(429, {"error": "Too many requests"}, window)
                return
            reply = server._take(route)
            if reply.status:
                status, answer = reply.status, {"error": reply.error}
            else:
                refused = server._authorized(self.headers.get("Authorization")) if auth else None
                status, answer = (401, {"error": refused}) if refused else (0, {})
            if reply.accept or not status:
                normal_status, normal_answer = normal()  # stores the status, or deletes
                if not status:
                    status, answer = normal_status, normal_answer
            if reply.drop:
                self.close_connection = True
                return
            if reply.delay and server._stopping.wait(reply.delay):
                return
            self._send(status, answer, {**window, **reply.headers})

        def _send(
            self, status: int, body: Any, headers: dict[str, str], kind: str = "application/json"
        ) -> None:
            data = json.dumps(body).encode() if kind == "application/json" else b"<h1>404</h1>"
            # The client may have given up on a delayed answer and closed its end.
            with contextlib.suppress(OSError):
                self.send_response_only(status)
                # The instance's own clock: a reply may give another (a skewed server).
                self.send_header("Date", headers.pop("Date", self.date_time_string()))
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def _account(base_url: str) -> dict[str, Any]:
    return {
        "id": ACCOUNT_ID,
        "username": "aapp",
        "acct": "aapp",
        "display_name": "AAPP",
        "url": f"{base_url}/@aapp",
        "created_at": "2021-02-01T00:00:00.000Z",
        "note": "",
        "bot": True,
        "locked": False,
        "followers_count": 0,
        "following_count": 0,
        "statuses_count": 0,
    }


def _multipart(kind: str, body: bytes) -> dict[str, tuple[str, bytes, str]]:
    """A multipart/form-data body's fields: name → (file name, bytes, content type)."""
    head = f"Content-Type: {kind}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(data, bytes):
            fields[name] = (part.get_filename() or "", data, part.get_content_type())
    return fields


def _length(text: str) -> int:
    """Mastodon's count: graphemes, a link 23 (the peer's own, simpler link pattern)."""
    return int(grapheme.length(_LINK.sub("x" * 23, text)))


def render(text: str) -> str:
    """The HTML Mastodon makes of a plain-text status: paragraphs, line breaks, links."""
    paragraphs = []
    for block in re.split(r"\n\n+", text.strip()):
        lines = [_linkify(line) for line in block.split("\n")]
        paragraphs.append("<p>" + "<br />".join(lines) + "</p>")
    return "".join(paragraphs)


def _linkify(line: str) -> str:
    out, last = [], 0
    for m in _LINK.finditer(line):
        out.append(html.escape(line[last : m.start()], quote=False))
        url = m.group(0)
        scheme, rest = url.split("://", 1)
        shown, hidden = rest[:30], rest[30:]
        ellipsis = "ellipsis" if hidden else ""
        out.append(
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{scheme}://</span>'
            f'<span class="{ellipsis}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>'
        )
        last = m.end()
    out.append(html.escape(line[last:], quote=False))
    return "".join(out)
