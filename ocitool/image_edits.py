"""Config and layer surgery on one image in an OCI image layout (mutate, append, flatten).

The layout is a private copy the edit service (ocitool.edits) made; every change
here writes new blobs beside the old ones and, last, a new manifest that the
index names `EDITED`, so a layout read half-way still names only whole images.
The config's rootfs.diff_ids and history stay in step with the manifest's
layers: a config change adds an `empty_layer` step, a new layer a step of its
own. Layer bytes only stream, through files, never whole into memory.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import shlex
import tarfile
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol, cast

from ocitool.archives import REF_NAME
from ocitool.errors import StoreCorrupt, UsageError
from ocitool.layerfiles import UNREADABLE, check_ended, entry_limit, safe_path, scan_layer
from ocitool.manifests import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from ocitool.streams import Counted, Hashing

EDITED = "edited"  # the name the finished image has in the private layout
_GZIP_LAYER = {
    OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip",
    DOCKER_MANIFEST: "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
_CONFIG_TYPE = {
    OCI_MANIFEST: "application/vnd.oci.image.config.v1+json",
    DOCKER_MANIFEST: "application/vnd.docker.container.image.v1+json",
}
_HEX = "0123456789abcdef"
_DAMAGED = "the image's copy is damaged; check it with 'ocitool inspect IMAGE' (--debug)"
_GZIP_MAGIC = b"\x1f\x8b"


# -- what a mutate changes ------------------------------------------------------------


@dataclass
class ConfigEdits:
    """The config changes of one mutate; None leaves a field as it is, [] or "" clears it."""

    labels: dict[str, str] = field(default_factory=dict)
    env: list[tuple[str, str]] = field(default_factory=list)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    workdir: str | None = None
    user: str | None = None

    @property
    def steps(self) -> list[str]:
        """The changes as Dockerfile instructions: what the history step says."""
        said = [f"LABEL {k}={v}" for k, v in self.labels.items()]
        said += [f"ENV {k}={v}" for k, v in self.env]
        if self.entrypoint is not None:
            said.append(f"ENTRYPOINT {json.dumps(self.entrypoint)}")
        if self.cmd is not None:
            said.append(f"CMD {json.dumps(self.cmd)}")
        if self.workdir is not None:
            said.append(f"WORKDIR {self.workdir}")
        if self.user is not None:
            said.append(f"USER {self.user}")
        return said


def parse_edits(
    *,
    labels: Sequence[str] = (),
    env: Sequence[str] = (),
    entrypoint: str | Sequence[str] | None = None,
    cmd: str | Sequence[str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
) -> ConfigEdits:
    """The options as given (`K=V` pairs; a command as a list, a JSON array or a
    shell-like string), checked before anything runs."""
    edits = ConfigEdits(
        labels=dict(_pair("--label", item) for item in labels),
        env=[_pair("--env", item) for item in env],
        entrypoint=command_value("--entrypoint", entrypoint),
        cmd=command_value("--cmd", cmd),
        workdir=workdir,
        user=user,
    )
    if workdir and not workdir.startswith("/"):
        raise UsageError(
            f"--workdir {workdir!r} is not an absolute path", hint="e.g. --workdir /app"
        )
    if not edits.steps:
        raise UsageError(
            "nothing to change",
            hint="give --label, --env, --entrypoint, --cmd, --workdir or --user",
        )
    return edits


def _pair(option: str, item: str) -> tuple[str, str]:
    key, equals, value = item.partition("=")
    if not equals or not key:
        raise UsageError(f"{option} {item!r} is not KEY=VALUE", hint=f"e.g. {option} KEY=VALUE")
    return key, value


def command_value(option: str, value: str | Sequence[str] | None) -> list[str] | None:
    """An entrypoint or command in exec form: a list as it is; a string as a JSON
    array when it starts with `[`, else split as a shell would (no shell runs it);
    "" (or []) clears it, as `docker run --entrypoint ''` does."""
    if value is None:
        return None
    if not isinstance(value, str):
        return [str(part) for part in value]
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise UsageError(
                f"{option} {value!r} is not a JSON array ({exc})",
                hint=f'e.g. {option} \'["sh", "-c", "echo hi"]\'',
            ) from None
        if not isinstance(parsed, list) or not all(isinstance(p, str) for p in parsed):
            raise UsageError(
                f"{option} {value!r} is not a JSON array of strings",
                hint=f'e.g. {option} \'["sh", "-c", "echo hi"]\'',
            )
        return parsed
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(
            f"{option} {value!r} cannot be split ({exc})", hint="close the quote, or give JSON"
        ) from None


def apply_edits(config: dict[str, Any], edits: ConfigEdits) -> None:
    """The changes into the image config's `config` object (the run defaults)."""
    run = config.setdefault("config", {}) or {}
    config["config"] = run
    if edits.labels:
        run["Labels"] = {**(run.get("Labels") or {}), **edits.labels}
    if edits.env:
        kept = list(run.get("Env") or [])
        for key, value in edits.env:
            kept = [e for e in kept if e.partition("=")[0] != key]
            kept.append(f"{key}={value}")
        run["Env"] = kept
    for key, command in (("Entrypoint", edits.entrypoint), ("Cmd", edits.cmd)):
        if command is not None:
            if command:
                run[key] = command
            else:
                run.pop(key, None)
    for key, text in (("WorkingDir", edits.workdir), ("User", edits.user)):
        if text is not None:
            if text:
                run[key] = text
            else:
                run.pop(key, None)


# -- the layout -----------------------------------------------------------------------


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int

    def json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class EditedImage:
    """One image of an OCI layout, read to be changed: its manifest and config."""

    def __init__(self, layout: Path, name: str) -> None:
        self.layout = layout
        index = _json(layout / "index.json", "index.json")
        entries = [e for e in index.get("manifests") or [] if isinstance(e, dict)]
        named = [e for e in entries if (e.get("annotations") or {}).get(REF_NAME) == name]
        if not named or named[0].get("mediaType") == OCI_INDEX:
            raise StoreCorrupt(
                f"the copy of the image in {layout} holds no image {name!r}", hint=_DAMAGED
            )
        self.manifest = self._blob_json(str(named[0].get("digest")))
        self.media_type = str(self.manifest.get("mediaType") or OCI_MANIFEST)
        config = self.manifest.get("config") or {}
        self.config = self._blob_json(str(config.get("digest")))
        self.layers: list[dict[str, Any]] = list(self.manifest.get("layers") or [])

    @property
    def diff_ids(self) -> list[str]:
        return list((self.config.get("rootfs") or {}).get("diff_ids") or [])

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexdigest = digest.partition(":")
        if algorithm != "sha256" or len(hexdigest) != 64 or hexdigest.strip(_HEX):
            raise StoreCorrupt(
                f"{self.layout}: a blob digest {digest!r} is not sha256", hint=_DAMAGED
            )
        return self.layout / "blobs" / "sha256" / hexdigest

    def step(self, created_by: str, *, empty: bool, comment: str | None = None) -> None:
        """A history step for this edit; the image is created now, as a commit's is."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        entry: dict[str, Any] = {"created": now, "created_by": created_by}
        if comment:
            entry["comment"] = comment
        if empty:
            entry["empty_layer"] = True
        self.config["history"] = [*(self.config.get("history") or []), entry]
        self.config["created"] = now

    def set_layers(self, layers: list[tuple[Descriptor, str]]) -> None:
        """The image's layers (blob, diff ID), in the manifest and the config at once."""
        self.layers = [d.json() for d, _ in layers]
        self.config["rootfs"] = {"type": "layers", "diff_ids": [diff for _, diff in layers]}

    def layer_media_type(self) -> str:
        return _GZIP_LAYER.get(self.media_type, _GZIP_LAYER[OCI_MANIFEST])

    def save(self) -> str:
        """Write config, then manifest, then index.json naming it EDITED; the new
        config's digest (the image ID every engine gives it)."""
        config = self._put(_canonical(self.config))
        config_type = (self.manifest.get("config") or {}).get("mediaType")
        manifest = {
            **self.manifest,
            "config": Descriptor(
                str(config_type or _CONFIG_TYPE.get(self.media_type)), *config
            ).json(),
            "layers": self.layers,
        }
        digest, size = self._put(_canonical(manifest))
        entry = {
            "mediaType": self.media_type,
            "digest": digest,
            "size": size,
            "annotations": {REF_NAME: EDITED},
        }
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
        _replace(self.layout / "index.json", _canonical(index))
        return config[0]

    def open_layer(self, layer: dict[str, Any]) -> AbstractContextManager[IO[bytes]]:
        """A layer blob as its uncompressed tar stream (gzip or plain, told by its bytes)."""
        return open_tar(self.blob_path(str(layer.get("digest"))))

    def _put(self, data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        _replace(self.blob_path(digest), data)
        return digest, len(data)

    def _blob_json(self, digest: str) -> dict[str, Any]:
        return _json(self.blob_path(digest), digest)


@contextmanager
def open_tar(path: Path) -> Iterator[IO[bytes]]:
    """A tar file, plain or gzip (told by its first bytes), as its uncompressed stream."""
    with path.open("rb") as handle:
        if handle.read(2) != _GZIP_MAGIC:
            handle.seek(0)
            yield handle
            return
        handle.seek(0)
        with gzip.GzipFile(fileobj=handle, mode="rb") as unpacked:
            yield cast("IO[bytes]", unpacked)


class _Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class _Writing:
    """A write-only stream that counts and hashes what passes into `sink`."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.hash = hashlib.sha256()
        self.length = 0

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.length += len(data)
        return self.sink.write(data)

    def flush(self) -> None:
        self.sink.flush()

    def digest(self) -> str:
        return "sha256:" + self.hash.hexdigest()


@dataclass
class NewLayer:
    """A layer blob written into a directory: the gzip's digest and size, the tar's diff ID."""

    path: Path
    digest: str
    size: int
    diff_id: str


@contextmanager
def _blob_file(directory: Path) -> Iterator[_Writing]:
    """A stream into a new blob file in `directory`, named by its digest once complete."""
    fd, name = tempfile.mkstemp(prefix=".layer-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            sink = _Writing(out)
            yield sink
        os.replace(name, directory / sink.digest().removeprefix("sha256:"))
    finally:
        Path(name).unlink(missing_ok=True)


@contextmanager
def gzip_blob(directory: Path) -> Iterator[tuple[IO[bytes], list[NewLayer]]]:
    """A stream to write one uncompressed layer tar into; gzipped (at the fastest
    level: a layer is written once per edit) into a blob file in `directory`, named
    by its digest once complete (the list then holds it)."""
    done: list[NewLayer] = []
    with _blob_file(directory) as compressed:
        into = cast("IO[bytes]", compressed)
        with gzip.GzipFile(fileobj=into, mode="wb", mtime=0, compresslevel=1) as gz:
            plain = _Writing(gz)
            yield cast("IO[bytes]", plain), done
    done.append(_new_layer(directory, compressed, plain.digest()))


def _new_layer(directory: Path, blob: _Writing, diff_id: str) -> NewLayer:
    path = directory / blob.digest().removeprefix("sha256:")
    return NewLayer(path, blob.digest(), blob.length, diff_id)


# -- append: a tarball checked, as one new layer -------------------------------------------


def layer_from_tarball(tarball: Path, directory: Path) -> NewLayer:
    """The tarball checked as a layer must be, and written into `directory` as a blob:
    a gzip as it is, a plain tar gzipped. A UsageError for anything that is not a tar,
    or has a member (or a hard link) that is absolute or climbs out with `..`."""
    if not tarball.is_file():
        raise UsageError(f"{tarball}: no such file", hint="give the path of a tar archive")
    try:
        with tarball.open("rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if not gzipped:
                with gzip_blob(directory) as (sink, done):
                    _check_tar(tarball, _Tee(raw, sink))
                return done[0]
            with _blob_file(directory) as blob:
                tee = _Tee(raw, cast("IO[bytes]", blob))  # the gzip's bytes, kept as they are
                with gzip.GzipFile(fileobj=cast("IO[bytes]", tee), mode="rb") as unpacked:
                    plain = Hashing(cast("IO[bytes]", unpacked))
                    _check_tar(tarball, plain)
                tee.drain()
            return _new_layer(directory, blob, plain.digest())
    except UNREADABLE as exc:
        raise UsageError(
            f"{tarball} is not a tar archive ({exc or type(exc).__name__})",
            hint="give a tar (or tar.gz) of the files the layer adds",
        ) from None


def _check_tar(tarball: Path, stream: Counted) -> None:
    """Every member of the tar `stream` carries checked (and the stream read to its end)."""
    with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            tar.members = []
            _check_member(tarball, member)
    check_ended(stream, tar)


def _check_member(tarball: Path, member: tarfile.TarInfo) -> None:
    for what, name in (("member", member.name), ("hard link target", member.linkname)):
        if what == "hard link target" and not member.islnk():
            continue
        if name.startswith("/") or ".." in name.split("/"):
            raise UsageError(
                f"{tarball}: {what} {name!r} is absolute or climbs out with '..'",
                hint="a layer's paths are relative to the image's root: make the tar with "
                "'tar -C DIR -cf FILE .'",
            )


class _Tee(Hashing):
    """A read stream that also writes what passes through it into `sink`."""

    def __init__(self, stream: IO[bytes], sink: IO[bytes]) -> None:
        super().__init__(stream)
        self.sink = sink

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.sink.write(data)
        return data


def append_layer(image: EditedImage, layer: NewLayer, created_by: str) -> None:
    """The new layer's blob moved into the layout, on top of the image's layers."""
    os.replace(layer.path, image.blob_path(layer.digest))
    kept = [
        (Descriptor(str(d.get("mediaType")), str(d.get("digest")), int(d.get("size") or 0)), diff)
        for d, diff in zip(image.layers, image.diff_ids, strict=True)
    ]
    new = Descriptor(image.layer_media_type(), layer.digest, layer.size)
    image.set_layers([*kept, (new, layer.diff_id)])
    image.step(created_by, empty=False)


# -- flatten: every layer as one -----------------------------------------------------------


def flatten(image: EditedImage, created_by: str) -> None:
    """The image's final filesystem as one layer: whiteouts applied (and dropped), each
    path's last version with its mode, owner and xattrs, hard links kept."""
    from ocitool.layerfiles import survivors

    limit = entry_limit()
    scans = []
    for layer in image.layers:
        with image.open_layer(layer) as stream:
            scan = scan_layer(stream, limit=limit)
        if scan.truncated:
            raise UsageError(
                f"a layer has more than {limit} entries, so it cannot be flattened exactly",
                hint="raise OCITOOL_LAYER_ENTRIES (docs/concepts.md)",
            )
        scans.append(scan)
    kept = survivors(scans)
    blobs = image.layout / "blobs" / "sha256"
    with (
        gzip_blob(blobs) as (sink, done),
        tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as out,
    ):
        for number, (layer, scan) in enumerate(zip(image.layers, scans, strict=True)):
            links = _link_plan(number, scan.entries, kept)
            with image.open_layer(layer) as stream:
                _write_kept(stream, out, number, kept, links)
    new = done[0]
    image.set_layers([(Descriptor(image.layer_media_type(), new.digest, new.size), new.diff_id)])
    image.config["history"] = []
    image.step(created_by, empty=False, comment=f"{len(scans)} layers flattened into one")


@dataclass
class _Links:
    """How one layer's hard links survive flattening: a link whose target a later layer
    replaced takes the target's contents itself (`renamed`: target position -> its
    first kept link's path), and the other links to it point at that path."""

    renamed: dict[int, str] = field(default_factory=dict)
    retarget: dict[int, str] = field(default_factory=dict)
    taken: set[int] = field(default_factory=set)  # links written as the renamed target


def _link_plan(layer: int, entries: Sequence[Any], kept: set[tuple[int, int]]) -> _Links:
    plan = _Links()
    seen: dict[str, int] = {}
    for position, entry in enumerate(entries):
        if entry.kind == "hardlink" and (layer, position) in kept and entry.link is not None:
            source = seen.get(entry.link)
            if source is not None and (layer, source) not in kept:
                if source in plan.renamed:
                    plan.retarget[position] = plan.renamed[source]
                else:
                    plan.renamed[source] = entry.path
                    plan.taken.add(position)
        seen[entry.path] = position
    return plan


def _write_kept(
    stream: IO[bytes], out: tarfile.TarFile, layer: int, kept: set[tuple[int, int]], links: _Links
) -> None:
    """One layer's kept members into `out`, read as it streams; positions count the
    members scan_layer kept (every one whose path stays inside the root)."""
    position = -1
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                tar.members = []  # type: ignore[attr-defined]
                path = safe_path(member.name)
                if path is None:
                    continue
                position += 1
                if position in links.renamed:
                    _copy(tar, out, member, links.renamed[position], member.linkname)
                if (layer, position) not in kept or position in links.taken:
                    continue
                target = links.retarget.get(position) or member.linkname
                if member.islnk():
                    target = safe_path(target) or target
                _copy(tar, out, member, path, target)
    except UNREADABLE as exc:
        raise StoreCorrupt(
            f"a layer is not a readable tar ({exc or type(exc).__name__})",
            hint="the image's copy is damaged; pull or build it again",
        ) from exc


def _copy(
    tar: tarfile.TarFile, out: tarfile.TarFile, member: tarfile.TarInfo, name: str, link: str
) -> None:
    info = copy.copy(member)
    info.name, info.linkname = name, link
    # the pax records that would name it again (path, linkpath) or size it go; xattrs stay
    info.pax_headers = {
        k: v for k, v in member.pax_headers.items() if k not in ("path", "linkpath", "size")
    }
    out.addfile(info, tar.extractfile(member) if member.isreg() else None)


# -- files ----------------------------------------------------------------------------


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()


def _replace(path: Path, data: bytes) -> None:
    """Write beside `path` and rename over it: never a half-written file under its name."""
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _json(path: Path, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreCorrupt(
            f"the copied image's {what} cannot be read ({exc})", hint=_DAMAGED
        ) from None
    if not isinstance(doc, dict):
        raise StoreCorrupt(f"the copied image's {what} is not a JSON object", hint=_DAMAGED)
    return doc
