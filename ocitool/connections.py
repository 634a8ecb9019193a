"""The registry client's transport: kept-alive connections under urllib, and tokens.

urllib opens a new connection for every request (and says `Connection:
close`), so `search --tags` over N repositories paid N TLS handshakes. Here
urllib's own opener keeps its redirects, proxies and error handling, and its
http/https handlers hand each request to one open connection per scheme and
host, reused while the server keeps it open (a closed one is opened again
once).

Bearer tokens are kept per registry, login and scope (`repository:R:pull`)
for as long as the token service says (`expires_in`, 60 s when it does not),
for every Registry of the process: a second look at the same repository
sends one request, and a new repository, once the registry's token service
is known, two (token, request) instead of three (401, token, retry).
"""

from __future__ import annotations

import http.client
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from ocitool.version import __version__

USER_AGENT = f"ocitool/{__version__}"
_STALE = (
    http.client.RemoteDisconnected,
    http.client.CannotSendRequest,
    BrokenPipeError,
    ConnectionResetError,
)


class Connections:
    """One open connection per (scheme, host), behind a urllib opener; one Registry's,
    which reads each answer whole before it asks again (so not shared by threads)."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self._open: dict[tuple[str, str, str | None], http.client.HTTPConnection] = {}
        self.opened = 0  # connections made, for tests and --debug
        self.opener = urllib.request.build_opener(_Handler(self), _TlsHandler(self))
        self.opener.addheaders = [("User-Agent", USER_AGENT)]

    def send(self, request: urllib.request.Request) -> http.client.HTTPResponse:
        """urllib's handlers' `*_open`: the request on a kept connection."""
        tunnel = getattr(request, "_tunnel_host", None)
        key = (request.type, request.host, tunnel)
        headers = {**request.unredirected_hdrs, **request.headers}
        headers = {name.title(): value for name, value in headers.items()}
        for attempt in range(2):
            connection, reused = self._connection(key, request)
            try:
                connection.request(request.get_method(), request.selector, request.data, headers)
                reply = connection.getresponse()
            except _STALE as error:
                self._drop(key)
                if reused and attempt == 0:
                    continue  # the server closed it while idle: once more, on a new one
                raise urllib.error.URLError(error) from error
            except OSError as error:
                self._drop(key)
                raise urllib.error.URLError(error) from error
            reply.url = request.full_url  # as urllib's do_open sets them
            reply.msg = reply.reason  # type: ignore[assignment]
            return reply
        raise urllib.error.URLError("no connection")  # not reached: the loop returns or raises

    def close(self) -> None:
        for key in list(self._open):
            self._drop(key)

    def _connection(
        self, key: tuple[str, str, str | None], request: urllib.request.Request
    ) -> tuple[http.client.HTTPConnection, bool]:
        found = self._open.get(key)
        if found is not None:
            found.timeout = request.timeout
            return found, True
        timeout = request.timeout
        connection: http.client.HTTPConnection
        if request.type == "https":
            connection = http.client.HTTPSConnection(
                request.host, timeout=timeout, context=self.context
            )
        else:
            connection = http.client.HTTPConnection(request.host, timeout=timeout)
        if key[2]:  # through a proxy's CONNECT, as urllib does
            proxy_auth = request.headers.pop("Proxy-authorization", None)
            connection.set_tunnel(
                key[2], headers={"Proxy-Authorization": proxy_auth} if proxy_auth else None
            )
        self._open[key] = connection
        self.opened += 1
        return connection, False

    def _drop(self, key: tuple[str, str, str | None]) -> None:
        connection = self._open.pop(key, None)
        if connection is not None:
            connection.close()


class _Handler(urllib.request.HTTPHandler):
    def __init__(self, connections: Connections) -> None:
        super().__init__()
        self.connections = connections

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.connections.send(req)


class _TlsHandler(urllib.request.HTTPSHandler):
    def __init__(self, connections: Connections) -> None:
        super().__init__(context=connections.context)
        self.connections = connections

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.connections.send(req)


# -- tokens ------------------------------------------------------------------------------

_REPOSITORY_PATH = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags)/")
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_challenges: dict[tuple[str, str], str] = {}  # (host, login): its last Bearer challenge
_lock = threading.Lock()
DEFAULT_LIFETIME = 60.0  # seconds, the token spec's default for expires_in


def scope_of(path: str, method: str) -> str | None:
    """The scope a registry will ask a token for, for a request to `path`."""
    if path.startswith("/v2/_catalog"):
        return "registry:catalog:*"
    match = _REPOSITORY_PATH.match(path)
    if match is None:
        return None
    actions = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "pull,push")
    return f"repository:{match.group(1)}:{actions}"


def cached_token(host: str, login: str, scope: str) -> str | None:
    with _lock:
        found = _tokens.get((host, login, scope))
        if found is None:
            return None
        if found[1] <= time.monotonic():
            del _tokens[(host, login, scope)]
            return None
        return found[0]


def keep_token(host: str, login: str, scopes: list[str], header: str, lifetime: Any) -> None:
    try:
        seconds = float(lifetime) if lifetime else DEFAULT_LIFETIME
    except (TypeError, ValueError):
        seconds = DEFAULT_LIFETIME
    until = time.monotonic() + max(seconds - 5.0, 1.0)  # a little before it expires
    with _lock:
        for scope in scopes:
            _tokens[(host, login, scope)] = (header, until)


def known_challenge(host: str, login: str) -> str | None:
    with _lock:
        return _challenges.get((host, login))


def keep_challenge(host: str, login: str, challenge: str) -> None:
    with _lock:
        _challenges[(host, login)] = challenge
