"""COPY and ADD without a container: their sources found and hashed, their layer written.

Sources come from the build context (never from outside it: a `..` that climbs
out or a symlink that leads out is refused, and .dockerignore'd files are not
there) or from an image's unpacked root (`COPY --from`), where paths resolve as
inside that image. The layer is a tar ocitool writes itself, so ownership
(root, or `--chown`) is set in its headers and needs no privilege; where the
destination lands (an existing directory, a symlink in the path) is read from
the parent image's layers (ImageTree), as docker's builder reads its rootfs.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import io
import os
import posixpath
import stat
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ocitool.backends.common.rootfs import inside, path_parts, walk_links
from ocitool.backends.oci.store import Store
from ocitool.dockerignore import Ignore
from ocitool.errors import NotSupported, PathNotFound, UsageError
from ocitool.layerfiles import OPAQUE, WHITEOUT, safe_path

_ARCHIVE_MAGIC = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")


@dataclass(frozen=True)
class Meta:
    """A path's kind and ownership in an image (from its layers' tar headers)."""

    kind: str  # "dir", "file", "symlink", "other"
    mode: int
    uid: int
    gid: int
    link: str = ""


@dataclass
class ImageTree:
    """The merged file tree of an image's layers: paths relative to its root."""

    entries: dict[str, Meta] = field(default_factory=dict)
    texts: dict[str, bytes] = field(default_factory=dict)  # /etc/passwd, /etc/group

    def resolve(self, path: str) -> str:
        """`path` with every symlink in it followed inside the image (as chroot would)."""

        def link_of(parts: list[str]) -> str | None:
            meta = self.entries.get("/".join(parts))
            return meta.link if meta is not None and meta.kind == "symlink" else None

        return "/".join(walk_links(path, link_of, where="image"))

    def kind_of(self, patterns: list[str]) -> str:
        """file, dir or multi, as docker's history names what a COPY --from copies."""
        if len(patterns) > 1 or any(is_wild(p) for p in patterns):
            return "multi"
        return "dir" if self.is_dir(patterns[0]) else "file"

    def is_dir(self, path: str) -> bool:
        resolved = self.resolve(path)
        return resolved == "" or (self.entries.get(resolved) or Meta("", 0, 0, 0)).kind == "dir"

    def user(self, spec: str) -> tuple[int, int]:
        """--chown's USER[:GROUP] as numbers, as docker's builder reads it: no GROUP means
        the same word again, and a name is looked up in the image's own passwd or group."""
        name, _, group = spec.partition(":")
        return self._number(name, "passwd"), self._number(group or name, "group")

    def _number(self, word: str, table: str) -> int:
        if word.isdigit():
            return int(word)
        rows = _rows(self.texts.get(f"etc/{table}", b""))
        row = next((r for r in rows if r[0] == word and r[2].isdigit()), None)
        if row is None:
            raise UsageError(
                f"--chown: no {'user' if table == 'passwd' else 'group'} {word!r} "
                f"in the image's /etc/{table}",
                hint="give numbers, e.g. --chown=1000:1000",
            )
        return int(row[2])


def read_tree(store: Store, manifest: dict[str, object]) -> ImageTree:
    """An image's files as its layers leave them (whiteouts applied); nothing extracted."""
    tree = ImageTree()
    layers = manifest.get("layers")
    for layer in layers if isinstance(layers, list) else []:
        with store.open_blob(layer["digest"], layer.get("size")) as raw:
            stream: IO[bytes] = raw
            if str(layer.get("mediaType", "")).endswith("gzip"):
                stream = gzip.GzipFile(fileobj=raw)  # type: ignore[assignment]
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    tar.members = []  # type: ignore[attr-defined]  # headers must not pile up
                    _apply(tree, tar, member)
    return tree


def _apply(tree: ImageTree, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
    path = safe_path(member.name)
    if path is None:
        return
    path = path.lstrip("/")
    base = posixpath.basename(path)
    parent = posixpath.dirname(path)
    if base == OPAQUE:
        prefix = parent + "/" if parent else ""
        for key in [k for k in tree.entries if k.startswith(prefix) and k != parent]:
            del tree.entries[key]
        return
    if base.startswith(WHITEOUT):
        gone = posixpath.join(parent, base[len(WHITEOUT) :])
        for key in [k for k in tree.entries if k == gone or k.startswith(gone + "/")]:
            del tree.entries[key]
        return
    if not path or path == ".":
        return
    kind = (
        "dir"
        if member.isdir()
        else "symlink"
        if member.issym()
        else "file"
        if member.isfile() or member.islnk()
        else "other"
    )
    tree.entries[path] = Meta(kind, member.mode, member.uid, member.gid, member.linkname)
    if path in ("etc/passwd", "etc/group") and member.isfile():
        handle = tar.extractfile(member)
        if handle is not None:
            tree.texts[path] = handle.read(1 << 20)


# -- sources ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One source as written resolved to a host path under `root`."""

    root: Path  # the context, or an image's unpacked rootfs
    path: Path  # the file or directory itself (its own symlinks followed within `root`)
    name: str  # its base name, which a directory destination takes


def context_sources(context: Path, patterns: list[str], ignore: Ignore) -> list[Source]:
    """The context's files each source pattern names (wildcards too), none ignored;
    a source that leaves the context is refused, one that matches nothing is an error."""
    found: list[Source] = []
    root = context.resolve()
    for pattern in patterns:
        if "://" in pattern:
            raise NotSupported(
                f"ADD of a URL ({pattern}) is not supported by the oci backend",
                hint="download it into the context first and COPY it, or build on docker",
            )
        relative = _within(pattern)
        matches = _glob(root, relative, ignore) if is_wild(relative) else [relative]
        hits = []
        for rel in matches:
            if ignore.excluded(rel):
                continue
            host = _context_path(root, rel)
            if host.exists():
                hits.append(Source(root, host, posixpath.basename(rel) or "."))
        if not hits:
            raise PathNotFound(
                f"COPY source {pattern!r} is not in the build context"
                + (" (.dockerignore excludes it)" if ignore.excluded(relative) else ""),
                hint="COPY takes paths inside the context directory",
            )
        found.extend(hits)
    return found


def image_sources(rootfs: Path, patterns: list[str], label: str) -> list[Source]:
    """`COPY --from`'s sources inside an image's root; paths resolve as in the image."""
    found = []
    for pattern in patterns:
        relative = "/".join(path_parts(pattern))
        matches = _glob(rootfs, relative, Ignore([])) if is_wild(relative) else [relative]
        hits = [
            Source(rootfs, inside(rootfs, rel), posixpath.basename(rel) or ".") for rel in matches
        ]
        hits = [h for h in hits if os.path.lexists(h.path)]
        if not hits:
            raise PathNotFound(
                f"COPY --from={label}: {pattern!r} does not exist in that image",
                hint="check the path in the stage or image named by --from",
            )
        found.extend(hits)
    return found


def _within(pattern: str) -> str:
    """A context path, lexically: `..` that climbs out of the context is refused."""
    parts: list[str] = []
    for part in pattern.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise UsageError(
                    f"COPY source {pattern!r} is outside the build context",
                    hint="a build reads only files inside its context directory",
                )
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts)


def _context_path(context: Path, relative: str) -> Path:
    """The host path of a context path, its symlinks followed but never out of it."""
    root = context
    target = (root / relative).resolve() if relative else root
    if target != root and root not in target.parents:
        raise UsageError(
            f"COPY source {relative!r} leads outside the build context (a symlink)",
            hint="a build reads only files inside its context directory",
        )
    return target


def is_wild(path: str) -> bool:
    return any(c in path for c in "*?[")


def _glob(root: Path, pattern: str, ignore: Ignore) -> list[str]:
    """Relative paths under `root` matching `pattern`, component by component."""
    current = [""]
    for part in pattern.split("/"):
        following: list[str] = []
        for base in current:
            folder = root / base if base else root
            if not is_wild(part):
                following.append(posixpath.join(base, part) if base else part)
                continue
            try:
                names = sorted(os.listdir(folder)) if folder.is_dir() else []
            except OSError:
                names = []
            following += [
                posixpath.join(base, n) if base else n
                for n in names
                if fnmatch.fnmatchcase(n, part)
            ]
        current = following
    return [p for p in current if not ignore.excluded(p)]


def walk(source: Source, ignore: Ignore | None) -> Iterator[tuple[str, Path]]:
    """(path relative to the source, host path) for a source and all below it, sorted,
    links never followed; ignored context files left out."""
    if not source.path.is_dir():
        yield "", source.path
        return
    yield "", source.path
    base = source.path
    prefix = os.path.relpath(base, source.root) if ignore is not None else ""
    for parent, dirs, files in os.walk(base):
        dirs.sort()
        for name in sorted([*dirs, *files]):
            host = Path(parent, name)
            rel = os.path.relpath(host, base)
            if ignore is not None and ignore.excluded(posixpath.join(prefix, rel)):
                if name in dirs and not ignore.has_exceptions():
                    dirs.remove(name)
                continue
            yield rel, host


def is_archive(path: Path) -> bool:
    """ADD extracts a local tar (plain, gzip, bzip2 or xz), as docker does."""
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(_ARCHIVE_MAGIC):
        return True
    return len(head) == 512 and head[257:262] == b"ustar"


# -- the layer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """Who owns what a step writes: --chown, or root; an image source keeps its own."""

    ids: tuple[int, int] | None  # --chown's, resolved
    keep: dict[str, Meta] | None = None  # an image source's metadata (COPY --from)


class LayerWriter:
    """One layer tar: entries under image paths, their missing parents made once."""

    def __init__(self, out: IO[bytes], tree: ImageTree, owner: Owner) -> None:
        self.tar = tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        self.tree = tree
        self.owner = owner
        self.written: set[str] = set()
        self.now = int(time.time())

    def close(self) -> None:
        self.tar.close()

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent in self.written or parent in self.tree.entries:
                continue
            info = tarfile.TarInfo(parent)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.uid, info.gid = self.owner.ids or (0, 0)
            info.mtime = self.now
            self.tar.addfile(info)
            self.written.add(parent)

    def host(self, dest: str, host: Path, image_path: str | None) -> None:
        """A host file, directory or symlink (not followed) at image path `dest`."""
        info = os.lstat(host)
        entry = tarfile.TarInfo(dest)
        entry.mtime = int(info.st_mtime)
        entry.mode = stat.S_IMODE(info.st_mode)
        kept = self.owner.keep.get(image_path) if self.owner.keep and image_path else None
        if self.owner.ids is not None:
            entry.uid, entry.gid = self.owner.ids
        elif kept is not None:
            entry.uid, entry.gid, entry.mode = kept.uid, kept.gid, kept.mode
        self._parents(dest)
        if stat.S_ISDIR(info.st_mode):
            entry.type = tarfile.DIRTYPE
            self.tar.addfile(entry)
        elif stat.S_ISLNK(info.st_mode):
            entry.type = tarfile.SYMTYPE
            entry.linkname = os.readlink(host)
            self.tar.addfile(entry)
        elif stat.S_ISREG(info.st_mode):
            entry.size = info.st_size
            with host.open("rb") as handle:
                self.tar.addfile(entry, handle)
        else:
            return  # sockets, fifos and devices are not copied
        self.written.add(dest)

    def archive(self, dest_dir: str, archive: Path) -> None:
        """ADD's local tar, extracted under `dest_dir` with the owners it records."""
        with tarfile.open(archive, mode="r:*") as source:
            for member in source:
                path = safe_path(member.name)
                if path is None or member.isdev() or member.ischr() or member.isblk():
                    continue
                rel = path.lstrip("/")
                if not rel or rel == ".":
                    continue
                name = posixpath.join(dest_dir, rel) if dest_dir else rel
                copy = tarfile.TarInfo(name)
                for attr in ("type", "mode", "uid", "gid", "mtime", "size", "uname", "gname"):
                    setattr(copy, attr, getattr(member, attr))
                copy.linkname = member.linkname
                if member.islnk():
                    linked = safe_path(member.linkname)
                    if linked is None:
                        continue
                    copy.linkname = posixpath.join(dest_dir, linked.lstrip("/"))
                if self.owner.ids is not None:
                    copy.uid, copy.gid = self.owner.ids
                self._parents(name)
                data = source.extractfile(member) if member.isfile() else None
                self.tar.addfile(copy, data)
                self.written.add(name)


def content_hash(sources: list[Source], ignore: Ignore | None) -> str:
    """What a COPY copies from the context, hashed: paths, kinds, modes, link targets
    and bytes (not times, as docker's file hashes leave them out)."""
    digest = hashlib.sha256()
    for source in sources:
        digest.update(f"source {source.name}\n".encode())
        for rel, host in walk(source, ignore):
            info = os.lstat(host)
            line = f"{rel}\0{stat.S_IFMT(info.st_mode)}\0{stat.S_IMODE(info.st_mode)}"
            if stat.S_ISLNK(info.st_mode):
                line += "\0" + os.readlink(host)
            elif stat.S_ISREG(info.st_mode):
                line += "\0" + _file_digest(host)
            digest.update(line.encode(errors="surrogateescape") + b"\n")
    return digest.hexdigest()


def _image_rel(source: Source, host: Path) -> str:
    return os.path.relpath(host, source.root).replace(os.sep, "/")


def image_path(source: Source, host: Path) -> str:
    """A host path under an image's unpacked root as a path in that image."""
    return _image_rel(source, host)


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _rows(data: bytes) -> list[list[str]]:
    text = io.TextIOWrapper(io.BytesIO(data), errors="replace").read()
    return [line.split(":") for line in text.splitlines() if ":" in line]
