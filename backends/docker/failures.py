"""How docker fails: each error text it prints, mapped to the core error that says it.

The one place docker's stderr is read (docs/engines.md); the backend calls `raise_for`
for every failed call, with the images and containers it named.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from ocitool.backends.common.cli import container_conflict
from ocitool.backends.common.parsing import unique
from ocitool.errors import (
    AuthenticationFailed,
    BackendUnavailable,
    Conflict,
    ContainerNotFound,
    EngineError,
    ImageInUse,
    ImageNotFound,
    NotSupported,
    OcitoolError,
)
from ocitool.runner import Completed

if TYPE_CHECKING:
    from ocitool.backends.docker.host import Daemon
    from ocitool.build_request import PlannedStep

NO_SUCH_IMAGE = re.compile(r"No such image: (\S+)", re.IGNORECASE)
_IN_USE = re.compile(
    r'unable to (?:remove repository reference|delete) "?([^" ]+)"? \(must force\) - '
    r"container (\w+) is using"
)
_NAME_IN_USE = re.compile(r'container name "/?([^"]+)" is already in use')
_RUNNING = re.compile(r"You cannot remove a running container (\w+)")
NO_SUCH_CONTAINER = re.compile(r"No such container: (\S+)", re.IGNORECASE)
_CANNOT_CONNECT = re.compile(r"Cannot connect to the Docker daemon at (\S+?)\.? Is the")
_PERMISSION = "permission denied while trying to connect to the Docker daemon"
_NO_REFERENCE = "Error response from daemon: reference does not exist"
# docker's ssh:// connection: `ssh … docker system dial-stdio` failed, and what ssh said
_SSH_FAILED = re.compile(r"command \[ssh .*?\] has exited with exit status \d+.*?stderr=(.*)", re.S)
_SSH_REFUSED = ("permission denied", "host key verification failed", "too many authentication")
_TLS = re.compile(r"(x509: .*|tls: .*|remote error: tls.*|open \S*\.pem: no such file.*)")
_NO_CONTEXT = re.compile(r'context "([^"]+)": context not found')
_TOO_OLD = re.compile(
    r"(\S+ requires API version [\d.]+.*|client version [\d.]+ is too new.*"
    r"|Maximum supported API version is [\d.]+.*)"
)


def raise_for(
    result: Completed,
    *,
    daemon: Daemon,
    images: Sequence[str] = (),
    containers: Sequence[str] = (),
) -> NoReturn:
    """Map one failed docker call to the core error that describes it."""
    err = result.stderr
    failed = connection_error(err, daemon.host)
    if failed is not None:
        raise failed
    missing = NO_SUCH_IMAGE.findall(err)
    if missing:
        raise ImageNotFound(_as_given(missing, images), backend="docker")
    if _NO_REFERENCE in err and images:  # `save` of a name dockerd does not know
        raise ImageNotFound(list(images), backend="docker")
    gone = NO_SUCH_CONTAINER.findall(err)
    if gone:
        raise ContainerNotFound(_as_given(gone, containers), backend="docker")
    used = _IN_USE.search(err)
    if used:
        raise ImageInUse(used.group(1), [used.group(2)], backend="docker")
    conflict = _conflict(err, containers)
    if conflict:
        raise conflict
    raise EngineError(result.argv, result.returncode, err)


def _conflict(stderr: str, containers: Sequence[str]) -> Conflict | None:
    conflict = container_conflict(stderr, containers, _NAME_IN_USE, _RUNNING)
    if conflict:
        return conflict
    if "image has dependent child images" in stderr:
        return Conflict(
            "the image has dependent child images",
            hint="remove the images built on it first, or remove it by name to untag it",
        )
    return None


def connection_error(stderr: str, host: str) -> OcitoolError | None:
    """The endpoint's own failure, if that is what the call met, as one line naming it:
    a closed socket, an unknown context, an ssh login refused or ssh unreachable, TLS,
    a daemon that is down, or one too old for what was asked."""
    for check in (_closed_socket, _unknown_context, _ssh, _tls, _down, _too_old):
        found = check(stderr, host)
        if found is not None:
            return found
    return None


def _closed_socket(stderr: str, host: str) -> OcitoolError | None:
    if _PERMISSION not in stderr:
        return None
    reason, hint = socket_denied(host)
    return BackendUnavailable("docker", reason, hint=hint)


def _unknown_context(stderr: str, _: str) -> OcitoolError | None:
    unknown = _NO_CONTEXT.search(stderr)
    if not unknown:
        return None
    return BackendUnavailable(
        "docker",
        f"no context named {unknown.group(1)!r}",
        hint="'docker context ls' shows them; make one with "
        "'docker context create NAME --docker host=URL'",
    )


def _ssh(stderr: str, host: str) -> OcitoolError | None:
    ssh = _SSH_FAILED.search(stderr)
    return ssh_error(" ".join(ssh.group(1).split()) or "no reason given", host) if ssh else None


def _tls(stderr: str, host: str) -> OcitoolError | None:
    tls = _TLS.search(stderr)
    if not tls:
        return None
    return BackendUnavailable(
        "docker",
        f"TLS with the daemon at {host} failed: {' '.join(tls.group(1).split())}",
        hint="DOCKER_CERT_PATH (or the context) must hold ca.pem, the CA that signed the "
        "daemon's certificate, and cert.pem and key.pem; unset DOCKER_TLS_VERIFY for a "
        "plain tcp:// endpoint",
    )


def _down(stderr: str, host: str) -> OcitoolError | None:
    if not (_CANNOT_CONNECT.search(stderr) or "error during connect" in stderr):
        return None
    said = _CANNOT_CONNECT.search(stderr)
    host = said.group(1) if said else host
    if host.startswith("unix://"):
        hint = "is dockerd running? set DOCKER_HOST to its socket, or use --backend podman"
    else:
        hint = "is dockerd listening there? check --host or DOCKER_HOST, or use --backend podman"
    return BackendUnavailable("docker", f"daemon not reachable at {host}", hint=hint)


def _too_old(stderr: str, host: str) -> OcitoolError | None:
    old = _TOO_OLD.search(stderr)
    if not old:
        return None
    return NotSupported(
        f"the docker daemon at {host} is too old for this: {' '.join(old.group(1).split())}",
        hint="upgrade it, or use another endpoint ('ocitool backends' lists them)",
    )


def ssh_error(said: str, host: str) -> OcitoolError:
    """docker's ssh connection failed: the login refused, or the host not reached."""
    check = f"'ssh {host.removeprefix('ssh://')} docker version' must work without a prompt"
    if any(word in said.lower() for word in _SSH_REFUSED):
        return AuthenticationFailed(
            f"docker: ssh refused the login to {host}: {said}",
            hint=f"check the user and the key ssh offers (ssh-add, ~/.ssh/config); {check}",
        )
    return BackendUnavailable(
        "docker",
        f"daemon not reachable at {host} over ssh: {said}",
        hint=f"is sshd running there, with docker installed? {check}",
    )


def unreachable_reason(stderr: str, endpoint: str) -> str:
    """Why `ocitool backends` cannot reach the daemon, in one line with its hint."""
    failed, down = connection_error(stderr, endpoint), _down(stderr, endpoint)
    if failed is None or (down is not None and failed.one_line() == down.one_line()):
        match = _CANNOT_CONNECT.search(stderr)
        where = match.group(1) if match else endpoint
        return f"daemon not reachable at {where}; is dockerd running? set DOCKER_HOST"
    return failed.one_line().removeprefix("docker: ")


def socket_denied(endpoint: str) -> tuple[str, str]:
    """Why this user may not use the daemon's socket, from the socket itself: its
    owner, group and mode, and the fix (the group, or an engine with no daemon)."""
    import grp
    import pwd
    import stat

    others = "or use rootless podman (--backend podman) or the oci backend (--backend oci)"
    path = endpoint.removeprefix("unix://")
    user = _name(pwd.getpwuid, os.geteuid(), "pw_name")
    try:
        found = os.stat(path)
    except OSError as exc:
        return (
            f"permission denied on {endpoint}: {exc.strerror.lower() if exc.strerror else exc}",
            f"a directory on the way to it is closed to {user}; {others}",
        )
    owner = _name(pwd.getpwuid, found.st_uid, "pw_name")
    group = _name(grp.getgrgid, found.st_gid, "gr_name")
    where = (
        f"permission denied on {endpoint}: the socket is owned by {owner}:{group} "
        f"with mode {stat.S_IMODE(found.st_mode):o}"
    )
    if found.st_gid == 0:
        return f"{where}, so only root may use it", f"run as root, {others}"
    if found.st_gid in os.getgroups():
        return (
            f"{where}, and {user} is in group {group} only in new sessions",
            f"log out and in again (or run 'newgrp {group}'), {others}",
        )
    return (
        f"{where}, and {user} is not in group {group}",
        f"add {user} to it (sudo usermod -aG {group} {user}, then log in again), {others}",
    )


def _name(lookup: Callable[[int], Any], number: int, field: str) -> str:
    try:
        return str(getattr(lookup(number), field))
    except KeyError:
        return str(number)  # no passwd or group entry: the number is all there is


def _as_given(engine_names: list[str], asked: Sequence[str]) -> list[str]:
    """Report names as the user typed them: docker appends `:latest` and a trailing `:`."""
    found = []
    for reported in engine_names:
        name = reported.rstrip(":")
        match = [a for a in asked if name in (a, f"{a}:latest")]
        found.append(match[0] if match else name)
    return unique(found)


_STEP_EXITED = re.compile(r"The command .* returned a non-zero code: (\d+)\s*$", re.MULTILINE)
# the daemon's pull of a FROM image: its registry does not answer
_PULL_UNREACHABLE = re.compile(
    r'^(.*Get "https?://[^"]+": (?:dial tcp|net/http|EOF).*)$', re.MULTILINE
)


def build_failure(result: Completed, step: PlannedStep | None, said: str) -> OcitoolError | None:
    """A build whose RUN failed, as the classic builder says it ("returned a non-zero
    code: 3"), or whose FROM image's registry does not answer; None for any other."""
    from ocitool.backends.common.build import step_failure

    return step_failure(
        result.stderr, step, said, exited=_STEP_EXITED, unreachable=_PULL_UNREACHABLE
    )
