"""The protocol every engine implements.

A backend turns engine calls into the core models. Arguments arrive already
validated (ocitool.references); a backend maps its engine's failures to
ocitool.errors in one place and never lets an engine's quirk leak upward.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ocitool.models import BackendName, Container, EngineInfo, Image, Layer
from ocitool.runner import Runner


@runtime_checkable
class Backend(Protocol):
    runner: Runner

    @property
    def name(self) -> BackendName: ...

    def images(self, *, all: bool = False) -> list[Image]:
        """Every local image, one entry per image ID; `all` adds hidden intermediates."""
        ...

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        """The named images, in argument order, in one engine call however many."""
        ...

    def history(self, ref: str) -> list[Layer]:
        """Every history step of one image, newest first, empty steps included."""
        ...

    def containers(self, *, all: bool = False) -> list[Container]:
        """Containers; running ones only unless `all`."""
        ...

    def info(self) -> EngineInfo:
        """Version, reachability and storage of the engine; never raises for an absent one."""
        ...
