"""Moving images: copy between any two locations, and push, pull, save and load.

The path for each pair (see `README.md`, "Distribution"):
- one image, any two locations: `skopeo copy`, streamed, no temporary file;
- several images into one docker archive: the engine's own `save` (one pass);
- several images into one OCI archive: skopeo into a layout, then one tar;
- an archive into docker or podman: the engine's own `load`, which reads the
  archive once and keeps every name; into the oci store: skopeo per image.
A destination that already holds the name is refused unless `force`; an
archive is written beside its final name and renamed only when complete, so
nothing half-done is left behind.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool import credentials
from ocitool.backends import skopeo
from ocitool.backends.skopeo import Endpoint, ProgressEvent
from ocitool.errors import Conflict, ImageNotFound, NotSupported, UsageError
from ocitool.locations import Location, parse_location
from ocitool.models import TransferResult
from ocitool.references import ImageRef, is_image_id
from ocitool.registry import Registry, Tls

if TYPE_CHECKING:
    from ocitool.backend import Backend
    from ocitool.client import Client

log = logging.getLogger("ocitool.transfer")
ARCHIVE_FORMATS = ("docker-archive", "oci-archive")


class Transfers:
    """The distribution commands of one Client."""

    def __init__(self, client: Client, *, tls: Tls | None = None) -> None:
        self.client = client
        self.tls = tls

    # -- commands -----------------------------------------------------------------

    def copy(
        self,
        source: str,
        destination: str,
        *,
        force: bool = False,
        on_event: ProgressEvent | None = None,
    ) -> TransferResult:
        src = self._location(source)
        dst = self._location(destination)
        if dst.kind == "engine" and (dst.name is None or is_image_id(dst.name)):
            raise UsageError(
                f"{destination!r} names no image to create", hint="give the destination a NAME:TAG"
            )
        src, source_id = self._resolved(src)
        if not force:
            self._refuse_existing(dst)
        if dst.kind in ARCHIVE_FORMATS:
            with _finished_file(dst.path) as partial:
                into = Location(dst.kind, name=dst.name, path=partial)
                return self._skopeo_copy(src, into, source_id, on_event, label=str(dst))
        return self._skopeo_copy(src, dst, source_id, on_event)

    def push(
        self,
        image: str,
        destination: str | None = None,
        *,
        force: bool = False,
        on_event: ProgressEvent | None = None,
    ) -> TransferResult:
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
            source, f"{self.client.backend_name}:{local}", force=True, on_event=on_event
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
        if archive_format not in ARCHIVE_FORMATS:
            raise UsageError(
                f"unknown archive format {archive_format!r}",
                hint="use docker-archive or oci-archive",
            )
        if not images:
            raise UsageError("no image given", hint="name at least one image to save")
        if output.exists() and not force:
            raise Conflict(f"{output} already exists", hint="remove it, or pass --force")
        backend = self.client.backend
        found = backend.inspect([self.client.checked(i) for i in images])
        names = [
            self._name_for(ref, image.id, image.names)
            for ref, image in zip(images, found, strict=True)
        ]
        with _finished_file(output) as partial:
            if len(names) == 1:
                # saved by ID: the archive names no image, as `docker save ID` does
                member = None if names[0] == found[0].id else names[0]
                dst = Location(archive_format, path=partial, name=member)  # type: ignore[arg-type]
                src = Location("engine", backend=backend.name, name=names[0])
                result = self._skopeo_copy(src, dst, found[0].id, on_event, label=str(output))
            elif archive_format == "docker-archive" and backend.name in ("docker", "podman"):
                backend.save(names, partial, archive_format)
                result = self._result(
                    f"{backend.name}:{', '.join(names)}",
                    f"docker-archive:{output}",
                    f"{backend.name} save",
                )
            elif archive_format == "oci-archive":
                result = self._oci_archive(names, found[0].id, partial, output, on_event)
            else:
                raise NotSupported(
                    f"the {backend.name} backend cannot put several images in one docker archive",
                    hint="save them one per file, or use --format oci-archive",
                )
        named = [n for n, image in zip(names, found, strict=True) if n != image.id]
        return result.model_copy(update={"names": named})

    def load(self, archive: Path, *, on_event: ProgressEvent | None = None) -> list[TransferResult]:
        """Every image in a docker or OCI archive into the selected backend, with its names."""
        if not archive.is_file():
            raise UsageError(f"{archive}: no such file", hint="give the path of an archive")
        kind, entries = read_archive(archive)
        backend = self.client.backend
        before = set(backend.list_ids(all=True))
        # The engine's own load reads the archive once and keeps every name, but docker
        # 20.10 cannot load OCI archives and podman only single-image ones (ENGINES.md §7).
        images = len({entry.position for entry in entries})
        native = kind == "docker-archive" or (backend.name == "podman" and images == 1)
        if backend.name in ("docker", "podman") and native:
            loaded = backend.load(archive)
            return [
                self._loaded(backend, name, kind, archive, entries, before, f"{backend.name} load")
                for name in loaded
            ]
        results = []
        for entry in entries:
            # An untagged image in a docker archive is addressed by position (skopeo's @N).
            member = entry.name or (f"@{entry.position}" if kind == "docker-archive" else None)
            src = Location(kind, path=archive, name=member)  # type: ignore[arg-type]
            local = entry.name or f"loaded:{entry.position}"
            dst = Location("engine", backend=backend.name, name=local)
            results.append(self._skopeo_copy(src, dst, entry.image_id, on_event))
        return results

    # -- plumbing -----------------------------------------------------------------

    def _location(self, text: str) -> Location:
        return parse_location(text, self.client.backend_name)

    def _resolved(self, location: Location) -> tuple[Location, str | None]:
        """An engine source as the full ID or the name skopeo can read, and its image ID."""
        if location.kind != "engine" or location.name is None:
            return location, None
        backend = self.client.backend_for(location.backend or "")
        image = backend.inspect([location.name])[0]
        name = self._name_for(location.name, image.id, image.names)
        return Location("engine", backend=location.backend, name=name), image.id

    @staticmethod
    def _name_for(ref: str, image_id: str, names: Sequence[str]) -> str:
        """skopeo needs a tagged name or the full ID, never an ID prefix."""
        if ref in names or ImageRef.parse(ref).with_default_tag().__str__() in names:
            return ref
        return names[0] if names and not _looks_like_id(ref, image_id) else image_id

    def _refuse_existing(self, location: Location) -> None:
        if location.kind == "engine" and location.name:
            try:
                self.client.backend_for(location.backend or "").inspect([location.name])
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
        if location.kind in ARCHIVE_FORMATS and location.path and location.path.exists():
            raise Conflict(f"{location.path} already exists", hint="pass --force to replace it")

    def registry(self, host: str) -> Registry:
        return Registry(host, tls=self._tls(host), credentials=credentials.lookup(host))

    def _tls(self, host: str) -> Tls:
        if self.tls is not None:
            return self.tls
        return Tls(verify=host not in self.client.config.insecure_registries)

    @contextmanager
    def _endpoint(self, location: Location, *, writing: bool) -> Iterator[Endpoint]:
        if location.kind == "engine":
            backend = self.client.backend_for(location.backend or "")
            with backend.skopeo_endpoint(location.name or "", writing=writing) as endpoint:
                yield endpoint
        elif location.kind == "registry":
            tls = self._tls(location.registry)
            yield skopeo.registry(
                location.name or "",
                tls_verify=tls.verify,
                cert_dir=tls.cert_dir,
                authfile=credentials.containers_auth_file(),
            )
        elif location.kind == "layout" and location.path:
            yield skopeo.layout(location.path, location.name or "latest")
        elif location.path:
            yield skopeo.archive(location.kind, location.path, location.name)
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
    ) -> TransferResult:
        if not skopeo.available():
            raise NotSupported(
                f"copying {src} to {dst} needs skopeo, which is not on PATH",
                hint="install it (Debian: apt-get install skopeo)",
            )
        # the destination first: within one store, its exclusive lock covers the read too
        with self._endpoint(dst, writing=True) as d, self._endpoint(src, writing=False) as s:
            log.debug("path: skopeo copy %s -> %s", s.ref, d.ref)
            if on_event:
                on_event("start", {"source": str(src), "destination": label or str(dst)})
            digest = skopeo.copy(self.client.runner, s, d, on_event=on_event)
        result = self._result(str(src), label or str(dst), "skopeo copy", digest=digest)
        return self._with_destination_id(result, dst, source_id)

    def _with_destination_id(
        self, result: TransferResult, dst: Location, source_id: str | None
    ) -> TransferResult:
        update: dict[str, object] = {
            "source_id": source_id,
            "names": [dst.name] if dst.name else [],
        }
        if dst.kind == "engine" and dst.name:
            backend = self.client.backend_for(dst.backend or "")
            name = backend.canonical_name(dst.name)
            image = backend.inspect([name])[0]
            update["names"] = [name]
            update["image_id"] = image.id
            update["id_changed"] = None if source_id is None else image.id != source_id
        return result.model_copy(update=update)

    def _oci_archive(
        self,
        names: Sequence[str],
        first_id: str,
        partial: Path,
        output: Path,
        on_event: ProgressEvent | None,
    ) -> TransferResult:
        """Several images in one OCI archive: each into one layout, then one tar."""
        backend = self.client.backend
        with tempfile.TemporaryDirectory(prefix="ocitool-save-", dir=output.parent) as tmp:
            layout = Path(tmp) / "layout"
            for name in names:
                src = Location("engine", backend=backend.name, name=name)
                dst = Location("layout", path=layout, name=name)
                self._skopeo_copy(src, dst, None, on_event)
            with tarfile.open(partial, "w") as tar:
                for item in sorted(layout.iterdir()):
                    tar.add(item, arcname=item.name)
        return self._result(
            f"{backend.name}:{', '.join(names)}", f"oci-archive:{output}", "skopeo copy, then tar"
        )

    def _loaded(
        self,
        backend: Backend,
        loaded: str,
        kind: str,
        archive: Path,
        entries: list[ArchiveEntry],
        before: set[str],
        path: str,
    ) -> TransferResult:
        image = backend.inspect([loaded])[0]
        original = next(
            (e.image_id for e in entries if e.name and e.name in image.names),
            None if len({e.image_id for e in entries}) != 1 else entries[0].image_id,
        )
        return TransferResult(
            source=f"{kind}:{archive}",
            destination=f"{backend.name}:{loaded}",
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
        return TransferResult(source=source, destination=destination, path=path, digest=digest)


@dataclass(frozen=True)
class ArchiveEntry:
    """One name of one image in an archive (an unnamed image has one entry, name None)."""

    name: str | None
    image_id: str | None  # a docker archive names each config file by the image ID
    position: int  # the image's place in the archive: skopeo's @N


def read_archive(path: Path) -> tuple[str, list[ArchiveEntry]]:
    """(kind, entries) from an archive's manifest.json or index.json."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            if "manifest.json" in members:
                doc = json.load(tar.extractfile(members["manifest.json"]))  # type: ignore[arg-type]
                entries = []
                for position, item in enumerate(doc):
                    config = str(item.get("Config", "")).rsplit("/", 1)[-1].removesuffix(".json")
                    image_id = f"sha256:{config}" if len(config) == 64 else None
                    for name in item.get("RepoTags") or [None]:
                        entries.append(ArchiveEntry(name, image_id, position))
                return "docker-archive", entries
            if "index.json" in members:
                doc = json.load(tar.extractfile(members["index.json"]))  # type: ignore[arg-type]
                names = [
                    (m.get("annotations") or {}).get("org.opencontainers.image.ref.name")
                    for m in doc.get("manifests") or []
                ]
                return "oci-archive", [ArchiveEntry(n, None, i) for i, n in enumerate(names)]
    except (tarfile.TarError, OSError, ValueError, EOFError) as exc:
        raise UsageError(
            f"{path} is truncated or not an image archive ({exc})",
            hint="make the archive again with 'ocitool save'",
        ) from exc
    raise UsageError(f"{path} is not a docker or OCI archive (no manifest.json or index.json)")


def layout_names(path: Path) -> list[str]:
    try:
        doc = json.loads((path / "index.json").read_text())
    except (OSError, ValueError):
        return []
    return [
        (m.get("annotations") or {}).get("org.opencontainers.image.ref.name", "")
        for m in doc.get("manifests") or []
    ]


def _looks_like_id(ref: str, image_id: str) -> bool:
    return is_image_id(ref) or image_id.removeprefix("sha256:").startswith(
        ref.removeprefix("sha256:")
    )


@contextmanager
def _finished_file(path: Path | None) -> Iterator[Path]:
    """Write beside `path`, rename over it only when complete; a failure leaves nothing."""
    if path is None:
        raise UsageError("no output file given")
    partial = path.with_name(path.name + ".ocitool-partial")
    with suppress(FileNotFoundError):
        partial.unlink()
    try:
        yield partial
        os.replace(partial, path)
    except BaseException:
        with suppress(FileNotFoundError):
            partial.unlink()
        raise
