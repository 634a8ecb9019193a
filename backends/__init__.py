"""The engine backends, loaded lazily by name.

Only this package knows how each engine is found and reached; the core asks
it for a backend, or for a cheap yes/no on whether one can work here.
"""

from __future__ import annotations

import shutil
import socket
from typing import TYPE_CHECKING

from ocitool.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from ocitool.backend import Backend
    from ocitool.config import Config
    from ocitool.models import EngineInfo
    from ocitool.runner import Runner

NAMES = ("docker", "podman", "oci")


def load(name: str, runner: Runner, config: Config, *, store: Path | None = None) -> Backend:
    if name == "docker":
        from backends.docker import DockerBackend

        return DockerBackend(runner, executable=config.docker.executable, host=config.docker.host)
    if name == "podman":
        from backends.podman import PodmanBackend

        return PodmanBackend(runner, executable=config.podman.executable)
    if name == "oci":
        from backends.oci import OciBackend
        from ocitool.config import store_path

        return OciBackend(
            runner,
            store=store or store_path(config),
            umoci=config.oci.umoci,
            runtime=config.oci.runtime,
        )
    raise UsageError(f"unknown backend {name!r}", hint=f"choose one of {', '.join(NAMES)}, auto")


def unusable_reason(name: str, config: Config) -> str | None:
    """Why `name` cannot work here, or None; no engine process is started.

    `auto` calls this on every command, so it only looks at PATH and, for
    docker, tries to connect to a local socket (microseconds).
    """
    if name == "docker":
        return _missing(config.docker.executable) or _docker_endpoint_problem(config)
    if name == "podman":
        return _missing(config.podman.executable)  # daemonless: found is enough
    if name == "oci":
        return _missing(config.oci.umoci)  # no daemon: umoci on PATH is enough
    return f"unknown backend {name!r}"


def _missing(executable: str) -> str | None:
    if shutil.which(executable) is None:
        return f"executable {executable!r} not found on PATH"
    return None


def _docker_endpoint_problem(config: Config) -> str | None:
    from backends.docker import docker_endpoint

    host, source = docker_endpoint(config.docker.host)
    if source != "default":
        return None  # the user pointed at a docker daemon: use it, and fail clearly if down
    return _unix_socket_problem(host)


def _unix_socket_problem(host: str) -> str | None:
    if not host.startswith("unix://"):
        return None  # tcp:// or ssh://: only a real call can tell
    path = host.removeprefix("unix://")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(path)
        except FileNotFoundError:
            return (
                f"daemon not reachable at {host} (no such socket);"
                " is dockerd running? set DOCKER_HOST"
            )
        except PermissionError:
            return f"permission denied on {host}; is this user in the docker group?"
        except OSError as exc:
            return f"daemon not reachable at {host} ({exc.strerror}); is dockerd running?"
    return None


def survey(runner: Runner, config: Config) -> list[EngineInfo]:
    """Every backend's EngineInfo, for `ocitool backends`."""
    return [load(name, runner, config).info() for name in NAMES]
