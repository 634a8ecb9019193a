"""Image archives and layouts as files: what is in them, and writing them safely.

A docker archive lists its images in manifest.json (each config named by the
image ID), an OCI archive or layout in index.json (names in the
`org.opencontainers.image.ref.name` annotation). Both are read here without
unpacking; a new archive is written beside its final name and renamed into
place only when complete, so nothing half-written keeps the final name.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from ocitool.errors import InvalidReference, UsageError
from ocitool.references import ImageRef

if TYPE_CHECKING:
    from ocitool.together import Begun

FORMATS = ("docker-archive", "oci-archive")
REF_NAME = "org.opencontainers.image.ref.name"


@dataclass(frozen=True)
class ArchiveEntry:
    """One name of one image in an archive (an unnamed image has one entry, name None)."""

    name: str | None
    image_id: str | None  # a docker archive names each config file by the image ID
    position: int  # the image's place in the archive: skopeo's @N


def read_archive(path: Path) -> tuple[str, list[ArchiveEntry]]:
    """(kind, entries) from an archive's manifest.json or index.json, their shapes
    checked here: a file of the wrong shape is a UsageError naming it, before any
    engine is asked to read it (nothing is written)."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            for kind, listing, entries in (
                ("docker-archive", "manifest.json", _docker_entries),
                ("oci-archive", "index.json", _oci_entries),
            ):
                if listing in members:
                    handle = tar.extractfile(members[listing])
                    if handle is None:
                        raise _misshapen(path, listing, "is not a file")
                    return kind, entries(json.load(handle), path)
    except (tarfile.TarError, OSError, ValueError, EOFError, RecursionError) as exc:
        raise UsageError(
            f"{path} is truncated or not an image archive ({exc})",
            hint="make the archive again with 'ocitool save'",
        ) from exc
    raise UsageError(f"{path} is not a docker or OCI archive (no manifest.json or index.json)")


def images_in(entries: Sequence[ArchiveEntry]) -> int:
    """How many images the entries describe (an image has one entry per name)."""
    return len({entry.position for entry in entries})


def _docker_entries(doc: object, path: Path) -> list[ArchiveEntry]:
    """manifest.json: a list of {"Config": "<hex>.json", "RepoTags": [names] | null}."""
    if not isinstance(doc, list):
        raise _misshapen(path, "manifest.json", f"is {_shape(doc)}, not a list of images")
    entries = []
    for position, item in enumerate(doc):
        if not isinstance(item, dict):
            raise _misshapen(path, "manifest.json", f"lists {_shape(item)} as an image")
        config, tags = item.get("Config", ""), item.get("RepoTags") or [None]
        if not isinstance(config, str) or not isinstance(tags, list):
            raise _misshapen(path, "manifest.json", f"has a malformed image at #{position}")
        hex_id = config.rsplit("/", 1)[-1].removesuffix(".json")
        image_id = f"sha256:{hex_id}" if len(hex_id) == 64 else None
        entries += [ArchiveEntry(_name(n, path, "manifest.json"), image_id, position) for n in tags]
    return entries


def _oci_entries(doc: object, path: Path) -> list[ArchiveEntry]:
    """index.json: {"manifests": [{"annotations": {"org.opencontainers.image.ref.name": ...}}]}."""
    if not isinstance(doc, dict):
        raise _misshapen(path, "index.json", f"is {_shape(doc)}, not an image index")
    names = []
    for descriptor in _descriptors(doc, path, "index.json"):
        name = descriptor.get(REF_NAME)
        names.append(None if name is None else _name(name, path, "index.json"))
    return [ArchiveEntry(n, None, i) for i, n in enumerate(names)]


def _descriptors(doc: dict[str, object], path: Path, listing: str) -> list[dict[str, str]]:
    """Each manifest's annotations, checked to be objects of strings."""
    manifests = doc.get("manifests") or []
    if not isinstance(manifests, list):
        raise _misshapen(path, listing, f"has manifests that are {_shape(manifests)}")
    found = []
    for descriptor in manifests:
        notes = descriptor.get("annotations") or {} if isinstance(descriptor, dict) else None
        if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
            raise _misshapen(path, listing, f"lists {_shape(descriptor)} as a manifest")
        found.append(cast("dict[str, str]", notes))
    return found


def _name(name: object, path: Path, listing: str) -> str | None:
    """An image name as the archive gives it, checked by the reference grammar."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise _misshapen(path, listing, f"names an image {_shape(name)}")
    try:
        ImageRef.parse(name)
    except InvalidReference as exc:
        raise _misshapen(path, listing, f"names an invalid image {name!r}: {exc.reason}") from exc
    return name


def _misshapen(path: Path, listing: str, what: str) -> UsageError:
    return UsageError(
        f"{path} is not an image archive: its {listing} {what}",
        hint="make the archive again with 'ocitool save'",
    )


def _shape(value: object) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return kinds.get(type(value), f"the number {value}" if isinstance(value, int | float) else "?")


def layout_names(path: Path) -> list[str]:
    """The names an OCI layout's index.json gives; none where it has no readable index
    (a layout of another shape is refused when skopeo reads it)."""
    try:
        doc = json.loads((path / "index.json").read_text())
        return [n for d in _descriptors(doc, path, "index.json") if (n := d.get(REF_NAME))]
    except (OSError, ValueError, RecursionError, AttributeError, UsageError):
        return []


def rename_images(path: Path, names: dict[str, list[str]]) -> None:
    """Give each image in a docker archive exactly `names[image ID]` (none: untagged),
    rewriting the archive beside itself where its manifest.json says otherwise.

    Engines write their own spelling (podman `localhost/x:1`, skopeo
    `docker.io/x:1`); another engine loading that would make those names."""
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        listing = next(m for m in members if m.name.removeprefix("./") == "manifest.json")
        manifest = json.load(tar.extractfile(listing))  # type: ignore[arg-type]
        _docker_entries(manifest, path)
        changed = False
        for item in manifest:
            hex_id = str(item.get("Config", "")).rsplit("/", 1)[-1].removesuffix(".json")
            wanted = names.get(f"sha256:{hex_id}")
            if wanted is not None and sorted(item.get("RepoTags") or []) != sorted(wanted):
                item["RepoTags"], changed = wanted or None, True
        if not changed:
            return
        with (
            finished_file(path) as rewritten,
            tarfile.open(rewritten, "w", format=tarfile.PAX_FORMAT) as out,
        ):
            for member in members:
                _copy_member(tar, member, out, lambda _: manifest)


def renamed_stream(
    source: IO[bytes],
    sink: IO[bytes],
    name: str | None,
    *,
    before_naming: Begun[None] | None = None,
) -> list[str]:
    """A docker archive of one image copied from `source` to `sink` as it streams, the
    image named `name` (None: untagged) in its manifest.json, for an engine's load to
    give it that name: memory stays flat, as nothing but manifest.json is held, and
    `before_naming` passes before that name is passed on (ocitool.archive_stream).
    Returns the image IDs it lists (each config's digest, which a load keeps)."""
    from ocitool.archive_stream import relay_renamed

    try:
        return relay_renamed(source, sink, name, before_naming=before_naming)
    except (ValueError, EOFError) as exc:  # json's errors are ValueErrors too
        raise UsageError(f"the engine's save wrote no readable archive ({exc})") from exc


def _copy_member(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    out: tarfile.TarFile,
    manifest: Callable[[object], object],
) -> None:
    """One member of a docker archive into `out`, manifest.json as `manifest` makes it
    from the one read, and the legacy `repositories` names left out (manifest.json is
    what every engine reads first)."""
    name = member.name.removeprefix("./")
    if name == "repositories":
        return
    if name == "manifest.json":
        handle = tar.extractfile(member)
        doc = manifest(json.load(handle) if handle else None)
        data = json.dumps(doc, separators=(",", ":")).encode()
        member.size = len(data)
        out.addfile(member, io.BytesIO(data))
    else:
        out.addfile(member, tar.extractfile(member) if member.isfile() else None)


@contextmanager
def finished_file(path: Path | None) -> Iterator[Path]:
    """Write beside `path`, rename over it only when complete; a failure leaves nothing."""
    if path is None:
        raise UsageError("no output file given")
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give the path of a file to write")
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


@contextmanager
def finished_layout(path: Path) -> Iterator[Path]:
    """A new OCI layout written beside `path`, renamed into place only when complete
    (as finished_file); an existing layout is written in place, its index.json last."""
    if path.exists():
        yield path
        return
    partial = path.with_name(path.name + ".ocitool-partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        yield partial
        os.rename(partial, path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
