"""The docker backend: drives the docker CLI against DOCKER_HOST.

Quirks handled here (ENGINES.md): `image ls` lists one row per tag and its
JSON is NDJSON of strings, so images are listed by ID and read with one
batched `image inspect`; `history` has no layer IDs or empty-layer flags, so
it is joined with inspect (see `join_history`); `ps` has no image ID, so
containers are read with one batched `container inspect`; and the 20.10 and
28.x clients word "not found" differently.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, NoReturn

from backends._cli import EngineCLI, container_conflict, hub_error
from backends._common import (
    as_digest,
    batches,
    image_from_inspect,
    json_documents,
    parse_int,
    parse_time,
    storage_root,
    tag_destination,
    text_or_none,
    unique,
    with_tag,
)
from backends._docker_host import docker_endpoint
from backends._docker_store import read_store
from backends._history import Step, join_steps
from backends.skopeo import Endpoint
from ocitool.errors import (
    BackendUnavailable,
    Conflict,
    ContainerNotFound,
    EngineError,
    ImageInUse,
    ImageNotFound,
    OcitoolError,
)
from ocitool.layers import chain_ids
from ocitool.models import Container, EngineInfo, Image, Layer, SearchResult
from ocitool.runner import Completed, Runner
from ocitool.structure import UsageInputs

log = logging.getLogger("ocitool.docker")

_NO_SUCH_IMAGE = re.compile(r"No such image: (\S+)", re.IGNORECASE)
_IN_USE = re.compile(
    r'unable to (?:remove repository reference|delete) "?([^" ]+)"? \(must force\) - '
    r"container (\w+) is using"
)
_NAME_IN_USE = re.compile(r'container name "/?([^"]+)" is already in use')
_RUNNING = re.compile(r"You cannot remove a running container (\w+)")
_NO_SUCH_CONTAINER = re.compile(r"No such container: (\S+)", re.IGNORECASE)
_CANNOT_CONNECT = re.compile(r"Cannot connect to the Docker daemon at (\S+?)\.? Is the")
_PERMISSION = "permission denied while trying to connect to the Docker daemon"


class DockerBackend(EngineCLI):
    name: Final = "docker"
    keeps_untagged_parents: Final = True  # a parent stays, hidden, while a child needs it

    def __init__(self, runner: Runner, *, executable: str = "docker", host: str | None = None):
        super().__init__(runner, executable)
        self.host = host  # from ocitool's config; DOCKER_HOST otherwise
        self._storage: tuple[str, str] | None = None  # (DockerRootDir, driver), once seen

    # -- reads ---------------------------------------------------------------

    def images(self, *, all: bool = False) -> list[Image]:
        return self._inspect(self.list_ids(all=all), tolerate_missing=True)

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        return self._inspect(list(refs), tolerate_missing=False)

    def history(self, ref: str) -> list[Layer]:
        argv = ["history", "--no-trunc", "--human=false", "--format", "{{json .}}", "--", ref]
        rows = json_documents(self.ok(self.run(argv), images=[ref]).stdout)
        # One inspect for the image and every ancestor docker still knows, which
        # pins down where each layer sits in the history (join_history).
        ancestors = [i for i in unique(as_digest(r.get("ID")) or "" for r in rows) if i]
        images = self._inspect([ref, *ancestors], tolerate_missing=True)
        return join_history(rows, images[0], images[1:])

    def containers(self, *, all: bool = False) -> list[Container]:
        argv = ["container", "ls", "--quiet", "--no-trunc", *(["--all"] if all else [])]
        ids = unique(self.ok(self.run(argv)).stdout.split())
        docs: list[dict[str, Any]] = []
        for batch in batches(ids):
            result = self.run(["container", "inspect", "--", *batch])
            if not result.ok and not _NO_SUCH_CONTAINER.search(result.stderr):
                self.raise_for(result)
            docs.extend(json_documents(result.stdout))  # a container may go meanwhile
        return [parse_container(d) for d in docs]

    def info(self) -> EngineInfo:
        path = shutil.which(self.executable)
        endpoint = self.endpoint
        if path is None:
            return EngineInfo(
                backend="docker",
                found=False,
                endpoint=endpoint,
                reason=f"executable {self.executable!r} not found on PATH",
            )
        try:
            version = self.run(["version", "--format", "{{json .}}"], timeout=self.probe_timeout)
            info = None
            if version.ok:
                info = self.run(["info", "--format", "{{json .}}"], timeout=self.probe_timeout)
        except OcitoolError as exc:
            return EngineInfo(
                backend="docker", found=True, path=path, endpoint=endpoint, reason=exc.message
            )
        return parse_info(
            version, info if info is not None and info.ok else None, path=path, endpoint=endpoint
        )

    def canonical_name(self, ref: str) -> str:
        """A name as the models spell it: docker drops `docker.io/library/`, adds `:latest`."""
        name = (
            ref.removeprefix("docker.io/").removeprefix("library/")
            if (ref.startswith("docker.io/"))
            else ref
        )
        return with_tag(name)

    def store_usage(self) -> UsageInputs | None:
        """One `docker info` (where the root is, how many images and containers), then
        the daemon's own files (backends._docker_store) instead of a list and an
        inspect of every image and container.

        Once the root is known, the files are read while `docker info` runs, and its
        answer then checks them: the same root, and the same numbers of images and
        containers; otherwise they are read again where it says.
        """
        known = self._storage
        argv = [self.executable, "info", "--format", "{{json .}}"]
        (info,), early = self.runner.run_while(
            [argv], lambda: read_store(*known) if known else None, env=self.engine_env()
        )
        self.ok(info)
        doc = next(iter(json_documents(info.stdout)), {})
        root, driver = doc.get("DockerRootDir"), doc.get("Driver")
        if not (isinstance(root, str) and isinstance(driver, str) and root and driver):
            return None
        self._storage = (root, driver)
        counts = (parse_int(doc.get("Images")), parse_int(doc.get("Containers")))
        store = early if known == (root, driver) and early else read_store(root, driver)
        return store.usage(*counts) if store and None not in counts else None

    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int]:
        """ChainID -> docker's layer size (file bytes), from the daemon's layer store.

        docker keeps each layer's size in `<DockerRootDir>/image/<driver>/layerdb/
        sha256/<chainID>/size`, found from the paths inspect already printed; reading
        them costs no engine call, where a `docker history` per image would. Where
        they cannot be read (a remote daemon, or not root) the histories are read.
        """
        where = self._storage or self._storage_from_info()
        wanted = {c for image in images for c in chain_ids(image.diff_ids)}
        if where:
            root, driver = where
            store = Path(root) / "image" / driver / "layerdb" / "sha256"
            try:
                return {
                    c: int((store / c.removeprefix("sha256:") / "size").read_text()) for c in wanted
                }
            except (OSError, ValueError):
                log.debug("docker's layer store is not readable here; reading histories")
        return self.layer_sizes_from_history(images)

    def search_hub(self, term: str, limit: int) -> list[SearchResult]:
        """Docker Hub through the daemon (it has no v2 search; ENGINES.md §6)."""
        argv = ["search", "--no-trunc", f"--limit={limit}", "--format", "{{json .}}", "--", term]
        result = self.run(argv)
        if not result.ok:
            raise hub_error(result)
        return [
            SearchResult(
                name=str(d.get("Name", "")),
                registry="docker.io",
                description=str(d.get("Description") or ""),
                stars=parse_int(d.get("StarCount")) or 0,
                official=str(d.get("IsOfficial", "")).lower() in ("true", "[ok]"),
            )
            for d in json_documents(result.stdout)
        ]

    @contextmanager
    def skopeo_endpoint(self, name: str, *, writing: bool) -> Iterator[Endpoint]:
        """skopeo reaches the daemon itself, and ignores DOCKER_HOST (ENGINES.md §7)."""
        if writing:
            tag_destination(name, "docker")
        yield Endpoint(f"docker-daemon:{name}", daemon_host=self.endpoint, label=f"docker:{name}")

    # -- plumbing ------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return docker_endpoint(self.host)[0]

    def engine_env(self) -> Mapping[str, str] | None:
        return {"DOCKER_HOST": self.host} if self.host else None

    def _storage_from_info(self) -> tuple[str, str] | None:
        info = self.info()
        if info.storage_root and info.storage_driver:
            return info.storage_root, info.storage_driver
        return None

    def _inspect(self, refs: list[str], *, tolerate_missing: bool) -> list[Image]:
        docs: list[dict[str, Any]] = []
        for batch in batches(refs):
            result = self.run(["image", "inspect", "--", *batch])
            if not result.ok:
                missing = _NO_SUCH_IMAGE.findall(result.stderr)
                if not (tolerate_missing and missing):
                    self.raise_for(result, images=batch)
            docs.extend(json_documents(result.stdout))
        self._storage = storage_root(docs) or self._storage
        return [parse_image(d) for d in docs]

    def raise_for(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> NoReturn:
        """Map one failed docker call to the core error that describes it."""
        err = result.stderr
        if _CANNOT_CONNECT.search(err) or _PERMISSION in err or "error during connect" in err:
            raise BackendUnavailable(
                "docker",
                unreachable_reason(err, self.endpoint).split(";")[0],
                hint="is dockerd running? set DOCKER_HOST to its socket, or use --backend podman",
            )
        missing = _NO_SUCH_IMAGE.findall(err)
        if missing:
            raise ImageNotFound(_as_given(missing, images), backend="docker")
        gone = _NO_SUCH_CONTAINER.findall(err)
        if gone:
            raise ContainerNotFound(_as_given(gone, containers), backend="docker")
        used = _IN_USE.search(err)
        if used:
            raise ImageInUse(used.group(1), [used.group(2)], backend="docker")
        conflict = _conflict(err, containers)
        if conflict:
            raise conflict
        raise EngineError(result.argv, result.returncode, err)


def _conflict(stderr: str, containers: Sequence[str]) -> Conflict | None:
    conflict = container_conflict(stderr, containers, _NAME_IN_USE, _RUNNING)
    if conflict:
        return conflict
    if "image has dependent child images" in stderr:
        return Conflict(
            "the image has dependent child images",
            hint="remove the images built on it first, or remove it by name to untag it",
        )
    return None


def unreachable_reason(stderr: str, endpoint: str) -> str:
    if _PERMISSION in stderr:
        return f"permission denied on {endpoint}; is this user in the docker group?"
    if "error during connect" in stderr:
        return f"daemon not reachable at {endpoint}; is dockerd running? set DOCKER_HOST"
    match = _CANNOT_CONNECT.search(stderr)
    where = match.group(1) if match else endpoint
    return f"daemon not reachable at {where}; is dockerd running? set DOCKER_HOST"


def _as_given(engine_names: list[str], asked: Sequence[str]) -> list[str]:
    """Report names as the user typed them: docker appends `:latest` and a trailing `:`."""
    found = []
    for reported in engine_names:
        name = reported.rstrip(":")
        match = [a for a in asked if name in (a, f"{a}:latest")]
        found.append(match[0] if match else name)
    return unique(found)


# -- parsers (pure: fed recorded output in tests) -------------------------------


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


def parse_container(doc: Mapping[str, Any]) -> Container:
    """One element of `docker container inspect`."""
    state = (doc.get("State") or {}).get("Status") or "unknown"
    return Container(
        id=doc["Id"],
        name=str(doc.get("Name") or "").lstrip("/"),
        image=(doc.get("Config") or {}).get("Image") or str(doc.get("Image") or ""),
        image_id=as_digest(doc.get("Image")),
        state=state if state in _STATES else "unknown",
        created=parse_time(doc.get("Created")),
    )


_STATES = {"created", "running", "paused", "restarting", "removing", "exited", "dead"}


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
