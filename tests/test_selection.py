"""Choosing a backend: flag, OCITOOL_BACKEND, config file, or `auto` in a set order."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import backends
from ocitool.client import choose_backend
from ocitool.config import Config, load_config
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


def test_auto_takes_docker_only_when_its_daemon_answers(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, listening_socket: str
) -> None:
    fake_program(bin_dir, "docker")
    fake_program(bin_dir, "podman")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/none.sock")
    assert choose_backend("auto", Config()) == "podman"
    monkeypatch.setenv("DOCKER_HOST", listening_socket)
    assert choose_backend("auto", Config()) == "docker"


def test_auto_follows_the_configured_order(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, listening_socket: str
) -> None:
    fake_program(bin_dir, "docker")
    fake_program(bin_dir, "podman")
    monkeypatch.setenv("DOCKER_HOST", listening_socket)
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
    calls: list[object] = []
    monkeypatch.setattr("subprocess.Popen.__init__", lambda *a, **k: calls.append(a))
    assert choose_backend("auto", Config()) == "podman"
    assert calls == []


def test_docker_socket_problems_are_explained(tmp_path: Path) -> None:
    missing = f"unix://{tmp_path}/nope.sock"
    config = Config.model_validate({"docker": {"host": missing}})
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
