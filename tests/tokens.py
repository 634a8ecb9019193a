"""A token service of the tests' own, and a real registry that wants its tokens.

distribution's token authentication: the registry answers 401 with a Bearer
challenge naming the service (realm), which trades a refresh token (an
identity token) for an access token, a JWT signed (RS256) with a key made
here, through openssl; the registry checks it against that key's certificate.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests import lab as lab_setup
from tests.conftest import Lab


@dataclass
class TokenService:
    realm: str
    refresh_token: str
    grants: list[str]  # each request's grant type ("basic" for a GET with a login)


@contextmanager
def token_service(workdir: Path) -> Iterator[TokenService]:
    """A token service (distribution's token auth) that trades one refresh token for
    access tokens, signed (RS256) with a key made here, through openssl."""
    workdir.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str, data: bytes | None = None) -> bytes:
        return lab_setup.openssl(workdir, *args, data=data)

    lab_setup.self_signed(workdir, "token", "/CN=ocitool test token issuer")
    chain = base64.b64encode(openssl("x509", "-in", "token.crt", "-outform", "DER")).decode()
    service = TokenService("", secrets.token_hex(16), [])

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def token(scopes: list[str]) -> str:
        now = int(time.time())
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        header = {"typ": "JWT", "alg": "RS256", "x5c": [chain]}
        claims = {
            "iss": "ocitool-test-issuer",
            "sub": "tester",
            "aud": "ocitool-test",
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": secrets.token_hex(8),
            "access": access,
        }
        signing = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
        signature = openssl("dgst", "-sha256", "-sign", "token.key", data=signing.encode())
        return f"{signing}.{b64(signature)}"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = urllib.parse.parse_qs(self.body().decode())
            service.grants.append(form.get("grant_type", [""])[0])
            if form.get("refresh_token") != [service.refresh_token]:
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps({"access_token": token(form.get("scope", [])), "expires_in": 300})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def body(self) -> bytes:
            """The request's body, also when chunked (as containers/image sends it)."""
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data

        def do_GET(self) -> None:
            service.grants.append("basic" if self.headers.get("Authorization") else "anonymous")
            self.send_response(401)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def token_registry(lab: Lab) -> Iterator[tuple[lab_setup.RegistryProcess, TokenService]]:
    with token_service(lab.work / "token-service") as service:
        registry = lab_setup.start_registry(
            lab.work / "registry-token",
            auth=(
                "  token:",
                f"    realm: {service.realm}",
                "    service: ocitool-test",
                "    issuer: ocitool-test-issuer",
                f"    rootcertbundle: {lab.work / 'token-service' / 'token.crt'}",
            ),
        )
        try:
            yield registry, service
        finally:
            registry.stop()
