"""Registry hosts: one host rule for login, logout, search --registry, locations and the
config, checked before any URL is built, file touched or engine called (issue 12, items 20
and 24). The CLI runs in this process with the network forbidden, so a host that got
through to a lookup or a connection fails the test instead of waiting on DNS."""

from __future__ import annotations

import io
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ocitool import credentials
from ocitool.cli.app import execute
from ocitool.cli.state import state
from ocitool.errors import UsageError
from ocitool.locations import parse_location
from ocitool.references import ImageRef, looks_like_domain, validate_registry_host

GOOD_HOSTS = [
    "localhost",
    "localhost:5000",
    "127.0.0.1",
    "127.0.0.1:5000",
    "registry.example.com",
    "Registry-1.Docker.IO",
    "[::1]",
    "[::1]:5000",
    "[2001:db8::1]:443",
    "a" * 63 + ".example.com",
    "host:65535",
]

# What the adversarial pass of item 24 sent, and the item 20 cases.
BAD_HOSTS = [
    ("", "empty"),
    ("127.0.0.1:5102#", "port '5102#' must be digits"),
    ("127.0.0.1:5102?", "port '5102?' must be digits"),
    ("host#frag", "contains '#'"),
    ("host?q=1", "contains '?'"),
    ("-rf", "option"),
    ("--help", "option"),
    ("-host.example.com", "option"),
    ("host-.example.com", "use dot-separated"),
    ("a b", "whitespace"),
    (" host", "whitespace"),
    ("host ", "whitespace"),
    ("ho\tst", "whitespace"),
    ("ho\nst", "whitespace"),
    ("ho\x00st", "control character"),
    ("ho\x1bst", "control character"),
    ("ho\x7fst", "control character"),
    ("host\u00a0", "whitespace"),
    ("h\u00f4st", "non-ASCII"),
    ("\u4f8b\u3048.jp", "non-ASCII"),
    ("xn--e1afmkfd.xn--p1ai\u200b", "non-ASCII"),
    ("a" * 300, "300 characters long"),
    ("a" * 64 + ".example.com", "64 characters long; at most 63"),
    (".".join(["b" * 63] * 4), "255 characters long; at most 253"),
    ("../", "contains '/'"),
    ("..", "use dot-separated"),
    ("../../etc/passwd", "contains '/'"),
    ("host/repo", "contains '/'"),
    ("host:5000/", "contains '/'"),
    ("https://host", "without a scheme"),
    ("x;touch /tmp/ocitool-pwned", "whitespace"),
    ("x;touch", "contains ';'"),
    ("$(id)", "contains '$'"),
    ("`id`", "contains '`'"),
    ("user@host", "contains '@'"),
    ("host%2f", "contains '%'"),
    ("host:port", "port 'port' must be digits"),
    ("host:", "port '' must be digits"),
    ("host:5000:1", "port '5000:1' must be digits"),
    ("host:99999", "out of range"),
    ("host:0", "out of range"),
    ("[::1", "IPv6"),
    ("[::g]:5000", "IPv6"),
    ("[::1]x", "unexpected 'x'"),
]


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_good_hosts_pass(host: str) -> None:
    assert validate_registry_host(host) == host


@pytest.mark.parametrize(("host", "fragment"), BAD_HOSTS)
def test_bad_hosts_say_why(host: str, fragment: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_registry_host(host)
    line = info.value.one_line()
    assert line.startswith("invalid registry host "), line
    assert fragment in line, line
    assert info.value.exit_code == 2
    assert "\n" not in line and "\x1b" not in line and "\x00" not in line


def test_a_reference_and_a_location_use_the_same_host_rule() -> None:
    """The limits beyond the grammar (63-character labels, ports up to 65535) hold for a
    reference's registry too, so a location's host never reaches urllib unchecked."""
    for ref in ("a" * 64 + ".example.com/x:1", "host:99999/x:1", "host:0/x"):
        with pytest.raises(UsageError):
            ImageRef.parse(ref)
        with pytest.raises(UsageError):
            parse_location(f"docker://{ref}", "oci")
    assert parse_location("docker://127.0.0.1:5000/x", "oci").registry == "127.0.0.1:5000"


@pytest.fixture(autouse=True)
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each in-process run makes its own Client, as each ocitool process does."""
    monkeypatch.setattr(state, "client", None)
    monkeypatch.setattr(state, "backend", None)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every name lookup and connection attempt is recorded and refused."""
    attempts: list[object] = []

    def refused(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("the network is forbidden in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refused)
    monkeypatch.setattr(socket, "create_connection", refused)
    monkeypatch.setattr(socket.socket, "connect", refused)
    return attempts


COMMANDS: dict[str, Callable[[str], list[str]]] = {
    "login": lambda host: ["login", "-u", "alice", "--password-stdin", "--", host],
    "logout": lambda host: ["logout", "--", host],
    "search --registry": lambda host: ["search", "--registry", host, "--", "busybox"],
    "search HOST/": lambda host: ["search", "--", f"{host}/busybox"],
}


# In a search term, only a first component that looks like a registry is one (docker's rule).
CASES = [
    (command, host)
    for command in COMMANDS
    for host, _ in BAD_HOSTS
    if command != "search HOST/" or ("/" not in host and looks_like_domain(host))
]


@pytest.mark.parametrize(("command", "host"), CASES)
def test_a_bad_host_is_exit_2_and_no_traffic(
    command: str,
    host: str,
    no_network: list[object],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = (credentials.containers_auth_file(), credentials.docker_config_file())
    before = [p.read_bytes() if p.exists() else None for p in files]
    monkeypatch.setattr(sys, "stdin", io.StringIO("wrong"))
    code = execute(["--backend", "oci", *COMMANDS[command](host)])
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ocitool: error: invalid "), err
    assert "Traceback" not in err and "unexpected error" not in err
    assert out == ""
    assert no_network == []
    assert [p.read_bytes() if p.exists() else None for p in files] == before


def test_logout_of_an_option_is_not_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert execute(["logout", "--", "-rf"]) == 2
    assert "option" in capsys.readouterr().err


def test_a_bad_insecure_registry_in_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('insecure_registries = ["127.0.0.1:5000", "127.0.0.1:5000#"]\n')
    monkeypatch.setenv("OCITOOL_CONFIG", str(config))
    assert execute(["--backend", "oci", "images"]) == 2
    line = capsys.readouterr().err.strip()
    assert str(config) in line and "insecure_registries" in line
    assert "invalid registry host '127.0.0.1:5000#'" in line
