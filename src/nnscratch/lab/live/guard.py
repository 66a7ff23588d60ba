"""Who may talk to the lab: Host, token and Origin, checked before any handler runs.

A page the user opens in another tab can reach ``127.0.0.1:PORT`` too. What notebook servers do,
the lab does, for every HTTP request and every WebSocket handshake:

    Host     one of the names the server listens on, with its port: a DNS-rebinding page
             (``Host: attacker.example:PORT``) is refused, so it can never read an answer
    token    a random one per start, in the printed URL (``?token=...``); the first page load
             with it sets a same-site, HTTP-only cookie, so the page and its reloads just work.
             Compared in constant time, as bytes (any text is refused, never a 500)
    Origin   when the browser sends one (always on a POST and a WebSocket), it must be this
             server's own; ``Origin: null`` (a sandboxed frame, a file) and any other are refused

The body's type is checked by the handlers that read one (``application/json``, ``text/csv``):
neither is a "simple" type, so a foreign page cannot send it without a CORS preflight, which
the lab never grants. Only the page's public files (``/static/...``, the icon) need no token.
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.responses import JSONResponse

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
PUBLIC = ("/static/", "/favicon.ico")  # the page's own files: no token needed


def host_names(host: str) -> set[str]:
    """The names a browser may use to reach a server listening on ``host``."""
    if host in LOOPBACK:
        return set(LOOPBACK)
    if host in WILDCARD:
        return set(LOOPBACK) | {socket.gethostname().lower(), socket.getfqdn().lower()}
    return {host.lower()}


def split_host(value: str) -> tuple[str, int | None] | None:
    """``name:port`` or ``[v6]:port`` (port optional) as (name, port); None if malformed."""
    try:
        parts = urlsplit("//" + value)
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Guard:
    """ASGI middleware: refuse a foreign Host or Origin and a missing token (403)."""

    def __init__(self, app: Any, host: str, port: int, token: str) -> None:
        self.app, self.host, self.port, self.token = app, host, port, token.encode()
        self.names = host_names(host)
        self.cookie = f"nnscratch-lab-{port}"  # cookies ignore ports: one name per server

    # -- the checks ------------------------------------------------------------------------
    def known(self, name: str, port: int | None) -> bool:
        """A name (and port) this server answers to. Listening on every address, any IP
        literal also does: a rebinding page always comes with a name of its own."""
        if port != self.port and not (port is None and self.port == 80):
            return False
        return name in self.names or (self.host in WILDCARD and is_ip(name))

    def host_ok(self, headers: dict[bytes, bytes]) -> bool:
        parsed = split_host(headers.get(b"host", b"").decode("latin-1"))
        return parsed is not None and self.known(*parsed)

    def origin_ok(self, headers: dict[bytes, bytes]) -> bool:
        origin = headers.get(b"origin")
        if origin is None:
            return True  # not a browser (curl, a script): the token still guards
        try:
            parts = urlsplit(origin.decode("latin-1"))
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and self.known(parts.hostname or "", port)

    def given_token(self, scope: dict, headers: dict[bytes, bytes]) -> tuple[bytes, bool]:
        """The token the request carries, and whether it came in the URL."""
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), errors="replace")
        if "token" in query:
            return query["token"][0].encode("utf-8", "replace"), True
        try:
            cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            return b"", False
        morsel = cookie.get(self.cookie)
        return (morsel.value.encode("utf-8", "replace") if morsel else b""), False

    def refusal(self, scope: dict, headers: dict[bytes, bytes]) -> tuple[str, str] | None:
        """(field, message) of the first check that fails, or None."""
        if not self.host_ok(headers):
            return "host", "this server answers only to the address it printed at start"
        if not self.origin_ok(headers):
            return "origin", "requests from another site or page are refused"
        if scope["path"].startswith(PUBLIC):
            return None
        given, _ = self.given_token(scope, headers)
        if not hmac.compare_digest(given, self.token):
            return "token", "open the URL printed at start (it carries ?token=...)"
        return None

    # -- ASGI --------------------------------------------------------------------------------
    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        refused = self.refusal(scope, headers)
        if refused is not None:
            if scope["type"] == "websocket":  # before accept: the handshake answers 403
                await send({"type": "websocket.close", "code": 1008})
                return
            field, message = refused
            response = JSONResponse({"error": message, "field": field}, status_code=403)
            await response(scope, receive, send)
            return
        if scope["type"] == "http" and self.given_token(scope, headers)[1]:
            send = self.setting_cookie(send)
        await self.app(scope, receive, send)

    def setting_cookie(self, send: Any) -> Any:
        """``send`` that adds the token's cookie to the response (the URL's token remembered)."""
        value = f"{self.cookie}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict"

        async def with_cookie(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + [(b"set-cookie", value.encode())]
                message = message | {"headers": headers}
            await send(message)

        return with_cookie
