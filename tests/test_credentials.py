"""Credentials as docker and podman keep them (issue 18, item 1).

A credential helper of the test's own, `docker-credential-ocitooltest`, speaks
docker's protocol (get, store, erase, list on stdin) and keeps what it is
given in a JSON file, as a keychain would. The registries are the session's
real ones (tests/conftest.py), plus one here that wants bearer tokens from a
token service of the test's own, for identity tokens.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ocitool import credentials
from ocitool.client import Client
from ocitool.registry import TOKEN_USER
from tests import lab as lab_setup
from tests.conftest import CHAIN, Lab, Registries
from tests.test_cli import ocitool, one_error_line
from tests.test_distribution import engines, login  # noqa: F401 - fixture and helper

HELPER = '''#!{python}
"""docker-credential-ocitooltest: the credential-helper protocol over a JSON file."""
import json, sys
from pathlib import Path

STORE, LOG = Path({store!r}), Path({log!r})
action, data = sys.argv[1], sys.stdin.read()
kept = json.loads(STORE.read_text()) if STORE.exists() else {{}}
server = json.loads(data)["ServerURL"] if action == "store" else data.strip()
with LOG.open("a") as log:
    log.write(f"{{action}} {{server}}\\n")  # never the secret
if action == "get" and server in kept:
    print(json.dumps({{"ServerURL": server, **kept[server]}}))
elif action == "store":
    doc = json.loads(data)
    kept[server] = {{"Username": doc["Username"], "Secret": doc["Secret"]}}
    STORE.write_text(json.dumps(kept))
elif action == "erase" and server in kept:
    del kept[server]
    STORE.write_text(json.dumps(kept))
elif action == "list":
    print(json.dumps({{k: v["Username"] for k, v in kept.items()}}))
else:
    print("credentials not found in native keychain")
    sys.exit(1)
'''
SECRET = "s3cret-pass"  # the session's TLS registry's password (tests/conftest.py)


@dataclass
class Helper:
    name: str
    store: Path
    log: Path

    def kept(self) -> dict[str, dict[str, str]]:
        return json.loads(self.store.read_text()) if self.store.exists() else {}

    def keep(self, server: str, user: str, secret: str) -> None:
        self.store.write_text(json.dumps({server: {"Username": user, "Secret": secret}}))

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Helper]:
    """The helper on PATH, and both credential files as they were afterwards."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    store, log = tmp_path / "keychain.json", tmp_path / "helper.log"
    script = bin_dir / "docker-credential-ocitooltest"
    script.write_text(HELPER.format(python=sys.executable, store=str(store), log=str(log)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    files = (credentials.containers_auth_file(), credentials.docker_config_file())
    saved = {p: p.read_bytes() if p.exists() else None for p in files}
    try:
        yield Helper("ocitooltest", store, log)
    finally:
        for path, content in saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)


def config(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def no_secret_in_files(secret: str) -> None:
    """Neither credential file holds the secret, plain or in base64."""
    encoded = base64.b64encode(f"tester:{secret}".encode())
    for path in (credentials.containers_auth_file(), credentials.docker_config_file()):
        if path.exists():
            assert secret.encode() not in path.read_bytes(), path
            assert encoded not in path.read_bytes(), path


def test_login_with_a_creds_store_keeps_the_secret_in_the_helper(
    engines: list[str],  # noqa: F811 - the fixture
    registries: Registries,
    helper: Helper,
) -> None:
    """docker login's way: the secret to the helper, an empty entry in config.json;
    then push, pull and search on every engine through it, and logout erases it."""
    secure = registries.secure
    host, tls = secure.host, ["--cert-dir", str(secure.ca_dir)]
    credentials.remove(host)
    config(credentials.docker_config_file(), {"credsStore": helper.name})
    done = login(secure, SECRET)
    assert done.returncode == 0, done.stderr
    assert "docker-credential-ocitooltest" in done.stdout and SECRET not in done.stdout
    assert helper.kept() == {host: {"Username": "tester", "Secret": SECRET}}
    assert read(credentials.docker_config_file())["auths"] == {host: {}}
    assert host not in read(credentials.containers_auth_file()).get("auths", {})
    no_secret_in_files(SECRET)
    for engine in engines:
        pushed = ocitool("--backend", engine, "push", CHAIN[1], f"{host}/kept/{engine}:1", *tls)
        assert pushed.returncode == 0, pushed.stderr
    for engine in engines:
        source = f"{host}/kept/{engines[-1]}:1"
        pulled = ocitool("--backend", engine, "pull", source, *tls)
        assert pulled.returncode == 0, pulled.stderr
    if "docker" in engines:  # docker itself reads the login through the helper
        lab_setup.engine(["docker", "pull", f"{host}/kept/{engines[0]}:1"])
    found = ocitool("search", "kept", "--registry", host, "--tags", *tls, "--format", "json")
    assert found.returncode == 0, found.stderr
    assert {r["name"] for r in json.loads(found.stdout)} >= {f"{host}/kept/{e}" for e in engines}
    out = ocitool("logout", host)
    assert out.returncode == 0 and "Removed" in out.stdout
    assert helper.kept() == {}
    assert f"erase {host}" in helper.calls()
    assert host not in read(credentials.docker_config_file()).get("auths", {})
    after = ocitool("search", "kept", "--registry", host, *tls)
    assert after.returncode == 10, after.stderr


def test_search_and_pull_through_cred_helpers(
    engines: list[str],  # noqa: F811 - the fixture
    registries: Registries,
    helper: Helper,
) -> None:
    """A login another tool left in a helper named by credHelpers: search used to
    fail (exit 10) where skopeo and pull succeeded."""
    secure = registries.secure
    host, tls = secure.host, ["--cert-dir", str(secure.ca_dir)]
    credentials.remove(host)
    config(credentials.docker_config_file(), {"auths": {}, "credHelpers": {host: helper.name}})
    helper.keep(host, "tester", SECRET)
    for engine in engines:
        pushed = ocitool("--backend", engine, "push", CHAIN[0], f"{host}/helped/{engine}:1", *tls)
        assert pushed.returncode == 0, pushed.stderr
        pulled = ocitool("--backend", engine, "pull", f"{host}/helped/{engine}:1", *tls)
        assert pulled.returncode == 0, pulled.stderr
    found = ocitool("search", "helped", "--registry", host, "--tags", *tls, "--format", "json")
    assert found.returncode == 0, found.stderr
    assert {r["name"] for r in json.loads(found.stdout)} == {f"{host}/helped/{e}" for e in engines}
    api = Client().search("helped", registry=host, cert_dir=secure.ca_dir)
    assert len(api) == len(engines)
    assert all(call.startswith("get ") for call in helper.calls())
    no_secret_in_files(SECRET)


def test_a_helper_in_auth_json_takes_the_login_from_the_plaintext(
    registries: Registries, helper: Helper
) -> None:
    """podman's way (credHelpers in auth.json): the secret goes to the helper, and a
    plaintext entry another login left for the registry goes from both files."""
    secure = registries.secure
    host = secure.host
    stale = {"auths": {host: {"auth": base64.b64encode(b"tester:old-pass").decode()}}}
    config(credentials.containers_auth_file(), {**stale, "credHelpers": {host: helper.name}})
    config(credentials.docker_config_file(), stale)
    done = login(secure, SECRET)
    assert done.returncode == 0, done.stderr
    assert helper.kept() == {host: {"Username": "tester", "Secret": SECRET}}
    assert host not in read(credentials.containers_auth_file())["auths"]
    assert host not in read(credentials.docker_config_file())["auths"]
    assert "old-pass" not in credentials.docker_config_file().read_text()
    assert credentials.lookup(host) == ("tester", SECRET)


def test_plaintext_only_where_no_helper_is_set(registries: Registries, helper: Helper) -> None:
    secure = registries.secure
    credentials.remove(secure.host)
    for path in (credentials.containers_auth_file(), credentials.docker_config_file()):
        config(path, {"auths": {}})
    done = login(secure, SECRET)
    assert done.returncode == 0, done.stderr
    token = base64.b64encode(f"tester:{SECRET}".encode()).decode()
    for path in (credentials.containers_auth_file(), credentials.docker_config_file()):
        assert read(path)["auths"][secure.host] == {"auth": token}
        assert str(path) in done.stdout
    assert helper.calls() == []


def test_docker_hub_is_filed_under_dockers_key(helper: Helper) -> None:
    """docker keeps Hub as https://index.docker.io/v1/, in its file and its helper;
    podman as docker.io. Each finds the other's, by any of Hub's names."""
    config(credentials.docker_config_file(), {})
    config(credentials.containers_auth_file(), {})
    assert credentials.save("docker.io", "hubuser", "hubpass") == [
        str(credentials.containers_auth_file()),
        str(credentials.docker_config_file()),
    ]
    assert list(read(credentials.docker_config_file())["auths"]) == [credentials.HUB_KEY]
    assert list(read(credentials.containers_auth_file())["auths"]) == ["docker.io"]
    for name in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        assert credentials.lookup(name) == ("hubuser", "hubpass"), name
    assert credentials.remove("index.docker.io")
    assert credentials.lookup("docker.io") is None
    assert read(credentials.docker_config_file())["auths"] == {}
    # what `docker login` leaves with a credsStore: the helper holds Hub under docker's key
    config(
        credentials.docker_config_file(),
        {"auths": {credentials.HUB_KEY: {}}, "credsStore": helper.name},
    )
    helper.keep(credentials.HUB_KEY, "hubuser", "hubpass")
    assert credentials.lookup("docker.io") == ("hubuser", "hubpass")
    credentials.save("docker.io", "hubuser", "newpass")
    assert helper.kept() == {credentials.HUB_KEY: {"Username": "hubuser", "Secret": "newpass"}}
    assert read(credentials.docker_config_file())["auths"] == {credentials.HUB_KEY: {}}
    assert "docker.io" not in read(credentials.containers_auth_file())["auths"]
    assert credentials.remove("docker.io") and helper.kept() == {}
    assert helper.calls()[-1] == f"erase {credentials.HUB_KEY}"


def test_a_missing_or_broken_helper_is_one_clear_error(
    registries: Registries, helper: Helper
) -> None:
    secure = registries.secure
    tls = ["--cert-dir", str(secure.ca_dir)]
    config(credentials.docker_config_file(), {"credsStore": "nosuchhelper"})
    proc = ocitool("search", "x", "--registry", secure.host, *tls)
    assert proc.returncode == 5, proc.stderr
    assert "docker-credential-nosuchhelper is not installed" in one_error_line(proc)
    config(credentials.docker_config_file(), {"credsStore": "../../bin/sh"})
    proc = ocitool("search", "x", "--registry", secure.host, *tls)
    assert proc.returncode == 2, proc.stderr
    assert "not a helper's name" in one_error_line(proc)
    helper.store.write_text("not json")  # the helper itself now fails
    config(credentials.docker_config_file(), {"credsStore": helper.name})
    proc = ocitool("search", "x", "--registry", secure.host, *tls)
    assert proc.returncode == 10, proc.stderr
    assert "docker-credential-ocitooltest get failed" in one_error_line(proc)


# -- identity tokens: an OAuth2 refresh token, traded at the token service ---------------


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


def test_an_identity_token_is_traded_for_access_on_every_engine(
    engines: list[str],  # noqa: F811 - the fixture
    token_registry: tuple[lab_setup.RegistryProcess, TokenService],
    helper: Helper,
) -> None:
    """`identitytoken` in config.json, as `docker login` keeps one (beside the user's
    name with no password), and a helper's
    `<token>` user: both are refresh tokens, POSTed to the token service."""
    registry, service = token_registry
    host, insecure = registry.host, ["--tls-verify=false"]
    config(credentials.docker_config_file(), {"auths": {host: {}}})
    refused = ocitool("--backend", engines[0], "push", CHAIN[1], f"{host}/tok/x:1", *insecure)
    assert refused.returncode == 10, refused.stderr
    config(
        credentials.docker_config_file(),
        {
            "auths": {
                host: {
                    "auth": base64.b64encode(b"tester:").decode(),
                    "identitytoken": service.refresh_token,
                }
            }
        },
    )
    for engine in engines:
        pushed = ocitool("--backend", engine, "push", CHAIN[1], f"{host}/tok/{engine}:1", *insecure)
        assert pushed.returncode == 0, pushed.stderr
        pulled = ocitool("--backend", engine, "pull", f"{host}/tok/{engine}:1", *insecure)
        assert pulled.returncode == 0, pulled.stderr
    service.grants.clear()
    config(credentials.docker_config_file(), {"credHelpers": {host: helper.name}})
    helper.keep(host, TOKEN_USER, service.refresh_token)
    found = ocitool("search", "tok", "--registry", host, "--tags", *insecure, "--format", "json")
    assert found.returncode == 0, found.stderr
    assert {r["name"] for r in json.loads(found.stdout)} == {f"{host}/tok/{e}" for e in engines}
    assert service.grants and set(service.grants) == {"refresh_token"}
