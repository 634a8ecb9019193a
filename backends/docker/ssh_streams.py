"""A daemon over ssh streams its images through the docker CLI on its own host.

`docker -H ssh://HOST load` runs `ssh HOST docker system dial-stdio` and speaks the
engine's HTTP API through it, so a 100 MB archive passes through the local CLI's
HTTP body, ssh, and the remote dial-stdio relay: one process more on each side
than `ssh HOST docker load`, which reads the archive from ssh's stdin and talks
to the daemon on its own machine (docs/remote.md, Bench). Both reach the same
daemon: dial-stdio is the remote docker CLI too, at its own default endpoint.
So a save or load, whose only input or output is the archive, goes over ssh
itself, with the connection docker would open (its user, port and
ConnectTimeout; the user's ssh config applies as it does for docker). Every
other call keeps docker's own `-H ssh://`.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from urllib.parse import urlsplit

from ocitool.backends.docker.failures import ssh_error
from ocitool.runner import Completed

_SSH_FAILED = 255  # ssh's own exit status: its connection or login failed
_NOT_FOUND = 127  # the remote shell found no `docker`


def ssh_argv(host: str, remote: Sequence[str]) -> tuple[str, ...] | None:
    """`ssh … -- HOST COMMAND` for an ssh:// daemon as docker's connection helper
    builds it, or None where `host` is no ssh:// URL docker would take (it takes no
    path). ssh hands the remote shell one line, so each word is quoted."""
    if not host.startswith("ssh://"):
        return None
    url = urlsplit(host)
    try:
        port = url.port
    except ValueError:
        return None
    if not url.hostname or url.path not in ("", "/") or url.query or url.fragment:
        return None
    argv = ["ssh", "-o", "ConnectTimeout=30", "-T"]
    argv += ["-l", url.username] if url.username else []
    argv += ["-p", str(port)] if port else []
    return (*argv, "--", url.hostname, *(shlex.quote(word) for word in remote))


def failed_over_ssh(result: Completed, host: str) -> None:
    """ssh's own failure (the login, the connection, no docker there) as docker's ssh
    errors say it; None where the remote docker CLI failed, for its own mapping."""
    if result.returncode not in (_SSH_FAILED, _NOT_FOUND):
        return None
    said = " ".join(result.stderr.split()) or f"ssh exited with {result.returncode}"
    raise ssh_error(said, host)
