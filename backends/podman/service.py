"""Whether podman runs as a client of a podman service by its own configuration:
`remote = true` in containers.conf's [engine] (podman then uses the default system
connection), or a podman-remote build. Read from the files podman reads, without
starting podman: the backend asks on reads and copies, which must stay cheap.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$")
_REMOTE = re.compile(r"^\s*remote\s*=\s*(true|false)\s*(?:#.*)?$")


def configured_remote(executable: str) -> bool:
    if os.path.basename(executable).startswith("podman-remote"):
        return True
    return _configured(os.environ.get("CONTAINERS_CONF"), os.environ.get("XDG_CONFIG_HOME"))


@lru_cache(maxsize=4)
def _configured(override: str | None, config_home: str | None) -> bool:
    """The last `remote =` in [engine] of the files podman reads, in its order (a later
    file overrides an earlier one); CONTAINERS_CONF alone when it is set."""
    if override:
        files = [Path(override)]
    else:
        home = Path(config_home) if config_home else Path.home() / ".config"
        files = [
            Path("/usr/share/containers/containers.conf"),
            Path("/etc/containers/containers.conf"),
            *sorted(Path("/etc/containers/containers.conf.d").glob("*.conf")),
            home / "containers" / "containers.conf",
        ]
    remote = False
    for path in files:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        section = ""
        for line in text.splitlines():
            header = _SECTION.match(line)
            if header:
                section = header.group(1).strip()
                continue
            value = _REMOTE.match(line) if section == "engine" else None
            if value:
                remote = value.group(1) == "true"
    return remote
