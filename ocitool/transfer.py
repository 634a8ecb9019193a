"""Moving images: copy between any two locations, and push, pull, save and load.

The path for each pair (see docs/distribution.md, "The path taken"), chosen by what the
backends can do (ocitool.capabilities), never by their names:
- one image, any two locations: the mover (skopeo), streamed, no temporary file;
- several images into one archive the engine's own save writes (native-archives):
  that save, in one pass;
- several images into one OCI archive otherwise: the mover into a layout, then
  one tar;
- an archive the engine's own load reads: that load, which reads the archive
  once and keeps every name; otherwise the mover, image by image.
A destination that already holds the name is refused unless `force`; an
archive is written beside its final name and renamed only when complete, so
nothing half-done is left behind.
"""

from __future__ import annotations

import logging
import re
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool import stream_paths
from ocitool.archives import (
    FORMATS,
    ArchiveEntry,
    finished_file,
    finished_layout,
    images_in,
    layout_names,
    read_archive,
    rename_images,
)
from ocitool.engines import not_supported
from ocitool.errors import (
    Conflict,
    ImageNotFound,
    InvalidReference,
    NotSupported,
    OcitoolError,
    UsageError,
)
from ocitool.locations import Location, parse_location
from ocitool.meters import file_size, metered, read_position
from ocitool.notes import note
from ocitool.references import ImageRef, is_image_id, validate_image_arg

if TYPE_CHECKING:
    from ocitool.engine import Engine
    from ocitool.engines import Engines
    from ocitool.manifests import Wanted
    from ocitool.models import Image, TransferResult
    from ocitool.movers import Endpoint, Mover, ProgressEvent
    from ocitool.registry import Registry, Tls
    from ocitool.together import Begun

log = logging.getLogger("ocitool.transfer")
_HEX = re.compile(r"[0-9a-f]{1,64}")  # an image ID, or a name that may be a prefix of one


class Transfers:
    """The distribution commands over one Client's backends."""

    def __init__(
        self,
        engines: Engines,
        *,
        tls: Tls | None = None,
        platform: Wanted | None = None,
        all_platforms: bool = False,
    ) -> None:
        self.engines = engines
        self.tls = tls
        self._logins: dict[str, tuple[str, str] | None] = {}  # one helper call per host
        self.platform = platform  # the image an index's copy takes (default: this host's)
        self.all_platforms = all_platforms  # an index's every image, digests unchanged

    # -- commands -----------------------------------------------------------------

    def copy(
        self,
        source: str,
        destination: str,
        *,
        force: bool = False,
        on_event: ProgressEvent | None = None,
    ) -> TransferResult:
        """One image from `source` to `destination` (docs/distribution.md, "Locations"),
        streamed by the mover; an existing destination is refused unless `force`."""
        src = self._location(source)
        dst = self._location(destination)
        if dst.kind == "engine" and (dst.name is None or is_image_id(dst.name)):
            raise UsageError(
                f"{destination!r} names no image to create", hint="give the destination a NAME:TAG"
            )
        # started first, and waited for only before the destination is written: over
        # a slow connection (a daemon over ssh) it runs while the image streams
        free = None if force else self._refusing_existing(dst)
        if self.all_platforms:
            self._refuse_index_into(dst)
        if self._between_streams(src, dst):  # the save finds the image: no inspect first
            return self._skopeo_copy(src, dst, None, on_event, before_naming=free)
        src, source_id = self._resolved(src)
        _one_image(src)
        if dst.kind in FORMATS:
            with finished_file(dst.path) as partial:
                into = Location(dst.kind, name=dst.name, path=partial)
                return self._skopeo_copy(src, into, source_id, on_event, label=str(dst))
        if dst.kind == "layout" and dst.path:
            with finished_layout(dst.path) as directory:
                into = Location("layout", name=dst.name, path=directory)
                return self._skopeo_copy(src, into, source_id, on_event, label=str(dst))
        result = self._skopeo_copy(src, dst, source_id, on_event, before_naming=free)
        if src.kind == "registry" and dst.kind == "engine" and src.name:
            return self._served(result, src.name, self.engines.get(dst.backend or "", dst.at))
        return result

    def push(
        self,
        image: str,
        destination: str | None = None,
        *,
        force: bool = False,
        on_event: ProgressEvent | None = None,
    ) -> TransferResult:
        """An image to a registry, under its own name or `destination` (HOST/REPO:TAG)."""
        target = destination or image
        if not target.startswith("docker://"):
            ref = ImageRef.parse(target)
            if ref.domain is None:
                raise UsageError(
                    f"{target!r} names no registry",
                    hint="push to HOST[:PORT]/REPO:TAG, e.g. ocitool push IMAGE "
                    "127.0.0.1:5000/lab/img:1",
                )
            target = f"docker://{target}"
        return self.copy(image, target, force=force, on_event=on_event)

    def pull(self, reference: str, *, on_event: ProgressEvent | None = None) -> TransferResult:
        """From a registry into the selected backend, under the same name (as docker does)."""
        name = reference.removeprefix("docker://")
        if ImageRef.parse(name).domain is None:
            name = f"docker.io/{name}"
        source = f"docker://{name}"
        local = str(ImageRef.parse(reference.removeprefix("docker://")).with_default_tag())
        return self.copy(
            source, f"{self.engines.selected_name}:{local}", force=True, on_event=on_event
        )

    def save(
        self,
        images: Sequence[str],
        output: Path,
        *,
        archive_format: str = "docker-archive",
        force: bool = False,
        on_event: ProgressEvent | None = None,
    ) -> TransferResult:
        """Images into one archive, renamed into place only when complete."""
        if archive_format not in FORMATS:
            raise UsageError(
                f"unknown archive format {archive_format!r}",
                hint="use docker-archive or oci-archive",
            )
        if not images:
            raise UsageError("no image given", hint="name at least one image to save")
        if output.exists() and not force:
            raise Conflict(f"{output} already exists", hint="remove it, or pass --force")
        backend = self.engines.selected
        found = backend.inspect([validate_image_arg(i) for i in images])
        names = [
            self._name_for(ref, image.id, image.names)
            for ref, image in zip(images, found, strict=True)
        ]
        with finished_file(output) as partial:
            if len(names) == 1:
                # saved by ID: the archive names no image, as `docker save ID` does
                member = None if names[0] == found[0].id else names[0]
                dst = Location(archive_format, path=partial, name=member)  # type: ignore[arg-type]
                src = self._here(Location("engine", backend=backend.name, name=names[0]))
                result = self._skopeo_copy(src, dst, found[0].id, on_event, label=str(output))
            elif self._saves(archive_format):
                native = self.engines.need(can.NATIVE_ARCHIVES)
                source, target = f"{backend.name}:{', '.join(names)}", f"{archive_format}:{output}"
                expected = _layer_bytes(found)
                if on_event:
                    on_event("start", {"source": source, "destination": target, "size": expected})
                with metered(on_event, "written", file_size(partial), expected):
                    native.save(names, partial, archive_format)
                result = self._result(source, target, f"{backend.name} save")
            elif archive_format == "oci-archive":
                result = self._oci_archive(names, partial, output, on_event)
            else:  # several images in one docker archive: only an engine's own save writes it
                raise not_supported(backend.name, can.NATIVE_ARCHIVES)
            if archive_format == "docker-archive":
                # the names `images` shows, not the engine's or skopeo's qualified ones
                shown: dict[str, list[str]] = {image.id: [] for image in found}
                for name, image in zip(names, found, strict=True):
                    if name != image.id:
                        shown[image.id].append(str(ImageRef.parse(name).with_default_tag()))
                rename_images(partial, shown)
        named = [n for n, image in zip(names, found, strict=True) if n != image.id]
        return result.model_copy(update={"names": named})

    def load(self, archive: Path, *, on_event: ProgressEvent | None = None) -> list[TransferResult]:
        """Every image in a docker or OCI archive into the selected backend, with its names."""
        if not archive.is_file():
            raise UsageError(f"{archive}: no such file", hint="give the path of an archive")
        kind, entries = read_archive(archive)
        backend = self.engines.selected
        before = backend.images(all=True)  # to say which names the archive moved
        results = self._load(backend, archive, kind, entries, on_event)
        after = backend.images(all=True)
        _moved_names(before, after, {n for result in results for n in result.names})
        return results

    def _load(
        self,
        backend: Engine,
        archive: Path,
        kind: str,
        entries: list[ArchiveEntry],
        on_event: ProgressEvent | None,
    ) -> list[TransferResult]:
        # The engine's own load reads the archive once and keeps every name, where it
        # reads this kind of archive at all (docs/engines.md, Distribution).
        if self.engines.has(can.NATIVE_ARCHIVES):
            native = self.engines.need(can.NATIVE_ARCHIVES)
            if native.loads(kind, images_in(entries)):
                size = archive.stat().st_size
                if on_event:
                    start = {"source": f"{kind}:{archive}", "destination": backend.name}
                    on_event("start", {**start, "size": size})
                with metered(on_event, "read", read_position(archive), size, whole=True):
                    loaded = native.load(archive)
                images = backend.inspect(loaded) if loaded else []
                return [
                    self._loaded(name, image, kind, archive, entries, f"{backend.name} load")
                    for name, image in zip(loaded, images, strict=True)
                ]
        for entry in entries:  # every name, before anything is written
            _loadable_name(archive, entry.name)
        results = []
        for entry in entries:
            # An untagged image in a docker archive is addressed by position (skopeo's @N).
            member = entry.name or (f"@{entry.position}" if kind == "docker-archive" else None)
            src = Location(kind, path=archive, name=member)  # type: ignore[arg-type]
            local = entry.name or f"loaded:{entry.position}"
            dst = self._here(Location("engine", backend=backend.name, name=local))
            results.append(self._skopeo_copy(src, dst, entry.image_id, on_event))
        return results

    # -- plumbing -----------------------------------------------------------------

    def _location(self, text: str) -> Location:
        return self._here(parse_location(text, self.engines.selected_name))

    def _here(self, location: Location) -> Location:
        """An engine location of the selected backend, at the endpoint it was given."""
        selected = location.backend == self.engines.selected_name
        if location.kind == "engine" and location.at is None and selected and self.engines.at:
            return replace(location, at=self.engines.at)
        return location

    def _resolved(self, location: Location) -> tuple[Location, str | None]:
        """An engine source as the full ID or the name skopeo can read, and its image ID."""
        if location.kind != "engine" or location.name is None:
            return location, None
        backend = self.engines.get(location.backend or "", location.at)
        image = backend.inspect([location.name])[0]
        name = self._name_for(location.name, image.id, image.names)
        return Location("engine", backend=location.backend, at=location.at, name=name), image.id

    @staticmethod
    def _name_for(ref: str, image_id: str, names: Sequence[str]) -> str:
        """skopeo needs a tagged name or the full ID, never an ID prefix."""
        if ref in names or ImageRef.parse(ref).with_default_tag().__str__() in names:
            return ref
        return names[0] if names and not _looks_like_id(ref, image_id) else image_id

    def _between_streams(self, src: Location, dst: Location) -> bool:
        """Whether two engines' own save | load will carry this copy (stream_paths): the
        save then reads the image by the name given, and the archive's config digest is
        its image ID, so the source is not inspected first (over ssh, a connection more).
        An ID or what may be a prefix of one is resolved first: engines read those apart."""
        if src.kind != "engine" or dst.kind != "engine" or not src.name or not dst.name:
            return False
        if _HEX.fullmatch(src.name.removeprefix("sha256:")):
            return False
        ends = []
        for location, writing in ((dst, True), (src, False)):
            end = self.engines.need(can.COPY_ENDPOINT, location.backend, location.at)
            with end.copy_endpoint(location.name or "", writing=writing) as endpoint:
                ends.append(endpoint)
        d, s = ends
        return stream_paths.needed(s, d) and s.save is not None and d.load is not None

    def _refusing_existing(self, location: Location) -> Begun[None] | None:
        """_refuse_existing: at once, or, for a name on an engine on another machine,
        begun in a thread, as its call waits on the network (a copy waits for it before
        the load can name anything: ocitool.archive_stream). A store on this machine is
        checked first: its lock is then never wanted by both the check and the copy."""
        backend = None
        if location.kind == "engine" and location.name:
            backend = self.engines.get(location.backend or "", location.at)  # not in the thread
        if backend is None or not getattr(backend, "remote", False):  # docker's, podman's
            self._refuse_existing(location)
            return None
        from ocitool.together import begun

        return begun(lambda: self._refuse_existing(location))

    def _refuse_existing(self, location: Location) -> None:
        if location.kind == "engine" and location.name:
            try:
                self.engines.get(location.backend or "", location.at).inspect([location.name])
            except ImageNotFound:
                return
            raise Conflict(
                f"{location} already exists",
                hint="pick another name, or pass --force to replace it",
            )
        if location.kind == "registry" and location.name:
            ref = ImageRef.parse(location.name)
            path = ref.path if ref.domain else f"library/{ref.path}"
            registry = self.registry(location.registry)
            if registry.has_manifest(path, ref.tag or ref.digest or "latest"):
                raise Conflict(
                    f"{location} already exists",
                    hint="pick another tag, or pass --force to replace it",
                )
        if (
            location.kind == "layout"
            and location.path
            and location.name in layout_names(location.path)
        ):
            raise Conflict(f"{location} already exists", hint="pass --force to replace it")
        if location.kind in FORMATS and location.path and location.path.exists():
            raise Conflict(f"{location.path} already exists", hint="pass --force to replace it")

    def _refuse_index_into(self, location: Location) -> None:
        """copy --all writes an index: a registry, an OCI layout or archive, or a backend
        whose store holds one (capability image-indexes)."""
        if location.kind in ("registry", "layout", "oci-archive"):
            return
        if location.kind == "engine" and self.engines.has(
            can.IMAGE_INDEXES, location.backend, location.at
        ):
            return
        raise NotSupported(
            f"copy --all writes an image index, and {location} cannot hold one",
            hint="copy --all to docker://, oci:PATH:TAG or oci-archive:; or copy one platform"
            " with --platform OS/ARCH",
        )

    def registry(self, host: str) -> Registry:
        """The registry at `host`, with this transfer's TLS settings and stored credentials."""
        from ocitool.registry import Registry

        return Registry(
            host,
            tls=self._tls(host),
            credentials=self.stored_login(host),
            timeout=self.engines.runner.timeout,
        )

    def stored_login(self, host: str) -> tuple[str, str] | None:
        """The stored credentials for `host` (ocitool.credentials), asked once per command."""
        if host not in self._logins:
            from ocitool import credentials

            self._logins[host] = credentials.lookup(host, runner=self.engines.runner)
        return self._logins[host]

    def _tls(self, host: str) -> Tls:
        if self.tls is not None:
            return self.tls
        from ocitool.registry import Tls

        return Tls(verify=host not in self.engines.config.insecure_registries)

    def registry_endpoint(self, reference: str, *, mover: Mover | None = None) -> Endpoint:
        """HOST/REPO:TAG as one end of a copy or push: its TLS settings and the logins."""
        from ocitool.credentials import containers_auth_file

        mover = mover or self.engines.mover(f"pushing to {reference}")
        host = Location("registry", name=reference).registry
        tls = self._tls(host)
        return mover.registry(
            reference,
            tls_verify=tls.verify,
            cert_dir=tls.cert_dir,
            authfile=containers_auth_file(),
            credentials=self.stored_login(host),
        )

    @contextmanager
    def _endpoint(self, location: Location, *, writing: bool, mover: Mover) -> Iterator[Endpoint]:
        if location.kind == "engine":
            end = self.engines.need(can.COPY_ENDPOINT, location.backend, location.at)
            with end.copy_endpoint(location.name or "", writing=writing) as endpoint:
                yield endpoint
        elif location.kind == "registry":
            yield self.registry_endpoint(location.name or "", mover=mover)
        elif location.kind == "layout" and location.path:
            yield mover.layout(location.path, location.name or "latest")
        elif location.path:
            yield mover.archive(location.kind, location.path, location.name)
        else:
            raise UsageError(f"{location} is not a place to copy to or from")

    def _skopeo_copy(
        self,
        src: Location,
        dst: Location,
        source_id: str | None,
        on_event: ProgressEvent | None,
        *,
        label: str | None = None,
        before_naming: Begun[None] | None = None,
    ) -> TransferResult:
        """One image by the best path; `before_naming` (the destination's name check,
        begun) is waited for before the destination is written or named."""
        mover = self.engines.mover(f"copying {src} to {dst}")
        # the destination first: within one store, its exclusive lock covers the read too
        with (
            self._endpoint(dst, writing=True, mover=mover) as d,
            self._endpoint(src, writing=False, mover=mover) as s,
        ):
            if on_event:
                on_event("start", {"source": str(src), "destination": label or str(dst)})
            self.engines.runner.meanwhile(_ready_to_report)
            if stream_paths.needed(s, d):
                to_file = (
                    (dst.path, dst.name) if dst.kind == "docker-archive" and dst.path else None
                )
                taken = stream_paths.stream_copy(
                    self.engines.runner,
                    mover,
                    s,
                    d,
                    to_file=to_file,
                    on_event=on_event,
                    before_naming=before_naming,
                )
                path, digest, known = taken
                if src.kind == "engine" and dst.kind == "engine":
                    source_id = source_id or known  # a save | load keeps the config
            else:
                if before_naming is not None:
                    before_naming.wait()
                log.debug("path: %s copy %s -> %s", mover.name, s.ref, d.ref)
                want = self.platform
                digest = mover.copy(
                    s,
                    d,
                    on_event=on_event,
                    platform=(want.os, want.architecture, want.variant) if want else None,
                    all_platforms=self.all_platforms,
                )
                path, known = f"{mover.name} copy", None
        result = self._result(str(src), label or str(dst), path, digest=digest)
        return self._with_destination_id(result, dst, source_id, known)

    def _with_destination_id(
        self,
        result: TransferResult,
        dst: Location,
        source_id: str | None,
        known: str | None = None,
    ) -> TransferResult:
        """The result with the destination's names and image ID: `known` where the copy
        showed it, else from one inspect."""
        update: dict[str, object] = {
            "source_id": source_id,
            "names": [dst.name] if dst.name else [],
        }
        if dst.kind == "engine" and dst.name:
            backend = self.engines.get(dst.backend or "", dst.at)
            name = backend.canonical_name(dst.name)
            image_id = known or backend.inspect([name])[0].id
            update["names"] = [name]
            update["image_id"] = image_id
            update["id_changed"] = None if source_id is None else image_id != source_id
        return result.model_copy(update=update)

    def _saves(self, archive_format: str) -> bool:
        """Whether the engine's own save writes several images in one such archive."""
        if not self.engines.has(can.NATIVE_ARCHIVES):
            return False
        native = self.engines.need(can.NATIVE_ARCHIVES)
        return archive_format in native.save_formats

    def _oci_archive(
        self,
        names: Sequence[str],
        partial: Path,
        output: Path,
        on_event: ProgressEvent | None,
    ) -> TransferResult:
        """Several images in one OCI archive: each into one layout, then one tar."""
        backend = self.engines.selected
        with tempfile.TemporaryDirectory(prefix="ocitool-save-", dir=output.parent) as tmp:
            layout = Path(tmp) / "layout"
            for name in names:
                src = self._here(Location("engine", backend=backend.name, name=name))
                dst = Location("layout", path=layout, name=name)
                self._skopeo_copy(src, dst, None, on_event)
            with tarfile.open(partial, "w") as tar:
                for item in sorted(layout.iterdir()):
                    tar.add(item, arcname=item.name)
        mover = self.engines.mover("saving an OCI archive")
        return self._result(
            f"{backend.name}:{', '.join(names)}",
            f"oci-archive:{output}",
            f"{mover.name} copy, then tar",
        )

    def _served(self, result: TransferResult, reference: str, backend: Engine) -> TransferResult:
        """A pull's result with the manifest digest the registry serves (skopeo's is the
        one it wrote, which differs where it converted the image on the way); and a
        note where the engine keeps no record of it, so `images` cannot show it."""
        ref = ImageRef.parse(reference)
        hub = ref.domain in (None, "docker.io") and "/" not in ref.path
        path = f"library/{ref.path}" if hub else ref.path
        registry = self.registry(ref.domain or "docker.io")
        try:
            served = registry.manifest_digest(path, ref.digest or ref.tag or "latest")
        except OcitoolError as exc:  # the copy went through; only the digest is unknown
            log.debug("the registry's digest is unknown: %s", exc.one_line())
            served = None
        if served and result.image_id:
            kept = backend.inspect([result.image_id])[0].repo_digests
            if not any(d.endswith(f"@{served}") for d in kept):
                note(
                    "%s keeps no record of the registry's digest %s for %s (its copy of the "
                    "manifest is its own); 'ocitool images' shows none",
                    backend.name,
                    served,
                    reference,
                )
        return result.model_copy(update={"digest": served})

    def _loaded(
        self,
        loaded: str,
        image: Image,
        kind: str,
        archive: Path,
        entries: list[ArchiveEntry],
        path: str,
    ) -> TransferResult:
        original = next(
            (e.image_id for e in entries if e.name and e.name in image.names),
            None if len({e.image_id for e in entries}) != 1 else entries[0].image_id,
        )
        from ocitool.models import TransferResult

        return TransferResult(
            source=f"{kind}:{archive}",
            destination=f"{self.engines.selected_name}:{loaded}",
            path=path,
            names=image.names,
            image_id=image.id,
            source_id=original,
            id_changed=None if original is None else original != image.id,
        )

    @staticmethod
    def _result(
        source: str, destination: str, path: str, *, digest: str | None = None
    ) -> TransferResult:
        from ocitool.models import TransferResult  # pydantic: once the image has moved

        return TransferResult(source=source, destination=destination, path=path, digest=digest)


def _layer_bytes(images: Sequence[Image]) -> int | None:
    """What an archive of these images will about hold: each distinct layer once,
    as the engine counts it; None where one layer's size is unknown."""
    sizes = {layer.diff_id: layer.size for image in images for layer in image.layers}
    known = [size for size in sizes.values() if size is not None]
    return sum(known) if sizes and len(known) == len(sizes) else None


def _one_image(source: Location) -> None:
    """An archive source names its image, or holds only one: skopeo would call a
    file of several images damaged."""
    if source.kind not in FORMATS or source.name or not (source.path and source.path.is_file()):
        return
    _, entries = read_archive(source.path)
    count = images_in(entries)
    if count > 1:
        names = sorted({e.name for e in entries if e.name})
        example = names[0] if names else "@0"
        raise UsageError(
            f"{source.path} holds {count} images"
            + (f" ({', '.join(names)})" if names else ", none of them named")
            + "; name the one to copy",
            hint=f"e.g. {source.kind}:{source.path}:{example}",
        )


def _moved_names(before: Sequence[Image], after: Sequence[Image], loaded: set[str]) -> None:
    """A note for each loaded name that named another image before: the name moved,
    as with tag, commit and import, and that image stays."""
    from ocitool.lifecycle import note_moved

    was = {name: image for image in before for name in image.names}
    now = {image.id: image for image in after}
    for image in after:
        for name in sorted(loaded & set(image.names)):
            previous = was.get(name)
            if previous is not None and previous.id != image.id:
                left = now[previous.id].names if previous.id in now else None
                note_moved(name, previous, image, left)


def _looks_like_id(ref: str, image_id: str) -> bool:
    return is_image_id(ref) or image_id.removeprefix("sha256:").startswith(
        ref.removeprefix("sha256:")
    )


def _loadable_name(archive: Path, name: str | None) -> None:
    """A name from an archive becomes an image's name as it is: one ocitool could not
    address again (`UPPER`, `a:b:c`) is refused, as docker's load refuses it."""
    if name is None:
        return
    try:
        ImageRef.parse(name)
    except InvalidReference as exc:
        raise InvalidReference(
            name,
            f"{archive} names an image so, and {exc.reason}",
            hint="save the image again under a valid name (lowercase NAME[:TAG])",
        ) from None


def _ready_to_report() -> None:
    """The result's model made ready while the image moves: pydantic's first
    validation looks for plugins (importlib.metadata), some 30 ms of a copy's end."""
    from ocitool.models import TransferResult

    TransferResult(source="", destination="", path="")
