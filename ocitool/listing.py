"""What `ocitool images` shows, read from the engine's one list call.

A summary needs no inspect, so the table and `-q` cost one quick engine call.
It is a NamedTuple, not a pydantic model or a dataclass, so the `images` table
can build it without loading pydantic; `Client.images()` gives the full models.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar


class ImageSummary(NamedTuple):
    """One image ID with its names; `size` is in bytes, to four significant digits
    on docker (its list call prints sizes rounded; `inspect` gives them exactly)."""

    id: str
    names: list[str]
    repo_digests: list[str]
    created: datetime | None
    size: int | None


class Dated(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def created(self) -> datetime | None: ...


T = TypeVar("T", bound=Dated)


def newest_first(items: Iterable[T]) -> list[T]:
    """Newest first, as the engines list; undated last, ties by ID, so every backend agrees."""
    return sorted(items, key=lambda i: (i.created is not None, i.created, i.id), reverse=True)
