"""ocitool's settings file: which backend, in what order, and engine paths.

It lives in platformdirs' user config dir (`~/.config/ocitool/config.toml` on
Linux) or wherever OCITOOL_CONFIG points. A missing file means defaults; a bad
one is a usage error naming the file, never a silent fallback.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ocitool.defaults import DEFAULT_ORDER, DOCKER, PODMAN, UMOCI, EngineName, config_file
from ocitool.errors import UsageError

__all__ = ["Config", "config_path", "load_config", "store_path"]

BackendChoice = Literal["docker", "podman", "oci", "auto"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class DockerSettings(_Section):
    executable: str = DOCKER
    host: str | None = Field(None, description="DOCKER_HOST for ocitool's docker calls.")


class PodmanSettings(_Section):
    executable: str = PODMAN


class OciSettings(_Section):
    store: Path | None = Field(
        None, description="The image store (default: the user data dir's ocitool/store)."
    )
    umoci: str = UMOCI
    skopeo: str = "skopeo"
    runtime: str | None = Field(None, description="runc or crun (default: whichever is found).")


class Config(_Section):
    backend: BackendChoice = "auto"
    order: list[EngineName] = Field(
        default_factory=lambda: list(DEFAULT_ORDER),
        min_length=1,
        description="The order `auto` tries engines in.",
    )
    timeout: float | None = Field(None, gt=0, description="Seconds per engine call.")
    insecure_registries: list[str] = Field(
        default_factory=list,
        description="Registries (HOST[:PORT]) reached without TLS verification, or plain HTTP.",
    )
    docker: DockerSettings = Field(default_factory=DockerSettings)
    podman: PodmanSettings = Field(default_factory=PodmanSettings)
    oci: OciSettings = Field(default_factory=OciSettings)
    source: Path | None = Field(None, exclude=True, description="The file this came from.")


def config_path() -> Path:
    """Where the settings file is (OCITOOL_CONFIG, else the user config dir)."""
    return Path(config_file())


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        return Config()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from exc
    try:
        return Config.model_validate({**data, "source": path})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"config {path}: {where}: {first['msg']}",
            hint="see the README section 'Configuration' for the keys",
        ) from exc


def store_path(config: Config) -> Path:
    """--store or OCITOOL_STORE, then the config, then platformdirs' user data dir."""
    explicit = os.environ.get("OCITOOL_STORE")
    if explicit:
        return Path(explicit).expanduser()
    if config.oci.store:
        return config.oci.store.expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ocitool")) / "store"
