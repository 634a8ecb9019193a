"""podman's output as the core models: pure functions, fed recorded output in tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ocitool.backends.common.containers import ENDED, inspected, state_of
from ocitool.backends.common.history import HistoryEntry, Step, config_step, join_steps
from ocitool.backends.common.history import producers as shared_producers
from ocitool.backends.common.listing import Names, local_name
from ocitool.backends.common.parsing import (
    as_digest,
    container_id,
    image_from_inspect,
    parse_int,
    parse_time,
    text_or_none,
)
from ocitool.models import Container, EngineInfo, Image, Layer


def parse_image(doc: Mapping[str, Any], shown: Names | None = None) -> Image:
    """One element of `podman image inspect`; `shown` spells its names (Names)."""
    diff_ids = (doc.get("RootFS") or {}).get("Layers") or []
    image = image_from_inspect(
        doc, backend="podman", layers=image_layers(doc, diff_ids), local_name=shown or local_name
    )
    history = doc.get("History") or []
    if (
        "oci" in str(doc.get("ManifestType") or "")
        and len(history) > 1
        and image.comment == text_or_none(history[0].get("comment"))
    ):
        # An OCI config has no comment; podman shows its first step's (docs/engines.md, Inspect).
        image = image.model_copy(update={"comment": None})
    return image


def image_layers(doc: Mapping[str, Any], diff_ids: Sequence[str]) -> list[Layer]:
    """Bottom-first layers, with what the config history says about each."""
    history = doc.get("History") or []
    if sum(not h.get("empty_layer") for h in history) != len(diff_ids):
        return [Layer(diff_id=d) for d in diff_ids]  # history does not describe the layers
    return [layer for layer in reversed(_steps_as_layers(doc, diff_ids)) if not layer.empty]


def _steps_as_layers(
    doc: Mapping[str, Any],
    diff_ids: Sequence[str],
    rows: Sequence[Mapping[str, Any]] = (),
    producers: Mapping[int, str] | None = None,
) -> list[Layer]:
    """inspect's History (exact empty flags) joined with `podman history` rows if given."""
    history = doc.get("History") or []
    by_step = list(reversed(rows)) if len(rows) == len(history) else [{}] * len(history)
    steps = [
        config_step(h, image_id=(producers or {}).get(index), size=parse_int(row.get("size")))
        for index, (h, row) in enumerate(zip(history, by_step, strict=True))
    ]
    return join_steps(steps, diff_ids)


def join_history(
    rows: Sequence[Mapping[str, Any]],
    doc: Mapping[str, Any],
    candidates: Sequence[Mapping[str, Any]] = (),
) -> list[Layer]:
    """`podman history` rows (newest first) joined with the image's inspect document.

    podman's row IDs are per layer, not per step: a row can name an image
    one step off, or another image with the same layer. So a row's image is
    kept only where its own history is exactly this image's first steps, and
    it is placed at the step its history ends with (`candidates` are the
    inspect documents of the IDs the rows name).
    """
    diff_ids = (doc.get("RootFS") or {}).get("Layers") or []
    if doc.get("History"):
        return _steps_as_layers(doc, diff_ids, rows, producers(doc, candidates))
    # No config history (rare: hand-made images): the rows alone, IDs unverified.
    steps = [
        Step(
            size=parse_int(r.get("size")),
            created=parse_time(r.get("created")),
            created_by=text_or_none(r.get("CreatedBy")),
            comment=text_or_none(r.get("comment")),
        )
        for r in reversed(rows)
    ]
    return join_steps(steps, diff_ids)


def producers(doc: Mapping[str, Any], candidates: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Step index -> the local image whose history ends with that step."""

    def lineage(d: Mapping[str, Any]) -> tuple[str, list[HistoryEntry], list[str]]:
        return (
            as_digest(d.get("Id")) or "",
            d.get("History") or [],
            (d.get("RootFS") or {}).get("Layers") or [],
        )

    return shared_producers(*lineage(doc), [lineage(c) for c in candidates])


def parse_container(doc: Mapping[str, Any]) -> Container:
    """One element of `podman ps --format json`."""
    names = doc.get("Names") or []
    state = state_of(doc.get("State"))
    ended = state in ENDED
    return Container.model_construct(
        id=container_id(doc["Id"]),
        name=names[0] if names else doc["Id"][:12],
        image=local_name(str(doc.get("Image") or "")),
        image_id=as_digest(doc.get("ImageID")),
        state=state,
        created=parse_time(doc.get("Created")),
        command=[str(a) for a in doc.get("Command") or []],
        exit_code=parse_int(doc.get("ExitCode")) or 0 if ended else None,
        started=parse_time(doc.get("StartedAt")),
        finished=parse_time(doc.get("ExitedAt")) if ended else None,
    )


def parse_inspected(doc: Mapping[str, Any]) -> Container:
    """One element of `podman container inspect`: the image as ImageName and a bare ID."""
    return inspected(
        doc,
        name=str(doc.get("Name") or ""),
        image=local_name(str(doc.get("ImageName") or doc.get("Image") or "")),
        image_id=as_digest(doc.get("Image")),
        detail=True,
    )


def parse_info(doc: Mapping[str, Any], *, path: str | None) -> EngineInfo:
    """`podman info --format json`."""
    host = doc.get("host") or {}
    store = doc.get("store") or {}
    version = doc.get("version") or {}
    return EngineInfo(
        backend="podman",
        found=True,
        path=path,
        version=text_or_none(version.get("Version")),
        client_version=text_or_none(version.get("Version")),
        api_version=text_or_none(version.get("APIVersion")),
        reachable=True,
        rootless=bool((host.get("security") or {}).get("rootless")),
        storage_driver=text_or_none(store.get("graphDriverName")),
        storage_root=text_or_none(store.get("graphRoot")),
    )
