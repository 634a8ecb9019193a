"""The docker backend: drives the docker CLI against DOCKER_HOST.

Quirks handled here (docs/engines.md): `image ls` lists one row per tag and its
JSON is NDJSON of strings, so images are listed by ID and read with one
batched `image inspect`; `history` has no layer IDs or empty-layer flags, so
it is joined with inspect (see `join_history`); `ps` has no image ID, so
containers are read with one batched `container inspect`; and the 20.10 and
28.x clients word "not found" differently.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from ocitool.backends.common.cli import hub_error
from ocitool.backends.common.parsing import (
    as_digest,
    batches,
    json_documents,
    parse_int,
    storage_root,
    tag_destination,
    unique,
    with_tag,
)
from ocitool.backends.common.verbs import ContainerCLI
from ocitool.backends.docker import CAPABILITIES, failures
from ocitool.backends.docker.host import Daemon, resolve
from ocitool.backends.docker.ssh_streams import failed_over_ssh, ssh_argv
from ocitool.backends.docker.store import read_configs, read_store
from ocitool.debuglog import debug
from ocitool.errors import (
    OcitoolError,
    parsing_output,
)
from ocitool.layers import chain_ids
from ocitool.movers import Command, Endpoint
from ocitool.runner import Completed, Runner
from ocitool.usage import StoreInventory

if TYPE_CHECKING:
    from ocitool.backends.common.build import BuildDialect
    from ocitool.building import BuildRequest, OnBuildEvent
    from ocitool.models import BuildResult, Container, EngineInfo, Image, Layer, SearchResult


class DockerBackend(ContainerCLI):
    name: Final = "docker"
    parsers = "ocitool.backends.docker.parsers"
    capabilities: Final = CAPABILITIES
    keeps_untagged_parents: Final = True  # a parent stays, hidden, while a child needs it
    # `start --attach` when runc cannot start the command (common/runc.py says why)
    start_failed = re.compile(r"^Error response from daemon: .*(?:OCI runtime|shim task)")
    size_accounting: Final = "bytes of file contents, as docker counts a layer"

    def __init__(
        self,
        runner: Runner,
        *,
        executable: str = "docker",
        host: str | None = None,
        context: str | None = None,
    ):
        super().__init__(runner, executable)
        self.host = host  # --host, docker@[URL] or ocitool's config; DOCKER_HOST otherwise
        self.context = None if host else context  # --connection or docker@CONTEXT
        self.daemon: Daemon = resolve(host=self.host, context=self.context)
        self._storage: tuple[str, str] | None = None  # (DockerRootDir, driver), once seen

    # -- reads ---------------------------------------------------------------

    def images(self, *, all: bool = False) -> list[Image]:
        return self._inspect(self.list_ids(all=all), tolerate_missing=True)

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        return self._inspect(list(refs), tolerate_missing=False)

    def history(self, ref: str) -> list[Layer]:
        argv = ["history", "--no-trunc", "--human=false", "--format", "{{json .}}", "--", ref]
        listed = self.ok(self.run(argv), images=[ref])
        rows = self.parsed(listed, json_documents)
        # One inspect for the image and every ancestor docker still knows, which
        # pins down where each layer sits in the history (join_history).
        with parsing_output(listed.argv):
            ancestors = [i for i in unique(as_digest(r.get("ID")) or "" for r in rows) if i]
        images = self._inspect([ref, *ancestors], tolerate_missing=True)
        with parsing_output(listed.argv):
            from ocitool.backends.docker.parsers import join_history

            return join_history(rows, images[0], images[1:])

    def containers(self, *, all: bool = False) -> list[Container]:
        argv = ["container", "ls", "--quiet", "--no-trunc", *(["--all"] if all else [])]
        ids = unique(self.ok(self.run(argv)).stdout.split())
        found: list[Container] = []
        for batch in batches(ids):
            result = self.run(["container", "inspect", "--", *batch])
            if not result.ok and not failures.NO_SUCH_CONTAINER.search(result.stderr):
                self.raise_for(result)
            # a container may go meanwhile: the others are still printed
            found += self.parsed(result, _containers)
        return found

    def info(self) -> EngineInfo:
        from ocitool.backends.docker.parsers import parse_info
        from ocitool.models import EngineInfo

        path = shutil.which(self.executable)
        where = {"endpoint": self.endpoint, "remote": self.remote, "connection": self.context}
        if path is None:
            return EngineInfo(
                backend="docker",
                found=False,
                reason=f"executable {self.executable!r} not found on PATH",
                **where,
            )
        try:
            version = self.run(["version", "--format", "{{json .}}"], timeout=self.probe_timeout)
            info = None
            if version.ok:
                info = self.run(["info", "--format", "{{json .}}"], timeout=self.probe_timeout)
        except OcitoolError as exc:
            return EngineInfo(backend="docker", found=True, path=path, reason=exc.message, **where)
        with parsing_output(version.argv):
            found = parse_info(
                version,
                info if info is not None and info.ok else None,
                path=path,
                endpoint=self.endpoint,
            )
        return found.model_copy(update=where)

    def canonical_name(self, ref: str) -> str:
        """A name as the models spell it: docker drops `docker.io/library/`, adds `:latest`."""
        name = (
            ref.removeprefix("docker.io/").removeprefix("library/")
            if (ref.startswith("docker.io/"))
            else ref
        )
        return with_tag(name)

    def store_usage(self) -> StoreInventory | None:
        """One `docker info` (where the root is, how many images and containers), then
        the daemon's own files (backends._docker_store) instead of a list and an
        inspect of every image and container.

        Once the root is known, the files are read while `docker info` runs, and its
        answer then checks them: the same root, and the same numbers of images and
        containers; otherwise they are read again where it says.
        """
        if self.remote:
            return None  # the daemon's files are on another machine: du asks the daemon
        known = self._storage
        argv = [*self.command, "info", "--format", "{{json .}}"]
        (info,), early = self.runner.run_while(
            [argv], lambda: read_store(*known) if known else None, env=self.engine_env()
        )
        doc = self.parsed(self.ok(info), lambda out: next(iter(json_documents(out)), {}))
        root, driver = doc.get("DockerRootDir"), doc.get("Driver")
        if not (isinstance(root, str) and isinstance(driver, str) and root and driver):
            return None
        self._storage = (root, driver)
        counts = (parse_int(doc.get("Images")), parse_int(doc.get("Containers")))
        store = early if known == (root, driver) and early else read_store(root, driver)
        return store.usage(*counts) if store and None not in counts else None

    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int] | None:
        """ChainID -> docker's layer size (file bytes), from the daemon's layer store.

        docker keeps each layer's size in `<DockerRootDir>/image/<driver>/layerdb/
        sha256/<chainID>/size`, found from the paths inspect already printed; reading
        them costs no engine call, where a `docker history` per image would. Where
        they cannot be read (a remote daemon, or not root): None, and the histories are read.
        """
        if self.remote:
            return None
        return self._recorded_sizes(images, self._storage or self._storage_from_info())

    def _recorded_sizes(
        self, images: Sequence[Image], where: tuple[str, str] | None = None
    ) -> dict[str, int] | None:
        """The layer store's sizes where inspect's paths (or `where`) located it: no call."""
        where = where or self._storage
        wanted = {c for image in images for c in chain_ids(image.diff_ids)}
        if where and wanted and not self.remote:
            root, driver = where
            store = Path(root) / "image" / driver / "layerdb" / "sha256"
            try:
                return {
                    c: int((store / c.removeprefix("sha256:") / "size").read_text()) for c in wanted
                }
            except (OSError, ValueError):
                debug("ocitool.docker", "docker's layer store is not readable here")
        return None

    def search_hub(self, term: str, limit: int) -> list[SearchResult]:
        """Docker Hub through the daemon (it has no v2 search; docs/engines.md, Search)."""
        argv = ["search", "--no-trunc", f"--limit={limit}", "--format", "{{json .}}", "--", term]
        result = self.run(argv)
        if not result.ok:
            raise hub_error(result)
        return self.parsed(result, _search_results)

    @contextmanager
    def copy_endpoint(self, name: str, *, writing: bool) -> Iterator[Endpoint]:
        """skopeo ignores DOCKER_HOST: it is told the daemon (docs/engines.md, Distribution).
        It has no ssh transport, so over ssh the daemon's own save and load carry the image."""
        if writing:
            tag_destination(name, "docker")
        daemon = self.daemon
        yield Endpoint(
            f"docker-daemon:{name}",
            label=self.label(name),
            daemon_host=daemon.mover_host,
            cert_dir=Path(daemon.cert_dir) if daemon.cert_dir else None,
            reachable=daemon.mover_host is not None,
            save=self._streaming("save", "--", name),
            load=self._streaming("load", "--quiet"),
            archive_name=self.canonical_name(name),
        )

    def _streaming(self, *args: str) -> Command:
        """A save or load: over ssh itself for an ssh:// daemon (ssh_streams says why)."""
        over_ssh = ssh_argv(self.daemon.host, ("docker", *args))
        if over_ssh is None:
            return Command((*self.command, *args), self.engine_env(), self._failed)
        return Command(over_ssh, None, self._failed_over_ssh, name="docker")

    def _failed_over_ssh(self, result: Completed) -> NoReturn:
        failed_over_ssh(result, self.daemon.host)
        self._failed(result)

    # -- plumbing ------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return self.daemon.host

    @property
    def remote(self) -> bool:
        """Whether the daemon is reached over the network (tcp://, ssh://)."""
        return not self.daemon.local

    def label(self, name: str) -> str:
        """`docker:NAME`, or `docker@CONTEXT:NAME` / `docker@[URL]:NAME` for a chosen one."""
        at = self.context or (f"[{self.host}]" if self.host else None)
        return f"docker@{at}:{name}" if at else f"docker:{name}"

    def engine_env(self) -> Mapping[str, str] | None:
        if self.context:  # an empty DOCKER_HOST is unset to the CLI: the context decides
            return {"DOCKER_HOST": "", "DOCKER_CONTEXT": self.context}
        return {"DOCKER_HOST": self.host} if self.host else None

    def _storage_from_info(self) -> tuple[str, str] | None:
        info = self.info()
        if info.storage_root and info.storage_driver:
            return info.storage_root, info.storage_driver
        return None

    def _inspect(self, refs: list[str], *, tolerate_missing: bool) -> list[Image]:
        docs: list[dict[str, Any]] = []
        images: list[Image] = []
        for batch in batches(refs):
            result = self.run(["image", "inspect", "--", *batch])
            if not result.ok:
                missing = failures.NO_SUCH_IMAGE.findall(result.stderr)
                if not (tolerate_missing and missing):
                    self.raise_for(result, images=batch)
            from ocitool.backends.docker.parsers import parse_image

            with parsing_output(result.argv):
                found = json_documents(result.stdout)
                images += [parse_image(d) for d in found]
            docs += found
        if not self.remote:
            self._storage = storage_root(docs) or self._storage
        from ocitool.backends.common.history import with_config_history, with_layer_sizes

        if self._storage:  # inspect has no history: the configs dockerd keeps have it
            configs = read_configs(*self._storage, (i.id for i in images))
            images = with_config_history(images, configs)
        return with_layer_sizes(images, self._recorded_sizes(images))

    def build(self, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
        """The engine's own builder (backends/common/build.py, docker/build.py)."""
        from ocitool.backends.common.build import build_with

        return build_with(self, request, on_event)

    @property
    def build_dialect(self) -> BuildDialect:
        from ocitool.backends.docker.build import DIALECT

        return DIALECT

    def raise_for(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> NoReturn:
        """Map one failed docker call to the core error that describes it (failures.py)."""
        failures.raise_for(result, daemon=self.daemon, images=images, containers=containers)


def _containers(out: str) -> list[Container]:
    from ocitool.backends.docker.parsers import parse_container

    return [parse_container(d) for d in json_documents(out)]


def _search_results(out: str) -> list[SearchResult]:
    from ocitool.models import SearchResult

    return [
        SearchResult(
            name=str(d.get("Name", "")),
            registry="docker.io",
            description=str(d.get("Description") or ""),
            stars=parse_int(d.get("StarCount")) or 0,
            official=str(d.get("IsOfficial", "")).lower() in ("true", "[ok]"),
        )
        for d in json_documents(out)
    ]
