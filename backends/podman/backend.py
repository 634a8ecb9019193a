"""The podman backend: drives the podman CLI (root or rootless).

Quirks handled here (docs/engines.md): IDs come without `sha256:`; `images` lists
an image once per tag with names in `Names`, so images are listed by ID and
read with one batched `image inspect`; local names carry `localhost/`, which
is dropped so a name reads the same as on docker, unless `docker.io/` has the
same repository (listing.Names); manifest lists are listed as images, so
they are listed apart, as the lists they are (lists.py), and refused by the
image commands (failures.manifest_list); history keys mix case and
its comment is `FROM <base>`, while inspect keeps the exact empty-layer flags.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from ocitool.backends.common.cli import hub_error
from ocitool.backends.common.listing import (
    LOCAL_PREFIX,
    Names,
    local_name,
    other_spellings,
    qualified,
)
from ocitool.backends.common.parsing import (
    HEX64,
    as_digest,
    batches,
    json_documents,
    parse_int,
    storage_root,
    unique,
    with_tag,
)
from ocitool.backends.common.rootfs import inside
from ocitool.backends.common.verbs import ContainerCLI
from ocitool.backends.podman import CAPABILITIES, failures
from ocitool.backends.podman.store import (
    StoredList,
    listed_ids,
    read_store,
    storage_location,
    stored_lists,
    stored_names,
)
from ocitool.engine import RunOptions
from ocitool.errors import (
    OcitoolError,
    UsageError,
    last_meaningful_line,
    parsing_output,
)
from ocitool.layers import chain_ids
from ocitool.movers import Command, Endpoint
from ocitool.references import ImageRef, looks_like_domain
from ocitool.runner import Completed, Runner
from ocitool.usage import StoreInventory

_NAMED = ("RepoTags", "RepoDigests")  # inspect's names, as podman spells them
_MAX_GENERATIONS = 16  # parent-chain rounds for `history`; each is one batched inspect
# podman 4.3 renames an image by reading its names and writing the new list back, so
# concurrent `podman tag`s lose names (8 in parallel kept 3; tests/test_api.py): this
# process's threads change names one at a time.
_RENAMING = threading.Lock()


if TYPE_CHECKING:
    from ocitool.backends.common.build import BuildDialect
    from ocitool.building import BuildRequest, OnBuildEvent
    from ocitool.listing import ImageSummary
    from ocitool.models import BuildResult, Container, EngineInfo, Image, Layer, SearchResult


class PodmanBackend(ContainerCLI):
    name: Final = "podman"
    parsers = "ocitool.backends.podman.parsers"
    capabilities: Final = CAPABILITIES
    # podman lists a manifest list as an image, though no image command takes it as one.
    list_filters = ("--filter", "manifest=false")
    # `start --attach` when runc cannot start the command (common/runc.py says why)
    start_failed = re.compile(r"^Error: unable to start container ")
    keeps_untagged_parents: Final = False  # `rmi` of a parent's last tag drops its record
    size_accounting: Final = "bytes of the uncompressed layer tar, as podman's storage records it"

    def __init__(
        self,
        runner: Runner,
        *,
        executable: str = "podman",
        url: str | None = None,
        connection: str | None = None,
    ):
        super().__init__(runner, executable)
        self.url = url  # --host or podman@[URL]: podman --url
        self.connection = None if url else connection  # --connection or podman@CONNECTION
        self._storage: tuple[str, str] | None = None  # (graphRoot, driver), once seen
        self._shown = Names(())  # how names read, from the last images podman described
        self._lists: set[str] = set()  # the manifest lists' IDs and names, last listed

    @property
    def command(self) -> list[str]:
        if self.url:
            return [self.executable, f"--url={self.url}"]
        if self.connection:
            return [self.executable, f"--connection={self.connection}"]
        return [self.executable]

    @property
    def remote(self) -> bool:
        """A podman service (--url, --connection, CONTAINER_HOST, or containers.conf's
        `remote = true` with its default connection): its storage is its own, never
        read here, and skopeo cannot reach it."""
        if self.url or self.connection or os.environ.get("CONTAINER_HOST"):
            return True
        from ocitool.backends.podman.service import configured_remote

        return configured_remote(self.executable)

    @property
    def endpoint(self) -> str | None:
        return self.url or (None if self.connection else os.environ.get("CONTAINER_HOST"))

    def label(self, name: str) -> str:
        at = self.connection or (f"[{self.url}]" if self.url else None)
        return f"podman@{at}:{name}" if at else f"podman:{name}"

    # -- reads ---------------------------------------------------------------

    def images(self, *, all: bool = False) -> list[Image]:
        """One inspect of the IDs read from podman's storage files, in place of a
        `podman images` that computes every size first (~0.9 s for 200 images here).

        The files are trusted only as far as podman confirms them: it must know
        every ID, and its inspect must place them under the same graph root.
        Otherwise, or with nothing to confirm, the list call is used."""
        location = None if self.remote else self._storage or storage_location()
        stored = listed_ids(*location, all=all) if location else None
        if stored and location:
            docs = self._inspect_docs(stored, tolerate_missing=True)
            if len(docs) == len(stored) and _stored_under(docs, location[0]):
                held = stored_lists(*location)
                return self._with_lists(docs, self._cli_lists() if held is None else held)
        docs = self._inspect_docs(self.list_ids(all=all), tolerate_missing=True)
        return self._with_lists(docs, self._cli_lists())

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """The images' list call, and the lists from the storage files where an inspect
        placed them (self._storage), else from their own list call beside it (podman
        lists a list as an image, with a digest it had when created: lists.listed)."""
        from ocitool.backends.common.listing import list_argv, podman_summaries

        argv = [*list_argv(all=all), *self.list_filters]
        held = None if self.remote or not self._storage else stored_lists(*self._storage)
        if held is not None:
            found = self.parsed(self.ok(self.run(argv, models=False)), podman_summaries)
        else:
            images, lists = self.runner.run_together(
                [[*self.command, *argv], [*self.command, *_lists_argv()]]
            )
            found = self.parsed(self.ok(images), podman_summaries)
            held = self.parsed(self.ok(lists), self._parsed_lists)
        if not held:
            return found
        from ocitool.listing import ImageSummary

        shown = Names(self._list_names(held))  # images() judges among every name
        return found + [
            ImageSummary(i.id, i.names, i.repo_digests, i.created, i.size)
            for i in self._list_models(held, shown)
        ]

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        docs = self._inspect_docs(list(refs), tolerate_missing=False)
        return self._parsed_images(docs, self._names(docs, complete=False))

    def history(self, ref: str) -> list[Layer]:
        doc = self._inspect_docs([ref], tolerate_missing=False)[0]
        # By ID, so a tag moved meanwhile cannot mix two images' histories.
        result = self.ok(self.run(["history", "--format", "json", "--", doc["Id"]]), images=[ref])
        rows = self.parsed(result, json_documents)
        with parsing_output(result.argv):
            from ocitool.backends.podman.parsers import join_history

            return join_history(rows, doc, self._ancestors(doc, rows))

    def _ancestors(
        self, doc: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]
    ) -> list[dict[str, Any]]:
        """Inspect documents of the images that may have made this image's steps: the
        ones the rows name, and the parent chain (podman's Parent requires a history
        prefix, so it is exact). One batched call per generation not yet seen."""
        own = as_digest(doc.get("Id"))
        pending = [as_digest(r.get("id")) for r in rows] + [as_digest(doc.get("Parent"))]
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(_MAX_GENERATIONS):
            wanted = [i for i in unique(p or "" for p in pending) if i and i != own]
            wanted = [i for i in wanted if i not in seen]
            if not wanted:
                break
            found = self._inspect_docs(wanted, tolerate_missing=True)
            seen.update({as_digest(d.get("Id")) or "": d for d in found})
            pending = [as_digest(d.get("Parent")) for d in found]
        return list(seen.values())

    def containers(self, *, all: bool = False) -> list[Container]:
        argv = ["ps", "--format", "json", *(["--all"] if all else [])]
        return self.parsed(self.ok(self.run(argv)), _containers)

    def info(self) -> EngineInfo:
        from ocitool.backends.podman.parsers import parse_info
        from ocitool.models import EngineInfo

        path = shutil.which(self.executable)
        where = {"endpoint": self.endpoint, "remote": self.remote, "connection": self.connection}
        if path is None:
            return EngineInfo(
                backend="podman",
                found=False,
                reason=f"executable {self.executable!r} not found on PATH",
                **where,
            )
        try:
            result = self.run(["info", "--format", "json"], timeout=self.probe_timeout)
        except OcitoolError as exc:
            return EngineInfo(backend="podman", found=True, path=path, reason=exc.message, **where)
        if not result.ok:
            failed = failures.connection_error(result.stderr, self.where)
            reason = (
                failed.one_line().removeprefix("podman: ")
                if failed
                else f"podman info failed: {last_meaningful_line(result.stderr) or '?'}"
            )
            return EngineInfo(backend="podman", found=True, path=path, reason=reason, **where)
        found = self.parsed(result, lambda out: parse_info(json_documents(out)[0], path=path))
        return found.model_copy(update=where)

    def tag(self, source: str, target: str) -> None:
        """podman would tag a manifest list too: it is refused before it gains a name."""
        self._inspect_docs([source], tolerate_missing=False)
        with _RENAMING:
            super().tag(source, target)

    def remove_images(self, refs: Sequence[str]) -> None:
        """A manifest list the last listing showed goes with `podman manifest rm` (by
        name: that name; by ID: the list), which spares the images it names; podman's
        rmi refuses a list, and its untag of a list's name would untag its image."""
        lists = [r for r in refs if self._is_list(r)]
        images = [r for r in refs if r not in lists]
        with _RENAMING:  # an untag rewrites the names too
            if images:
                super().remove_images(images)
            if lists:
                from ocitool.backends.podman import lists as manifest_lists

                manifest_lists.remove(self, [manifest_lists.stored_name(r) for r in lists])

    def _is_list(self, ref: str) -> bool:
        if as_digest(ref) in self._lists:
            return True
        return ref in self._lists or self.canonical_name(ref) in self._lists

    def canonical_name(self, ref: str) -> str:
        """A name as the models spell it: without podman's `localhost/`, with a tag,
        unless the short form is ambiguous among the names last seen (Names)."""
        return self._shown(with_tag(ref))

    def store_usage(self) -> StoreInventory | None:
        """podman's storage files read directly (backends._podman_store), then one
        `podman ps -a` for the containers and, at the same time, an inspect of one
        stored image, whose paths must name the same graph root: the files are then
        the store podman uses, and every container's image must be in them."""
        location = None if self.remote else self._storage or storage_location()
        store = read_store(*location) if location else None
        if location is None or store is None or not store.image_ids:
            return None
        probe = min(store.image_ids)
        listed, probed = self.runner.run_together(
            [
                [*self.command, "ps", "--all", "--format", "json"],
                [*self.command, "image", "inspect", "--", probe],
            ]
        )
        containers = self.parsed(self.ok(listed), json_documents)
        if not (probed.ok and _stored_under(self.parsed(probed, json_documents), location[0])):
            return None
        return store.usage(containers)

    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int] | None:
        """ChainID -> podman's layer size (bytes of the uncompressed tar), from its storage.

        containers/storage records every layer in `<graphRoot>/<driver>-layers/
        layers.json` with its `diff-size`: one file read for every layer, after one
        `podman info` at most (inspect's paths usually name the storage already).
        Where it cannot be read: None, and each image's history is read.
        """
        if self.remote:
            return None
        return self._recorded_sizes(images, self._storage or self._storage_from_info())

    def _recorded_sizes(
        self, images: Sequence[Image], where: tuple[str, str] | None = None
    ) -> dict[str, int] | None:
        """layers.json's sizes where inspect's paths (or `where`) located it: no engine call."""
        if not where or self.remote:
            return None
        root, driver = where
        path = Path(root) / f"{driver}-layers" / "layers.json"
        try:
            records = json.loads(path.read_text())
            by_diff = {
                r["diff-digest"]: int(r["diff-size"])
                for r in records
                if r.get("diff-digest") and r.get("diff-size") is not None
            }
            return {
                chain: by_diff[diff_id]
                for image in images
                for chain, diff_id in zip(chain_ids(image.diff_ids), image.diff_ids, strict=True)
            }
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def search_hub(self, term: str, limit: int) -> list[SearchResult]:
        """The registries podman searches (registries.conf); prints nothing for no match."""
        result = self.run(["search", f"--limit={limit}", "--format", "json", "--", term])
        if not result.ok:
            raise hub_error(result)
        found = self.parsed(result, _search_results)
        first, slash, _ = term.partition("/")
        if not found and not (slash and looks_like_domain(first)):
            self._check_search_registries()  # nothing found, or nothing searched?
        return found

    def _check_search_registries(self) -> None:
        """registries.conf's unqualified-search-registries, as podman reads it; an error
        when there are none, since podman then searches nothing and says nothing."""
        result = self.ok(self.run(["info", "--format", "{{json .Registries}}"]))
        doc = self.parsed(result, lambda out: json.loads(out or "{}"))
        if not (isinstance(doc, dict) and doc.get("search")):
            raise UsageError(
                "podman searched no registry: registries.conf lists no"
                " unqualified-search-registries",
                hint="list some there (containers-registries.conf(5)), e.g."
                ' unqualified-search-registries = ["docker.io"], or search one registry:'
                " ocitool search TERM --registry HOST",
            )

    @contextmanager
    def copy_endpoint(self, name: str, *, writing: bool) -> Iterator[Endpoint]:
        """skopeo reads a short name as docker.io's, so local ones get localhost/.
        A podman service's storage is its own: its save and load carry the image.

        See docs/engines.md, Distribution."""
        bare = name.removeprefix("sha256:")
        by_id = HEX64.match(bare) is not None
        if by_id:
            full = bare
        else:
            ref = ImageRef.parse(name).with_default_tag()
            full = str(ref) if ref.domain else f"{LOCAL_PREFIX}{ref}"
        env = self.engine_env()
        yield Endpoint(
            f"containers-storage:{full}",
            label=self.label(name),
            reachable=not self.remote,
            save=Command(
                (*self.command, "save", "--format=docker-archive", "--", full), env, self._failed
            ),
            load=Command((*self.command, "load", "--quiet"), env, self._failed),
            archive_name=None if by_id else full,
        )

    @property
    def where(self) -> str:
        """The endpoint as errors name it."""
        return self.url or self.connection or self.endpoint or "podman's local storage"

    def save_options(self, archive_format: str, count: int) -> list[str]:
        several = ["--multi-image-archive"] if count > 1 else []
        return [f"--format={archive_format}", *several]

    def save(self, names: Sequence[str], path: Path, archive_format: str) -> None:
        """podman reads `--output` as a transport's PATH[:NAME]: a ':' goes through a link."""
        from ocitool.backends.common.archive import colon_free  # tarfile: for save only

        with tempfile.TemporaryDirectory(prefix="ocitool-save-") as tmp:
            reached = colon_free(path, Path(tmp) / "archive.tar", writing=True)
            super().save(names, reached, archive_format)

    def load(self, path: Path) -> list[str]:
        """As save: podman tries `--input` as each transport's PATH[:NAME]."""
        from ocitool.backends.common.archive import colon_free

        with tempfile.TemporaryDirectory(prefix="ocitool-load-") as tmp:
            reached = colon_free(path, Path(tmp) / "archive.tar", writing=False)
            try:
                return super().load(reached)
            except OcitoolError as exc:
                exc.message = exc.message.replace(str(reached), str(path))
                raise

    def loads(self, kind: str, images: int) -> bool:
        """podman also loads an OCI archive, of one image only (docs/engines.md, Distribution)."""
        return kind == "docker-archive" or (kind == "oci-archive" and images == 1)

    def prepare(self, container: str, options: RunOptions) -> None:
        """podman starts no container whose -w is missing, where docker makes it: it is
        made here in the mounted container (a rootless podman cannot mount outside its
        user namespace; it then says the directory is missing, as podman does)."""
        if not options.workdir or options.workdir == "/":
            return
        mounted = self.run(["container", "mount", "--", container])
        if not mounted.ok:
            return
        try:
            root = Path(mounted.stdout.strip())
            inside(root, options.workdir).mkdir(mode=0o755, parents=True, exist_ok=True)
        finally:
            self.run(["container", "unmount", "--", container])

    def commit_options(self) -> list[str]:
        # The OCI format drops the commit message (docs/engines.md, Set-up); docker's keeps it.
        return ["--format", "docker"]

    # -- plumbing ------------------------------------------------------------

    def _with_lists(
        self, docs: Sequence[Mapping[str, Any]], held: Sequence[StoredList]
    ) -> list[Image]:
        """The images, and each manifest list as one entry (lists.list_model)."""
        shown = self._names(docs, complete=True, also=self._list_names(held))
        return self._parsed_images(docs, shown) + self._list_models(held, shown)

    def _cli_lists(self) -> list[StoredList]:
        """The lists from podman's own listing, where its storage files are not read."""
        return self.parsed(self.ok(self.run(_lists_argv())), self._parsed_lists)

    def _parsed_lists(self, out: str) -> list[StoredList]:
        from ocitool.backends.podman.lists import listed

        return listed(json_documents(out), readable=not self.remote)

    @staticmethod
    def _list_names(held: Sequence[StoredList]) -> list[str]:
        return [n for stored in held for n in stored.names]

    def _list_models(self, held: Sequence[StoredList], shown: Names) -> list[Image]:
        """The lists as models; remembered, so remove_images knows them (rmi and prune
        list the store before they remove)."""
        self._lists = {s.id for s in held} | {shown(n) for s in held for n in s.names}
        if not held:
            return []
        from ocitool.backends.podman.lists import list_model

        with parsing_output((self.executable, "images", "--filter", "manifest=true")):
            return [list_model(stored, shown) for stored in held]

    def _parsed_images(self, docs: Sequence[Mapping[str, Any]], shown: Names) -> list[Image]:
        from ocitool.backends.common.history import with_layer_sizes
        from ocitool.backends.podman.parsers import parse_image

        with parsing_output((self.executable, "image", "inspect")):
            images = [parse_image(d, shown) for d in docs]
        return with_layer_sizes(images, self._recorded_sizes(images, self._storage))

    def _names(
        self, docs: Sequence[Mapping[str, Any]], *, complete: bool, also: Sequence[str] = ()
    ) -> Names:
        """How these images' names read (Names), judged against every stored name:
        `docs` when they are every image, else images.json where podman's inspect
        placed it. Where that file cannot be read, an inspect judges among the
        images asked for only (no extra engine call); `images` and `rmi`, which list
        the store, always see every name."""
        names = {str(n) for d in docs for k in _NAMED for n in d.get(k) or ()} | set(also)
        found = None if complete or not self._storage else stored_names(*self._storage)
        self._shown = Names(names | found if found else names)
        return self._shown

    def _storage_from_info(self) -> tuple[str, str]:
        info = self.info()
        return info.storage_root or "", info.storage_driver or ""

    def _inspect_docs(self, refs: list[str], *, tolerate_missing: bool) -> list[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        for batch in batches(refs):
            result = self.run(["image", "inspect", "--", *batch])
            if not result.ok and not (
                tolerate_missing and failures.NOT_KNOWN.search(result.stderr)
            ):
                self.raise_for(result, images=batch)
            found = self.parsed(result, json_documents)
            if not tolerate_missing:
                _refuse_manifest_lists(batch, found)
            docs.extend(found)
        with parsing_output((self.executable, "image", "inspect")):
            self._storage = storage_root(docs) or self._storage
        return docs

    # -- manifest lists (lists.py, loaded only for them) -----------------------

    def manifest_create(self, name: str, images: Sequence[str]) -> None:
        from ocitool.backends.podman import lists

        lists.create(self, name, images)

    def manifest_add(self, name: str, images: Sequence[str]) -> None:
        from ocitool.backends.podman import lists

        lists.add(self, name, images)

    def manifest_document(self, name: str) -> tuple[str, bytes]:
        from ocitool.backends.podman import lists

        return lists.document(self, name)

    def manifest_push(self, name: str, destination: Endpoint, digestfile: Path) -> None:
        from ocitool.backends.podman import lists

        lists.push(self, name, destination, digestfile)

    def manifest_lists(self) -> dict[str, str]:
        from ocitool.backends.podman import lists

        return lists.every_list(self)

    def manifest_remove(self, ids: Sequence[str]) -> None:
        from ocitool.backends.podman import lists

        lists.remove(self, ids)

    def build(self, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
        """The engine's own builder (backends/common/build.py, podman/build.py)."""
        from ocitool.backends.common.build import build_with

        return build_with(self, request, on_event)

    @property
    def build_dialect(self) -> BuildDialect:
        from ocitool.backends.podman.build import DIALECT

        return DIALECT

    def raise_for(
        self, result: Completed, *, images: Sequence[str] = (), containers: Sequence[str] = ()
    ) -> NoReturn:
        """Map one failed podman call to the core error that describes it (failures.py)."""
        failures.raise_for(result, images=images, containers=containers, where=self.where)


def _refuse_manifest_lists(refs: Sequence[str], docs: Sequence[Mapping[str, Any]]) -> None:
    """podman's inspect of a manifest list's name or short ID answers with one of the
    list's images (docs/engines.md): a doc that carries neither the name nor the ID asked
    for (podman answers in the order asked) means the ref names a list."""
    if len(refs) != len(docs):
        return
    for ref, doc in zip(refs, docs, strict=True):
        image_id = str(doc.get("Id") or "")
        bare = ref.removeprefix("sha256:")
        if "@" in ref or image_id.startswith(bare):
            continue
        name = with_tag(ref)
        tags = {str(t) for t in doc.get("RepoTags") or ()}
        if not tags & {name, qualified(name), *other_spellings(qualified(name))}:
            raise failures.manifest_list(ref)


def _stored_under(docs: Sequence[Mapping[str, Any]], graph_root: str) -> bool:
    """Whether podman's inspect places these images under `graph_root`: then the
    storage files read there are the ones podman itself uses."""
    found = storage_root(docs)
    return found is not None and found[0] == graph_root


def _containers(out: str) -> list[Container]:
    from ocitool.backends.podman.parsers import parse_container

    return [parse_container(d) for d in json_documents(out)]


def _search_results(out: str) -> list[SearchResult]:
    """podman prints Stars 0 and Official "" for a v2 registry, which keeps neither
    (docs/engines.md, Search): only Docker Hub's rows have them."""
    from ocitool.models import SearchResult

    rows = []
    for d in json_documents(out):
        index = str(d.get("Index") or "")
        hub = index in ("docker.io", "index.docker.io")
        rows.append(
            SearchResult(
                name=local_name(str(d.get("Name", ""))),
                registry=index,
                description=str(d.get("Description") or ""),
                stars=(parse_int(d.get("Stars")) or 0) if hub else None,
                official=str(d.get("Official", "")).lower() in ("true", "[ok]") if hub else None,
            )
        )
    return rows


def _lists_argv() -> list[str]:
    from ocitool.backends.podman.lists import LISTS_ARGV

    return list(LISTS_ARGV)
