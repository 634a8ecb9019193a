"""Images read where they live: a registry, an OCI layout, an archive; nothing pulled.

Each place is a Source that serves the manifest its location names (with the
media type it was served as), and manifests and blobs by digest. Every byte
is checked against the digest that named it: a registry's answer against its
Docker-Content-Digest and the digest asked for, a layout's blobs against their
file names. A docker archive holds no manifest, so its Source writes the one
skopeo generates for it (schema 2, compact JSON), whose digest `skopeo inspect`
reports too.
"""

from __future__ import annotations

import json
import tarfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ocitool import manifests
from ocitool.errors import ImageNotFound, InvalidReference, StoreCorrupt, UsageError
from ocitool.manifests import Document, Wanted
from ocitool.models import LocatedImage
from ocitool.references import ImageRef, familiar

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ocitool.locations import Location
    from ocitool.registry import Registry
    from ocitool.transfer import Transfers

REF_NAME = "org.opencontainers.image.ref.name"
_DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"  # as skopeo labels it
_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"


class Source(Protocol):
    where: str

    def top(self) -> Document:
        """The manifest or index the location names."""
        ...

    def manifest(self, digest: str) -> Document: ...

    def blob(self, digest: str) -> bytes: ...


@dataclass(frozen=True)
class Read:
    """What `inspect LOCATION` read: the named document, the platform's manifest, its config."""

    top: Document
    manifest: Document
    config: bytes


def read(source: Source, want: Wanted | None, top: Document | None = None) -> Read:
    """The location's manifest (`top`, where it was read already), and for an index the
    manifest of the platform wanted."""
    top = top or source.top()
    manifest = top
    if top.is_index:
        entry = manifests.pick(top, want or manifests.wanted(None), source.where)
        manifest = source.manifest(entry.digest)
        if manifest.is_index:
            raise StoreCorrupt(
                f"{source.where}: the platform entry {entry.digest} is itself an index",
                hint="ocitool reads one level of index, as the engines do",
            )
    digest, _ = manifests.config_descriptor(manifest)
    return Read(top, manifest, source.blob(digest))


def located_image(
    source: Source,
    location: Location,
    want: Wanted | None,
    *,
    names: list[str],
    repo: str | None,
) -> LocatedImage:
    """The location's image as the same model a local inspect shows, with its digest."""
    found = source.top()
    platforms = manifests.platforms(found) if found.is_index else []
    if found.is_index and want is None and not _host_platform_in(found):
        return LocatedImage(  # an index without this host's platform: list it, pick none
            location=str(location), digest=found.digest, media_type=found.media_type,
            platforms=platforms,
        )  # fmt: skip
    got = read(source, want, found)
    kind = location.kind
    image = manifests.image(
        got.manifest,
        got.config,
        names=names,
        repo_digests=[f"{repo}@{found.digest}"] if repo else [],
        source="registry" if kind == "engine" else kind,
    )
    return LocatedImage(
        location=str(location),
        digest=found.digest,
        media_type=found.media_type,
        platforms=platforms,
        platform_digest=got.manifest.digest if found.is_index else None,
        image=image,
    )


def _host_platform_in(index: Document) -> bool:
    here = manifests.wanted(None)
    return any(here.matches(p) for p in manifests.platforms(index))


# -- registries ----------------------------------------------------------------------


class RegistrySource:
    """A repository in a registry, through ocitool.registry's requests."""

    def __init__(self, registry: Registry, name: str) -> None:
        ref = ImageRef.parse(name)
        self.registry = registry
        self.repository = ref.path
        self.reference = ref.digest or ref.tag or "latest"
        self.where = f"docker://{name}"

    def top(self) -> Document:
        return self._manifest(self.reference)

    def manifest(self, digest: str) -> Document:
        return self._manifest(digest)

    def blob(self, digest: str) -> bytes:
        status, body, _ = self.registry._request(
            f"/v2/{self.registry._api_path(self.repository)}/blobs/{digest}", allow={200, 404}
        )
        if status == 404:
            raise missing_blob(self.where, digest)
        return manifests.checked_blob(body, digest, self.where)

    def _manifest(self, reference: str) -> Document:
        from ocitool.registry import MANIFEST_TYPES

        path = f"/v2/{self.registry._api_path(self.repository)}/manifests/{reference}"
        status, body, headers = self.registry._request(
            path, allow={200, 404}, accept=MANIFEST_TYPES
        )
        if status == 404:
            raise ImageNotFound(
                [self.where if reference == self.reference else f"{self.where} ({reference})"],
                backend="registry",
                hint=f"list the repository's tags: ocitool tags {self._repo_name()}",
            )
        lowered = {k.lower(): v for k, v in headers.items()}
        found = manifests.document(body, lowered.get("content-type"), self.where)
        served = lowered.get("docker-content-digest")
        for expected in (served, reference if reference.startswith("sha256:") else None):
            if expected and expected != found.digest:
                raise StoreCorrupt(
                    f"{self.where}: the manifest's sha256 is {found.digest}, but it was"
                    f" served as {expected}",
                    hint="the registry or something between holds broken data",
                )
        return found

    def _repo_name(self) -> str:
        return f"{self.registry.host}/{self.repository}"


def missing_blob(where: str, digest: str) -> StoreCorrupt:
    return StoreCorrupt(
        f"{where}: blob {digest} is missing, though the manifest names it",
        hint="push the image again; the registry or file lost part of it",
    )


# -- OCI layouts, as a directory or a tar --------------------------------------------


class Files(Protocol):
    def read(self, name: str) -> bytes | None: ...


class Directory:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self, name: str) -> bytes | None:
        try:
            return (self.path / name).read_bytes()
        except FileNotFoundError:
            return None


class Tar:
    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.members = {m.name.removeprefix("./"): m for m in tar.getmembers() if m.isfile()}

    def read(self, name: str) -> bytes | None:
        member = self.members.get(name)
        handle = self.tar.extractfile(member) if member else None
        return handle.read() if handle else None


class LayoutSource:
    """An OCI image layout (a directory, or an oci-archive's tar of one)."""

    def __init__(self, files: Files, where: str, name: str | None) -> None:
        self.files = files
        self.where = where
        self.name = name

    def top(self) -> Document:
        index = self._json("index.json")
        entries = [e for e in index.get("manifests") or [] if isinstance(e, dict)]
        named = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) == self.name]
        if self.name is None and len(entries) == 1:
            named = entries
        if not named:
            tags = sorted(str((e.get("annotations") or {}).get(REF_NAME)) for e in entries)
            if self.name is None:
                raise UsageError(
                    f"{self.where} holds {len(entries)} images; name the one to inspect",
                    hint=f"its tags: {', '.join(tags) or 'none'}",
                )
            raise ImageNotFound(
                [f"{self.where}:{self.name}"],
                backend="layout",
                hint=f"its tags: {', '.join(tags) or 'none'}",
            )
        entry = named[0]
        return self._document(str(entry.get("digest")), entry.get("mediaType"))

    def manifest(self, digest: str) -> Document:
        return self._document(digest, None)

    def blob(self, digest: str) -> bytes:
        data = self.files.read(_blob_name(digest, self.where))
        if data is None:
            raise missing_blob(self.where, digest)
        return manifests.checked_blob(data, digest, self.where)

    def _document(self, digest: str, media_type: object) -> Document:
        found = manifests.document(
            self.blob(digest), media_type if isinstance(media_type, str) else None, self.where
        )
        return found

    def _json(self, name: str) -> dict[str, Any]:
        data = self.files.read(name)
        if data is None:
            raise UsageError(
                f"{self.where} is not an OCI image layout (no {name})",
                hint="give a layout written by 'ocitool copy' or skopeo",
            )
        try:
            doc = json.loads(data)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise StoreCorrupt(f"{self.where}: {name} is not a JSON object")
        return doc


def _blob_name(digest: str, where: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not hexdigest.isalnum():
        raise StoreCorrupt(f"{where}: {digest!r} is not a sha256 digest")
    return f"blobs/sha256/{hexdigest}"


# -- docker archives -----------------------------------------------------------------


class DockerArchiveSource:
    """A `docker save` archive: its manifest.json entry, and the manifest skopeo makes of it."""

    def __init__(self, tar: Tar, where: str, name: str | None) -> None:
        self.tar = tar
        self.where = where
        self.name = name
        self._blobs: dict[str, str] = {}  # digest -> member

    def top(self) -> Document:
        entry = self._entry()
        config_name = str(entry.get("Config"))
        config = self._member(config_name)
        config_digest = manifests.sha256(config)
        self._blobs[config_digest] = config_name
        layers = []
        for name in entry.get("Layers") or []:
            digest, size = self._hashed(str(name))
            self._blobs[digest] = str(name)
            layers.append({"mediaType": _DOCKER_LAYER, "size": size, "digest": digest})
        generated = {
            "schemaVersion": 2,
            "mediaType": manifests.DOCKER_MANIFEST,
            "config": {"mediaType": _DOCKER_CONFIG, "size": len(config), "digest": config_digest},
            "layers": layers,
        }
        raw = json.dumps(generated, separators=(",", ":")).encode()
        return manifests.document(raw, None, self.where)

    def manifest(self, digest: str) -> Document:
        raise StoreCorrupt(f"{self.where} holds no manifest {digest}")

    def blob(self, digest: str) -> bytes:
        if digest not in self._blobs:
            self.top()
        member = self._blobs.get(digest)
        if member is None:
            raise missing_blob(self.where, digest)
        return manifests.checked_blob(self._member(member), digest, self.where)

    def _entry(self) -> dict[str, Any]:
        data = self.tar.read("manifest.json")
        try:
            doc = json.loads(data) if data is not None else None
        except ValueError:
            doc = None
        if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
            raise StoreCorrupt(
                f"{self.where} is not a docker archive (no readable manifest.json)",
                hint="make it again with 'ocitool save'",
            )
        if self.name is None:
            if len(doc) == 1:
                return dict(doc[0])
            raise UsageError(
                f"{self.where} holds {len(doc)} images; name the one to inspect",
                hint=f"e.g. docker-archive:{self.where.split(':', 1)[1]}:NAME",
            )
        want = _tagged(self.name)
        for spelled in (str, familiar):  # the name as written first, then its short form
            for entry in doc:
                if spelled(want) in {spelled(_tagged(str(t))) for t in entry.get("RepoTags") or []}:
                    return dict(entry)
        raise ImageNotFound([f"{self.where}:{self.name}"], backend="docker-archive")

    def _member(self, name: str) -> bytes:
        data = self.tar.read(name)
        if data is None:
            raise missing_blob(self.where, name)
        return data

    def _hashed(self, name: str) -> tuple[str, int]:
        data = self._member(name)
        return manifests.sha256(data), len(data)


def inspect_at(transfers: Transfers, text: str, platform: str | None) -> LocatedImage:
    """`inspect LOCATION`: the image where it lives, read with nothing pulled."""
    location, want = _location(transfers, text), _wanted(platform)
    with source_for(location, _registry(transfers, location)) as source:
        names, repo = [], None
        if location.kind == "registry" and location.name:
            ref = ImageRef.parse(location.name)
            names = [location.name] if ref.tag else []
            repo = ref.name
        return located_image(source, location, want, names=names, repo=repo)


def raw_at(transfers: Transfers, text: str, platform: str | None, *, config: bool) -> bytes:
    """The bytes of the location's manifest exactly as served (an index's, unless a
    --platform picks one of its manifests), or with `config` the platform's config."""
    location, want = _location(transfers, text), _wanted(platform)
    with source_for(location, _registry(transfers, location)) as source:
        if config:
            return read(source, want).config
        top = source.top()
        if top.is_index and want is not None:
            return read(source, want, top).manifest.raw
        return top.raw


def _location(transfers: Transfers, text: str) -> Location:
    from ocitool.locations import parse_location

    location = parse_location(text, transfers.engines.selected_name)
    if location.kind == "engine":
        raise UsageError(f"{text!r} is a local image, not a registry, layout or archive")
    return location


def _wanted(platform: str | None) -> Wanted | None:
    return manifests.wanted(platform) if platform is not None else None


def _registry(transfers: Transfers, location: Location) -> Registry | None:
    return transfers.registry(location.registry) if location.kind == "registry" else None


def _tagged(name: str) -> str:
    """A name with its tag (`:latest` where none is given), as an archive's RepoTags
    spell it; a RepoTag that is no reference is kept as it is, matching nothing else."""
    try:
        return str(ImageRef.parse(name).with_default_tag())
    except InvalidReference:
        return name


@contextmanager
def source_for(location: Location, registry: Registry | None) -> Iterator[Source]:
    """The Source of a registry, layout or archive location, open while it is used."""
    if location.kind == "registry" and registry is not None and location.name:
        yield RegistrySource(registry, location.name)
        return
    if location.kind == "layout" and location.path:
        if not location.path.is_dir():
            raise UsageError(f"{location.path}: no such OCI layout directory")
        yield LayoutSource(Directory(location.path), str(location).rsplit(":", 1)[0], location.name)
        return
    if location.kind in ("oci-archive", "docker-archive") and location.path:
        where = f"{location.kind}:{location.path}"
        if not location.path.is_file():
            raise UsageError(f"{location.path}: no such file", hint="give the path of an archive")
        try:
            tar = tarfile.open(location.path)  # noqa: SIM115 - closed below, after use
        except tarfile.TarError as exc:
            raise StoreCorrupt(
                f"{where} is not a tar archive ({exc})", hint="make it again with 'ocitool save'"
            ) from None
        with tar:
            if location.kind == "oci-archive":
                yield LayoutSource(Tar(tar), where, location.name)
            else:
                yield DockerArchiveSource(Tar(tar), where, location.name)
        return
    raise UsageError(f"{location} is not a registry, OCI layout or archive")
