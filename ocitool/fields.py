"""docker's names for the values `images`, `ps` and `inspect` print, for --format.

docker users script `{{.ID}} {{.Repository}}:{{.Tag}}` and `{{.Names}} {{.Status}}`;
these give the same names the same values on every backend, printed as docker
prints them (12-hex IDs, `1.98MB`, `2026-11-28 17:53:38 +0000 UTC`, `5 minutes
ago`). ocitool's own JSON names stay available beside them (ocitool.templates.Row).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocitool.models import Container, Image

NONE = "<none>"
IMAGE_FIELDS = (
    "Containers",
    "CreatedAt",
    "CreatedSince",
    "Digest",
    "ID",
    "Repository",
    "SharedSize",
    "Size",
    "Tag",
    "UniqueSize",
    "VirtualSize",
)
CONTAINER_FIELDS = ("Command", "CreatedAt", "ID", "Image", "Names", "RunningFor", "State", "Status")
INSPECT_FIELDS = (
    "Architecture",
    "Author",
    "Comment",
    "Config",
    "Created",
    "Id",
    "Os",
    "Parent",
    "RepoDigests",
    "RepoTags",
    "Size",
)
HEADERS = {
    "ID": "IMAGE ID",
    "CreatedSince": "CREATED",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "SharedSize": "SHARED SIZE",
    "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}
CONTAINER_HEADERS = {**HEADERS, "ID": "CONTAINER ID"}


def image_row(image: Image, name: str | None, *, no_trunc: bool = False) -> dict[str, Any]:
    """One `docker images` row: an image under one of its names (or none)."""
    from ocitool.render import human_size, split_name

    repo, tag = split_name(name) if name else (NONE, NONE)
    if not name and image.repo_digests:
        repo = image.repo_digests[0].split("@")[0]
    digests = [d.split("@", 1)[1] for d in image.repo_digests if d.split("@")[0] == repo]
    return {
        "Containers": "N/A",
        "CreatedAt": created_at(image.created),
        "CreatedSince": ago(image.created),
        "Digest": digests[0] if digests else NONE,
        "ID": image.id if no_trunc else image.short_id,
        "Repository": repo,
        "SharedSize": "N/A",
        "Size": human_size(image.size),
        "Tag": tag,
        "UniqueSize": "N/A",
        "VirtualSize": _size4(image.size),
    }


def container_row(container: Container, *, no_trunc: bool = False) -> dict[str, Any]:
    """One `docker ps` row, from what the model holds."""
    from ocitool.render import status

    command = " ".join(container.command)
    return {
        "Command": f'"{command}"' if command else "",
        "CreatedAt": created_at(container.created),
        "ID": container.id if no_trunc else container.short_id,
        "Image": container.image,
        "Names": container.name,
        "RunningFor": ago(container.created),
        "State": container.state,
        "Status": status(container),
    }


def inspect_doc(image: Image) -> dict[str, Any]:
    """The names `docker image inspect --format` users reach for."""
    config = image.config
    return {
        "Architecture": image.architecture or "",
        "Author": image.author or "",
        "Comment": image.comment or "",
        "Config": {
            "Cmd": config.cmd,
            "Entrypoint": config.entrypoint,
            "Env": config.env,
            "Labels": config.labels,
            "User": config.user,
            "WorkingDir": config.working_dir,
        },
        "Created": image.created.isoformat().replace("+00:00", "Z") if image.created else "",
        "Id": image.id,
        "Os": image.os or "",
        "Parent": image.parent or "",
        "RepoDigests": image.repo_digests,
        "RepoTags": image.names,
        "Size": image.size,
    }


def created_at(moment: datetime | None) -> str:
    """Go's time.String() of the local time, at docker's one-second resolution."""
    if moment is None:
        return ""
    local = moment.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S %z ") + (local.tzname() or "UTC")


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    """docker's HumanDuration, then ` ago` (ocitool.render.since); empty when unknown."""
    from ocitool.render import since

    return since(moment, now, unknown="")


def _size4(size: int) -> str:
    """go-units' HumanSize: four significant digits (docker's VirtualSize)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000:
            return f"{value:.4g}{unit}"
        value /= 1000
    return f"{value:.4g}PB"
