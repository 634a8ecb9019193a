"""The settings file's schema: TOML checked by pydantic, then plain Config values.

Loaded only when a settings file exists (ocitool.config); a bad file is one
usage error naming the file and the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ocitool.defaults import DEFAULT_ORDER, DOCKER, PODMAN, UMOCI, EngineName
from ocitool.errors import UsageError
from ocitool.references import validate_registry_host

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


class ConfigFile(_Section):
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

    @field_validator("insecure_registries")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        """Each by the reference grammar's host rule, as login and search check theirs."""
        for host in hosts:
            try:
                validate_registry_host(host)
            except UsageError as exc:
                raise ValueError(exc.message) from None
        return hosts


def parse(text: str, path: Path) -> dict[str, Any]:
    """One file's settings, checked, as plain values (ocitool.config builds the Config);
    or the usage error that says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config {path} is not valid TOML: {exc}") from exc
    try:
        checked = ConfigFile.model_validate({**data, "source": path})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"config {path}: {where}: {first['msg'].removeprefix('Value error, ')}",
            hint="see docs/configuration.md for the keys",
        ) from exc
    return {**checked.model_dump(), "source": path}
