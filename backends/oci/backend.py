"""The daemonless backend: ocitool's own OCI image layout, with umoci and runc.

No daemon and no root. Reads come straight from the layout (backends.oci.store
and .images); writes go through umoci while holding the store's lock; runs
unpack a bundle with umoci (`--rootless` when not root) and run it with runc
(or crun). Names live in index.json as `org.opencontainers.image.ref.name`,
spelled as the other backends spell them (`commit_test:first`).
"""

from __future__ import annotations

import gzip
import logging
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO, Final, cast

from ocitool import capabilities as can
from ocitool.backends.common.parsing import tag_destination, with_tag
from ocitool.backends.common.rootfs import resolve_user
from ocitool.backends.common.runc import EXEC_FAILED, failed, start_failure
from ocitool.backends.oci import CAPABILITIES, failures, files, logs
from ocitool.backends.oci import containers as records
from ocitool.backends.oci.changes import umoci_options
from ocitool.backends.oci.containers import Record
from ocitool.backends.oci.parsers import (
    HIDDEN_TAG,
    StoredImage,
    StoredIndex,
    index_model,
    parents,
    producers,
    read_layout,
    read_store,
    steps,
    to_model,
)
from ocitool.backends.oci.runtime import START_FAILED, Runtime, wait_for
from ocitool.backends.oci.store import SCRATCH_TAGS, Store, Tagged
from ocitool.backends.oci.tarballs import uncompressed
from ocitool.building import BuildRequest, OnBuildEvent
from ocitool.engine import NO_OPTIONS, Exited, Output, RunOptions
from ocitool.errors import (
    BackendUnavailable,
    Conflict,
    ContainerNotFound,
    EngineError,
    EngineTimeout,
    ImageNotFound,
    NotRunning,
    NotSupported,
    OcitoolError,
    StoreCorrupt,
)
from ocitool.layers import chain_ids
from ocitool.listing import ImageSummary
from ocitool.models import BuildResult, Container, EngineInfo, Image, Layer, StoreGarbage
from ocitool.movers import Endpoint
from ocitool.runner import Completed, InterruptedCall, InterruptedWrite, Runner

log = logging.getLogger("ocitool.oci")


class OciBackend:
    name: Final = "oci"
    capabilities: Final = CAPABILITIES
    size_accounting: Final = "bytes of the compressed layer blob on disk"
    # As docker: an untagged parent (a build's step image) stays while a child needs it,
    # and goes with the last child that does (remove_images).
    keeps_untagged_parents: Final = True

    def __init__(
        self,
        runner: Runner,
        *,
        store: Path,
        umoci: str = "umoci",
        runtime: str | None = None,
        insecure_registries: Sequence[str] = (),
    ) -> None:
        self.runner = runner
        self.insecure_registries = tuple(insecure_registries)  # FROM pulls (build_pull.py)
        self.store = Store(store, lock_timeout=runner.timeout)
        self.umoci = umoci
        self.runtime = Runtime(runner, runtime)
        self._indexes: list[StoredIndex] = []  # the indexes the last _read found

    # -- reads -------------------------------------------------------------------

    def images(self, *, all: bool = False) -> list[Image]:
        """Each image, and each index as one entry (its images, unless named, are in it);
        without `all`, an untagged parent (a build's step) is hidden, as docker hides it."""
        stored = self._read()
        found = parents(stored)
        models = [to_model(image, found.get(image.id)) for image in stored]
        inside = {i.id for index in self._indexes for i in index.images.values()}
        hidden = inside if all else inside | set(found.values())
        shown = [m for m in models if m.names or m.id not in hidden]
        return shown + [index_model(index, models) for index in self._indexes]

    def image_summaries(self, *, all: bool = False) -> list[ImageSummary]:
        """The store is read directly, so the full images cost no more than summaries."""
        return [
            ImageSummary(i.id, i.names, i.repo_digests, i.created, i.size)
            for i in self.images(all=all)
        ]

    def inspect(self, refs: Sequence[str]) -> list[Image]:
        stored = self._read()
        found = parents(stored)
        return [to_model(image, found.get(image.id)) for image in self._resolve(refs, stored)]

    def history(self, ref: str) -> list[Layer]:
        stored = self._read()
        image = self._resolve([ref], stored)[0]
        return steps(image, producers(image, stored))

    def containers(self, *, all: bool = False) -> list[Container]:
        found = self._records()
        running = self.runtime.running() if found else set()
        models = [record.model(record.id in running) for record in found]
        return models if all else [c for c in models if c.state == "running"]

    def info(self) -> EngineInfo:
        path = shutil.which(self.umoci)
        base = {
            "backend": "oci",
            "path": path,
            "storage_driver": "oci-layout",
            "storage_root": str(self.store.path),
            "rootless": os.geteuid() != 0,
        }
        if path is None:
            return EngineInfo(
                **base, found=False, reason=f"executable {self.umoci!r} not found on PATH"
            )
        try:
            version = self.runner.run([self.umoci, "--version"], timeout=10)
            self.store.ensure()
            probe = Store(self.store.path, lock_timeout=min(10, self.runner.timeout))
            with probe.locked(exclusive=False):  # `backends` answers while a writer works
                probe.index()
        except OcitoolError as exc:
            return EngineInfo(**base, found=True, reason=exc.message)
        runtime = self.runtime.path_or_none()
        return EngineInfo(
            **base,
            found=True,
            version=version.stdout.strip().rsplit(" ", 1)[-1] or None,
            reachable=True,
            endpoint=runtime,
            reason=None if runtime else "no runc or crun on PATH: images work, run does not",
        )

    def canonical_name(self, ref: str) -> str:
        """Names are stored as the other backends show them: no docker.io/library/."""
        for prefix in ("localhost/", "docker.io/library/", "docker.io/"):
            if ref.startswith(prefix):
                ref = ref.removeprefix(prefix)
                break
        return with_tag(ref)

    # -- image writes --------------------------------------------------------------

    def import_image(
        self, tarball: Path, ref: str, *, message: str | None, changes: Sequence[str]
    ) -> str:
        options = umoci_options(changes)  # a bad --change fails before anything is written
        self._require_umoci()
        target = self.canonical_name(ref)
        scratch = f"{SCRATCH_TAGS[0]}{secrets.token_hex(8)}"
        with (
            self._writing(),
            uncompressed(tarball, scratch=self.store.path) as layer,
            _interrupted_write(None),
        ):
            try:
                self._umoci(["new", f"--image={self._at(scratch)}"])
                self._umoci(
                    [
                        "raw",
                        "add-layer",
                        f"--image={self._at(scratch)}",
                        f"--history.comment={message or ''}",
                        f"--history.created_by=ocitool import {tarball.name}",
                        "--",
                        str(layer),
                    ]
                )
                if options:
                    self._umoci(
                        ["config", f"--image={self._at(scratch)}", "--no-history", *options]
                    )
                self._retag(scratch, target)
            finally:
                self._untag([scratch])
            return self._image_of(target)

    def commit(
        self,
        container: str,
        ref: str,
        *,
        author: str | None,
        message: str | None,
        changes: Sequence[str],
    ) -> str:
        options = umoci_options(changes)
        record = self._record(container)
        target = self.canonical_name(ref)
        bundle = self.store.containers_dir / record.id / "bundle"
        with self._writing(), _interrupted_write(lambda: self._image_of_or_none(target)):
            self._ensure_tag(record)
            history = [
                *([f"--history.author={author}"] if author is not None else []),
                f"--history.comment={message or ''}",
                f"--history.created_by={records.created_by(record.command)}",
            ]
            # As docker and podman do: the image is created now, by the author, and
            # runs the container's command unless a --change says otherwise.
            config = [f"--created={records.now()}"]
            config += [f"--author={author}"] if author is not None else []
            if record.command and not any(c.strip().upper().startswith("CMD") for c in changes):
                config += ["--clear=config.cmd", *[f"--config.cmd={a}" for a in record.command]]
            # Built under a scratch tag and named at the end, so a Ctrl-C between the two
            # umoci steps never leaves the target naming a half-configured image.
            scratch = f"{SCRATCH_TAGS[1]}{secrets.token_hex(8)}"
            try:
                self._umoci(["repack", f"--image={self._at(scratch)}", *history, "--", str(bundle)])
                self._umoci(
                    ["config", f"--image={self._at(scratch)}", "--no-history", *config, *options]
                )
                self._retag(scratch, target)
            finally:
                self._untag([scratch])
            return self._image_of(target)

    def tag(self, source: str, target: str) -> None:
        with self._writing():
            stored = self._read()
            index = _match_index(source, self.canonical_name(source), self._indexes)
            digest = index.digest if index else self._resolve([source], stored)[0].manifest_digest
            name = self.canonical_name(target)
            self.store.write_index(_named(self.store.index(), digest, name))

    def platform_images(self, refs: Sequence[str], platform: str | None) -> list[str]:
        """An index's image for `platform`; any other image is itself (its caller judges
        its platform, as `run` does). The store is read once."""
        stored = self._read()
        indexes = [_match_index(ref, self.canonical_name(ref), self._indexes) for ref in refs]
        others = [ref for ref, index in zip(refs, indexes, strict=True) if index is None]
        plain = iter(self._resolve(others, stored))
        return [index.pick(platform).id if index else next(plain).id for index in indexes]

    def remove_images(self, refs: Sequence[str]) -> None:
        """Untag each name (an ID: the image's every entry), then collect garbage."""
        self._require_umoci()  # the index is not touched unless gc can follow
        self.store.ensure()
        with self.store.locked(exclusive=True):
            stored = self._read()
            self.store.sweep()
            doomed_names: set[str] = set()
            doomed_images: set[str] = set()
            indexes = {
                ref: _match_index(ref, self.canonical_name(ref), self._indexes) for ref in refs
            }
            for index_ref, index in indexes.items():
                if index is not None:  # an index's name goes, or by its ID all of them
                    name = self.canonical_name(index_ref)
                    doomed_names.update([name] if name in index.tags else index.tags)
            refs = [ref for ref in refs if indexes[ref] is None]
            kept = [i for i in self._indexes if not set(i.tags) <= doomed_names]
            spared = {image.id for index in kept for image in index.images.values()}
            for index in self._indexes:  # what only a removed index named loses its hidden tag
                if index not in kept:
                    doomed_names.update(
                        tag
                        for image in index.images.values()
                        if not image.names and image.id not in spared
                        for tag in image.tags
                    )
            for ref, image in zip(refs, self._resolve(refs, stored), strict=True):
                name = self.canonical_name(ref)
                if name in image.names:
                    doomed_names.add(name)
                else:
                    doomed_images.add(image.manifest_digest)
                    doomed_names.update(image.tags)
            for image in stored:  # an image whose last name goes loses its hidden tag too
                if image.names and set(image.names) <= doomed_names:
                    doomed_names.update(image.tags)
            manifests = {i.manifest_digest: i.id for i in stored}
            doomed_ids = {manifests[d] for d in doomed_images}
            doomed_ids |= self._orphaned_parents(stored, doomed_ids, doomed_names)
            keep = [
                e
                for e in self.store.index()
                if e.name not in doomed_names and manifests.get(e.digest) not in doomed_ids
            ]
            self._verify_layers({e.digest for e in keep}, stored)
            self.store.write_index(keep)
            if self._indexes:  # umoci gc does not follow a docker manifest list
                self.store.collect()
            else:
                self._umoci(["gc", f"--layout={self.store.path}"])

    def _orphaned_parents(
        self, stored: list[StoredImage], doomed: set[str], names: set[str]
    ) -> set[str]:
        """The untagged parents that go with the images going, as docker's rmi takes
        them: no name of a user's, no container of theirs, every child going too."""
        found = parents(stored)
        children: dict[str, set[str]] = {}
        for child, parent_id in found.items():
            children.setdefault(parent_id, set()).add(child)
        by_id = {image.id: image for image in stored}
        going = doomed | {i.id for i in stored if i.tags and set(i.tags) <= names}
        used = {record.image_id for record in self._records()}
        used |= {i.id for index in self._indexes for i in index.images.values()}
        frontier = list(going)
        extra: set[str] = set()
        while frontier:
            parent = by_id.get(found.get(frontier.pop(), ""))
            if (
                parent is not None
                and parent.id not in going
                and not parent.names
                and parent.id not in used  # a container's, or an index's
                and children.get(parent.id, set()) <= going
            ):
                going.add(parent.id)
                extra.add(parent.id)
                frontier.append(parent.id)
        return extra

    def store_garbage(self, *, collect: bool) -> StoreGarbage:
        """Blobs no index entry reaches (a copy or write killed before it could clean up)
        and container directories with no record (a create killed midway); a directory
        younger than the timeout may be a create still under way, and is left alone."""
        self.store.ensure()
        with self.store.locked(exclusive=collect):
            blobs = self.store.unreachable()
            blob_bytes = sum(_size(b) for b in blobs)
            directory = self.store.containers_dir
            settled = time.time() - self.runner.timeout
            bundles = [
                d
                for d in (sorted(directory.iterdir()) if directory.is_dir() else [])
                if d.is_dir() and records.load(d) is None and d.stat().st_mtime < settled
            ]
            bundle_bytes = sum(_tree_size(d) for d in bundles)
            if collect:
                for blob in blobs:
                    blob.unlink(missing_ok=True)
                for bundle in bundles:
                    records.remove_tree(bundle)
        return StoreGarbage(
            blobs=len(blobs),
            blob_bytes=blob_bytes,
            bundles=[d.name for d in bundles],
            bundle_bytes=bundle_bytes,
        )

    @contextmanager
    def copy_endpoint(self, name: str, *, writing: bool) -> Iterator[Endpoint]:
        """The store as skopeo's `oci:` transport, under the store's lock for the copy."""
        if writing:
            tag_destination(name, "oci")
            with self._writing():
                tag = self.canonical_name(name)
                try:
                    yield Endpoint(f"oci:{self.store.path}:{tag}", label=f"oci:{tag}")
                except BaseException:
                    # a copy stopped mid-blob leaves skopeo's temporary blob, which umoci
                    # gc never collects; the lock is still ours, so no other writer's it is
                    for left in self.store.path.glob("oci-put-blob*"):
                        left.unlink(missing_ok=True)
                    raise
            return
        stored = self._read()
        tag = self.canonical_name(name)
        index = _match_index(name, tag, self._indexes)
        if index is not None:  # the index itself: skopeo picks a platform, or copies --all
            if tag not in index.tags:
                tag = index.tags[0] if index.tags else self._tag_digest(index.digest)
            with self.store.locked(exclusive=False):
                yield Endpoint(f"oci:{self.store.path}:{tag}", label=f"oci:{name}")
            return
        image = self._resolve([name], stored)[0]
        if tag not in image.tags:
            tag = image.tags[0] if image.tags else self._tag_for(image)
        with self.store.locked(exclusive=False):
            yield Endpoint(f"oci:{self.store.path}:{tag}", label=f"oci:{name}")

    def layer_sizes(self, images: Sequence[Image]) -> dict[str, int]:
        """ChainID -> the compressed blob's size on disk, read from the manifests."""
        return {
            chain: layer.size or 0
            for image in images
            for chain, layer in zip(chain_ids(image.diff_ids), image.layers, strict=True)
        }

    def read_layers(self, names: Sequence[str], on_layer: Callable[[IO[bytes]], None]) -> None:
        """Each distinct layer of these images, from its blob, decompressed as it is read."""
        stored = self._resolve(names, self._read())
        blobs: dict[str, tuple[str, int | None]] = {}
        for image in stored:
            for layer in image.manifest.get("layers") or []:
                blobs.setdefault(layer["digest"], (layer.get("mediaType", ""), layer.get("size")))
        with self.store.locked(exclusive=False):
            for digest, (media_type, size) in blobs.items():
                if not media_type.endswith(("tar", "gzip")):
                    raise NotSupported(
                        f"layer {digest} is {media_type or 'of no media type'}; "
                        "ocitool reads tar and gzip layers",
                        hint="convert the image: skopeo copy --dest-compress-format gzip",
                    )
                with self.store.open_blob(digest, size) as raw:
                    gzipped = media_type.endswith("gzip")
                    on_layer(cast(IO[bytes], gzip.GzipFile(fileobj=raw)) if gzipped else raw)

    def build(self, request: BuildRequest, on_event: OnBuildEvent) -> BuildResult:
        """ocitool's own builder: umoci and runc, step by step (build.py)."""
        from ocitool.backends.oci.build import build

        return build(self, request, on_event)

    # -- containers ------------------------------------------------------------------

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
        self.runtime.path()  # no runtime: say so before unpacking anything
        stored = self._read()
        found = self._resolve([image], stored)[0]
        if name and any(r.name == name for r in self._records()):
            raise Conflict(
                f"container name {name} is already in use",
                hint=f"choose another --name, or remove the old one: ocitool rm {name}",
            )
        container_id = secrets.token_hex(32)
        directory = self.store.containers_dir / container_id
        directory.mkdir(parents=True, mode=0o700)
        try:
            tag = found.tags[0] if found.tags else self._tag_for(found)
            with self.store.locked(exclusive=False):
                self._umoci(
                    [
                        "unpack",
                        *(["--rootless"] if os.geteuid() != 0 else []),
                        f"--image={self._at(tag)}",
                        "--",
                        str(directory / "bundle"),
                    ]
                )
            process = records.configure_bundle(
                directory / "bundle",
                command=list(command),
                image_config=found.config.get("config") or {},
                tty=tty,
                env=list(env),
                network=network,
                hostname=(name or container_id[:12]),
                options=options,
            )
            args = list(process.get("args") or [])
            records.save(
                directory,
                Record(
                    id=container_id,
                    name=name or f"oci_{container_id[:12]}",
                    image=image,
                    image_id=found.id,
                    image_tag=tag,
                    command=list(command) or args,
                    created=records.now(),
                    remove=remove,
                    user=options.user or "",
                    workdir=str(process.get("cwd") or "/"),
                    hostname=options.hostname or name or container_id[:12],
                    env=list(process.get("env") or []),
                    binds=[[b.source, b.destination, b.read_only] for b in options.binds],
                    args=args,
                ),
            )
        except BaseException:
            records.remove_tree(directory)
            raise
        return container_id

    def container_name(self, container: str) -> str | None:
        return self._record(container).name

    def start(self, containers: Sequence[str]) -> None:
        """Each container under its supervisor; fails, as docker's start does, when the
        runtime could not start the container's process (no such command, say)."""
        for record in [self._record(c) for c in containers]:
            if record.id in self.runtime.running():
                continue
            directory = self.store.containers_dir / record.id
            if records.wants_terminal(directory / "bundle"):
                raise can.lacking(self.name, can.DETACHED_TERMINAL)
            runtime, root = self.runtime.path(), self.runtime.root()
            records.delete_state(self.runner, runtime, root, record.id)
            log = directory / "output.log"
            offset = log.stat().st_size if log.exists() else 0
            self.runner.background(
                [_python(), "-m", "ocitool.backends.oci.supervise", str(directory), runtime, root],
                log_path=log,
            )
            wait_for(partial(self._started, record.id, directory), seconds=10)
            failure = records.start_failure(log, offset)
            if failure is not None:
                raise failures.start_failed(record.name, runtime, failure)

    def _started(self, container_id: str, directory: Path) -> bool:
        """Past runc's `created` state (where a bad command fails), or already ended."""
        return self.runtime.states().get(container_id) in ("running", "paused") or _ended(directory)

    def start_attached(self, container: str, *, interactive: bool, terminal: bool) -> Exited:
        record = self._record(container)
        directory = self.store.containers_dir / record.id
        argv = [
            self.runtime.path(),
            "--root",
            self.runtime.root(),
            "run",
            "--bundle",
            str(directory / "bundle"),
            record.id,
        ]
        records.delete_state(self.runner, argv[0], argv[2], record.id)
        record.began()
        records.save(directory, record)
        try:
            if terminal and (interactive or records.wants_terminal(directory / "bundle")):
                # the user's own stdin or terminal: its output is not kept for `logs`
                code, held = self.runner.attached_holding(
                    argv, _runc_failed, timeout=self.runner.run_timeout
                )
                result = Completed(tuple(argv), code, "", held, 0.0)
            else:
                result = self._run_logged(argv, directory, terminal=terminal)
        except EngineTimeout as stop:
            # runc was killed, not its container: stop that too, as the limit promised
            records.delete_state(self.runner, argv[0], argv[2], record.id)
            record.state = "exited"
            if record.remove:
                records.remove_tree(directory)
            else:
                records.save(directory, record)
            gone = " and removed (--rm)" if record.remove else ""
            stop.message = f"{stop.message}; its container {record.id[:12]} was stopped{gone}"
            raise
        except BaseException:
            records.delete_state(self.runner, argv[0], argv[2], record.id)
            record.ended(None)
            records.save(directory, record)
            raise
        record.ended(result.returncode)
        records.save(directory, record)
        if record.remove:
            records.remove_tree(directory)
        held = "".join(line for line in result.stderr.splitlines(True) if _runc_failed(line))
        if result.returncode != 0 and held:
            raise start_failure(held, backend=self.name) or EngineError(
                result.argv, result.returncode, held
            )
        return (
            Exited(result.returncode, result.stdout, result.stderr)
            if not terminal
            else Exited(result.returncode)
        )

    def _run_logged(self, argv: Sequence[str], directory: Path, *, terminal: bool) -> Completed:
        """runc in the foreground, each line kept in the container's log (for `logs`) and
        written to the terminal or captured; runc's own words on a start that failed are
        held back, for start_attached to say as one line."""
        log = logs.Writer(directory)
        kept: dict[str, list[str]] = {"stdout": [], "stderr": [], "held": []}

        def relay(stream: str, line: str) -> None:
            if stream == "stderr" and _runc_failed(line):
                kept["held"].append(line + "\n")
                return
            log.line(stream, line)
            if terminal:
                out = sys.stdout if stream == "stdout" else sys.stderr
                out.write(line + "\n")
                out.flush()
            else:
                kept[stream].append(line + "\n")

        try:
            done = self.runner.stream(argv, relay, timeout=self.runner.run_timeout, keep=False)
        finally:
            log.close()
        out, err = "".join(kept["stdout"]), "".join(kept["stderr"])
        return Completed(done.argv, done.returncode, out, err + "".join(kept["held"]), 0.0)

    def stop(self, containers: Sequence[str], *, timeout: int | None) -> None:
        for record in [self._record(c) for c in containers]:
            self._kill(record, grace=10 if timeout is None else timeout)

    def remove_containers(self, containers: Sequence[str], *, force: bool) -> None:
        chosen = [self._record(c) for c in containers]
        running = self.runtime.running()
        for record in chosen:
            if record.id in running:
                if not force:
                    raise Conflict(
                        f"container {record.name} is running",
                        hint=f"stop it first (ocitool stop {record.name}) or use rm --force",
                    )
                self._kill(record, grace=0)
        runtime = self.runtime.path_or_none()
        for record in chosen:
            if runtime is not None:
                records.delete_state(self.runner, runtime, self.runtime.root(), record.id)
            records.remove_tree(self.store.containers_dir / record.id)

    # -- container verbs ------------------------------------------------------------------

    def inspect_containers(self, containers: Sequence[str]) -> list[Container]:
        chosen = self._records_named(containers)
        running = self.runtime.running()
        return [record.model(record.id in running, detail=True) for record in chosen]

    def logs(
        self, container: str, *, follow: bool, tail: int | None, timestamps: bool, terminal: bool
    ) -> Output:
        directory = self.store.containers_dir / self._record(container).id
        found = logs.entries(
            directory,
            tail=tail,
            follow=follow,
            ended=lambda: _ended(directory),
            limit=self.runner.run_timeout,
        )
        out, err = logs.show(found, timestamps=timestamps, terminal=terminal)
        return Output() if terminal else Output(out, err)

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
        """`runc exec`, which takes the container's own process (env, user, cwd) and
        changes what is asked; a name in -u is read from the container's /etc/passwd."""
        record = self._record(container)
        if record.id not in self.runtime.running():
            raise NotRunning(record.name, "exec in")
        rootfs = self.store.containers_dir / record.id / "bundle" / "rootfs"
        ids = resolve_user(rootfs, user) if user is not None else None
        argv = [
            self.runtime.path(),
            "--root",
            self.runtime.root(),
            "exec",
            *(["--tty"] if tty else []),
            *([f"--user={ids[0]}:{ids[1]}"] if ids else []),
            *([f"--cwd={workdir}"] if workdir else []),
            *[f"--env={e}" for e in env],
            record.id,  # runc reads no option after the ID: the command follows as given
            *command,
        ]
        timeout = self.runner.run_timeout
        if terminal:
            code, held = self.runner.attached_holding(argv, _exec_failed, timeout=timeout)
            done = Completed(tuple(argv), code, "", held, 0.0)
        else:
            done = self.runner.run(argv, timeout=timeout)
        held = "".join(line for line in done.stderr.splitlines(True) if _exec_failed(line))
        failed(done.returncode, held, backend=self.name, terminal=terminal)
        return Exited(done.returncode) if terminal else Exited(*done[1:4])

    def copy_from(self, container: str, path: str, destination: Path) -> None:
        record = self._record(container)
        rootfs = self.store.containers_dir / record.id / "bundle" / "rootfs"
        files.copy_out(rootfs, path, destination, record.name)

    def copy_to(self, source: Path, container: str, path: str) -> None:
        record = self._record(container)
        files.copy_in(self.store.containers_dir / record.id / "bundle" / "rootfs", source, path)

    def wait(self, containers: Sequence[str]) -> list[int]:
        chosen = self._records_named(containers)
        codes = []
        for record in chosen:
            directory = self.store.containers_dir / record.id
            ended = partial(self._exited, record.id, directory)
            if not wait_for(ended, seconds=self.runner.run_timeout):
                raise EngineTimeout(("wait", record.name), self.runner.run_timeout)
            codes.append(self._record(record.id).model(False).exit_code or 0)
        return codes

    def _exited(self, container_id: str, directory: Path) -> bool:
        record = records.load(directory)
        done = record is None or record.state == "exited"
        return done and container_id not in self.runtime.running()

    def kill(self, containers: Sequence[str], *, signal: str) -> None:
        chosen = self._records_named(containers)
        running = self.runtime.running()
        for record in chosen:
            if record.id not in running:
                raise NotRunning(record.name, "kill")
        runtime, root = self.runtime.path(), self.runtime.root()
        for record in chosen:
            failures.check(self.runner.run([runtime, "--root", root, "kill", record.id, signal]))

    def export(self, container: str, destination: Path) -> None:
        record = self._record(container)
        files.export(self.store.containers_dir / record.id / "bundle" / "rootfs", destination)

    def _records_named(self, containers: Sequence[str]) -> list[Record]:
        """Each named container's record, in order; every missing one named in one error."""
        found, missing = [], []
        for name in containers:
            try:
                found.append(self._record(name))
            except ContainerNotFound:
                missing.append(name)
        if missing:
            raise ContainerNotFound(missing, backend="oci")
        return found

    def _kill(self, record: Record, *, grace: int) -> None:
        directory = self.store.containers_dir / record.id
        self.runtime.kill(record.id, grace=grace, ended=lambda: _ended(directory))

    # -- plumbing ------------------------------------------------------------------------

    def _read(self) -> list[StoredImage]:
        self.store.ensure()
        started = time.monotonic()
        with self.store.locked(exclusive=False):
            stored, self._indexes = read_layout(self.store)
        log.debug(
            "read %d images from %s in %.3fs",
            len(stored),
            self.store.path,
            time.monotonic() - started,
        )
        return stored

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Exclusive, on a store checked first: a damaged store is never written to.
        What a killed writer left goes first, and this write's own spare blobs last."""
        self.store.ensure()
        with self.store.locked(exclusive=True):
            read_store(self.store)
            self.store.sweep()
            with self.store.writing():
                yield
            self.store.collect()

    def _verify_layers(self, manifests: set[str], stored: list[StoredImage]) -> None:
        """umoci gc reads and checks every layer still reachable, and fails on a damaged
        one after the index was written: check them first, so a damaged store is
        refused untouched (a damaged layer of an image being removed goes with it)."""
        read = {image.manifest_digest: image.manifest for image in stored}
        layers = {
            layer["digest"]: layer["size"]
            for digest in manifests
            for layer in (read.get(digest) or self.store.read_json(digest)).get("layers", [])
        }
        for digest, size in layers.items():
            try:
                self.store.verify_blob(digest, size)
            except StoreCorrupt as exc:
                users = sorted(
                    name
                    for image in stored
                    if any(layer["digest"] == digest for layer in image.manifest.get("layers", []))
                    for name in (image.names or [image.id])
                )
                hint = f"remove every image that uses it at once: ocitool rmi {' '.join(users)}"
                raise StoreCorrupt(exc.message, hint=hint) from exc

    def _require_umoci(self) -> None:
        if shutil.which(self.umoci) is None:
            raise BackendUnavailable(
                "umoci",
                f"executable {self.umoci!r} not found on PATH",
                hint="install umoci (Debian: apt-get install umoci) or pick another backend",
            )

    def _at(self, tag: str) -> str:
        return f"{self.store.path}:{tag}"

    def _umoci(self, args: Sequence[str]) -> Completed:
        try:
            # umoci writes under the store's lock: it must not outlive its holder
            result = self.runner.run(
                [self.umoci, *args], finish_on_interrupt=True, dies_with_ocitool=True
            )
        except InterruptedCall as stop:
            raise _Stopped(stop.result.ok) from None
        return failures.check(result)

    def _resolve(self, refs: Sequence[str], stored: list[StoredImage]) -> list[StoredImage]:
        """Names, full IDs, ID prefixes; every missing one is named in one error."""
        found, missing = [], []
        for ref in refs:
            name = self.canonical_name(ref)
            index = _match_index(ref, name, self._indexes)
            image = _picked(index) if index else _match(ref, name, stored)
            if image is None:
                missing.append(ref)
            else:
                found.append(image)
        if missing:
            raise ImageNotFound(missing, backend="oci")
        return found

    def _image_of(self, tag: str) -> str:
        image = _match(tag, tag, self._read())
        if image is None:
            raise failures.left_nothing(tag)
        return image.id

    def _image_of_or_none(self, tag: str) -> str | None:
        image = _match(tag, tag, read_store(self.store))
        return image.id if image else None

    def _retag(self, source_tag: str, target: str) -> None:
        entries = self.store.index()
        source = next(e for e in entries if e.name == source_tag)
        self.store.write_index(_named(entries, source.digest, target))

    def _untag(self, names: Sequence[str]) -> None:
        entries = self.store.index()
        if any(e.name in names for e in entries):
            self.store.write_index([e for e in entries if e.name not in names])

    def _tag_for(self, image: StoredImage) -> str:
        """umoci works on tags; an untagged image gets a hidden one while it is used."""
        tag = HIDDEN_TAG + image.id.removeprefix("sha256:")[:12]
        with self.store.locked(exclusive=True):
            entries = self.store.index()
            if not any(e.name == tag for e in entries):
                entry = next((e for e in entries if e.digest == image.manifest_digest), None)
                if entry is None:  # an image only an index names: an entry of its own
                    size = len(self.store.read_blob(image.manifest_digest))
                    media_type = image.manifest.get("mediaType") or ""
                    entries = [*entries, Tagged(None, image.manifest_digest, size, media_type)]
                self.store.write_index(_named(entries, image.manifest_digest, tag))
        return tag

    def _tag_digest(self, digest: str) -> str:
        """skopeo reads a layout by tag: an unnamed index gets a hidden one."""
        tag = HIDDEN_TAG + digest.removeprefix("sha256:")[:12]
        with self.store.locked(exclusive=True):
            entries = self.store.index()
            if not any(e.name == tag for e in entries):
                self.store.write_index(_named(entries, digest, tag))
        return tag

    def _ensure_tag(self, record: Record) -> None:
        """The image a container came from must still be named for umoci's repack."""
        stored = self._read()
        if any(record.image_tag in image.tags for image in stored):
            return
        image = next((i for i in stored if i.id == record.image_id), None)
        if image is None:
            raise Conflict(
                f"the image container {record.name} was made from is gone",
                hint="commit needs it; remove the container instead",
            )
        record.image_tag = self._tag_for(image)

    def _records(self) -> list[Record]:
        directory = self.store.containers_dir
        if not directory.is_dir():
            return []
        found = [records.load(d) for d in sorted(directory.iterdir()) if d.is_dir()]
        return [r for r in found if r is not None]

    def _record(self, container: str) -> Record:
        for record in self._records():
            if container in (record.name, record.id) or (
                len(container) >= 3 and record.id.startswith(container)
            ):
                return record
        raise ContainerNotFound([container], backend="oci")


@contextmanager
def _interrupted_write(made: Callable[[], str | None] | None) -> Iterator[None]:
    """A commit or import stopped by Ctrl-C says which image exists now (if any)."""
    try:
        yield
    except _Stopped:
        raise InterruptedWrite(made() if made else None) from None


class _Stopped(KeyboardInterrupt):
    """Ctrl-C between umoci steps; the step under way was let finish."""

    def __init__(self, finished: bool) -> None:
        super().__init__()
        self.finished = finished


def _named(entries: list[Tagged], manifest: str, name: str) -> list[Tagged]:
    """The index with `name` on this manifest: moved from wherever it was, and the
    manifest's unnamed entries (kept so nothing was lost) dropped now it has a name."""
    entry = next(e for e in entries if e.digest == manifest)
    kept = [e for e in entries if e.name != name and not (e.name is None and e.digest == manifest)]
    return [*kept, Tagged(name, entry.digest, entry.size, entry.media_type)]


def _match_index(ref: str, name: str, indexes: list[StoredIndex]) -> StoredIndex | None:
    """The index a name, its digest or a prefix of it (its ID in `images`) names."""
    for index in indexes:
        if name in index.tags or ref in index.tags:
            return index
    bare = ref.split("@", 1)[1] if "@sha256:" in ref else ref
    bare = bare.removeprefix("sha256:")
    if len(bare) >= 3 and all(c in "0123456789abcdef" for c in bare):
        hits = [i for i in indexes if i.digest.removeprefix("sha256:").startswith(bare)]
        if len(hits) == 1:
            return hits[0]
    return None


def _picked(index: StoredIndex) -> StoredImage:
    """An index's image for this host, named as the index is (as docker shows it)."""
    from dataclasses import replace

    image = index.pick(None)
    return replace(image, index_names=[*image.index_names, *index.tags])


def _match(ref: str, name: str, stored: list[StoredImage]) -> StoredImage | None:
    for image in stored:
        if name in image.tags or ref in image.tags:  # other layouts use plain tags
            return image
    bare = ref.removeprefix("sha256:")
    if len(bare) >= 3 and all(c in "0123456789abcdef" for c in bare):
        hits = [i for i in stored if i.id.removeprefix("sha256:").startswith(bare)]
        if len(hits) == 1:
            return hits[0]
    if "@sha256:" in ref:
        digest = ref.split("@", 1)[1]
        return next((i for i in stored if digest in (i.manifest_digest, i.id)), None)
    return None


def _ended(directory: Path) -> bool:
    record = records.load(directory)
    return record is None or record.state != "running"


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _tree_size(directory: Path) -> int:
    """Bytes of the files under a directory, links not followed."""
    return sum(
        _size(Path(parent, name)) for parent, _, files in os.walk(directory) for name in files
    )


def _python() -> str:
    return sys.executable


def _runc_failed(line: str) -> bool:
    return START_FAILED.search(line) is not None


def _exec_failed(line: str) -> bool:
    return EXEC_FAILED.search(line) is not None
