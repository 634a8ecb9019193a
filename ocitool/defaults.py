"""Default engine programs, the order `auto` tries them in, and where the settings
file lives: plain values, importable without pydantic, for backend selection
(ocitool.backends.registry) and the settings (ocitool.config)."""

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


# Where a missing program comes from on Debian, for the hint (most are named as run).
DEBIAN_PACKAGES: Final[dict[str, str]] = {"docker": "docker.io", "dockerd": "docker.io"}


def config_file() -> str:
    """OCITOOL_CONFIG, else platformdirs' user config dir (`~/.config/ocitool/config.toml`)."""
    explicit = os.environ.get("OCITOOL_CONFIG")
    if explicit:
        return explicit
    import platformdirs  # only when no explicit path: keeps start-up lean

    return os.path.join(platformdirs.user_config_dir("ocitool"), "config.toml")
