"""The normalized models every backend returns.

One schema for every engine: IDs are always `sha256:` plus 64 hex, sizes are
integer bytes, times are timezone-aware UTC. A field is None only where the
engine really cannot know the value in the call that produced the model; the
docs/models.md lists the fields whose values differ between engines and why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

if TYPE_CHECKING:
    from ocitool.usage import Lineage

BackendName = Literal["docker", "podman", "oci"]
ImageSource = Literal["registry", "layout", "docker-archive", "oci-archive"]
"""Where `inspect LOCATION` read an image that no engine holds."""

Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
"""A sha256 content digest in canonical form."""


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


UTCDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""Serialized as RFC 3339 with a `Z` suffix."""


class Model(BaseModel):
    # defer_build: a model's validators are built on first use, not at import (start-up).
    # serialization defaults required: every field is printed, so the schema requires it.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        defer_build=True,
        json_schema_serialization_defaults_required=True,
    )


class ImageConfig(Model):
    """The runtime defaults an image carries (the OCI image config's `config`)."""

    cmd: list[str] | None = Field(None, description="Default arguments; None when unset.")
    entrypoint: list[str] | None = Field(None, description="Entrypoint; None when unset.")
    env: list[str] = Field(default_factory=list, description="KEY=value pairs, in image order.")
    labels: dict[str, str] = Field(default_factory=dict)
    working_dir: str = ""
    user: str = ""


class Layer(Model):
    """One step of an image's history, and the filesystem layer it added if any.

    `empty` steps (ENV, CMD, a config-only commit) add no layer and have no
    diff_id. In `Image.layers` only real layers appear, bottom first.
    """

    diff_id: Digest | None = Field(
        None, description="sha256 of the uncompressed layer tar; None for empty steps."
    )
    digest: Digest | None = Field(
        None, description="Compressed blob digest, where the store keeps one."
    )
    size: int | None = Field(
        None,
        ge=0,
        description="Bytes the engine accounts for this layer (see `accounting`); None where "
        "the engine's records of it cannot be read here (docker's root-only store).",
    )
    created: UTCDateTime | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    empty: bool | None = Field(
        False,
        description="A step that added no layer (ENV, CMD ...); None where the engine cannot "
        "tell (docker, for 0-byte steps of images whose intermediate images are gone).",
    )
    image_id: Digest | None = Field(
        None, description="The local image this step produced, where the engine still knows it."
    )
    accounting: str | None = Field(
        None,
        description="What `size` counts, in the engine's words (as du's `accounting`); on "
        "history steps. In an Image's `layers` it is None: the Image's `accounting` says it.",
    )


class Image(Model):
    """A local image, the same shape on every backend."""

    id: Digest = Field(description="Image ID: the sha256 of the image config.")
    names: list[str] = Field(
        default_factory=list, description="Repository tags; empty for an untagged image."
    )
    repo_digests: list[str] = Field(default_factory=list)
    created: UTCDateTime | None = None
    author: str | None = None
    comment: str | None = None
    size: int = Field(ge=0, description="Bytes, as the engine accounts them (see docs/models.md).")
    architecture: str | None = None
    os: str | None = None
    config: ImageConfig = Field(default_factory=ImageConfig)
    layers: list[Layer] = Field(
        default_factory=list, description="Filesystem layers, bottom first."
    )
    parent: Digest | None = Field(None, description="The parent image, where the engine knows it.")
    backend: BackendName | ImageSource = Field(
        description="The engine holding it, or where `inspect LOCATION` read it."
    )
    accounting: str | None = Field(
        None,
        description="What `size` and each layer's `size` count, in the engine's words (as "
        "du's `accounting`): docker file contents, podman the layer tar, oci the gzip blob.",
    )
    platforms: list[Platform] | None = Field(
        None,
        description="For an image index a store holds (oci, podman's manifest lists): its "
        "images, one per platform. In the oci store `id` is the index digest and `layers` "
        "those of all its images, each once; a podman list holds no layer, its `id` is "
        "podman's, its digest in `repo_digests`.",
    )
    media_type: str | None = Field(
        None, description="For an image index: its media type (OCI index or manifest list)."
    )

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]

    @property
    def diff_ids(self) -> list[str]:
        return [layer.diff_id for layer in self.layers if layer.diff_id]

    @property
    def lineage(self) -> Lineage:
        """The steps that made its layers, bottom first (ocitool.usage.Lineage)."""
        return tuple(
            (layer.created, layer.created_by, layer.comment)
            for layer in self.layers
            if layer.diff_id
        )


class Mount(Model):
    """A host path bound into a container (`run -v HOST:CONTAINER[:ro]`)."""

    source: str = Field(description="The host path.")
    destination: str = Field(description="Where it appears in the container.")
    read_only: bool = False


ContainerState = Literal[
    "created", "running", "paused", "restarting", "removing", "exited", "dead", "unknown"
]


class Container(Model):
    """A container, as far as image management cares about it."""

    id: str = Field(pattern=r"^[0-9a-f]{64}$", description="Full container ID (not a digest).")
    name: str
    image: str = Field(description="The image as the container was created from it.")
    image_id: Digest | None = Field(None, description="None if the image is gone.")
    state: ContainerState
    created: UTCDateTime | None = None
    command: list[str] = Field(
        default_factory=list, description="What it runs: the entrypoint, then the arguments."
    )
    exit_code: int | None = Field(None, description="How it last ended; None until it has.")
    started: UTCDateTime | None = Field(None, description="When it last started.")
    finished: UTCDateTime | None = Field(None, description="When it last ended.")
    # The rest is what `container inspect` shows; `ps` leaves it empty on every engine.
    user: str | None = Field(None, description="USER[:GROUP] it runs as; '' is the image's.")
    workdir: str | None = Field(None, description="The working directory; '' is the image's.")
    hostname: str | None = None
    env: list[str] = Field(default_factory=list, description="KEY=value, as the process has it.")
    mounts: list[Mount] = Field(default_factory=list, description="Bind mounts (-v).")

    @property
    def short_id(self) -> str:
        return self.id[:12]


class EngineInfo(Model):
    """What `ocitool backends` and `Client.info()` report about one engine."""

    backend: BackendName
    found: bool = Field(description="The engine's executable is on PATH.")
    path: str | None = None
    version: str | None = Field(None, description="Engine (server) version.")
    client_version: str | None = None
    api_version: str | None = None
    reachable: bool = False
    rootless: bool | None = None
    storage_driver: str | None = None
    storage_root: str | None = None
    endpoint: str | None = Field(None, description="Where the engine is reached (DOCKER_HOST ...).")
    remote: bool | None = Field(
        None,
        description="Reached over a connection (tcp://, ssh://, a podman service): its store's "
        "files are not read here.",
    )
    connection: str | None = Field(
        None, description="The docker context or podman connection it is reached through."
    )
    reason: str | None = Field(None, description="Why the engine cannot be used, if it cannot.")
    selected: bool = Field(
        False, description="The backend ocitool uses here when none is named (--backend)."
    )
    capabilities: list[str] = Field(
        default_factory=list,
        description="What the backend can do beyond the core (docs/configuration.md).",
    )


class Blocker(Model):
    """Why one image cannot be removed as asked, and what would unblock it."""

    image: str = Field(description="The reference as the user gave it.")
    image_id: Digest
    reason: Literal["in-use", "running", "has-children", "several-tags"]
    message: str
    containers: list[Container] = Field(default_factory=list)
    children: list[Digest] = Field(default_factory=list)


class RemoveResult(Model):
    """What `rmi` did (or, with dry_run, would do), observed rather than parsed.

    Engines word this differently (docker lists layer chain IDs as "Deleted",
    podman prints only "Untagged" while it drops a parent's record), so the
    result compares the image store before and after.
    """

    untagged: list[str] = Field(default_factory=list, description="Names that no longer exist.")
    deleted: list[Digest] = Field(
        default_factory=list, description="Image IDs the engine no longer has."
    )
    deleted_layers: list[Digest] = Field(
        default_factory=list, description="Diff IDs that no remaining image uses: space freed."
    )
    removed_containers: list[str] = Field(
        default_factory=list, description="Containers removed because the user asked for it."
    )
    blocked: list[Blocker] = Field(default_factory=list)
    dry_run: bool = False


class RunResult(Model):
    """A container that `run` created, and how its command ended."""

    id: str = Field(pattern=r"^[0-9a-f]{64}$")
    name: str | None = None
    exit_code: int | None = Field(None, description="None while it runs detached.")
    removed: bool = Field(False, description="Removed on exit (--rm).")
    stdout: str | None = Field(None, description="Captured output (API runs only).")
    stderr: str | None = None


class TransferResult(Model):
    """One image moved by push, pull, save, load or copy: where, how, and what it is now."""

    source: str
    destination: str
    path: str = Field(description="What moved it, e.g. `skopeo copy` or `docker load`.")
    names: list[str] = Field(default_factory=list, description="Its names at the destination.")
    image_id: Digest | None = Field(
        None, description="The image ID at the destination, where an engine or store holds it."
    )
    source_id: Digest | None = Field(None, description="The image ID it had at the source.")
    id_changed: bool | None = Field(
        None,
        description="True when the destination's format gave it a new config, so a new ID "
        "(docker format to OCI); None where the two cannot be compared.",
    )
    digest: Digest | None = Field(
        None,
        description="The manifest digest: for push and pull the one the registry serves, "
        "else the one written; where known.",
    )


class SearchResult(Model):
    """A repository a search found."""

    name: str
    registry: str
    description: str = ""
    stars: int | None = Field(
        None, description="Docker Hub's star count; null where the registry keeps none (v2)."
    )
    official: bool | None = Field(
        None, description="A Docker Hub official image; null where the registry cannot say (v2)."
    )
    tags: list[str] | None = Field(None, description="Its tags, with --tags.")


class LayerUsage(Model):
    """One history step of an image, and the other local images that share its layer."""

    step: Layer
    shared_with: list[str] = Field(
        default_factory=list, description="Other local images using this layer (name or ID)."
    )


class ImageUsage(Model):
    """What an image costs, in the engine's own accounting of layer sizes."""

    id: Digest
    names: list[str] = Field(default_factory=list)
    size: int = Field(ge=0, description="All its layers.")
    shared: int = Field(ge=0, description="Its layers that other images use too.")
    unique: int = Field(ge=0, description="Its layers no other image uses: what removing it frees.")
    added: int = Field(ge=0, description="The layers it adds over its parent: what it cost.")
    layers: int = Field(ge=0)
    containers: int = Field(0, ge=0, description="Containers created from it.")


class UsageReport(Model):
    images: list[ImageUsage]
    total: int = Field(description="Every distinct layer once: the space the images take.")
    shared: int = Field(description="Layers used by more than one image.")
    unique: int = Field(description="Layers used by exactly one image.")
    accounting: str = Field(description="What the engine counts as a layer's size.")


class TreeNode(Model):
    """An image in the family tree: its children share all its layers and add some."""

    id: Digest
    names: list[str] = Field(default_factory=list)
    layers: int
    added_layers: int = Field(description="Layers over the parent shown above it.")
    children: list[TreeNode] = Field(default_factory=list)


class FileChange(Model):
    path: str = Field(description="From the image's root, with a leading `/`.")
    change: Literal["added", "changed", "removed"]
    size: int = Field(ge=0, description="Bytes of this version (of the removed one, if removed).")
    kind: str = "file"


class LayerFiles(Model):
    """What one layer does to the filesystem."""

    index: int = Field(description="0 is the bottom layer.")
    diff_id: Digest | None = None
    created_by: str | None = None
    size: int = Field(ge=0, description="Bytes of the files it holds.")
    added: int = 0
    changed: int = 0
    removed: int = 0
    wasted_by_later: int = Field(
        0, description="Its bytes that later layers overwrite or remove: stored, never seen."
    )
    files: list[FileChange] = Field(default_factory=list)
    files_truncated: bool = Field(False, description="More changes than listed (counts exact).")
    entries_truncated: bool = Field(False, description="More entries than ocitool keeps.")


class FileAnalysis(Model):
    image: str = ""
    image_id: Digest | None = None
    layers: list[LayerFiles] = Field(default_factory=list)
    total_bytes: int = Field(0, description="Every version of every file, summed.")
    wasted_bytes: int = Field(0, description="Versions a later layer overwrites or removes.")
    efficiency: float = Field(1.0, description="dive's score: smallest size per path / all sizes.")
    unsafe_paths: list[str] = Field(
        default_factory=list, description="Tar entries that tried to leave the root; skipped."
    )
    truncated: bool = Field(
        False,
        description="A layer had more entries than ocitool keeps (OCITOOL_LAYER_ENTRIES): "
        "the figures are partial, and --ci fails.",
    )


class ConfigChange(Model):
    """One field of the image config that differs from image a to image b."""

    field: str
    a: object = Field(None, description="The field's value in a, any JSON value; null: unset.")
    b: object = Field(None, description="The field's value in b, any JSON value; null: unset.")


class ImageDiff(Model):
    """From image a to image b: layers, config, and (with files) the filesystem."""

    a: str
    b: str
    common_layers: list[Digest] = Field(default_factory=list)
    only_a: list[Digest] = Field(default_factory=list)
    only_b: list[Digest] = Field(default_factory=list)
    config: list[ConfigChange] = Field(default_factory=list)
    files: list[FileChange] | None = Field(
        None, description="With --files: a's paths to b's, directories included."
    )
    files_truncated: bool = Field(
        False,
        description="A layer had more entries than ocitool keeps (OCITOOL_LAYER_ENTRIES): "
        "the file changes are partial.",
    )


class Platform(Model):
    """One image of an index (manifest list or OCI image index), as `inspect` lists it."""

    os: str
    architecture: str
    variant: str | None = None
    digest: Digest = Field(description="The platform's manifest digest.")
    size: int = Field(ge=0, description="The platform's manifest size in bytes.")
    media_type: str


class LocatedImage(Model):
    """An image read where it lives (a registry, an OCI layout, an archive), nothing pulled.

    `digest` and `media_type` are those of what the location names: an index when
    it is one, whose `platforms` are listed; `image` is then the platform picked
    (--platform, else this host's), or None where the index has no such platform.
    """

    location: str
    digest: Digest = Field(description="sha256 of the manifest bytes the location serves.")
    media_type: str
    platforms: list[Platform] = Field(
        default_factory=list, description="An index's images; empty for a single image."
    )
    platform_digest: Digest | None = Field(
        None, description="In an index: the manifest digest of the platform `image` is."
    )
    image: Image | None = Field(
        None, description="The image, as a local inspect shows one (backend: where it was read)."
    )


class TransferEvent(Model):
    """One line of `--progress json` on stderr: a copy's step, with its bytes so far.

    `start` opens each image's copy; `read` and `written` count the bytes read into the
    mover or the engine (an engine's own load) and written by an engine's own save;
    `blob` and `config` follow one blob, `manifest` ends the copy (docs/progress.md).
    """

    event: Literal["start", "read", "written", "blob", "config", "manifest"]
    time: UTCDateTime
    source: str | None = Field(None, description="On start: where the image comes from.")
    destination: str | None = Field(None, description="On start: where it goes.")
    id: str | None = Field(
        None, description="blob, config: the start of the blob's digest (hex), as skopeo shows it."
    )
    status: Literal["waiting", "copying", "done", "skipped"] | None = Field(
        None, description="blob, config: skipped means the destination has it already."
    )
    bytes: int | None = Field(None, ge=0, description="Bytes of this blob (or read, written).")
    size: int | None = Field(
        None, ge=0, description="Bytes it has in all (an estimate on start); null: unknown."
    )
    total_bytes: int | None = Field(
        None, ge=0, description="blob, config, manifest: the bytes of every blob so far."
    )
    total_size: int | None = Field(
        None, ge=0, description="The sizes of the blobs known so far, skipped ones aside."
    )


class KeptImage(Model):
    """An image a prune rule chose but that stays, and why."""

    image: str = Field(description="Its name, or its short ID when untagged.")
    image_id: Digest
    reason: Literal["in-use", "running", "parent"] = Field(
        description="in-use: a container uses it (--containers would remove a stopped one); "
        "running: a running container uses it; parent: an image that stays is built on it."
    )
    containers: list[str] = Field(default_factory=list, description="The containers using it.")
    children: list[Digest] = Field(default_factory=list, description="The kept images on it.")
    message: str


class StoreGarbage(Model):
    """What the oci store held that nothing reaches: collected by prune."""

    blobs: int = Field(0, description="Blobs no index entry reaches.")
    blob_bytes: int = 0
    bundles: list[str] = Field(
        default_factory=list, description="Container directories left with no record."
    )
    bundle_bytes: int = 0


class PruneResult(Model):
    """What `prune` removed (or, with dry_run, would remove), and the space it freed.

    `reclaimed` is in du's accounting: the bytes of the layers no remaining image
    uses. The real run also reports `observed`, du's total before minus after.
    """

    untagged: list[str] = Field(default_factory=list)
    deleted: list[Digest] = Field(default_factory=list)
    deleted_layers: list[Digest] = Field(default_factory=list)
    removed_containers: list[str] = Field(default_factory=list)
    kept: list[KeptImage] = Field(default_factory=list)
    reclaimed: int = Field(0, ge=0, description="Predicted bytes freed, in du's accounting.")
    observed: int | None = Field(
        None, description="du's total before minus after; None for a dry run."
    )
    accounting: str = Field(description="What the engine counts as a layer's size.")
    store: StoreGarbage | None = Field(
        None, description="The oci store's unreferenced blobs and leftover bundles."
    )
    dry_run: bool = False


class BuildStep(Model):
    """One Dockerfile instruction a build ran, and what it made."""

    step: int = Field(ge=1, description="Its number among the steps built, from 1.")
    stage: str = Field(description="Its stage: the `AS` name, else the stage's index.")
    line: int = Field(ge=1, description="The Dockerfile line the instruction starts on.")
    instruction: str = Field(description="The instruction as written, e.g. `RUN make`.")
    cached: bool = Field(False, description="Taken from the build cache, not run again.")
    layer: bool = Field(description="It added a filesystem layer (RUN, COPY, ADD).")
    image_id: Digest | None = Field(
        None, description="The image after this step, where the builder names one."
    )


class BuildResult(Model):
    """An image `build` made: its ID, the names it got, and each step on the way."""

    image_id: Digest
    names: list[str] = Field(default_factory=list, description="The `-t` names it now has.")
    steps: list[BuildStep] = Field(default_factory=list)
    layers: int = Field(ge=0, description="Filesystem layers of the image built.")
    backend: BackendName


class BuildEventLine(Model):
    """One line of `build --progress json` on stderr: a step starting, a line its command
    printed, or a step done (docs/build.md)."""

    event: Literal["step", "output", "done"]
    time: UTCDateTime
    step: int = Field(ge=0, description="The step, numbered as BuildStep.step; 0: the build.")
    steps: int = Field(ge=0, description="How many steps the build has up to its target.")
    text: str = Field(
        description="step: the instruction; output: the line; done: the image ID where known."
    )
    cached: bool = Field(description="done: the step was taken from the build cache.")
