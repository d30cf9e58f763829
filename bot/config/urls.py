"""The web page's public addresses: parsed, checked and joined, never glued together as text.

Every link the bot sends (unsubscribe in each email, confirm in the confirmation email, the
feed's entries) starts from `[channels.email] unsubscribe_base_url`, which names where the
page's unsubscribe links live. `https://news.example.org` (no path) means the site's root, so
its links are `https://news.example.org/unsubscribe/TOKEN`; a site under a path
(`https://example.org/bot/unsubscribe/`) keeps it.

The address must be absolute `https`; plain `http` is allowed only for this machine
(`localhost`, `127.0.0.1`, `[::1]`), for trying the bot out. Left out, it is this machine's
address on the configured port, which is right only while no real mail goes out: with a real
SMTP host the checks refuse it, so that no email carries a link to `localhost`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, quote, urlsplit

from bot.config.model import secret
from bot.errors import ConfigError, Problems

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.config.tomlfile import TomlFile

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})
SETTING = ("channels", "email", "unsubscribe_base_url")
_UNSUBSCRIBE = "unsubscribe/"


@dataclass(frozen=True)
class PublicUrls:
    """The site's public address and the links under it."""

    scheme: str
    netloc: str
    # Both end in "/": the site's root ("/" or "/bot/") and where unsubscribe links live.
    root: str
    unsubscribe_path: str

    @property
    def site(self) -> str:
        """The site's address, ending in "/"."""
        return f"{self.scheme}://{self.netloc}{self.root}"

    @property
    def origin(self) -> str:
        """What a browser sends as `Origin` from the site's own pages."""
        return f"{self.scheme}://{self.netloc}"

    @property
    def secure(self) -> bool:
        """Whether readers reach the site over TLS (cookies are then marked Secure)."""
        return self.scheme == "https"

    def page(self, path: str) -> str:
        """The address of a page of the site: `path` is relative to the root ("posts/3")."""
        return self.site + path.lstrip("/")

    def unsubscribe(self, token: str) -> str:
        """The one-click unsubscribe link carrying `token`."""
        return f"{self.scheme}://{self.netloc}{self.unsubscribe_path}{quote(token, safe='')}"

    def confirm(self, token: str) -> str:
        """The confirmation link carrying `token`."""
        return self.site + "confirm/" + quote(token, safe="")

    def origins(self) -> frozenset[str]:
        """The `Origin` values the site's own forms arrive with.

        On this machine, the same port under each loopback name: a person who opens
        http://127.0.0.1:8080/ while the links say http://localhost:8080/ is still at home.
        """
        parts = urlsplit(self.site)
        if parts.hostname not in LOCAL_HOSTS:
            return frozenset({self.origin})
        port = f":{parts.port}" if parts.port else ""
        return frozenset(
            f"{self.scheme}://{name}{port}" for name in ("localhost", "127.0.0.1", "[::1]")
        )


def check_url(value: str) -> SplitResult:
    """`value` parsed; ValueError saying what is wrong unless it is a public web address."""
    text = value.strip()
    if not text or text != value or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise ValueError(f"{value!r} is not a web address (spaces or control characters)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a web address ({exc})") from None
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(
            f"{value!r} is not an absolute https address (like https://news.example.org/)"
        )
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"{value!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{value!r} carries a user name or password; links must not")
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ValueError(f"{value!r} has a query or fragment; a token cannot follow it")
    if parts.scheme == "http" and host not in LOCAL_HOSTS:
        raise ValueError(
            f"{value!r} is plain http: links in emails must be https (http only for localhost "
            "or 127.0.0.1)"
        )
    if port == 0:
        raise ValueError(f"{value!r} names port 0")
    return parts


def _configured(settings: Settings) -> str | None:
    email = settings.channel("email")
    return email.unsubscribe_base_url if "unsubscribe_base_url" in email.model_fields_set else None


def _local_default(settings: Settings) -> str:
    port = settings.file.web.port or 8080
    return f"http://localhost:{port}/unsubscribe/"


def public_urls(settings: Settings) -> PublicUrls:
    """The public addresses of these settings; ConfigError when the setting is unusable."""
    value = _configured(settings) or _local_default(settings)
    try:
        parts = check_url(value)
    except ValueError as exc:
        raise ConfigError(f"[channels.email] unsubscribe_base_url: {exc}") from None
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if path == "/":
        root, unsubscribe = "/", "/" + _UNSUBSCRIBE
    else:
        root = path[: -len(_UNSUBSCRIBE)] if path.endswith("/" + _UNSUBSCRIBE) else "/"
        unsubscribe = path
    return PublicUrls(parts.scheme, parts.netloc.lower(), root, unsubscribe)


def url_problems(settings: Settings, toml: TomlFile | None = None) -> tuple[list[str], list[str]]:
    """(problems that stop the bot, warnings) about the public address and its exposure.

    Problems: an unusable `unsubscribe_base_url`, or none at all while a real SMTP host is set
    (every email would carry a link to localhost). Warnings: the page served on every network
    interface without a proxy, every client trusted to name its own address, and mail with
    its password crossing the network in clear.
    """

    def at(*where: str) -> str:
        return f"{toml.at(*where)}: " if toml is not None else ""

    problems: list[str] = []
    warnings: list[str] = []
    email = settings.channel("email")
    smtp_host = secret(email.host_env)
    configured = _configured(settings)
    if configured is None and smtp_host:
        problems.append(
            f"{at(*SETTING[:2])}[channels.email] unsubscribe_base_url is missing while "
            f"{email.host_env} is set: every email would carry a link to localhost. Set it to "
            "the public address of the web page, e.g. https://news.example.org/unsubscribe/"
        )
    elif configured is not None:
        try:
            check_url(configured)
        except ValueError as exc:
            problems.append(f"{at(*SETTING)}[channels.email] unsubscribe_base_url: {exc}")
    web = settings.file.web
    proxies = [ip.strip() for ip in web.forwarded_allow_ips.split(",") if ip.strip()]
    if web.host.strip("[]") in _WILDCARD_HOSTS and all(ip in LOCAL_HOSTS for ip in proxies):
        warnings.append(
            f'{at("web", "host")}[web] host = "{web.host}" serves the page in plain HTTP on '
            "every network interface, with no proxy named in forwarded_allow_ips: put a TLS "
            'reverse proxy in front and keep host = "127.0.0.1" (see the README, production)'
        )
    if "*" in proxies:
        warnings.append(
            f'{at("web", "forwarded_allow_ips")}[web] forwarded_allow_ips = "*" lets every '
            "client name its own address in X-Forwarded-For: the sign-up limits per client "
            "then stop nobody. Name the reverse proxy's address instead"
        )
    if email.security == "none" and smtp_host and _host_of(smtp_host) not in LOCAL_HOSTS:
        warnings.append(
            f'{at("channels", "email", "security")}[channels.email] security = "none" to '
            f"{_host_of(smtp_host)}: the mail and the SMTP password cross the network in "
            'clear. Use "starttls" or "tls"'
        )
    return problems, warnings


def require_public_urls(settings: Settings) -> PublicUrls:
    """The public addresses, or Problems listing what stops the bot from serving them."""
    problems, _ = url_problems(settings)
    if problems:
        raise Problems(problems, title="The public address is not usable")
    return public_urls(settings)


def _host_of(value: str) -> str:
    # BOT_SMTP_HOST is "host" or "host:port" (an IPv6 literal in brackets).
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value
