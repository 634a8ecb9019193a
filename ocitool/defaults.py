"""Default engine programs, the order `auto` tries them in, and where the settings
file lives: plain values, importable without pydantic, so the quick `images` path
(ocitool.quick) and the validated Config (ocitool.config) share one source."""

from __future__ import annotations

import os
from typing import Final, Literal

EngineName = Literal["docker", "podman", "oci"]
DEFAULT_ORDER: Final[tuple[EngineName, ...]] = ("docker", "podman", "oci")
DOCKER: Final = "docker"
PODMAN: Final = "podman"
UMOCI: Final = "umoci"
# The program whose presence says each backend can work here (backends.unusable_reason).
DEFAULT_PROGRAMS: Final[dict[str, str]] = {"docker": DOCKER, "podman": PODMAN, "oci": UMOCI}


def config_file() -> str:
    """OCITOOL_CONFIG, else platformdirs' user config dir (`~/.config/ocitool/config.toml`);
    a string, as pathlib costs the quick path ~4 ms to import (config.config_path)."""
    explicit = os.environ.get("OCITOOL_CONFIG")
    if explicit:
        return explicit
    import platformdirs  # only when no explicit path: keeps start-up lean

    return os.path.join(platformdirs.user_config_dir("ocitool"), "config.toml")
