"""Where the docker CLI will connect, worked out as the CLI does, without starting it.

`auto` asks this on every command, so it
reads two small files at most and imports nothing heavy.
"""

from __future__ import annotations

import json
import os
from typing import Any

DEFAULT_HOST = "unix:///var/run/docker.sock"


def docker_endpoint(configured: str | None = None) -> tuple[str, str]:
    """Where the docker CLI will connect, and what said so, in the CLI's own order:
    ocitool's config, DOCKER_HOST, DOCKER_CONTEXT or the config's currentContext, default."""
    if configured:
        return configured, "config"
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"], "DOCKER_HOST"
    context = os.environ.get("DOCKER_CONTEXT") or _current_context()
    if context and context != "default":
        host = _context_host(context)
        if host:
            return host, f"context {context}"
    return DEFAULT_HOST, "default"


def _docker_config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _current_context() -> str | None:
    try:
        doc = _read_json(os.path.join(_docker_config_dir(), "config.json"))
    except (OSError, ValueError):
        return None
    context = doc.get("currentContext") if isinstance(doc, dict) else None
    return context if isinstance(context, str) else None


def _context_host(name: str) -> str | None:
    """A context's endpoint, from the CLI's store (contexts/meta/<sha256 of name>/meta.json)."""
    import hashlib  # a context store is rare: not worth loading on every start

    meta = os.path.join(
        _docker_config_dir(), "contexts", "meta", hashlib.sha256(name.encode()).hexdigest()
    )
    try:
        doc = _read_json(os.path.join(meta, "meta.json"))
        host = doc["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return host if isinstance(host, str) else None


def _read_json(path: str) -> Any:
    with open(path, "rb") as handle:
        return json.load(handle)
