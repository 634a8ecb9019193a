"""The container verbs beyond run, and run's options, checked the same on every engine.

Every argument is validated here before an engine sees it: container names,
`-v` specs (an absolute host path that exists), users, working directories,
hostnames, signals, `cp`'s CONTAINER:PATH, and `--env-file` read as docker
reads one. The engines then do the work through their core (ocitool.engine).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ocitool.engine import Bind, RunOptions
from ocitool.errors import UsageError
from ocitool.references import validate_container_name

if TYPE_CHECKING:
    from ocitool.capabilities import ContainerExec, ContainerFiles, ContainerLogs
    from ocitool.engine import Engine, Exited, Output
    from ocitool.models import Container

_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?")
_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*")
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_PUBLISH = re.compile(
    r"(?:(?:[0-9.]+|\[[0-9a-fA-F:]+\]):)?(?:\d+(?:-\d+)?:)?\d+(?:-\d+)?(?:/(?:tcp|udp|sctp))?"
)
_SIGNALS = {
    "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1", "SEGV",
    "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
}  # fmt: skip


def container(name: str) -> str:
    return validate_container_name(name)


def inspect(engine: Engine, names: Sequence[str]) -> list[Container]:
    checked = [validate_container_name(n) for n in names]
    if not checked:
        raise UsageError("no container given", hint="name at least one container")
    return engine.inspect_containers(checked)


def in_container_path(path: str, what: str = "path") -> str:
    """A path inside a container: absolute, or relative to its root, never empty or NUL."""
    if not path or "\0" in path or "\n" in path:
        raise UsageError(f"invalid {what} {path!r}", hint="give an absolute path, e.g. /tmp/x")
    return path


def workdir(path: str | None) -> str | None:
    if path is None:
        return None
    if not path.startswith("/"):
        raise UsageError(f"invalid working directory {path!r}: it must be absolute")
    return in_container_path(path, "working directory")


def user(value: str | None) -> str | None:
    """USER[:GROUP], by name or number, as docker's -u takes it."""
    if value is None:
        return None
    if not _USER.fullmatch(value):
        raise UsageError(
            f"invalid user {value!r}", hint="use USER[:GROUP], e.g. 1000:1000 or nobody"
        )
    return value


def bind(spec: str) -> Bind:
    """`HOST:CONTAINER[:ro|rw]`; the host path must exist (docker would make a
    directory of a missing one, podman refuses: ocitool refuses on every engine)."""
    parts = spec.split(":")
    mode = "rw"
    if len(parts) == 3 and parts[2] in ("ro", "rw"):
        mode = parts.pop()
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise UsageError(
            f"invalid volume {spec!r}",
            hint="use -v HOST:CONTAINER or HOST:CONTAINER:ro, with absolute paths",
        )
    host, inside = parts
    if host.startswith("."):
        host = os.path.abspath(host)
    if not host.startswith("/"):
        raise UsageError(
            f"invalid volume {spec!r}: named volumes are not supported, only host paths",
            hint="give an absolute host path, e.g. -v $PWD/data:/data",
        )
    if not inside.startswith("/") or "," in spec or "\0" in spec:
        raise UsageError(f"invalid volume {spec!r}: the container path must be absolute")
    if not os.path.exists(host):
        raise UsageError(f"{host}: no such file or directory", hint="create it first, then bind it")
    return Bind(os.path.normpath(host), os.path.normpath(inside), read_only=mode == "ro")


def env_file(path: Path) -> list[str]:
    """KEY=VALUE lines as docker's --env-file reads them: `#` comments and blank lines
    skipped, a bare KEY taken from ocitool's environment (left out when unset)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the env file: {exc.strerror}") from None
    found: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not _ENV_KEY.fullmatch(key):
            raise UsageError(f"{path}:{number}: invalid variable name {key!r}")
        if sep:
            found.append(f"{key}={value}")
        elif key in os.environ:
            found.append(f"{key}={os.environ[key]}")
    return found


def run_options(
    *,
    volumes: Sequence[str] = (),
    workdir_: str | None = None,
    user_: str | None = None,
    entrypoint: str | None = None,
    hostname: str | None = None,
    publish: Sequence[str] = (),
) -> RunOptions:
    if hostname is not None and not _HOSTNAME.fullmatch(hostname):
        raise UsageError(f"invalid hostname {hostname!r}", hint="use letters, digits, - and .")
    if entrypoint is not None and "\0" in entrypoint:
        raise UsageError("invalid entrypoint: it contains a NUL byte")
    for spec in publish:
        if not _PUBLISH.fullmatch(spec):
            raise UsageError(
                f"invalid port {spec!r}", hint="use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"
            )
    return RunOptions(
        binds=tuple(bind(v) for v in volumes),
        workdir=workdir(workdir_),
        user=user(user_),
        entrypoint=entrypoint,
        hostname=hostname,
        publish=tuple(publish),
    )


def signal(value: str) -> str:
    """A signal as the engines take it: a name without SIG (KILL), or a number."""
    name = value.upper().removeprefix("SIG")
    if value.isdigit() and 0 < int(value) < 65:
        return value
    if name in _SIGNALS:
        return name
    raise UsageError(
        f"invalid signal {value!r}", hint="use a name such as TERM or KILL, or a number"
    )


class CopyArgs(NamedTuple):
    """`cp`'s two arguments: which end is the container's, and the host path."""

    container: str
    path: str
    host: Path
    out: bool  # from the container to the host


def copy_args(source: str, destination: str) -> CopyArgs:
    """`CONTAINER:PATH HOSTPATH` or `HOSTPATH CONTAINER:PATH`, exactly one of each."""
    ends = [_container_end(source), _container_end(destination)]
    if (ends[0] is None) == (ends[1] is None):
        raise UsageError(
            "cp copies between a container and the host",
            hint="use cp CONTAINER:PATH HOSTPATH or cp HOSTPATH CONTAINER:PATH",
        )
    if ends[0] is not None:
        name, path = ends[0]
        return CopyArgs(name, path, Path(destination), out=True)
    name, path = ends[1]  # type: ignore[misc]
    if not os.path.lexists(source):
        raise UsageError(f"{source}: no such file or directory")
    return CopyArgs(name, path, Path(source), out=False)


def _container_end(text: str) -> tuple[str, str] | None:
    """`NAME:PATH` names a container end; a host path with a colon starts with / or ."""
    if text.startswith(("/", ".")) or ":" not in text:
        return None
    name, _, path = text.partition(":")
    return validate_container_name(name), in_container_path(path)


def copy(engine: ContainerFiles, source: str, destination: str) -> None:
    args = copy_args(source, destination)
    if args.out:
        engine.copy_from(args.container, args.path, args.host)
    else:
        engine.copy_to(args.host, args.container, args.path)


def logs(
    engine: ContainerLogs,
    name: str,
    *,
    follow: bool,
    tail: int | None,
    timestamps: bool,
    terminal: bool,
) -> Output:
    if tail is not None and tail < 0:
        raise UsageError(f"invalid --tail {tail}", hint="give a number of lines, 0 or more")
    return engine.logs(
        container(name), follow=follow, tail=tail, timestamps=timestamps, terminal=terminal
    )


def exec_(
    engine: ContainerExec,
    name: str,
    command: Sequence[str],
    *,
    interactive: bool,
    tty: bool,
    user_: str | None,
    workdir_: str | None,
    env: Sequence[str],
    terminal: bool,
) -> Exited:
    if not command:
        raise UsageError("no command given", hint="ocitool exec CONTAINER COMMAND [ARG...]")
    return engine.exec(
        container(name),
        list(command),
        interactive=interactive,
        tty=tty,
        user=user(user_),
        workdir=workdir(workdir_),
        env=list(env),
        terminal=terminal,
    )
