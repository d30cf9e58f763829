"""A small Bluesky PDS over real HTTP on 127.0.0.1: the XRPC calls a posting bot makes.

    with BlueskyServer() as pds:
        settings = BlueskySettings(base_url=pds.base_url)     # handle/password: pds.handle, …
        pds.queue("com.atproto.repo.createRecord", Reply.rate_limited(reset=...))
        ...
        assert [post.text for post in pds.posts] == [...]

It answers as `@atproto/pds` does, errors included (`{"error": NAME, "message": …}`):
- com.atproto.server.createSession (no `didDoc` in the answer, so a client stays on this
  server), refreshSession; app.bsky.actor.getProfile;
- com.atproto.repo.createRecord, applyWrites, deleteRecord, getRecord, uploadBlob.

Records are validated as the `app.bsky.feed.post` lexicon says: text at most 300 graphemes and
3,000 UTF-8 bytes, at most 3 `langs`, facets whose byte ranges lie inside the text on
character boundaries, reply refs with `uri` and `cid`, a record key that is a TID. A create on
a record key that exists is a bare 500, as live hosts answer (atproto#3718); deleting a record
that is not there is a no-op. An access token past its `exp` is a 400 `ExpiredToken`.

Queued replies (`queue(nsid, …)`) answer the next calls of that method, one each, in order;
`Reply(accept=True, …)` does the normal work first (a record lands) and then answers as told.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import grapheme  # type: ignore[import-untyped]

from tests.peers.loopback import LoopbackHTTP

POST = "app.bsky.feed.post"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_WRITES = 200
BLOB_LIMIT = 5 * 1024 * 1024  # the PDS's default blobUploadLimit
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 2_000_000  # app.bsky.embed.images: "May be up to 2 MB"


class XrpcError(Exception):
    """Answered as `{"error": name, "message": message}` with `status`."""

    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status, self.name, self.message = status, name, message


@dataclass(frozen=True)
class Reply:
    """How the server answers one call instead of behaving normally."""

    status: int = 0  # 0: the normal answer
    error: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    accept: bool = False  # do the normal work (a record lands) even though `status` is an error
    delay: float = 0.0  # seconds between the work and the answer
    drop: bool = False  # close the connection instead of answering

    @classmethod
    def rate_limited(cls, reset: int, policy: str = "5000;w=3600") -> Reply:
        """429 with the window spent until `reset` (epoch seconds), as the PDS's headers say."""
        limit = policy.split(";")[0]
        headers = {
            "ratelimit-limit": limit,
            "ratelimit-remaining": "0",
            "ratelimit-reset": str(reset),
            "ratelimit-policy": policy,
        }
        return cls(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)

    @classmethod
    def server_error(cls, status: int = 500) -> Reply:
        names = {500: "InternalServerError", 502: "UpstreamFailure", 503: "NotEnoughResources"}
        return cls(status, names.get(status, "InternalServerError"), "Internal Server Error")

    @classmethod
    def bad_request(cls, message: str = "Input/record must be an object") -> Reply:
        return cls(400, "InvalidRequest", message)

    @classmethod
    def accept_then_wait(cls, seconds: float = 30.0) -> Reply:
        """Write the record, then answer only after `seconds` (cut short when the server stops)."""
        return cls(accept=True, delay=seconds)

    @classmethod
    def accept_then_fail(cls, status: int = 500) -> Reply:
        """Write the record, then answer an error (a crash after the commit)."""
        return cls(status, "InternalServerError", "Internal Server Error", accept=True)

    @classmethod
    def accept_then_drop(cls) -> Reply:
        return cls(accept=True, drop=True)


@dataclass(frozen=True)
class Record:
    """A record in the repository."""

    uri: str
    cid: str
    rkey: str
    value: dict[str, Any]

    @property
    def text(self) -> str:
        return str(self.value.get("text", ""))


class BlueskyServer(LoopbackHTTP):
    """The fake PDS, serving one account in a background thread while used as a context."""

    def __init__(
        self,
        handle: str = "aapp.bsky.social",
        password: str = "abcd-efgh-ijkl-mnop",
        access_seconds: int = 2 * 3600,
    ) -> None:
        self.handle = handle
        self.did = "did:plc:" + hashlib.sha256(handle.encode()).hexdigest()[:24]
        self.password = password
        self.access_seconds = access_seconds
        self.records: dict[tuple[str, str], Record] = {}
        self.posts: list[Record] = []  # every post that landed, in order (deleted ones too)
        self.deleted: list[str] = []
        self.blobs: dict[str, bytes] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []  # (nsid, input or query)
        self._access: dict[str, int] = {}  # token → exp
        self._refresh: set[str] = set()
        self._replies: dict[str, deque[Reply]] = {}
        self._lock = threading.Lock()
        self._serve(_handler(self))

    def queue(self, nsid: str, *replies: Reply) -> None:
        """Answer the next calls of `nsid` with these, in order."""
        with self._lock:
            self._replies.setdefault(nsid, deque()).extend(replies)

    def calls_to(self, nsid: str) -> list[dict[str, Any]]:
        """The input (or query) of every call of `nsid`, in order."""
        return [body for name, body in self.calls if name == nsid]

    def live(self) -> list[Record]:
        """The posts that are in the repository now, in the order they were made."""
        return [post for post in self.posts if (POST, post.rkey) in self.records]

    def revoke(self, new_password: str = "wxyz-wxyz-wxyz-wxyz") -> None:
        """The app password is revoked: its sessions end and it no longer logs in."""
        with self._lock:
            self.password = new_password
            self._access.clear()
            self._refresh.clear()

    def expire_access(self) -> None:
        """Every access token is past its expiry (a refresh is needed)."""
        with self._lock:
            self._access = dict.fromkeys(self._access, int(time.time()) - 60)

    # Called from the handler threads -------------------------------------------------------

    def take(self, nsid: str) -> Reply:
        with self._lock:
            queued = self._replies.get(nsid)
            return queued.popleft() if queued else Reply()

    def answer(self, nsid: str, body: dict[str, Any], auth: str, raw: bytes) -> dict[str, Any]:
        """The normal answer to a call; raises XrpcError."""
        with self._lock:
            if nsid == "com.atproto.server.createSession":
                return self._create_session(body)
            if nsid == "com.atproto.server.refreshSession":
                return self._refresh_session(auth)
            if nsid == "com.atproto.repo.getRecord":
                return self._get_record(body)
            self._authorised(auth)
            if nsid == "app.bsky.actor.getProfile":
                return {"did": self.did, "handle": self.handle, "displayName": "AAPP"}
            if nsid == "com.atproto.repo.createRecord":
                self._own(body.get("repo"))
                made = self._create(body.get("collection"), body.get("rkey"), body.get("record"))
                return {"uri": made.uri, "cid": made.cid, "commit": _commit(), **_valid()}
            if nsid == "com.atproto.repo.deleteRecord":
                self._own(body.get("repo"))
                self._delete(str(body.get("collection")), str(body.get("rkey")), strict=False)
                return {"commit": _commit()}
            if nsid == "com.atproto.repo.applyWrites":
                return self._apply_writes(body)
            if nsid == "com.atproto.repo.uploadBlob":
                return self._upload_blob(raw)
        raise XrpcError(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    # Sessions --------------------------------------------------------------------------------

    def _create_session(self, body: dict[str, Any]) -> dict[str, Any]:
        known = body.get("identifier") in (self.handle, self.did, f"@{self.handle}")
        if not known or body.get("password") != self.password:
            raise XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        return self._tokens()

    def _refresh_session(self, auth: str) -> dict[str, Any]:
        token = auth.removeprefix("Bearer ")
        if token not in self._refresh:
            raise XrpcError(400, "ExpiredToken", "Token has been revoked")
        self._refresh.discard(token)  # refresh tokens are single-use
        return self._tokens()

    def _tokens(self) -> dict[str, Any]:
        now = int(time.time())
        access = _jwt(
            {
                "scope": "com.atproto.appPass",
                "sub": self.did,
                "iat": now,
                "exp": now + self.access_seconds,
                "aud": "did:web:localhost",
            }
        )
        refresh = _jwt(
            {
                "scope": "com.atproto.refresh",
                "sub": self.did,
                "iat": now,
                "exp": now + 90 * 86400,
                "jti": secrets.token_hex(8),
            }
        )
        self._access[access] = now + self.access_seconds
        self._refresh.add(refresh)
        # No didDoc: a client keeps talking to this server (the SDK follows the PDS it names).
        return {
            "did": self.did,
            "handle": self.handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _authorised(self, auth: str) -> None:
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or not token:
            raise XrpcError(401, "AuthenticationRequired", "Authentication Required")
        expires = self._access.get(token)
        if expires is None:
            raise XrpcError(401, "InvalidToken", "Token could not be verified")
        if expires <= time.time():
            raise XrpcError(400, "ExpiredToken", "Token has expired")

    def _own(self, repo: object) -> None:
        if repo not in (self.did, self.handle):
            raise XrpcError(400, "InvalidRequest", f"Could not find repo: {repo}")

    # Records ---------------------------------------------------------------------------------

    def _create(self, collection: object, rkey: object, record: object) -> Record:
        made = self._check_create(collection, rkey, record)
        if (POST, made.rkey) in self.records:
            # What live hosts answer to a create on a key that exists (atproto#3718).
            raise XrpcError(500, "InternalServerError", "Internal Server Error")
        self.records[(POST, made.rkey)] = made
        self.posts.append(made)
        return made

    def _check_create(self, collection: object, rkey: object, record: object) -> Record:
        if collection != POST:
            raise XrpcError(400, "InvalidRequest", f"Unknown collection: {collection}")
        if rkey is None:
            rkey = _tid()
        if not isinstance(rkey, str) or not TID.match(rkey):
            raise XrpcError(400, "InvalidRequest", f"Invalid record key for a post: {rkey!r}")
        if not isinstance(record, dict):
            raise XrpcError(400, "InvalidRequest", "Input/record must be an object")
        problem = post_problem(record) or self._embed_problem(record.get("embed"))
        if problem:
            raise XrpcError(400, "InvalidRecord", f"Invalid {POST} record: {problem}")
        data = json.dumps(record, sort_keys=True).encode()
        cid = "bafyrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower()[:52]
        return Record(f"at://{self.did}/{POST}/{rkey}", cid, rkey, record)

    def _embed_problem(self, embed: object) -> str | None:
        if embed is None:
            return None
        if not isinstance(embed, dict) or embed.get("$type") != "app.bsky.embed.images":
            return "Record/embed must be one of the known embeds (app.bsky.embed.images here)"
        images = embed.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
            return f"Record/embed/images must have 1 to {MAX_IMAGES} elements"
        for n, image in enumerate(images):
            where = f"Record/embed/images/{n}"
            if not isinstance(image.get("alt"), str):
                return f'{where} must have the property "alt"'
            blob = image.get("image") or {}
            link = (blob.get("ref") or {}).get("$link")
            if blob.get("$type") != "blob" or link not in self.blobs:
                return f"{where}/image must be a blob uploaded to this repository"
            if len(self.blobs[link]) > MAX_IMAGE_BYTES or blob.get("size") != len(self.blobs[link]):
                return f"{where}/image must be at most {MAX_IMAGE_BYTES} bytes, size as uploaded"
            ratio = image.get("aspectRatio")
            if ratio is not None and not all(
                isinstance(ratio.get(k), int) and ratio[k] >= 1 for k in ("width", "height")
            ):
                return f"{where}/aspectRatio must have whole width and height of at least 1"
        return None

    def _delete(self, collection: str, rkey: str, strict: bool) -> None:
        if (collection, rkey) not in self.records:
            if strict:  # inside applyWrites a missing record fails the whole call
                raise XrpcError(500, "InternalServerError", "Internal Server Error")
            return
        found = self.records.pop((collection, rkey))
        self.deleted.append(found.uri)

    def _get_record(self, query: dict[str, Any]) -> dict[str, Any]:
        key = (str(query.get("collection")), str(query.get("rkey")))
        found = self.records.get(key) if query.get("repo") in (self.did, self.handle) else None
        if found is None:
            uri = f"at://{query.get('repo')}/{key[0]}/{key[1]}"
            raise XrpcError(400, "RecordNotFound", f"Could not locate record: {uri}")
        return {"uri": found.uri, "cid": found.cid, "value": found.value}

    def _apply_writes(self, body: dict[str, Any]) -> dict[str, Any]:
        self._own(body.get("repo"))
        writes = body.get("writes")
        if not isinstance(writes, list):
            raise XrpcError(400, "InvalidRequest", "Input/writes must be an array")
        if len(writes) > MAX_WRITES:
            raise XrpcError(400, "InvalidRequest", f"Too many writes. Max: {MAX_WRITES}")
        # All or nothing: check every write against a copy, then keep the copy.
        before = (dict(self.records), list(self.posts), list(self.deleted))
        results: list[dict[str, Any]] = []
        try:
            for write in writes:
                kind = str(write.get("$type", ""))
                if kind.endswith("#create"):
                    made = self._create(
                        write.get("collection"), write.get("rkey"), write.get("value")
                    )
                    results.append(
                        {
                            "$type": "com.atproto.repo.applyWrites#createResult",
                            "uri": made.uri,
                            "cid": made.cid,
                            **_valid(),
                        }
                    )
                elif kind.endswith("#delete"):
                    self._delete(str(write.get("collection")), str(write.get("rkey")), True)
                    results.append({"$type": "com.atproto.repo.applyWrites#deleteResult"})
                else:
                    raise XrpcError(400, "InvalidRequest", f"Unsupported write: {kind!r}")
        except XrpcError:
            self.records, self.posts, self.deleted = before
            raise
        return {"commit": _commit(), "results": results}

    def _upload_blob(self, raw: bytes) -> dict[str, Any]:
        if len(raw) > BLOB_LIMIT:
            raise XrpcError(400, "BlobTooLarge", "This file is too large")
        cid = "bafkrei" + base64.b32encode(hashlib.sha256(raw).digest()).decode().lower()[:52]
        self.blobs[cid] = raw
        # The PDS sniffs the type from the bytes rather than trust the request's header.
        kind = "image/png" if raw.startswith(b"\x89PNG\r\n\x1a\n") else "application/octet-stream"
        return {
            "blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": kind, "size": len(raw)}
        }


def post_problem(record: dict[str, Any]) -> str | None:
    """What the `app.bsky.feed.post` lexicon finds wrong with a record, or None."""
    if record.get("$type") != POST:
        return f"Record/$type must be {POST}"
    text = record.get("text")
    if not isinstance(text, str):
        return 'Record must have the property "text"'
    if grapheme.length(text) > MAX_GRAPHEMES:
        return f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes"
    encoded = text.encode("utf-8")
    if len(encoded) > MAX_BYTES:
        return f"Record/text must not be longer than {MAX_BYTES} characters"
    created = record.get("createdAt")
    try:
        dt.datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    except ValueError:
        return "Record/createdAt must be an valid atproto datetime"
    langs = record.get("langs", [])
    if not isinstance(langs, list) or len(langs) > 3 or not all(isinstance(x, str) for x in langs):
        return "Record/langs must not have more than 3 elements"
    for n, facet in enumerate(record.get("facets") or []):
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
            return f"Record/facets/{n}/index must have byteStart < byteEnd, both >= 0"
        if end > len(encoded):
            return f"Record/facets/{n}/index lies beyond the text ({end} > {len(encoded)} bytes)"
        try:
            encoded[start:end].decode("utf-8")
        except UnicodeDecodeError:
            return f"Record/facets/{n}/index cuts a character in two"
        if not facet.get("features"):
            return f'Record/facets/{n} must have the property "features"'
    reply = record.get("reply")
    if reply is not None:
        for end_name in ("root", "parent"):
            ref = reply.get(end_name) if isinstance(reply, dict) else None
            if not isinstance(ref, dict):
                return f'Record/reply must have the property "{end_name}"'
            for key in ("uri", "cid"):
                if not isinstance(ref.get(key), str) or not ref[key]:
                    return f'Record/reply/{end_name} must have the property "{key}"'
            if not ref["uri"].startswith("at://"):
                return f"Record/reply/{end_name}/uri must be a valid at-uri"
    return None


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.{secrets.token_hex(16)}"


def _tid() -> str:
    alphabet = "234567abcdefghijklmnopqrstuvwxyz"
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _commit() -> dict[str, str]:
    return {"cid": "bafyreicommit" + secrets.token_hex(8), "rev": _tid()}


def _valid() -> dict[str, str]:
    return {"validationStatus": "valid"}


def _handler(server: BlueskyServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive thread blocks shutdown.
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._serve(url.path, dict(parse_qsl(url.query)), b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            nsid = urlsplit(self.path).path.removeprefix("/xrpc/")
            if nsid == "com.atproto.repo.uploadBlob":
                self._serve(self.path, {"size": len(raw)}, raw)
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {"error": "InvalidRequest", "message": "Invalid JSON"}, {})
                return
            self._serve(self.path, body if isinstance(body, dict) else {}, raw)

        def _serve(self, path: str, body: dict[str, Any], raw: bytes) -> None:
            nsid = urlsplit(path).path.removeprefix("/xrpc/")
            server.calls.append((nsid, body))
            reply = server.take(nsid)
            status, answer = reply.status, {"error": reply.error, "message": reply.message}
            if reply.accept or not reply.status:
                try:
                    normal: tuple[int, dict[str, Any]] = (
                        200,
                        server.answer(nsid, body, self.headers.get("Authorization", ""), raw),
                    )
                except XrpcError as exc:
                    normal = (exc.status, {"error": exc.name, "message": exc.message})
                if not reply.status:
                    status, answer = normal
            if reply.drop:
                self.close_connection = True
                return
            if reply.delay and server._stopping.wait(reply.delay):
                return
            self._send(status, answer, reply.headers)

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            # The client may have given up on a delayed answer and closed its end.
            with contextlib.suppress(OSError):
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return Handler
