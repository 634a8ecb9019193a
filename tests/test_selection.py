"""Choosing a backend: flag, OCITOOL_BACKEND, config file, or `auto` in a set order."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocitool.backends import registry as backends
from ocitool.config import Config, DockerSettings, load_config
from ocitool.engines import choose_backend
from ocitool.errors import BackendUnavailable, UsageError


def fake_program(folder: Path, name: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("OCITOOL_BACKEND", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    return folder


@pytest.fixture
def listening_socket(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "d.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        yield f"unix://{path}"


def test_explicit_choice_wins(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCITOOL_BACKEND", "podman")
    assert choose_backend("docker", Config()) == "docker"
    assert choose_backend(None, Config()) == "podman"
    assert choose_backend(None, Config(backend="docker")) == "podman"
    monkeypatch.delenv("OCITOOL_BACKEND")
    assert choose_backend(None, Config(backend="docker")) == "docker"


def test_unknown_backend_is_a_usage_error(bin_dir: Path) -> None:
    with pytest.raises(UsageError):
        choose_backend("kubernetes", Config())


def test_auto_takes_the_default_docker_socket_only_when_it_answers(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, listening_socket: str
) -> None:
    fake_program(bin_dir, "docker")
    fake_program(bin_dir, "podman")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    monkeypatch.setattr("ocitool.backends.docker.host.DEFAULT_HOST", f"unix://{tmp_path}/none.sock")
    assert choose_backend("auto", Config()) == "podman"
    monkeypatch.setattr("ocitool.backends.docker.host.DEFAULT_HOST", listening_socket)
    assert choose_backend("auto", Config()) == "docker"


def test_an_explicit_docker_host_means_docker(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The user pointed at a daemon: auto uses it and fails clearly, never silently
    # switches to podman's different set of images.
    fake_program(bin_dir, "docker")
    fake_program(bin_dir, "podman")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    assert choose_backend("auto", Config()) == "docker"


def test_a_docker_context_is_followed(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, listening_socket: str
) -> None:
    config_dir = tmp_path / "docker-config"
    meta = config_dir / "contexts" / "meta" / hashlib.sha256(b"lab").hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(
        json.dumps({"Name": "lab", "Endpoints": {"docker": {"Host": listening_socket}}})
    )
    (config_dir / "config.json").write_text(json.dumps({"currentContext": "lab"}))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    from ocitool.backends.docker.host import docker_endpoint

    assert docker_endpoint() == (listening_socket, "context lab")
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert docker_endpoint()[1] == "default"


def test_auto_follows_the_configured_order(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, listening_socket: str
) -> None:
    fake_program(bin_dir, "docker")
    fake_program(bin_dir, "podman")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr("ocitool.backends.docker.host.DEFAULT_HOST", listening_socket)
    assert choose_backend("auto", Config(order=["podman", "docker"])) == "podman"
    assert choose_backend("auto", Config(order=["docker", "podman"])) == "docker"


def test_auto_explains_when_nothing_works(bin_dir: Path) -> None:
    with pytest.raises(BackendUnavailable) as err:
        choose_backend("auto", Config())
    line = err.value.one_line()
    assert "docker: executable 'docker' not found on PATH" in line
    assert "podman: executable 'podman' not found on PATH" in line


def test_auto_spawns_no_process(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_program(bin_dir, "podman")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    calls: list[object] = []
    monkeypatch.setattr("subprocess.Popen.__init__", lambda *a, **k: calls.append(a))
    assert choose_backend("auto", Config()) == "podman"
    assert calls == []


def test_docker_socket_problems_are_explained(tmp_path: Path) -> None:
    missing = f"unix://{tmp_path}/nope.sock"
    config = Config(docker=DockerSettings(host=missing))
    assert backends._unix_socket_problem(missing) == (
        f"daemon not reachable at {missing} (no such socket); is dockerd running? set DOCKER_HOST"
    )
    assert backends._unix_socket_problem("tcp://10.0.0.1:2375") is None
    assert config.docker.host == missing


def test_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'backend = "podman"\norder = ["podman", "docker"]\ntimeout = 30\n'
        '[docker]\nexecutable = "/usr/bin/docker"\nhost = "unix:///run/d.sock"\n'
    )
    monkeypatch.setenv("OCITOOL_CONFIG", str(path))
    config = load_config()
    assert config.backend == "podman" and config.order == ["podman", "docker"]
    assert config.timeout == 30 and config.docker.host == "unix:///run/d.sock"
    assert config.source == path


def test_missing_config_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.toml") == Config()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("backend = [", "not valid TOML"),
        ('backend = "k8s"', "backend"),
        ('colour = "blue"', "colour"),
        ("timeout = -1", "timeout"),
        ("order = []", "order"),
    ],
)
def test_bad_config_is_a_usage_error(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(UsageError) as err:
        load_config(path)
    assert str(path) in err.value.one_line() and expected in err.value.one_line()


def test_default_config_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("OCITOOL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    from ocitool.config import config_path

    assert config_path() == tmp_path / "ocitool" / "config.toml"
    assert os.fspath(config_path()).endswith("ocitool/config.toml")


def test_timeout_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    from ocitool.runner import resolve_timeout

    monkeypatch.delenv("OCITOOL_TIMEOUT", raising=False)
    assert resolve_timeout(None) == 120
    assert resolve_timeout(30) == 30
    monkeypatch.setenv("OCITOOL_TIMEOUT", "8")
    assert resolve_timeout(30) == 8  # the environment says what the caller wants now
    monkeypatch.setenv("OCITOOL_TIMEOUT", "soon")
    with pytest.raises(UsageError) as err:
        resolve_timeout(30)
    assert "OCITOOL_TIMEOUT='soon'" in err.value.one_line()
