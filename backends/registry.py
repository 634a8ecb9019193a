"""The engine backends by name: how each is found, chosen, loaded and surveyed.

Only this module knows which backends exist and how each engine is reached;
the core (ocitool.engines) asks it for a backend, for a cheap yes/no on
whether one can work here, for what each declares it can do, and for the mover.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ocitool.backends.docker.host import docker_endpoint
from ocitool.debuglog import debug
from ocitool.defaults import DEFAULT_ORDER, DEFAULT_PROGRAMS
from ocitool.endpoints import is_url
from ocitool.errors import BackendUnavailable, OcitoolError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from ocitool.config import Config
    from ocitool.engine import Engine
    from ocitool.models import EngineInfo
    from ocitool.movers import Mover
    from ocitool.runner import Runner

NAMES = ("docker", "podman", "oci")
_CONNECTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")  # as ocitool.endpoints checks


def load(
    name: str,
    runner: Runner,
    config: Config,
    *,
    store: Path | None = None,
    at: str | None = None,
) -> Engine:
    """The backend `name`; `at` is the endpoint it is reached at (ocitool.endpoints: a
    URL, or a docker context's or podman connection's name), if one was chosen."""
    url, named = (at, None) if at and is_url(at) else (None, at)
    if name == "docker":
        from ocitool.backends.docker.backend import DockerBackend

        return DockerBackend(
            runner,
            executable=config.docker.executable,
            host=url or (None if named else config.docker.host),
            context=named,
        )
    if name == "podman":
        from ocitool.backends.podman.backend import PodmanBackend

        return PodmanBackend(runner, executable=config.podman.executable, url=url, connection=named)
    if at:
        raise UsageError(
            f"the {name} backend has no remote endpoint ({at})",
            hint="--host, --connection and ENGINE@WHERE: name a docker or podman engine",
        )
    if name == "oci":
        from ocitool.backends.oci.backend import OciBackend
        from ocitool.config import store_path

        return OciBackend(
            runner,
            store=store or store_path(config),
            umoci=config.oci.umoci,
            runtime=config.oci.runtime,
            insecure_registries=config.insecure_registries,
        )
    raise UsageError(f"unknown backend {name!r}", hint=f"choose one of {', '.join(NAMES)}, auto")


def declared(name: str) -> frozenset[str]:
    """The capabilities a backend declares, read without loading the backend itself."""
    if name == "docker":
        from ocitool.backends.docker import CAPABILITIES
    elif name == "podman":
        from ocitool.backends.podman import CAPABILITIES
    elif name == "oci":
        from ocitool.backends.oci import CAPABILITIES
    else:
        raise UsageError(
            f"unknown backend {name!r}", hint=f"choose one of {', '.join(NAMES)}, auto"
        )
    return CAPABILITIES


def mover(runner: Runner, config: Config) -> Mover:
    """The program every copy goes through (skopeo)."""
    from ocitool.backends.skopeo import Skopeo

    return Skopeo(runner, config.oci.skopeo)


def choose(
    requested: str | None,
    *,
    configured: str = "auto",
    order: Sequence[str] = DEFAULT_ORDER,
    programs: Mapping[str, str] = DEFAULT_PROGRAMS,
    docker_host: str | None = None,
) -> str:
    """The backend to use: the explicit choice, else OCITOOL_BACKEND, else the config.

    `auto` takes the first engine in `order` that can work here, with no engine
    process started.
    """
    name = requested or os.environ.get("OCITOOL_BACKEND") or configured
    if name != "auto":
        if name not in NAMES:
            raise UsageError(
                f"unknown backend {name!r}", hint=f"choose one of {', '.join(NAMES)}, auto"
            )
        return name
    reasons = []
    for candidate in order:
        reason = unusable_reason(candidate, programs[candidate], docker_host=docker_host)
        if reason is None:
            debug("ocitool", "auto: picked %s (order %s)", candidate, ",".join(order))
            return candidate
        reasons.append(f"{candidate}: {reason}")
    raise BackendUnavailable(
        "auto",
        "no usable engine; " + "; ".join(reasons),
        hint="run 'ocitool backends' for details, or choose one with --backend",
    )


def unusable_reason(name: str, program: str, *, docker_host: str | None = None) -> str | None:
    """Why `name` cannot work here, or None; no engine process is started.

    `auto` calls this on every command, so it only looks at PATH and, for
    docker, tries to connect to a local socket (microseconds). `program` is the
    engine's executable (umoci for oci: with no daemon, found is enough).
    """
    if name not in NAMES:
        return f"unknown backend {name!r}"
    if shutil.which(program) is None:
        return f"executable {program!r} not found on PATH"
    if name == "docker":
        return _docker_endpoint_problem(docker_host)
    return None


def _docker_endpoint_problem(configured: str | None) -> str | None:
    host, source = docker_endpoint(configured)
    if source != "default":
        return None  # the user pointed at a docker daemon: use it, and fail clearly if down
    return _unix_socket_problem(host)


def _unix_socket_problem(host: str) -> str | None:
    if not host.startswith("unix://"):
        return None  # tcp:// or ssh://: only a real call can tell
    import socket  # only for auto's probe of the default socket

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


def programs(config: Config) -> dict[str, str]:
    """Each backend's program as the config names it (see unusable_reason)."""
    return {
        "docker": config.docker.executable,
        "podman": config.podman.executable,
        "oci": config.oci.umoci,
    }


def survey(
    runner: Runner, config: Config, *, at: str | None = None, requested: str | None = None
) -> list[EngineInfo]:
    """Every backend's EngineInfo, for `ocitool backends`: each engine at its default
    endpoint, then each docker context and podman connection (and `at`, if given),
    each saying whether it is remote. The engines are asked at once (each probe is
    a process or two that mostly waits), so the slowest sets the time."""
    from ocitool.backends.docker.host import contexts
    from ocitool.together import together

    targets: list[tuple[str, str | None]] = [(name, None) for name in NAMES]
    targets += [("docker", name) for name in contexts()]
    targets += [("podman", name) for name in _podman_connections(runner, config)]
    if at:
        for name in [requested] if requested in ("docker", "podman") else ["docker", "podman"]:
            if (name, at) not in targets:
                targets.append((str(name), at))
    backends = [load(name, runner, config, at=where) for name, where in targets]
    infos = together(*(backend.info for backend in backends))
    return [
        info.model_copy(update={"capabilities": sorted(declared(name))})
        for (name, _), info in zip(targets, infos, strict=True)
    ]


def _podman_connections(runner: Runner, config: Config) -> list[str]:
    """The names of podman's system connections (containers.conf), with one call."""
    import json

    if shutil.which(config.podman.executable) is None:
        return []
    argv = [config.podman.executable, "system", "connection", "list", "--format", "json"]
    try:
        result = runner.run(argv, timeout=min(10.0, runner.timeout))
        rows = json.loads(result.stdout or "[]") if result.ok else []
    except (OcitoolError, ValueError):
        return []
    names = [str(r.get("Name")) for r in rows if isinstance(r, dict) and r.get("Name")]
    return [n for n in names if _CONNECTION.fullmatch(n)]
