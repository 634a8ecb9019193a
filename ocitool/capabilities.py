"""What a backend may do beyond the core (ocitool.engine): small, named capabilities.

A backend declares the names it has in `capabilities`. A Capability carries its
name, its words for `ocitool backends` and for the error, and, where it is a set
of calls, the Protocol the backend then implements (tests/test_seam.py checks
both ways). The client asks for a capability in one
place (ocitool.engines.Engines.need), and a backend that lacks it gives one
NotSupported, worded the same on every backend, that names what would do it.
`ocitool backends` lists each backend's capabilities from the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from ocitool.errors import NotSupported

if TYPE_CHECKING:
    from ocitool.building import BuildRequest, OnBuildEvent
    from ocitool.engine import Exited, Output
    from ocitool.models import BuildResult, Image, SearchResult, StoreGarbage
    from ocitool.movers import Endpoint
    from ocitool.usage import StoreInventory


class HubSearch(Protocol):
    def search_hub(self, term: str, limit: int) -> list[SearchResult]:
        """Docker Hub's search (or the engine's registries.conf search list)."""
        ...


class NativeArchives(Protocol):
    save_formats: tuple[str, ...]
    """The archive formats the engine's own save writes with several images in one file."""

    def save(self, names: Sequence[str], path: Path, archive_format: str) -> None:
        """The engine's own save of several images into one archive, in one pass."""
        ...

    def loads(self, kind: str, images: int) -> bool:
        """Whether the engine's own load reads this archive (kind, and how many images)."""
        ...

    def load(self, path: Path) -> list[str]:
        """The engine's own load of every image in an archive; the names (or IDs) loaded."""
        ...


class StoreUsage(Protocol):
    def store_usage(self) -> StoreInventory | None:
        """du's inputs read from the engine's own store with the engine asked only what
        exists; None when that store is not local and readable here right now."""
        ...


class StoreGarbageCollection(Protocol):
    def store_garbage(self, *, collect: bool) -> StoreGarbage:
        """What the store holds that nothing reaches (blobs, container directories with
        no record), removed when `collect`; what an engine's own gc would leave."""
        ...


class LayerSizes(Protocol):
    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int] | None:
        """ChainID -> the layer's size in the engine's accounting, from its own records,
        in a constant number of engine calls; None where they cannot be read here."""
        ...


class LayerStreams(Protocol):
    def read_layers(self, names: Sequence[str], on_layer: Callable[[IO[bytes]], None]) -> None:
        """Every distinct layer tar of these images, uncompressed, handed to `on_layer`."""
        ...


class CopyEndpoint(Protocol):
    def copy_endpoint(self, name: str, *, writing: bool) -> AbstractContextManager[Endpoint]:
        """Where a mover reads (or writes) image `name` in this engine's store, held
        under whatever lock the store needs while the copy runs."""
        ...


class ContainerLogs(Protocol):
    def logs(
        self, container: str, *, follow: bool, tail: int | None, timestamps: bool, terminal: bool
    ) -> Output:
        """What the container printed (the last `tail` lines); `follow` waits for more
        until it exits. On the caller's terminal, or captured."""
        ...


class ContainerExec(Protocol):
    def exec(
        self,
        container: str,
        command: Sequence[str],
        *,
        interactive: bool,
        tty: bool,
        user: str | None,
        workdir: str | None,
        env: Sequence[str],
        terminal: bool,
    ) -> Exited:
        """Run a command in a running container and wait for it: Conflict when it is not
        running, CommandNotFound or CommandNotExecutable when runc cannot start it."""
        ...


class ContainerFiles(Protocol):
    def copy_from(self, container: str, path: str, destination: Path) -> None:
        """Copy `path` out of the container (running or not) to `destination`, as docker
        cp does: into it when it is a directory, else under that name."""
        ...

    def copy_to(self, source: Path, container: str, path: str) -> None:
        """Copy the host path `source` into the container at `path` (the same rules)."""
        ...

    def export(self, container: str, destination: Path) -> None:
        """The container's whole filesystem as a tar file at `destination`."""
        ...


class ContainerSignals(Protocol):
    def wait(self, containers: Sequence[str]) -> list[int]:
        """Wait for each container to exit; their exit codes."""
        ...

    def kill(self, containers: Sequence[str], *, signal: str) -> None:
        """Send `signal` (a name such as KILL, or a number) to each running container."""


class ImageIndexes(Protocol):
    def platform_images(self, refs: Sequence[str], platform: str | None) -> list[str]:
        """The ID of the image each ref names for `platform` (os/arch[/variant]; default
        this host's), read at once: an index's picked image, or the image itself."""
        ...


class ManifestLists(Protocol):
    def manifest_create(self, name: str, images: Sequence[str]) -> None:
        """A new manifest list `name` naming these local images."""
        ...

    def manifest_add(self, name: str, images: Sequence[str]) -> None:
        """These local images added to the list `name`."""
        ...

    def manifest_document(self, name: str) -> tuple[str, bytes]:
        """The list's ID (or digest) and its document, as the engine keeps it."""
        ...

    def manifest_push(self, name: str, destination: Endpoint, digestfile: Path) -> None:
        """The list and every image it names, to a registry; its digest in `digestfile`."""
        ...

    def manifest_remove(self, ids: Sequence[str]) -> None:
        """The lists with these IDs removed (the images they name stay)."""
        ...

    def manifest_lists(self) -> dict[str, str]:
        """Every local list: each of its names (NAME:TAG, as `images` spells names) and
        its ID (`sha256:`), read with one engine call."""
        ...


class ImageBuilding(Protocol):
    def build(self, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
        """Build the request's Dockerfile up to its target, reporting each step; the
        tags are applied only once the image is whole (nothing half-built keeps one).
        A failing RUN is BuildStepFailed (ocitool.errors) with its step, line and code."""
        ...


C = TypeVar("C")


class Capability(Generic[C]):
    """One thing a backend may or may not do; `C` is what the client may call on it."""

    def __init__(self, name: str, does: str, instead: str, protocol: type | None = None) -> None:
        self.name = name
        self.does = does  # what it lets a user do, after "cannot"
        self.instead = instead  # what else would do it, for the hint
        self.protocol = protocol

    def __repr__(self) -> str:
        return f"Capability({self.name!r})"


HUB_SEARCH: Capability[HubSearch] = Capability(
    "hub-search",
    "search Docker Hub",
    "search a registry instead: ocitool search TERM --registry HOST",
    HubSearch,
)
NATIVE_ARCHIVES: Capability[NativeArchives] = Capability(
    "native-archives",
    "put several images in one docker archive (the engine's own save and load)",
    "save them one per file, or use --format oci-archive",
    NativeArchives,
)
STORE_USAGE: Capability[StoreUsage] = Capability(
    "store-usage",
    "read its own store for du",
    "du lists and inspects the images instead",
    StoreUsage,
)
STORE_GARBAGE: Capability[StoreGarbageCollection] = Capability(
    "store-garbage",
    "collect unreferenced blobs and leftover container bundles (prune)",
    "the engine's own gc collects them",
    StoreGarbageCollection,
)
LAYER_SIZES: Capability[LayerSizes] = Capability(
    "layer-sizes",
    "read layer sizes from its own records",
    "sizes come from each image's history",
    LayerSizes,
)
LAYER_STREAMS: Capability[LayerStreams] = Capability(
    "layer-streams",
    "hand over its layers as tar streams (layers --files, diff --files)",
    "copy the image to a backend that can",
    LayerStreams,
)
COPY_ENDPOINT: Capability[CopyEndpoint] = Capability(
    "copy-endpoint",
    "be one end of a copy",
    "copy the image through a backend that can",
    CopyEndpoint,
)
DETACHED_TERMINAL: Capability[object] = Capability(
    "detached-terminal",
    "give a detached container a terminal (run -d -t)",
    "drop -t (the output is kept), or run it attached",
)
PULL_ON_RUN: Capability[object] = Capability(
    "pull-on-run",
    "pull an image when a container is run (--pull always)",
    "pull it first (ocitool pull), then run with --pull missing",
)
PUBLISHED_PORTS: Capability[object] = Capability(
    "published-ports",
    "publish a container's ports (run -p)",
    "use --network host, where the container's ports are the host's",
)
CONTAINER_LOGS: Capability[ContainerLogs] = Capability(
    "container-logs",
    "show a container's output (logs)",
    "run it attached, where its output is the terminal's",
    ContainerLogs,
)
CONTAINER_EXEC: Capability[ContainerExec] = Capability(
    "container-exec",
    "run a command in a running container (exec)",
    "commit it and run the command in a new container",
    ContainerExec,
)
CONTAINER_FILES: Capability[ContainerFiles] = Capability(
    "container-files",
    "copy files into and out of containers (cp, export)",
    "commit it and read the image's files (ocitool layers --files)",
    ContainerFiles,
)
CONTAINER_SIGNALS: Capability[ContainerSignals] = Capability(
    "container-signals",
    "wait for containers or signal them (wait, kill)",
    "use ocitool stop, and ps -a for the exit code",
    ContainerSignals,
)
MANIFEST_LISTS: Capability[ManifestLists] = Capability(
    "manifest-lists",
    "hold a manifest list of local images (ocitool manifest)",
    "use a backend that can ('ocitool backends' lists them), or copy --all an index"
    " between registries and OCI layouts",
    ManifestLists,
)
IMAGE_INDEXES: Capability[ImageIndexes] = Capability(
    "image-indexes",
    "hold an image index in its store (copy --all into it, inspect --platform NAME)",
    "copy one platform with --platform OS/ARCH, or copy --all to docker://, oci:PATH:TAG or"
    " oci-archive:",
    ImageIndexes,
)
IMAGE_BUILD: Capability[ImageBuilding] = Capability(
    "image-build",
    "build an image from a Dockerfile (build)",
    "build it on a backend that can, then copy it here (ocitool copy)",
    ImageBuilding,
)

ALL: tuple[Capability[Any], ...] = (
    HUB_SEARCH,
    NATIVE_ARCHIVES,
    STORE_USAGE,
    STORE_GARBAGE,
    LAYER_SIZES,
    LAYER_STREAMS,
    COPY_ENDPOINT,
    DETACHED_TERMINAL,
    PULL_ON_RUN,
    PUBLISHED_PORTS,
    CONTAINER_LOGS,
    CONTAINER_EXEC,
    CONTAINER_FILES,
    CONTAINER_SIGNALS,
    MANIFEST_LISTS,
    IMAGE_INDEXES,
    IMAGE_BUILD,
)


def lacking(backend: str, capability: Capability[C], *, can: Sequence[str] = ()) -> NotSupported:
    """The one wording for a capability a backend lacks: what it cannot do, what would
    do it instead, and which backends can (ocitool.engines knows them)."""
    who = f"; the {' and '.join(can)} backend{'s' if len(can) > 1 else ''} can" if can else ""
    return NotSupported(
        f"the {backend} backend cannot {capability.does}", hint=capability.instead + who
    )
