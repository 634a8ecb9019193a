"""A container as docker's and podman's `container inspect` print it.

The two engines share the document's shape (Path and Args, Config.User,
Config.WorkingDir, Config.Env, State.ExitCode, State.StartedAt, Mounts);
they differ only in how the name and the image are spelled, which each
engine's parsers settle before calling `inspected`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ocitool.backends.common.parsing import container_id, parse_time, text_or_none
from ocitool.models import Container, Mount

if TYPE_CHECKING:
    from ocitool.models import ContainerState

STATES = {"created", "running", "paused", "restarting", "removing", "exited", "dead"}
ENDED = ("exited", "dead")


def state_of(value: object) -> ContainerState:
    state = str(value or "unknown").lower()
    # podman's words for a container that was made but never ran, or has ended
    state = {"configured": "created", "initialized": "created", "stopped": "exited"}.get(
        state, state
    )
    return cast("ContainerState", state if state in STATES else "unknown")


def inspected(
    doc: Mapping[str, Any], *, name: str, image: str, image_id: str | None, detail: bool
) -> Container:
    """One element of `container inspect`; `detail` adds what only inspect shows
    (user, workdir, env, mounts), which `ps` leaves out on every engine."""
    status = doc.get("State") or {}
    config = doc.get("Config") or {}
    state = state_of(status.get("Status"))
    path = text_or_none(doc.get("Path"))
    extra: dict[str, Any] = {}
    if detail:
        extra = {
            "user": str(config.get("User") or ""),
            "workdir": str(config.get("WorkingDir") or "/"),
            "hostname": text_or_none(config.get("Hostname")),
            "env": [str(e) for e in config.get("Env") or []],
            "mounts": [
                Mount.model_construct(
                    source=str(m["Source"]),
                    destination=str(m["Destination"]),
                    read_only=not m.get("RW", True),
                )
                for m in doc.get("Mounts") or []
                if str(m.get("Type", "bind")) == "bind"
            ],
        }
    return Container.model_construct(
        id=container_id(doc["Id"]),
        name=name,
        image=image,
        image_id=image_id,
        state=state,
        created=parse_time(doc.get("Created")),
        command=[path, *[str(a) for a in doc.get("Args") or []]] if path else [],
        exit_code=int(status.get("ExitCode") or 0) if state in ENDED else None,
        started=parse_time(status.get("StartedAt")),
        finished=parse_time(status.get("FinishedAt")) if state in ENDED else None,
        **extra,
    )
