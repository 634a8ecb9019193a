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
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ocitool import credentials
from ocitool.client import Client
from ocitool.registry import TOKEN_USER
from tests import lab as lab_setup
from tests.conftest import CHAIN, Registries
from tests.test_cli import ocitool, one_error_line
from tests.test_distribution import engines, login  # noqa: F401 - fixture and helper
from tests.tokens import TokenService, token_registry  # noqa: F401 - the fixture

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


def test_an_identity_token_is_traded_for_access_on_every_engine(
    engines: list[str],  # noqa: F811 - the fixture
    token_registry: tuple[lab_setup.RegistryProcess, TokenService],  # noqa: F811
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
