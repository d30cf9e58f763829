"""A small fake of X's API v2 over real HTTP on 127.0.0.1: posts, deletes, media and alt text.

    with XServer() as x:
        x.queue("POST", Reply.duplicate())   # the next POST /2/tweets answers 403 duplicate
        x.queue("UPLOAD", Reply.unavailable())  # the next POST /2/media/upload answers 503
        ...                                  # point XSettings.base_url at x.base_url
        assert [p.text for p in x.posts] == [...]

Queued replies are used one per request, in order, for their route: "POST" (/2/tweets),
"DELETE", "UPLOAD" (/2/media/upload), "METADATA" (/2/media/metadata); with none queued the
server behaves like X on a good day, and checks requests as X does (a media id it never
issued, an image over 5 MB, alt text over 1,000 characters: 400). Errors use X's v2 problem
JSON.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.peers.loopback import LoopbackHTTP

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT = 1000
CATEGORIES = ("tweet_image", "tweet_gif", "tweet_video", "dm_image", "dm_gif", "dm_video")


@dataclass(frozen=True)
class Post:
    """A post the server accepted."""

    id: str
    text: str
    reply_to: str | None
    media_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Upload:
    """A picture the server accepted, as it arrived."""

    id: str
    data: bytes
    category: str
    media_type: str


@dataclass(frozen=True)
class Reply:
    """How the server answers one request instead of behaving normally."""

    status: int = 0  # 0: the normal answer
    title: str = ""
    detail: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    accept: bool = False  # record the post (or delete) even though `status` is an error
    delay: float = 0.0  # seconds between accepting and answering
    drop: bool = False  # close the connection instead of answering

    @classmethod
    def problem(cls, status: int, title: str, detail: str, **headers: str) -> Reply:
        """An error in X's v2 problem shape; nothing is recorded."""
        return cls(status, title, detail, {k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def rate_limited(cls, reset: int, **headers: str) -> Reply:
        """429 with the 15-minute window exhausted until `reset` (epoch seconds)."""
        return cls.problem(
            429,
            "Too Many Requests",
            "Too Many Requests",
            x_rate_limit_limit="200",
            x_rate_limit_remaining="0",
            x_rate_limit_reset=str(reset),
            **headers,
        )

    @classmethod
    def duplicate(cls) -> Reply:
        """X's answer to a post whose text the account already posted."""
        detail = "You are not allowed to create a Tweet with duplicate content."
        return cls.problem(403, "Forbidden", detail)

    @classmethod
    def unauthorized(cls) -> Reply:
        return cls.problem(401, "Unauthorized", "Unauthorized")

    @classmethod
    def bad_request(
        cls, detail: str = "One or more parameters to your request was invalid."
    ) -> Reply:
        return cls.problem(400, "Invalid Request", detail)

    @classmethod
    def unavailable(cls) -> Reply:
        return cls.problem(503, "Service Unavailable", "Service Unavailable")

    @classmethod
    def accept_then_wait(cls, seconds: float = 1.0) -> Reply:
        """Record the post, then answer only after `seconds` (cut short when the server stops)."""
        return cls(accept=True, delay=seconds)

    @classmethod
    def accept_then_drop(cls) -> Reply:
        """Record the post, then close the connection without a word."""
        return cls(accept=True, drop=True)


class XServer(LoopbackHTTP):
    """The fake X API, serving in a background thread while used as a context manager."""

    def __init__(self) -> None:
        self.posts: list[Post] = []
        self.deleted: list[str] = []
        self.uploads: list[Upload] = []
        self.alt_texts: dict[str, str] = {}  # media id → its alt text
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self._replies: dict[str, deque[Reply]] = {
            route: deque() for route in ("POST", "DELETE", "UPLOAD", "METADATA")
        }
        self._next_id = 1_000_000_000_000_000_000
        self._lock = threading.Lock()
        self._serve(_handler(self))

    def queue(self, method: str, *replies: Reply) -> None:
        """Answer the next requests of a route (POST, DELETE, UPLOAD, METADATA), in order."""
        with self._lock:
            self._replies[method].extend(replies)

    # Called from the handler threads.

    def _take(self, method: str) -> Reply:
        with self._lock:
            queued = self._replies[method]
            return queued.popleft() if queued else Reply()

    def _accept(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        media = tuple(str(m) for m in (body.get("media") or {}).get("media_ids") or ())
        with self._lock:
            known = {upload.id for upload in self.uploads}
            if any(media_id not in known for media_id in media):
                return 400, _problem(400, "Invalid Request", "Your media IDs are invalid.")
            self._next_id += 1
            reply = (body.get("reply") or {}).get("in_reply_to_tweet_id")
            post = Post(str(self._next_id), str(body.get("text", "")), reply, media)
            self.posts.append(post)
        return 201, {"data": {"id": post.id, "text": post.text}}

    def _upload(self, fields: dict[str, tuple[bytes, str]]) -> tuple[int, dict[str, Any]]:
        data, media_type = fields.get("media", (b"", ""))
        category = fields.get("media_category", (b"", ""))[0].decode()
        if not data or category not in CATEGORIES:
            detail = "media and a valid media_category are required"
            return 400, _problem(400, "Invalid Request", detail)
        if len(data) > MAX_IMAGE_BYTES:
            return 400, _problem(400, "Invalid Request", "File size exceeds 5242880 bytes.")
        with self._lock:
            self._next_id += 1
            upload = Upload(str(self._next_id), data, category, media_type)
            self.uploads.append(upload)
        answer = {
            "id": upload.id,
            "media_key": f"3_{upload.id}",
            "size": len(data),
            "expires_after_secs": 86400,
            "image": {"image_type": media_type or "image/png"},
        }
        return 200, {"data": answer}

    def _metadata(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        media_id = str(body.get("id", ""))
        text = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        with self._lock:
            if all(upload.id != media_id for upload in self.uploads):
                return 400, _problem(400, "Invalid Request", f"media id {media_id} not found")
            if not isinstance(text, str) or len(text) > MAX_ALT:
                detail = f"alt_text.text must be a string of at most {MAX_ALT} characters"
                return 400, _problem(400, "Invalid Request", detail)
            self.alt_texts[media_id] = text
        return 200, {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": text}}}}

    def _delete(self, post_id: str) -> bool:
        with self._lock:
            if post_id in self.deleted or all(p.id != post_id for p in self.posts):
                return False
            self.deleted.append(post_id)
            return True


def _handler(server: XServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive thread blocks shutdown.
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path == "/2/media/upload":
                fields = _form(self.headers.get("Content-Type", ""), raw)
                self._serve("UPLOAD", lambda: server._upload(fields), True)
                return
            body = json.loads(raw or b"{}")
            if self.path == "/2/media/metadata":
                self._serve("METADATA", lambda: server._metadata(body), True)
                return
            self._serve("POST", lambda: server._accept(body), self.path == "/2/tweets")

        def do_DELETE(self) -> None:
            prefix = "/2/tweets/"
            post_id = self.path[len(prefix) :]

            def delete() -> tuple[int, dict[str, Any]]:
                if server._delete(post_id):
                    return 200, {"data": {"deleted": True}}
                detail = f"Could not find tweet with id: [{post_id}]."
                return 404, _problem(404, "Not Found Error", detail)

            self._serve("DELETE", delete, self.path.startswith(prefix))

        def _serve(self, method: str, normal: Any, known: bool) -> None:
            server.requests.append((method, self.path))
            if not known:
                self._send(404, _problem(404, "Not Found", f"no route {self.path}"), {})
                return
            reply = server._take(method)
            status, answer = reply.status, _problem(reply.status, reply.title, reply.detail)
            if reply.accept or not reply.status:
                normal_status, normal_answer = normal()  # records the post, or deletes
                if not reply.status:
                    status, answer = normal_status, normal_answer
            if reply.drop:
                self.close_connection = True
                return
            if reply.delay and server._stopping.wait(reply.delay):
                return
            self._send(status, answer, reply.headers)

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            kind = "application/problem+json" if status >= 400 else "application/json"
            # The client may have given up on a delayed answer and closed its end.
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler


def _form(content_type: str, raw: bytes) -> dict[str, tuple[bytes, str]]:
    """A multipart/form-data body: field name → (bytes, content type)."""
    if not content_type.startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (part.get_payload(decode=True) or b"", part.get_content_type())
    return fields


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status}
