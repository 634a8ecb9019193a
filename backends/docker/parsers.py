"""docker's output as the core models: pure functions, fed recorded output in tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ocitool.backends.common.containers import inspected
from ocitool.backends.common.history import Step, join_steps
from ocitool.backends.common.parsing import (
    as_digest,
    image_from_inspect,
    json_documents,
    parse_int,
    parse_time,
    text_or_none,
)
from ocitool.backends.docker.failures import unreachable_reason
from ocitool.models import Container, EngineInfo, Image, Layer
from ocitool.runner import Completed


def parse_image(doc: Mapping[str, Any]) -> Image:
    """One element of `docker image inspect`."""
    return image_from_inspect(doc, backend="docker")


def join_history(
    rows: Sequence[Mapping[str, Any]], image: Image, ancestors: Sequence[Image]
) -> list[Layer]:
    """`docker history` rows (newest first) joined with the image's layers.

    docker's history has neither diff IDs nor empty-layer flags, and a real
    layer can be 0 bytes (`mkdir`). Each row whose image docker still knows
    tells exactly how many layers exist up to it; rows between such anchors
    (`<missing>`) are settled by size and by what created them.
    """
    known = {a.id: a for a in ancestors}
    known[image.id] = image
    steps = []
    for row in reversed(rows):
        produced = known.get(as_digest(row.get("ID")) or "")
        steps.append(
            Step(
                size=parse_int(row.get("Size")),
                created=produced.created if produced else parse_time(row.get("CreatedAt")),
                created_by=text_or_none(row.get("CreatedBy")),
                author=produced.author if produced else None,
                comment=text_or_none(row.get("Comment")),
                image_id=as_digest(row.get("ID")),
                layers_so_far=len(produced.layers) if produced else None,
            )
        )
    if steps:
        steps[-1].layers_so_far = len(image.layers)
    return join_steps(steps, image.diff_ids)


def parse_container(doc: Mapping[str, Any], *, detail: bool = False) -> Container:
    """One element of `docker container inspect`."""
    return inspected(
        doc,
        name=str(doc.get("Name") or "").lstrip("/"),
        image=(doc.get("Config") or {}).get("Image") or str(doc.get("Image") or ""),
        image_id=as_digest(doc.get("Image")),
        detail=detail,
    )


def parse_inspected(doc: Mapping[str, Any]) -> Container:
    """One element of `docker container inspect`, with what only inspect shows. Its
    Config.Env lacks the PATH docker gives the process when the image has none."""
    container = parse_container(doc, detail=True)
    if any(e.startswith("PATH=") for e in container.env):
        return container
    return container.model_copy(update={"env": [f"PATH={DEFAULT_PATH}", *container.env]})


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_info(
    version: Completed, info: Completed | None, *, path: str, endpoint: str
) -> EngineInfo:
    """`docker version` and `docker info` as JSON; Server is null when the daemon is down."""
    doc = (json_documents(version.stdout) or [{}])[0]
    client = doc.get("Client") or {}
    server = doc.get("Server") or {}
    base: dict[str, Any] = {
        "backend": "docker",
        "found": True,
        "path": path,
        "endpoint": endpoint,
        "client_version": text_or_none(client.get("Version")),
    }
    if not version.ok or not server:
        return EngineInfo(**base, reason=unreachable_reason(version.stderr, endpoint))
    idoc = (json_documents(info.stdout) or [{}])[0] if info is not None else {}
    security = idoc.get("SecurityOptions") or []
    return EngineInfo(
        **base,
        version=text_or_none(server.get("Version")),
        api_version=text_or_none(server.get("ApiVersion")),
        reachable=True,
        rootless=any("name=rootless" in str(s) for s in security) if idoc else None,
        storage_driver=text_or_none(idoc.get("Driver")),
        storage_root=text_or_none(idoc.get("DockerRootDir")),
    )
