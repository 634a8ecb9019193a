"""Where the docker CLI will connect, worked out as the CLI does, without starting it.

`auto` asks this on every command, so it
reads two small files at most and imports nothing heavy.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

DEFAULT_HOST = "unix:///var/run/docker.sock"


class Daemon(NamedTuple):
    """A docker daemon's endpoint as the CLI reaches it, and how a mover can."""

    host: str  # unix://, tcp:// or ssh:// URL
    source: str  # what said so: --host, context NAME, config, DOCKER_HOST, default
    tls_verify: bool = False  # tcp:// with TLS (DOCKER_TLS_VERIFY, or a context's TLS)
    cert_dir: str | None = None  # ca.pem, cert.pem, key.pem for it

    @property
    def local(self) -> bool:
        """Whether the daemon's files are on this machine: only a unix socket says so."""
        return self.host.startswith("unix://")

    @property
    def mover_host(self) -> str | None:
        """The daemon host as containers/image (skopeo) reaches it, or None where it
        cannot: it speaks TLS to every tcp:// host, so a plain one is spelled
        http://, and it has no ssh transport at all."""
        if self.host.startswith("tcp://") and not (self.tls_verify or self.cert_dir):
            return "http://" + self.host.removeprefix("tcp://")
        if self.host.startswith(("unix://", "tcp://")):
            return self.host
        return None


def docker_endpoint(configured: str | None = None) -> tuple[str, str]:
    """Where the docker CLI will connect, and what said so, in the CLI's own order:
    ocitool's config, DOCKER_HOST, DOCKER_CONTEXT or the config's currentContext, default."""
    daemon = resolve(configured=configured)
    return daemon.host, daemon.source


def resolve(
    *, host: str | None = None, context: str | None = None, configured: str | None = None
) -> Daemon:
    """The daemon: an explicit host or context (--host, --connection, docker@…) first,
    then ocitool's config, DOCKER_HOST, DOCKER_CONTEXT or currentContext, the default."""
    if host:
        return Daemon(host, "--host", *_env_tls(host))
    if context:
        return _context(context) or Daemon(DEFAULT_HOST, f"context {context}")
    if configured:
        return Daemon(configured, "config", *_env_tls(configured))
    if os.environ.get("DOCKER_HOST"):
        return Daemon(
            os.environ["DOCKER_HOST"], "DOCKER_HOST", *_env_tls(os.environ["DOCKER_HOST"])
        )
    context = os.environ.get("DOCKER_CONTEXT") or _current_context()
    if context and context != "default":
        found = _context(context)
        if found:
            return found
    return Daemon(DEFAULT_HOST, "default")


def contexts() -> list[str]:
    """The names of the CLI's contexts (besides `default`), from its store."""
    root = os.path.join(_docker_config_dir(), "contexts", "meta")
    names = []
    for entry in sorted(os.listdir(root)) if os.path.isdir(root) else ():
        try:
            name = _read_json(os.path.join(root, entry, "meta.json"))["Name"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(name, str):
            names.append(name)
    return names


def known_context(name: str) -> bool:
    return name == "default" or _context(name) is not None


def _env_tls(host: str) -> tuple[bool, str | None]:
    """DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the CLI reads them for a tcp:// host."""
    if not host.startswith("tcp://") or not os.environ.get("DOCKER_TLS_VERIFY"):
        return False, None
    return True, os.environ.get("DOCKER_CERT_PATH") or _docker_config_dir()


def _docker_config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _current_context() -> str | None:
    try:
        doc = _read_json(os.path.join(_docker_config_dir(), "config.json"))
    except (OSError, ValueError):
        return None
    context = doc.get("currentContext") if isinstance(doc, dict) else None
    return context if isinstance(context, str) else None


def _context(name: str) -> Daemon | None:
    """A context's endpoint, from the CLI's store (contexts/meta/<sha256 of name>/meta.json,
    its TLS files in contexts/tls/<the same>/docker)."""
    import hashlib  # a context store is rare: not worth loading on every start

    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(_docker_config_dir(), "contexts", "meta", digest)
    try:
        endpoint = _read_json(os.path.join(meta, "meta.json"))["Endpoints"]["docker"]
        host = endpoint["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(host, str):
        return None
    tls = os.path.join(_docker_config_dir(), "contexts", "tls", digest, "docker")
    verify = os.path.isdir(tls) and not endpoint.get("SkipTLSVerify")
    return Daemon(host, f"context {name}", verify, tls if os.path.isdir(tls) else None)


def _read_json(path: str) -> Any:
    with open(path, "rb") as handle:
        return json.load(handle)
