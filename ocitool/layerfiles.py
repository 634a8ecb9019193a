"""What each layer does to the filesystem, read from layer tars as they stream.

Nothing is extracted and no path inside a tar is trusted: entries are only
named, never written, `..` that would climb out of the root is reported and
skipped, links are never followed, and the number of paths kept in memory is
capped (`limit`), so a hostile layer cannot make ocitool write a file or
grow without bound. Whiteouts follow the OCI image-spec: `.wh.NAME` removes
NAME, `.wh..wh..opq` empties the directory it sits in.
"""

from __future__ import annotations

import hashlib
import posixpath
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal, TypeVar

from ocitool.models import FileAnalysis, FileChange, LayerFiles

V = TypeVar("V")
Kind = Literal["file", "dir", "symlink", "hardlink", "other", "whiteout", "opaque"]
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DEFAULT_LIMIT = 500_000  # paths kept in memory; past it, entries are counted, not kept
LISTED = 1000  # file changes listed per layer in a result; the counts stay exact


@dataclass
class Entry:
    path: str
    kind: Kind
    size: int
    digest: str | None = None


@dataclass
class LayerScan:
    """One layer tar, read once: its entries, its diff ID, and what was unsafe."""

    diff_id: str
    entries: list[Entry] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    counted: int = 0
    truncated: bool = False


class _Hashing:
    """A read-only stream that hashes what passes through it (the layer's diff ID)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.hash.update(data)
        return data

    def drain(self) -> str:
        while self.read(1 << 20):
            pass
        return "sha256:" + self.hash.hexdigest()


def scan_layer(
    stream: IO[bytes], *, limit: int = DEFAULT_LIMIT, contents: bool = False
) -> LayerScan:
    """Read an uncompressed layer tar from a stream (never seeking, never extracting)."""
    hashing = _Hashing(stream)
    scan = LayerScan(diff_id="")
    with tarfile.open(fileobj=hashing, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            tar.members = []  # tarfile keeps every header it read; a huge layer must not grow us
            scan.counted += 1
            path = safe_path(member.name)
            if path is None:
                if len(scan.unsafe) < LISTED:
                    scan.unsafe.append(member.name)
                continue
            if len(scan.entries) >= limit:
                scan.truncated = True
                continue
            digest = None
            if contents and member.isfile():
                handle = tar.extractfile(member)
                if handle is not None:
                    digest = _digest(handle)
            kind = _kind(member, path)
            if kind == "whiteout":  # `.wh.NAME` stands for NAME, removed
                path = posixpath.join(posixpath.dirname(path), posixpath.basename(path)[4:])
            elif kind == "opaque":  # `.wh..wh..opq` stands for its directory, emptied
                path = posixpath.dirname(path) or "."
            size = member.size if member.isfile() else 0
            scan.entries.append(Entry(path, kind, size, digest))
    scan.diff_id = hashing.drain()
    return scan


def safe_path(name: str) -> str | None:
    """A tar member's path inside the root, or None when it would climb out of it."""
    normalized = posixpath.normpath("/" + name.lstrip("/")) if name else "/"
    if name.startswith("/") or ".." in name.split("/"):
        # normpath of a rooted path cannot escape; but a name that tried is reported
        relative = posixpath.normpath(name.lstrip("/"))
        if relative.startswith(".."):
            return None
    return normalized.lstrip("/") or "."


def analyse(scans: Sequence[LayerScan], steps: Sequence[str | None] = ()) -> FileAnalysis:
    """Layers applied in order: what each adds, changes and removes, and what is wasted.

    Wasted bytes are earlier versions of files that a later layer overwrites or
    removes: they are stored in the image but can never be seen. Efficiency is
    dive's score: per path the smallest size it ever had (0 once removed),
    summed, over the sizes of every version stored, summed (1.0: nothing is
    stored twice). dive's own "wasted bytes" also counts the surviving copy of
    a file stored more than once; ocitool counts only what cannot be seen.
    """
    present: dict[str, int] = {}  # path -> size of the visible version (files and links)
    smallest: dict[str, int] = {}
    cumulative: dict[str, int] = {}
    layers: list[LayerFiles] = []
    wasted_total = 0
    for index, scan in enumerate(scans):
        seen = _Changes()
        wasted = 0
        size = 0
        for entry in scan.entries:
            if entry.kind in ("whiteout", "opaque"):
                for gone, old in _under(present, entry.path, keep_root=entry.kind == "opaque"):
                    wasted += old
                    smallest[gone] = 0  # the best image would not hold the file at all
                    del present[gone]
                    seen.record(gone, "removed", old, "file")
                continue
            if entry.kind == "dir":
                continue
            size += entry.size
            cumulative[entry.path] = cumulative.get(entry.path, 0) + entry.size
            smallest[entry.path] = min(smallest.get(entry.path, entry.size), entry.size)
            if entry.path in present:
                wasted += present[entry.path]
                seen.record(entry.path, "changed", entry.size, entry.kind)
            else:
                seen.record(entry.path, "added", entry.size, entry.kind)
            present[entry.path] = entry.size
        wasted_total += wasted
        layers.append(
            LayerFiles(
                index=index,
                diff_id=scan.diff_id or None,
                created_by=steps[index] if index < len(steps) else None,
                size=size,
                added=seen.counts["added"],
                changed=seen.counts["changed"],
                removed=seen.counts["removed"],
                wasted_by_later=0,
                files=seen.listed,
                files_truncated=sum(seen.counts.values()) > len(seen.listed),
                entries_truncated=scan.truncated,
            )
        )
    _credit_waste(layers, scans)
    total = sum(cumulative.values())
    return FileAnalysis(
        layers=layers,
        total_bytes=total,
        wasted_bytes=wasted_total,
        efficiency=1.0 if total == 0 else sum(smallest.values()) / total,
        unsafe_paths=[p for scan in scans for p in scan.unsafe],
        truncated=any(scan.truncated for scan in scans),
    )


class _Changes:
    """One layer's file changes: every one counted, the first LISTED kept."""

    def __init__(self) -> None:
        self.counts = {"added": 0, "changed": 0, "removed": 0}
        self.listed: list[FileChange] = []

    def record(
        self, path: str, change: Literal["added", "changed", "removed"], size: int, kind: str
    ) -> None:
        self.counts[change] += 1
        if len(self.listed) < LISTED:
            self.listed.append(FileChange(path=path, change=change, size=size, kind=kind))


def final_files(scans: Iterable[LayerScan]) -> dict[str, tuple[int, str | None]]:
    """The files an image shows at the end: path -> (size, content digest)."""
    present: dict[str, tuple[int, str | None]] = {}
    for scan in scans:
        for entry in scan.entries:
            if entry.kind in ("whiteout", "opaque"):
                for gone, _ in _under(present, entry.path, keep_root=entry.kind == "opaque"):
                    del present[gone]
            elif entry.kind != "dir":
                present[entry.path] = (entry.size, entry.digest)
    return present


def _credit_waste(layers: list[LayerFiles], scans: Sequence[LayerScan]) -> None:
    """How many of each layer's bytes later layers made invisible (dive's per-layer view)."""
    owner: dict[str, tuple[int, int]] = {}
    later = [0] * len(scans)
    for index, scan in enumerate(scans):
        for entry in scan.entries:
            if entry.kind in ("whiteout", "opaque"):
                for gone, (layer, size) in _under(
                    owner, entry.path, keep_root=entry.kind == "opaque"
                ):
                    later[layer] += size
                    del owner[gone]
            elif entry.kind != "dir":
                if entry.path in owner:
                    earlier, size = owner[entry.path]
                    later[earlier] += size
                owner[entry.path] = (index, entry.size)
    for index, files in enumerate(layers):
        layers[index] = files.model_copy(update={"wasted_by_later": later[index]})


def _under(present: Mapping[str, V], target: str, *, keep_root: bool) -> list[tuple[str, V]]:
    """Entries at `target` and below it (only below, for an opaque directory)."""
    prefix = "" if target in (".", "") else target.rstrip("/") + "/"
    hits = [(p, v) for p, v in present.items() if p.startswith(prefix)]
    if not keep_root and target in present:
        hits.append((target, present[target]))
    return hits


def _kind(member: tarfile.TarInfo, path: str) -> Kind:
    base = posixpath.basename(path)
    if base == OPAQUE:
        return "opaque"
    if base.startswith(WHITEOUT):
        return "whiteout"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    return "file" if member.isfile() else "other"


def _digest(handle: IO[bytes]) -> str:
    hasher = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        hasher.update(chunk)
    return "sha256:" + hasher.hexdigest()
