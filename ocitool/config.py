"""ocitool's settings: which backend, in what order, engine paths and limits.

They live in platformdirs' user config dir (`~/.config/ocitool/config.toml` on
Linux) or wherever OCITOOL_CONFIG points. A missing file means the defaults,
which need nothing but these plain values; a file is validated
(ocitool.config_file) and a bad one is a usage error naming the file, never a
silent fallback.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from ocitool.defaults import DEFAULT_ORDER, DOCKER, PODMAN, UMOCI, config_file

__all__ = ["Config", "config_path", "load_config", "store_path"]


class DockerSettings(NamedTuple):
    executable: str = DOCKER
    host: str | None = None  # DOCKER_HOST for ocitool's docker calls


class PodmanSettings(NamedTuple):
    executable: str = PODMAN


class OciSettings(NamedTuple):
    store: Path | None = None  # default: the user data dir's ocitool/store
    umoci: str = UMOCI
    skopeo: str = "skopeo"
    runtime: str | None = None  # runc or crun (default: whichever is found)


class Config(NamedTuple):
    backend: str = "auto"  # docker, podman, oci or auto
    order: Sequence[str] = DEFAULT_ORDER  # the order `auto` tries engines in
    timeout: float | None = None  # seconds per engine call
    insecure_registries: Sequence[str] = ()  # reached without TLS verification, or plain HTTP
    docker: DockerSettings = DockerSettings()
    podman: PodmanSettings = PodmanSettings()
    oci: OciSettings = OciSettings()
    source: Path | None = None  # the file this came from


def config_path() -> Path:
    """Where the settings file is (OCITOOL_CONFIG, else the user config dir)."""
    return Path(config_file())


def load_config(path: Path | None = None) -> Config:
    """The settings in `path` (default: config_path()), or the defaults if there is none."""
    path = path or config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        from ocitool.errors import UsageError

        raise UsageError(f"cannot read config {path}: {exc}") from exc
    from ocitool.config_file import parse

    values = parse(text, path)
    return Config(
        **{k: v for k, v in values.items() if k not in ("docker", "podman", "oci")},
        docker=DockerSettings(**values["docker"]),
        podman=PodmanSettings(**values["podman"]),
        oci=OciSettings(**values["oci"]),
    )


def store_path(config: Config) -> Path:
    """--store or OCITOOL_STORE, then the config, then platformdirs' user data dir."""
    explicit = os.environ.get("OCITOOL_STORE")
    if explicit:
        return Path(explicit).expanduser()
    if config.oci.store:
        return config.oci.store.expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ocitool")) / "store"
