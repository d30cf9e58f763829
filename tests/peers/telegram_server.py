"""A fake Telegram Bot API over real HTTP on 127.0.0.1, for tests.

    with FakeTelegram() as telegram:
        settings = TelegramSettings(chat="@news", base_url=telegram.base_url)
        telegram.script("sendMessage", error(429, "Too Many Requests", retry_after=3))
        ...
        assert [call.params["text"] for call in telegram.calls_to("sendMessage")] == [...]

Every call is recorded as a `Call` (method, params, token from the /bot<TOKEN>/ path). Each
method has a handler that answers like Telegram and keeps state (`messages` that landed,
`deleted`); `script(method, *replies)` queues answers that override the handler for the next
calls to that method, one reply per call. A new method is one more entry in `handlers`: a function
taking the `Call` and returning the `result`, or raising `ApiError`.

People talking to a bot: `push_message(chat_id, "/start")` and `push_callback(chat_id,
"lang:my")` queue updates that the bot fetches with getUpdates (long polling: answered at once
when updates are waiting, else after at most `POLL_CAP` seconds). `wait_calls("sendMessage", 2)`
waits, without sleeping, until the bot has made that many calls.

Flood limits, as Telegram enforces them, when given `limits=Limits(clock)`: at most 30 messages
in any second overall, one a second in any chat, 20 in any minute in a group or channel
(`@name` or a negative id). A message over a limit is refused with 429 and `retry_after`, the
seconds until it would pass, and nothing lands; `refused` keeps those calls. The clock is the
test's (virtual) one, the same the bot paces itself by.
"""

from __future__ import annotations

import html
import json
import math
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.peers.ports import free_port

# What Telegram accepts as a photo's caption, counted as a message's text.
CAPTION_LIMIT = 1024


class ApiError(Exception):
    """Raised by a handler: answered as `{"ok": false, "error_code": …, "description": …}`."""

    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass(frozen=True)
class Call:
    """One request as the fake received it. Form values are strings, as PTB sends them."""

    method: str
    params: dict[str, Any]
    token: str

    def json(self, name: str) -> Any:
        """A parameter PTB sent JSON-encoded (link_preview_options, reply_markup, …)."""
        value = self.params[name]
        return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Reply:
    """A scripted answer to one call. `Reply()` is the handler's normal answer."""

    # Replaces the handler's answer when set.
    body: dict[str, Any] | None = None
    status: int = 200
    # Whether the handler runs, i.e. the call takes effect (a message lands).
    applied: bool = True
    # Seconds to wait before answering, and whether to close the connection instead.
    delay: float = 0.0
    drop: bool = False


def ok(result: Any) -> Reply:
    """Answer `{"ok": true, "result": result}` without running the handler."""
    return Reply(body={"ok": True, "result": result}, applied=False)


def error(
    code: int,
    description: str,
    *,
    retry_after: int | None = None,
    migrate_to_chat_id: int | None = None,
) -> Reply:
    """Answer a Bot API error; nothing takes effect."""
    parameters = {"retry_after": retry_after, "migrate_to_chat_id": migrate_to_chat_id}
    found = ApiError(code, description, **{k: v for k, v in parameters.items() if v is not None})
    return Reply(body=found.body(), status=code, applied=False)


def delayed(seconds: float) -> Reply:
    """Take effect at once, answer normally only after `seconds` (a client timeout)."""
    return Reply(delay=seconds)


def dropped(*, applied: bool = True) -> Reply:
    """Close the connection without answering, after taking effect unless `applied` is False."""
    return Reply(drop=True, applied=applied)


Handler = Callable[[Call], Any]

# The methods that put a message in a chat (or change one), counted against the limits.
LIMITED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    }
)
_US = 1_000_000


@dataclass
class Limits:
    """Telegram's flood limits (Bot FAQ), checked on `clock`, in seconds."""

    clock: Callable[[], float]
    per_second: int = 30
    chat_gap: float = 1.0
    group_per_minute: int = 20
    # What landed, in microseconds: every message of the last second, each chat's last, each
    # group's last minute.
    _recent: deque[int] = field(default_factory=deque)
    _chats: dict[str, int] = field(default_factory=dict)
    _groups: dict[str, deque[int]] = field(default_factory=dict)

    def refusal(self, chat: str) -> int | None:
        """Seconds to wait (as Telegram says them, rounded up) if a message now is over a limit."""
        now = round(self.clock() * _US)
        while self._recent and self._recent[0] <= now - _US:
            self._recent.popleft()
        waits = []
        if len(self._recent) >= self.per_second:
            waits.append(self._recent[0] + _US - now)
        last = self._chats.get(chat)
        if last is not None and now - last < self.chat_gap * _US:
            waits.append(last + round(self.chat_gap * _US) - now)
        times = self._groups.get(chat)
        if times is not None:
            while times and times[0] <= now - 60 * _US:
                times.popleft()
            if len(times) >= self.group_per_minute:
                waits.append(times[0] + 60 * _US - now)
        return max(1, math.ceil(max(waits) / _US)) if waits else None

    def landed(self, chat: str) -> None:
        now = round(self.clock() * _US)
        self._recent.append(now)
        self._chats[chat] = now
        if chat.startswith(("-", "@")):
            self._groups.setdefault(chat, deque()).append(now)


# The longest a getUpdates call waits for an update, whatever timeout the bot asks for: tests
# stop the bot quickly, and Telegram's real long poll is not what is under test.
POLL_CAP = 0.5


class FakeTelegram:
    """The fake server; a context manager that starts and stops it."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.port = free_port()
        self.limits = limits
        self.calls: list[Call] = []
        # Calls refused with 429 by the limits.
        self.refused: list[Call] = []
        # Messages that landed, by (chat_id as sent, message_id), and those deleted since.
        self.messages: dict[tuple[str, int], dict[str, Any]] = {}
        self.deleted: list[tuple[str, int]] = []
        # Photos uploaded with sendPhoto, by the file id answered for each.
        self.photos: dict[str, bytes] = {}
        self.handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "deleteMessage": self._delete_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
        }
        # Updates waiting for the bot's getUpdates, the callback queries pushed and the answers
        # to them (query id → text), and the command menus set (language code or "" → commands).
        self.updates: list[dict[str, Any]] = []
        self.callback_queries: set[str] = set()
        self.callback_answers: dict[str, str] = {}
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._next_update_id = 1000
        self._script: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self._next_message_id = 100
        self._lock = threading.RLock()
        # Notified on every call and every pushed update; waiting releases the lock.
        self._changed = threading.Condition(self._lock)
        # Set on stop, so that a delayed answer does not keep a thread (or the test) waiting.
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """For `TelegramSettings.base_url`: the token and method are appended by PTB."""
        return f"http://127.0.0.1:{self.port}/bot"

    def script(self, method: str, *replies: Reply) -> None:
        """Answer the next calls to `method` with `replies`, in order, then normally again."""
        with self._lock:
            self._script[method].extend(replies)

    def calls_to(self, method: str) -> list[Call]:
        """The calls to `method`, in the order received."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Wait until `predicate()` holds (checked after each call and pushed update)."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_calls(self, method: str, count: int, timeout: float = 10.0) -> list[Call]:
        """Wait for the `count`th call to `method`; all the calls to it so far."""
        if not self.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
            found = len(self.calls_to(method))
            raise AssertionError(f"{found} calls to {method} after {timeout} s, not {count}")
        return self.calls_to(method)

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        first_name: str = "Nilar",
        language_code: str | None = None,
    ) -> int:
        """A person's message to the bot, delivered by getUpdates; returns the update id.

        A leading "/command" is marked as a bot command, as Telegram does.
        """
        sender = _user(user_id or abs(chat_id), first_name, language_code)
        message: dict[str, Any] = {"text": text, "from": sender}
        command = text.split(maxsplit=1)[0] if text.startswith("/") else ""
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        with self._lock:
            self._next_message_id += 1
            message |= {
                "message_id": self._next_message_id,
                "date": int(time.time()),
                "chat": _person_chat(chat_id, chat_type, first_name),
            }
            return self.push_update({"message": message})

    def push_callback(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int | None = None,
        chat_type: str = "private",
        user_id: int | None = None,
        first_name: str = "Nilar",
    ) -> str:
        """A press on an inline button of the bot's message (by default its newest in the chat).

        Returns the callback query's id, the key of `callback_answers`.
        """
        with self._lock:
            if message_id is None:
                mine = [key[1] for key in self.messages if key[0] == str(chat_id)]
                message_id = max(mine, default=1)
            query_id = f"cq{self._next_update_id}"
            self.callback_queries.add(query_id)
            query = {
                "id": query_id,
                "from": _user(user_id or abs(chat_id), first_name, None),
                "chat_instance": f"ci{chat_id}",
                "data": data,
                "message": {
                    "message_id": message_id,
                    "date": int(time.time()),
                    "chat": _person_chat(chat_id, chat_type, first_name),
                    "from": {"id": 1, "is_bot": True, "first_name": "Fake bot"},
                    "text": "(the message with the buttons)",
                },
            }
            self.push_update({"callback_query": query})
            return query_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Any update (without `update_id`, which is added); returns the update id."""
        with self._lock:
            self._next_update_id += 1
            self.updates.append({"update_id": self._next_update_id, **update})
            self._changed.notify_all()
            return self._next_update_id

    def texts(self) -> list[str]:
        """The text (a photo's caption) of each message that landed and is still there."""
        with self._lock:
            return [m.get("text", m.get("caption", "")) for m in self.messages.values()]

    @property
    def tokens(self) -> set[str]:
        """Every token used in a request path."""
        with self._lock:
            return {call.token for call in self.calls}

    def start(self) -> None:
        server = _Server(("127.0.0.1", self.port), _RequestHandler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-telegram"
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelegram:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Called by the request handler's thread.

    def answer(self, call: Call) -> tuple[Reply, int, dict[str, Any]]:
        with self._lock:
            self.calls.append(call)
            self._changed.notify_all()
            script = self._script.get(call.method)
            reply = script.popleft() if script else Reply()
            status, body = 200, {"ok": True, "result": True}
            wait = self._over_limit(call) if reply.applied else None
            if wait is not None:
                self.refused.append(call)
                error = ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
                return Reply(), 429, error.body()
            if reply.applied:
                status, body = self._handle(call)
                if status == 200 and self.limits and call.method in LIMITED:
                    self.limits.landed(str(call.params.get("chat_id", "")))
        if reply.body is not None:
            status, body = reply.status, reply.body
        return reply, status, body

    def _over_limit(self, call: Call) -> int | None:
        if self.limits is None or call.method not in LIMITED:
            return None
        return self.limits.refusal(str(call.params.get("chat_id", "")))

    def wait(self, seconds: float) -> bool:
        """Wait `seconds`; False if the fake is stopping meanwhile."""
        return not self._stopping.wait(seconds)

    def _handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        handler = self.handlers.get(call.method)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            return 200, {"ok": True, "result": handler(call)}
        except ApiError as exc:
            return exc.code, exc.body()

    # The Bot API methods.

    def _get_me(self, call: Call) -> dict[str, Any]:
        bot_id = call.token.split(":", 1)[0]
        return {
            "id": int(bot_id) if bot_id.isdigit() else 1,
            "is_bot": True,
            "first_name": "Fake bot",
            "username": "fake_bot",
        }

    def _send_message(self, call: Call) -> dict[str, Any]:
        chat = str(call.params.get("chat_id", ""))
        text = call.params.get("text", "")
        if not chat:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        self._next_message_id += 1
        message = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": _chat(chat),
            "text": text,
        }
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.json("reply_markup")
        self.messages[(chat, self._next_message_id)] = message
        return message

    def _send_photo(self, call: Call) -> dict[str, Any]:
        # A photo uploaded (bytes) or sent again by the file id answered for an upload.
        chat = str(call.params.get("chat_id", ""))
        photo = call.params.get("photo")
        caption = str(call.params.get("caption") or "")
        if not chat:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(photo, bytes):
            file_id = f"photo-{len(self.photos) + 1}"
            self.photos[file_id] = photo
        elif photo in self.photos:
            file_id = str(photo)
        else:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        shown = html.unescape(re.sub(r"<[^>]*>", "", caption))
        if len(shown.encode("utf-16-le")) // 2 > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        self._next_message_id += 1
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": _chat(chat),
            "photo": [{"file_id": file_id, "file_unique_id": file_id, "width": 1, "height": 1}],
        }
        if caption:
            message["caption"] = caption
        if call.params.get("reply_markup"):
            message["reply_markup"] = call.json("reply_markup")
        self.messages[(chat, self._next_message_id)] = message
        return message

    def _delete_message(self, call: Call) -> bool:
        key = (str(call.params.get("chat_id", "")), int(call.params.get("message_id", 0)))
        if self.messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append(key)
        return True

    def _edit_message_text(self, call: Call) -> dict[str, Any]:
        key = (str(call.params.get("chat_id", "")), int(call.params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["text"] == call.params.get("text"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = call.params.get("text", "")
        message["edit_date"] = int(time.time())
        return message

    def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        # Runs under the lock; `wait_for` releases it while waiting, so the bot's other calls
        # (sendMessage from a handler) go through meanwhile.
        offset = int(call.params.get("offset") or 0)
        limit = int(call.params.get("limit") or 100)
        wait = min(float(call.params.get("timeout") or 0), POLL_CAP)
        # An offset confirms every update before it: Telegram forgets them.
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        self._changed.wait_for(lambda: bool(self.updates) or self._stopping.is_set(), wait)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        return self.updates[:limit]

    def _delete_webhook(self, call: Call) -> bool:
        if str(call.params.get("drop_pending_updates", "")).lower() == "true":
            self.updates.clear()
        return True

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = str(call.params.get("callback_query_id", ""))
        if query_id not in self.callback_queries or query_id in self.callback_answers:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = call.params.get("text", "")
        if len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[query_id] = text
        return True

    def _edit_message_reply_markup(self, call: Call) -> dict[str, Any]:
        key = (str(call.params.get("chat_id", "")), int(call.params.get("message_id", 0)))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = call.json("reply_markup") if call.params.get("reply_markup") else None
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        message["reply_markup"] = markup
        return message

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.json("commands")
        if not commands or len(commands) > 100:
            raise ApiError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        self.commands[str(call.params.get("language_code", ""))] = commands
        return True


def _user(user_id: int, first_name: str, language_code: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        user["language_code"] = language_code
    return user


def _person_chat(chat_id: int, chat_type: str, name: str) -> dict[str, Any]:
    if chat_type == "private":
        return {"id": chat_id, "type": "private", "first_name": name}
    return {"id": chat_id, "type": chat_type, "title": "A group"}


def _chat(chat_id: str) -> dict[str, Any]:
    # Telegram answers with the numeric id even for "@name"; any stable negative number will do.
    if chat_id.lstrip("-").isdigit():
        number = int(chat_id)
        kind = "private" if number > 0 else "channel" if chat_id.startswith("-100") else "group"
        return {"id": number, "type": kind}
    return {
        "id": -1_000_000_000_000 - sum(map(ord, chat_id)),
        "type": "channel",
        "username": chat_id.lstrip("@"),
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeTelegram


class _RequestHandler(BaseHTTPRequestHandler):
    # Keep-alive, as httpx expects; an idle connection is dropped after a while.
    protocol_version = "HTTP/1.1"
    # Without it each small answer waits ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    timeout = 10
    server: _Server

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._serve(self.rfile.read(length))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def _serve(self, body: bytes) -> None:
        url = urlsplit(self.path)
        token, _, method = url.path.removeprefix("/bot").partition("/")
        if not url.path.startswith("/bot") or not method:
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        params: dict[str, Any] = dict(parse_qsl(url.query))
        params.update(_parse_body(self.headers.get("Content-Type", ""), body))
        fake = self.server.fake
        reply, status, answer = fake.answer(Call(method, params, token))
        if reply.delay and not fake.wait(reply.delay):
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, answer)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client gave up waiting (a delayed answer): as with Telegram, nobody hears it.
            self.close_connection = True


def _parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """PTB posts a form (multipart when a file is attached); JSON is accepted too."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                params[name] = payload if part.get_filename() else payload.decode()
        return params
    return dict(parse_qsl(body.decode(), keep_blank_values=True))
