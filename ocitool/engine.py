"""The core every engine implements: images, containers and the chapter's writes.

A backend turns engine calls into the core models and nothing else crosses
this seam: arguments arrive validated (ocitool.references), results are models
(ocitool.models) or the plain values beside them here, and each backend maps
its engine's failures to ocitool.errors in one place (its failures.py). What
only some engines can do is a capability (ocitool.capabilities), declared in
`capabilities` and asked for through ocitool.engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from ocitool.listing import ImageSummary
    from ocitool.models import BackendName, Container, EngineInfo, Image, Layer


class Exited(NamedTuple):
    """How an attached container's command ended; output only where it was captured."""

    exit_code: int
    stdout: str | None = None
    stderr: str | None = None


class Output(NamedTuple):
    """What a container printed, where it was captured (None: it went to the terminal)."""

    stdout: str | None = None
    stderr: str | None = None


class Bind(NamedTuple):
    """`-v HOST:CONTAINER[:ro]`: a host path (absolute, checked to exist) bound in."""

    source: str
    destination: str
    read_only: bool = False


class RunOptions(NamedTuple):
    """What `run` (and `create`) set beyond the image, command, name and network."""

    binds: tuple[Bind, ...] = ()
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None  # '' clears the image's entrypoint, as docker's does
    hostname: str | None = None
    publish: tuple[str, ...] = ()  # `-p` specs; only where the ports capability is


NO_OPTIONS = RunOptions()


class Engine(Protocol):
    @property
    def name(self) -> BackendName: ...

    @property
    def capabilities(self) -> frozenset[str]:
        """The names (ocitool.capabilities) of what this backend can do beyond the core."""
        ...

    @property
    def keeps_untagged_parents(self) -> bool:
        """Whether an untagged parent stays (hidden) while a child needs it, as in docker."""
        ...

    @property
    def size_accounting(self) -> str:
        """What this engine counts as a layer's size, in words, for du's report."""
        ...

    # -- reads ---------------------------------------------------------------------

    def info(self) -> EngineInfo:
        """Version, reachability and storage of the engine; never raises for an absent one."""
        ...

    def images(self, *, all: bool = False) -> list[Image]:
        """Every local image, one entry per image ID; `all` adds hidden intermediates."""
        ...

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """What `images` shows (IDs, names, created, size) from one list call, no inspect."""
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

    def canonical_name(self, ref: str) -> str:
        """A user's image name spelled as this backend's models spell names."""
        ...

    # -- image writes -----------------------------------------------------------------

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

    def tag(self, source: str, target: str) -> None:
        """Give the image `source` the name `target`."""
        ...

    def remove_images(self, refs: Sequence[str]) -> None:
        """A plain removal of each ref, which never removes a container."""
        ...

    # -- containers ---------------------------------------------------------------------

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
        options: RunOptions = NO_OPTIONS,
    ) -> str:
        """A new container; returns its full ID."""
        ...

    def inspect_containers(self, containers: Sequence[str]) -> list[Container]:
        """The named containers in detail (user, workdir, env, mounts), in argument order."""
        ...

    def container_name(self, container: str) -> str | None:
        """The name the engine gave a container (for `run` without --name)."""
        ...

    def start(self, containers: Sequence[str]) -> None:
        """Start each container in the background."""
        ...

    def start_attached(self, container: str, *, interactive: bool, terminal: bool) -> Exited:
        """Start and wait for the command: on the caller's terminal, or captured."""
        ...

    def stop(self, containers: Sequence[str], *, timeout: int | None) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds (the engine's default if None)."""
        ...

    def remove_containers(self, containers: Sequence[str], *, force: bool) -> None:
        """Remove exactly these containers; `force` stops running ones first."""
        ...
