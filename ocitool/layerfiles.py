"""What each layer does to the filesystem, read from layer tars as they stream.

Nothing is extracted and no path inside a tar is trusted: entries are only
named, never written, `..` that would climb out of the root is reported and
skipped, links are never followed, and the number of paths kept in memory is
capped (`limit`), so a hostile layer cannot make ocitool write a file or
grow without bound. Whiteouts follow the OCI image-spec: `.wh.NAME` removes
NAME, `.wh..wh..opq` empties the directory it sits in.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Generic, Literal, NamedTuple, TypeVar

from ocitool.errors import StoreCorrupt, UsageError
from ocitool.models import FileAnalysis, FileChange, LayerFiles
from ocitool.streams import Counted, Hashing

V = TypeVar("V")
Kind = Literal["file", "dir", "symlink", "hardlink", "other", "whiteout", "opaque"]
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
DEFAULT_LIMIT = 500_000  # paths kept in memory; past it, entries are counted, not kept
LIMIT_SETTING = "OCITOOL_LAYER_ENTRIES"  # overrides DEFAULT_LIMIT (docs/concepts.md)
# What a cut-short or damaged tar (or its gzip) raises while it streams.
UNREADABLE = (EOFError, tarfile.TarError, zlib.error, gzip.BadGzipFile)
LISTED = 1000  # file changes listed per layer in a result; the counts stay exact


def entry_limit() -> int:
    """The paths kept per layer: OCITOOL_LAYER_ENTRIES where set, else DEFAULT_LIMIT."""
    raw = os.environ.get(LIMIT_SETTING, "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or int(raw) == 0:
        raise UsageError(
            f"{LIMIT_SETTING}={raw!r} is not a number of entries",
            hint=f"e.g. {LIMIT_SETTING}={DEFAULT_LIMIT}",
        )
    return int(raw)


def rooted(path: str) -> str:
    """A path inside the image as results show it: from the root, `/etc/hosts`."""
    return "/" if path in ("", ".") else "/" + path


@dataclass
class Entry:
    path: str
    kind: Kind
    size: int
    digest: str | None = None
    link: str | None = None  # a hardlink's target path, inside the root


@dataclass
class LayerScan:
    """One layer tar, read once: its entries, its diff ID, and what was unsafe."""

    diff_id: str
    entries: list[Entry] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    counted: int = 0
    truncated: bool = False


def check_ended(stream: Counted, tar: tarfile.TarFile) -> None:
    """tarfile takes a stream that stops between members for a finished tar; a whole
    tar ends with zero blocks after its last member, so their absence means cut short."""
    stream.drain()
    if stream.length - tar.offset < tarfile.BLOCKSIZE:
        raise tarfile.ReadError("cut short: no end-of-archive block")


def scan_layer(
    stream: IO[bytes], *, limit: int = DEFAULT_LIMIT, contents: bool = False
) -> LayerScan:
    """Read an uncompressed layer tar from a stream (never seeking, never extracting)."""
    hashing = Hashing(stream)
    scan = LayerScan(diff_id="")
    try:
        with tarfile.open(fileobj=hashing, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                tar.members = []  # tarfile keeps every header; a huge layer must not grow us
                _add(scan, tar, member, limit=limit, contents=contents)
        check_ended(hashing, tar)
        scan.diff_id = hashing.digest()
    except UNREADABLE as exc:
        raise StoreCorrupt(
            f"a layer is not a readable tar ({exc or type(exc).__name__})",
            hint="the layer's copy is damaged or cut short; pull the image again",
        ) from exc
    return scan


def _add(
    scan: LayerScan, tar: tarfile.TarFile, member: tarfile.TarInfo, *, limit: int, contents: bool
) -> None:
    """One tar member into the scan: counted always, kept while under the limit and safe."""
    scan.counted += 1
    path = safe_path(member.name)
    if path is None:
        if len(scan.unsafe) < LISTED:
            scan.unsafe.append(member.name)
        return
    if len(scan.entries) >= limit:
        scan.truncated = True
        return
    digest = link = None
    if contents and member.isfile():
        handle = tar.extractfile(member)
        if handle is not None:
            digest = _digest(handle)
    elif member.issym():
        digest = "symlink:" + member.linkname  # a new target is a change
    elif member.islnk():
        link = safe_path(member.linkname)
    kind = _kind(member, path)
    if kind == "whiteout":  # `.wh.NAME` stands for NAME, removed
        path = posixpath.join(posixpath.dirname(path), posixpath.basename(path)[4:])
    elif kind == "opaque":  # `.wh..wh..opq` stands for its directory, emptied
        path = posixpath.dirname(path) or "."
    size = member.size if member.isfile() else 0
    scan.entries.append(Entry(path, kind, size, digest, link))


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

    Wasted bytes are stored file contents that no name in the final image can
    reach any more: overwritten, removed, or hidden when a file replaced their
    directory. A hardlink shares its target's contents, so removing one name of
    a linked group wastes nothing while another name remains. Efficiency is
    dive's score: per path the smallest size it ever had (0 once removed),
    summed, over the sizes of every version stored, summed (1.0: nothing is
    stored twice). dive's own "wasted bytes" also counts the surviving copy of
    a file stored more than once; ocitool counts only what cannot be seen.
    """
    tree: _Tree[_Blob] = _Tree()
    smallest: dict[str, int] = {}
    cumulative: dict[str, int] = {}
    names: dict[int, int] = {}  # blob -> how many visible names reach it
    later = [0] * len(scans)  # bytes of each layer that later layers made unreachable
    layers: list[LayerFiles] = []
    wasted_total = 0
    for index, scan in enumerate(scans):
        seen = _Changes()
        wasted = 0

        def release(blob: _Blob) -> None:
            nonlocal wasted
            names[blob.id] -= 1
            if names[blob.id] == 0:
                wasted += blob.size
                later[blob.layer] += blob.size

        for path, blob in _apply_whiteouts(tree, scan):
            smallest[path] = 0  # the best image would not hold the file at all
            release(blob)
            seen.record(path, "removed", blob.size, blob.kind)
        size = 0
        for entry in scan.entries:
            if entry.kind in ("whiteout", "opaque"):
                continue
            if entry.kind == "dir":
                gone = tree.mkdir(entry.path)
            else:
                blob = _blob(tree, entry, index, len(names))
                names[blob.id] = names.get(blob.id, 0) + 1
                if entry.kind != "hardlink":  # a hardlink stores no bytes of its own
                    size += entry.size
                    cumulative[entry.path] = cumulative.get(entry.path, 0) + entry.size
                    smallest[entry.path] = min(smallest.get(entry.path, entry.size), entry.size)
                old, gone = tree.put(entry.path, blob)
                seen.record(
                    entry.path, "added" if old is None else "changed", blob.size, entry.kind
                )
                if old is not None:
                    release(old)
            for path, lost in gone:  # a directory replaced by a file, or a file by a directory
                smallest[path] = 0
                release(lost)
                seen.record(path, "removed", lost.size, lost.kind)
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
    for index, files in enumerate(layers):
        layers[index] = files.model_copy(update={"wasted_by_later": later[index]})
    total = sum(cumulative.values())
    return FileAnalysis(
        layers=layers,
        total_bytes=total,
        wasted_bytes=wasted_total,
        efficiency=1.0 if total == 0 else sum(smallest.values()) / total,
        unsafe_paths=[p for scan in scans for p in scan.unsafe],
        truncated=any(scan.truncated for scan in scans),
    )


@dataclass(frozen=True)
class _Blob:
    """Stored contents that one or more names (a file and its hardlinks) reach."""

    id: int
    layer: int
    size: int
    kind: str
    digest: str | None = None


def _blob(tree: _Tree[_Blob], entry: Entry, layer: int, fresh: int) -> _Blob:
    """The contents a new entry names: its own, or its hardlink target's when that exists."""
    if entry.kind == "hardlink" and entry.link is not None:
        target = tree.get(entry.link)
        if target is not None:
            return target
    return _Blob(fresh, layer, entry.size, entry.kind, entry.digest)


def _apply_whiteouts(tree: _Tree[V], scan: LayerScan) -> list[tuple[str, V]]:
    """A layer's whiteouts remove from the layers below it only, wherever they sit in its tar."""
    gone: list[tuple[str, V]] = []
    for entry in scan.entries:
        if entry.kind in ("whiteout", "opaque"):
            gone += tree.remove(entry.path, keep_root=entry.kind == "opaque")
    return gone


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
            self.listed.append(FileChange(path=rooted(path), change=change, size=size, kind=kind))


class Final(NamedTuple):
    """A path as an image shows it at the end; directories too, so their removal shows."""

    size: int
    digest: str | None  # the contents' digest (with contents), or a symlink's target
    kind: str = "file"


DIRECTORY = Final(0, None, "dir")


def final_files(scans: Iterable[LayerScan]) -> dict[str, Final]:
    """The paths an image shows at the end, directories included (the root is not)."""
    tree: _Tree[Final] = _Tree()
    for scan in scans:
        _apply_whiteouts(tree, scan)
        for entry in scan.entries:
            if entry.kind == "dir":
                tree.mkdir(entry.path)
            elif entry.kind not in ("whiteout", "opaque"):
                value = Final(entry.size, entry.digest, entry.kind)
                if entry.kind == "hardlink" and entry.link is not None:
                    value = tree.get(entry.link) or value
                tree.put(entry.path, value)
    return dict(tree.items(directory=DIRECTORY))


Kept = tuple[int, int]  # (layer, position among that layer's scanned entries)


def survivors(scans: Sequence[LayerScan]) -> set[Kept]:
    """The entries the final filesystem takes from each layer (what flatten writes):
    the last of each path that no layer above removed, directories included."""
    tree: _Tree[Kept] = _Tree()
    dirs: dict[str, Kept] = {}
    for layer, scan in enumerate(scans):
        for entry in scan.entries:
            if entry.kind == "whiteout":
                dirs.pop(entry.path, None)
        _apply_whiteouts(tree, scan)
        for position, entry in enumerate(scan.entries):
            if entry.kind == "dir":
                tree.mkdir(entry.path)
                dirs[entry.path] = (layer, position)
            elif entry.kind not in ("whiteout", "opaque"):
                tree.put(entry.path, (layer, position))
    implicit = (-1, -1)  # a directory no entry made: the tar's reader makes it
    kept = set()
    for path, value in tree.items(directory=implicit):
        if value != implicit:
            kept.add(value)
        elif path in dirs:
            kept.add(dirs[path])
    return kept


class _Node(Generic[V]):
    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: V | None = None
        self.children: dict[str, _Node[V]] | None = None


class _Tree(Generic[V]):
    """The visible files as a tree, so replacing or removing a directory touches only its
    own subtree (never a scan of every path) and a file never hides beside a directory."""

    def __init__(self) -> None:
        self.root: _Node[V] = _Node()

    def get(self, path: str) -> V | None:
        node = self._find(path)
        return None if node is None else node.value

    def put(self, path: str, value: V) -> tuple[V | None, list[tuple[str, V]]]:
        """Set a file; returns the value it replaced and what a replaced directory held."""
        gone: list[tuple[str, V]] = []
        node = self._make(path, gone)
        if node.children:
            gone += _leaves(node.children, path)
            node.children = None
        old, node.value = node.value, value
        return old, gone

    def mkdir(self, path: str) -> list[tuple[str, V]]:
        """Make a directory; returns the file it replaced, if one stood there."""
        gone: list[tuple[str, V]] = []
        node = self._make(path, gone)
        if node.value is not None:
            gone.append((path, node.value))
            node.value = None
        return gone

    def remove(self, path: str, *, keep_root: bool) -> list[tuple[str, V]]:
        """Remove a path and all below it (only what is below, for an opaque directory)."""
        parts = _parts(path)
        if keep_root or not parts:
            node = self._find(path)
            if node is None or not node.children:
                return []
            gone = _leaves(node.children, path if parts else "")
            node.children = None
            return gone
        parent = self._find("/".join(parts[:-1]))
        if parent is None or not parent.children or parts[-1] not in parent.children:
            return []
        node = parent.children.pop(parts[-1])
        gone = [] if node.value is None else [(path, node.value)]
        return gone + (_leaves(node.children, path) if node.children else [])

    def items(self, *, directory: V | None = None) -> list[tuple[str, V]]:
        """Every file; with `directory`, every directory too, with that value."""
        if not self.root.children:
            return []
        return _leaves(self.root.children, "", directory)

    def _find(self, path: str) -> _Node[V] | None:
        node: _Node[V] | None = self.root
        for part in _parts(path):
            if node is None or not node.children:
                return None
            node = node.children.get(part)
        return node

    def _make(self, path: str, gone: list[tuple[str, V]]) -> _Node[V]:
        """The node at `path`, made with its parents; a file where a parent must be goes."""
        node = self.root
        prefix = ""
        for part in _parts(path):
            if node.value is not None:
                gone.append((prefix, node.value))
                node.value = None
            prefix = f"{prefix}/{part}" if prefix else part
            if node.children is None:
                node.children = {}
            node = node.children.setdefault(part, _Node())
        return node


def _parts(path: str) -> list[str]:
    return [] if path in ("", ".") else path.split("/")


def _leaves(
    children: dict[str, _Node[V]] | None, prefix: str, directory: V | None = None
) -> list[tuple[str, V]]:
    """Every file below (a node with a value); a node without one is a directory."""
    found: list[tuple[str, V]] = []
    stack = [(prefix, children)]
    while stack:
        base, nodes = stack.pop()
        for name, node in (nodes or {}).items():
            path = f"{base}/{name}" if base else name
            if node.value is not None:
                found.append((path, node.value))
            elif directory is not None:
                found.append((path, directory))
            if node.children:
                stack.append((path, node.children))
    return found


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
