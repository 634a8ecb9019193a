"""The protocol every engine implements.

A backend turns engine calls into the core models. Arguments arrive already
validated (ocitool.references); a backend maps its engine's failures to
ocitool.errors in one place and never lets an engine's quirk leak upward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, runtime_checkable

from ocitool.models import BackendName, Container, EngineInfo, Image, Layer, SearchResult
from ocitool.runner import Completed, Runner

if TYPE_CHECKING:
    from ocitool.backends.skopeo import Endpoint
    from ocitool.listing import ImageSummary
    from ocitool.structure import UsageInputs


@runtime_checkable
class Backend(Protocol):
    runner: Runner

    @property
    def name(self) -> BackendName: ...

    @property
    def keeps_untagged_parents(self) -> bool:
        """Whether an untagged parent stays (hidden) while a child needs it, as in docker."""
        ...

    def images(self, *, all: bool = False) -> list[Image]:
        """Every local image, one entry per image ID; `all` adds hidden intermediates."""
        ...

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """What `images` shows (IDs, names, created, size) from one list call, no inspect."""
        ...

    def store_usage(self) -> UsageInputs | None:
        """du's inputs read straight from the engine's own store, with the engine asked
        only what exists; None where that store is not local and readable here."""
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

    def canonical_name(self, ref: str) -> str:
        """A user's image name spelled as this backend's models spell names."""
        ...

    # -- writes ----------------------------------------------------------------

    def list_ids(self, *, all: bool = False) -> list[str]:
        """Image IDs only: the cheapest listing, for before/after comparisons."""
        ...

    def import_image(
        self, tarball: Path, ref: str, *, message: str | None, changes: Sequence[str]
    ) -> str:
        """A rootfs tarball as a one-layer image named `ref`; returns the image ID."""
        ...

    def commit(
        self,
        container: str,
        ref: str,
        *,
        author: str | None,
        message: str | None,
        changes: Sequence[str],
    ) -> str:
        """The container's changes as a new image named `ref`; returns the image ID."""
        ...

    def tag(self, source: str, target: str) -> None: ...

    def remove_images(self, refs: Sequence[str]) -> None:
        """A plain removal of each ref, which never removes a container."""
        ...

    def create(
        self,
        image: str,
        command: Sequence[str],
        *,
        name: str | None,
        interactive: bool,
        tty: bool,
        remove: bool,
        network: str | None,
        pull: str,
        env: Sequence[str],
        detach: bool = False,
    ) -> str:
        """A new container; returns its full ID."""
        ...

    def container_name(self, container: str) -> str | None: ...

    def start(self, containers: Sequence[str]) -> None: ...

    def start_attached(self, container: str, *, interactive: bool, terminal: bool) -> Completed:
        """Start and wait for the command; its exit code is the result's returncode."""
        ...

    def stop(self, containers: Sequence[str], *, timeout: int | None) -> None: ...

    def remove_containers(self, containers: Sequence[str], *, force: bool) -> None: ...

    # -- distribution ----------------------------------------------------------------

    def skopeo_endpoint(self, name: str, *, writing: bool) -> AbstractContextManager[Endpoint]:
        """How skopeo reads (or writes) `name` in this backend, locked as the store needs."""
        ...

    def save(self, names: Sequence[str], path: Path, archive_format: str) -> None:
        """The engine's own multi-image save (docker and podman)."""
        ...

    def load(self, path: Path) -> list[str]:
        """The engine's own load of every image in an archive; returns the names loaded."""
        ...

    def search_hub(self, term: str, limit: int) -> list[SearchResult]:
        """Docker Hub's search, through the engine where it has one."""
        ...

    # -- structure ------------------------------------------------------------------

    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int]:
        """ChainID -> the layer's size in the engine's accounting, in a constant number of
        engine calls where the engine's records can be read."""
        ...

    def read_layers(self, names: Sequence[str], on_layer: Callable[[IO[bytes]], None]) -> None:
        """Stream every distinct layer tar of these images to `on_layer`, uncompressed."""
        ...
