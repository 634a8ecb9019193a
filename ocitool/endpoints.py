"""Where a remote engine is: a URL (unix://, tcp://, ssh://) or the name of a docker
context or podman connection, as `--host`, `--connection` and `ENGINE@WHERE:NAME`
locations give it. Checked here before any engine sees it; which engine reads it
how is the backends' business (backends/registry.py).
"""

from __future__ import annotations

import re

from ocitool.errors import UsageError

SCHEMES = ("unix", "tcp", "ssh")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}")
_URL = re.compile(r"(unix|tcp|ssh)://[^\s\x00-\x1f\x7f]{1,1024}")


def is_url(where: str) -> bool:
    return "://" in where


def checked(where: str, *, flag: str = "--host") -> str:
    """A URL or a context/connection name, or a one-line usage error saying which is bad."""
    if is_url(where):
        if not _URL.fullmatch(where) or not where.isascii():
            scheme = where.split("://", 1)[0]
            problem = (
                f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}"
                if scheme not in SCHEMES
                else "it holds whitespace, a control character or non-ASCII text"
            )
            raise UsageError(
                f"{where!r} is not an engine endpoint: {problem}",
                hint="e.g. unix:///run/docker.sock, tcp://127.0.0.1:2375 or ssh://user@host:22",
            )
        return where
    if not _NAME.fullmatch(where):
        raise UsageError(
            f"{where!r} is not a context or connection name ({flag})",
            hint="a name is letters, digits and _.+- ; 'docker context ls' and "
            "'podman system connection list' show them",
        )
    return where


def chosen(host: str | None, connection: str | None) -> str | None:
    """The one endpoint --host and --connection choose (never both)."""
    if host and connection:
        raise UsageError("--host and --connection both name an endpoint", hint="give one of them")
    if host:
        if not is_url(host):
            raise UsageError(
                f"--host {host!r} is not a URL",
                hint="give unix://PATH, tcp://HOST:PORT or ssh://USER@HOST[:PORT]; "
                "a context or connection name goes with --connection",
            )
        return checked(host)
    return checked(connection, flag="--connection") if connection else None
