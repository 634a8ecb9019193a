"""What du is computed from: the images' layer stacks, layer sizes and holders.

Plain values, no pydantic: an engine's store reader (capability store-usage)
builds them straight from the engine's files, and ocitool.structure computes
the report from them however they were read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ocitool.models import Container

Lineage = tuple[tuple[datetime | None, str | None, str | None], ...]
"""(created, created_by, comment) of each layer-making history step, bottom first; all
None where the engine's history was not read: it tells images with the same layers apart
(podman dates every import of one file by the file's mtime: the comment differs)."""


class Stacked(Protocol):
    """What the layer accounting needs of an image; Image has it, and so has ImageStack."""

    @property
    def id(self) -> str: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def diff_ids(self) -> list[str]: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def created(self) -> datetime | None: ...
    @property
    def lineage(self) -> Lineage: ...


class ImageStack(NamedTuple):
    """An image as `du` needs it, read from an engine's store without building the
    full model (200 pydantic Images cost more than reading their configs)."""

    id: str
    names: list[str]
    diff_ids: list[str]
    parent: str | None
    created: datetime | None
    lineage: Lineage = ()


class StoreInventory(NamedTuple):
    """What `du` is computed from, however the backend read it: the images, the size
    of each layer in the engine's accounting, and the containers holding each image."""

    images: Sequence[Stacked]
    sizes: dict[str, int]  # ChainID -> bytes, in the engine's accounting
    held: dict[str, int]  # image ID -> containers created from it


def held_by(containers: Iterable[Container]) -> dict[str, int]:
    """image ID -> how many of these containers were created from it."""
    held: dict[str, int] = {}
    for container in containers:
        if container.image_id:
            held[container.image_id] = held.get(container.image_id, 0) + 1
    return held
