"""Remote endpoints without engines: the location grammar, the endpoint checks, how
skopeo is told to reach a daemon, the archive renamed as it streams, and the
engines' words for an endpoint too old for a verb (as they print them)."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from ocitool.archives import renamed_stream
from ocitool.backends.docker import failures as docker_failures
from ocitool.backends.docker.host import Daemon, resolve
from ocitool.backends.podman import failures as podman_failures
from ocitool.endpoints import checked, chosen
from ocitool.errors import NotSupported, UsageError
from ocitool.locations import parse_location


@pytest.mark.parametrize(
    ("text", "backend", "at", "name"),
    [
        ("docker@lab:img:1", "docker", "lab", "img:1"),
        ("podman@lab-podman:localhost/img:1", "podman", "lab-podman", "localhost/img:1"),
        (
            "docker@[ssh://root@127.0.0.1:2222]:img:1",
            "docker",
            "ssh://root@127.0.0.1:2222",
            "img:1",
        ),
        (
            "podman@[unix:///run/p.sock]:a/b@sha256:" + "a" * 64,
            "podman",
            "unix:///run/p.sock",
            None,
        ),
    ],
)
def test_engine_at_where_locations(text: str, backend: str, at: str, name: str | None) -> None:
    location = parse_location(text, "oci")
    assert (location.kind, location.backend, location.at) == ("engine", backend, at)
    if name:
        assert location.name == name
    assert str(location) == text


@pytest.mark.parametrize(
    "text",
    [
        "docker@:img",
        "docker@lab",
        "docker@ssh://h:img",  # a URL without brackets
        "docker@[lab]:img",  # a name in brackets
        "docker@[tcp://a:img",
        "oci@lab:img",
        "docker@-rf:img",
        "docker@[http://a:1]:img",
        "docker@lab:UPPER",
    ],
)
def test_bad_engine_locations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_location(text, "docker")


def test_endpoint_checks() -> None:
    assert checked("ssh://user@host:22") == "ssh://user@host:22"
    assert chosen(None, "lab") == "lab"
    assert chosen("unix:///x.sock", None) == "unix:///x.sock"
    for bad in ("ftp://x", "tcp://a b", "tcp://\x1b", "a/b"):
        with pytest.raises(UsageError):
            checked(bad)
    with pytest.raises(UsageError):
        chosen("tcp://a:1", "lab")
    with pytest.raises(UsageError):
        chosen("lab", None)  # a name given as --host


def test_how_skopeo_reaches_a_daemon() -> None:
    assert Daemon("unix:///d.sock", "x").mover_host == "unix:///d.sock"
    assert Daemon("tcp://127.0.0.1:2375", "x").mover_host == "http://127.0.0.1:2375"
    assert Daemon("tcp://h:2376", "x", True, "/certs").mover_host == "tcp://h:2376"
    assert Daemon("ssh://u@h", "x").mover_host is None
    assert Daemon("unix:///d.sock", "x").local and not Daemon("tcp://h:1", "x").local


def test_docker_tls_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://h:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/certs")
    assert resolve() == Daemon("tcp://h:2376", "DOCKER_HOST", True, "/certs")
    assert resolve(host="ssh://u@h").source == "--host"


def _archive(names: list[str] | None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (
            ("abc/layer.tar", b"x" * 5000),
            ("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": names}]).encode()),
            ("repositories", b"{}"),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_an_archive_is_renamed_as_it_streams() -> None:
    out = io.BytesIO()
    renamed_stream(io.BytesIO(_archive(["localhost/a:1"])), out, "b:2")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.getnames() == ["abc/layer.tar", "manifest.json"]
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        assert manifest[0]["RepoTags"] == ["b:2"]
        layer = tar.extractfile("abc/layer.tar")
        assert layer is not None and layer.read() == b"x" * 5000


@pytest.mark.parametrize(
    "stderr",
    [
        'Error response from daemon: "--platform" requires API version 1.32, but the Docker '
        "daemon API version is 1.30",
        "Error response from daemon: client version 1.50 is too new. Maximum supported API "
        "version is 1.24",
    ],
)
def test_a_docker_daemon_too_old_for_a_verb(stderr: str) -> None:
    failed = docker_failures.connection_error(stderr, "ssh://u@old")
    assert isinstance(failed, NotSupported)
    assert failed.one_line().startswith("the docker daemon at ssh://u@old is too old for this: ")


def test_a_podman_service_too_old_for_a_verb() -> None:
    stderr = (
        "Cannot connect to Podman. Please verify your connection to the Linux system using "
        "`podman system connection list`, or try `podman machine init` and `podman machine "
        "start` to manage a new Linux VM\nError: unable to connect to Podman socket: server API "
        'version is too old. Client "4.0.0" server "3.4.0"\n'
    )
    failed = podman_failures.connection_error(stderr, "unix:///p.sock")
    assert isinstance(failed, NotSupported)
    assert "the podman service at unix:///p.sock is too old" in failed.one_line()


def test_backends_says_why_an_ssh_endpoint_is_down() -> None:
    """docker 28's words when ssh cannot connect (recorded from the lab's sshd, stopped)."""
    stderr = (
        'error during connect: Head "http://docker.example.com/_ping": command [ssh -o '
        "ConnectTimeout=30 -T -l root -p 2223 -- 127.0.0.1 docker system dial-stdio] has "
        "exited with exit status 255, make sure the URL is valid, and Docker 18.09 or later "
        "is installed on the remote host: stderr=ssh: connect to host 127.0.0.1 port 2223: "
        "Connection refused\n"
    )
    reason = docker_failures.unreachable_reason(stderr, "ssh://root@127.0.0.1:2223")
    assert reason.startswith(
        "daemon not reachable at ssh://root@127.0.0.1:2223 over ssh: ssh: connect to host "
        "127.0.0.1 port 2223: Connection refused (hint: "
    )
