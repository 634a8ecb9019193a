"""ocitool's own image store: an OCI image layout on disk, read directly.

Reads parse index.json, manifests and configs with no process per read, and
every blob is checked against its digest, so a corrupt store gives an error
naming the blob instead of a wrong answer. Writers (umoci, skopeo, and this
module's index edits) hold an exclusive flock on `.ocitool.lock`; readers
hold a shared one, so a reader never sees an index or blob half-written.
Waiting for it is bounded and announced (locking.py).
The store is created 0700: umoci writes 0600 files, and a store is its
owner's alone.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from ocitool.backends.oci import locking, shapes
from ocitool.errors import StoreCorrupt, UsageError
from ocitool.runner import default_timeout
from ocitool.streams import Hashing

REF_NAME = "org.opencontainers.image.ref.name"
MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
LAYOUT = {"imageLayoutVersion": "1.0.0"}
# The tags import and commit build an image under before naming it (backend.py): never
# an image of the user's, and left behind only by a writer that was killed.
SCRATCH_TAGS = ("ocitool-import-", "ocitool-commit-", "ocitool-build-")
# What writers leave beside the layout while they work: umoci's work directories, this
# module's temporaries (_write_json, build-cache.json's too), skopeo's blobs in flight
# (containers/image oci_dest), a tarball decompressed for import (tarballs.LAYER_TEMP).
_IN_FLIGHT = (
    ".umoci-",
    ".index.json.",
    ".oci-layout.",
    ".build-cache.json.",
    "oci-put-blob",
    ".ocitool-layer-",
)
_MAX_JSON_BLOB = 64 * 1024 * 1024  # manifests and configs are small; refuse to slurp more


@dataclass(frozen=True)
class Tagged:
    """One index.json entry: a manifest and the name it carries, if any."""

    name: str | None
    digest: str
    size: int
    media_type: str


class Store:
    """An OCI image layout plus ocitool's containers, under one directory."""

    def __init__(self, path: Path, *, lock_timeout: float | None = None) -> None:
        self.path = path
        self.lock_timeout = lock_timeout  # seconds; None: OCITOOL_TIMEOUT or its default
        # the lock this thread holds ("shared" or "exclusive"): per thread, as each thread
        # takes its own flock, so one Client can be shared by threads
        self._locks = threading.local()
        if ":" in str(path):
            raise UsageError(
                f"store path {path} contains ':'",
                hint="umoci and skopeo read PATH:TAG, so choose a path without ':'",
            )

    # -- set-up ------------------------------------------------------------------

    def ensure(self) -> None:
        """Create an empty layout if there is none; refuse anything that is not one.

        A layout that lost its index.json but still holds blobs or containers is a
        damaged store (exit 9), never a directory to abandon; one with nothing in
        it (a creation cut short) is simply created again.
        """
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(
                f"store {self.path} is not a directory",
                hint="point --store or OCITOOL_STORE at a directory (it is created if missing)",
            )
        if (self.path / "index.json").exists():
            return
        ours = {"oci-layout", "blobs", "containers", ".ocitool.lock", "build-cache.json"}
        if self.path.is_dir() and any(
            p.name not in ours and not p.name.startswith(_IN_FLIGHT) for p in self.path.iterdir()
        ):
            raise UsageError(
                f"store {self.path} is a directory but not an OCI layout (no index.json)",
                hint="point --store at an empty or new directory",
            )
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.path, 0o700)
        with self.locked(exclusive=True):
            if (self.path / "index.json").exists():
                return
            held = [d.name for d in (self.path / "blobs", self.containers_dir) if _has_files(d)]
            if held:
                raise StoreCorrupt(
                    f"store {self.path} has lost its index.json; its {' and '.join(held)} remain",
                    hint="restore index.json from a backup; ocitool changed nothing",
                )
            (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            self._write_json(self.path / "oci-layout", LAYOUT)
            self._write_json(self.path / "index.json", {"schemaVersion": 2, "manifests": []})

    @contextmanager
    def locked(self, *, exclusive: bool) -> Iterator[None]:
        """Shared for reads, exclusive for writes, across processes (flock).

        Re-entrant within a thread: an operation that holds the exclusive lock
        for several steps can call helpers that lock again. Threads lock apart
        (each opens the lock file itself, and flock locks open files), so
        threads sharing one Store wait for each other as processes do.
        """
        held = getattr(self._locks, "held", None)
        if held == "exclusive" or (held == "shared" and not exclusive):
            yield
            return
        if held == "shared":
            raise RuntimeError("cannot upgrade a shared store lock to exclusive")
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = self.path / ".ocitool.lock"
        with open(lock, "a+") as handle:
            timeout = default_timeout() if self.lock_timeout is None else self.lock_timeout
            locking.take(handle, lock, exclusive=exclusive, timeout=timeout)
            self._locks.held = "exclusive" if exclusive else "shared"
            try:
                yield
            finally:
                self._locks.held = None
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- reads ---------------------------------------------------------------------

    def index(self) -> list[Tagged]:
        """index.json's entries: image manifests, and image indexes (parsers.py reads
        the images an index names)."""
        path = self.path / "index.json"
        try:
            doc = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise StoreCorrupt(f"store {self.path} has no index.json") from exc
        except PermissionError as exc:
            raise _not_yours(path) from exc
        except OSError as exc:
            raise StoreCorrupt(
                f"{path} cannot be read ({exc.strerror or exc})",
                hint="restore it from a backup; ocitool changed nothing",
            ) from exc
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            reason = "nested too deep" if isinstance(exc, RecursionError) else str(exc)
            raise StoreCorrupt(
                f"{path} is not valid JSON ({reason})",
                hint="restore it from a backup; ocitool changed nothing",
            ) from exc
        return [
            Tagged(
                (entry.get("annotations") or {}).get(REF_NAME),
                entry["digest"],
                entry["size"],
                entry.get("mediaType", ""),
            )
            for entry in shapes.index(doc, path)
        ]

    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        if algorithm != "sha256" or len(hexpart) != 64 or not hexpart.isalnum():
            raise StoreCorrupt(f"store {self.path} refers to an invalid digest {digest!r}")
        return self.path / "blobs" / "sha256" / hexpart

    def read_blob(self, digest: str, size: int | None = None) -> bytes:
        """A small blob, checked against its digest and size."""
        path = self.blob_path(digest)
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_JSON_BLOB + 1)
        except OSError as exc:
            raise self._unreadable(digest, path, exc) from exc
        if size is not None and len(data) != size:
            raise StoreCorrupt(
                f"blob {digest} is {len(data)} bytes but its descriptor says {size} "
                "(truncated or replaced)",
                hint="the store is damaged; remove the images that use it",
            )
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise StoreCorrupt(
                f"blob {digest} does not match its digest (it hashes to {actual})",
                hint="the store is damaged; remove the images that use it",
            )
        return data

    def _unreadable(self, digest: str, path: Path, exc: OSError) -> StoreCorrupt | UsageError:
        if isinstance(exc, PermissionError):
            return _not_yours(path)
        if isinstance(exc, FileNotFoundError):
            return StoreCorrupt(
                f"blob {digest} is missing from {self.path}",
                hint="the store is damaged; remove the images that use it",
            )
        return StoreCorrupt(
            f"blob {path} cannot be read ({exc.strerror or exc})",
            hint="the store is damaged; remove the images that use it",
        )

    def read_json(self, digest: str, size: int | None = None) -> dict[str, Any]:
        data = self.read_blob(digest, size)
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise StoreCorrupt(f"blob {self.blob_path(digest)} is not JSON") from exc
        if not isinstance(doc, dict):
            raise StoreCorrupt(f"blob {self.blob_path(digest)} is not a JSON object")
        return doc

    def verify_blob(self, digest: str, size: int | None = None) -> None:
        """Hash a blob of any size by streaming it (for layers)."""
        with self.open_blob(digest, size):
            pass  # open_blob reads to the end and checks the digest on leaving

    @contextmanager
    def open_blob(self, digest: str, size: int | None = None) -> Iterator[IO[bytes]]:
        """A blob to stream; once the reader is done, the rest is hashed and a blob whose
        bytes are not its digest raises StoreCorrupt instead of passing as the image."""
        path = self.blob_path(digest)
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise self._unreadable(digest, path, exc) from exc
        with handle:
            checked = Hashing(handle)
            yield cast(IO[bytes], checked)
            checked.drain()
        if (size is not None and checked.length != size) or checked.digest() != digest:
            raise StoreCorrupt(
                f"blob {digest} does not match its digest or size",
                hint="the store is damaged; remove the images that use it",
            )

    # -- index writes ------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Exclusive, and nothing is lost: when umoci moves a tag, the image that had it
        stays in index.json without a name (like docker's `<none>` images), so garbage
        collection keeps it until someone removes it by ID."""
        with self.locked(exclusive=True):
            before = self.index()
            try:
                yield
            finally:
                after = self.index()
                kept = {entry.digest for entry in after}
                lost = {e.digest: e for e in before if e.digest not in kept}
                if lost:
                    self.write_index(
                        after
                        + [Tagged(None, e.digest, e.size, e.media_type) for e in lost.values()]
                    )

    def write_index(self, entries: list[Tagged]) -> None:
        """Replace index.json atomically; call with the exclusive lock held."""
        manifests = []
        for entry in entries:
            item: dict[str, Any] = {
                "mediaType": entry.media_type or "application/vnd.oci.image.manifest.v1+json",
                "digest": entry.digest,
                "size": entry.size,
            }
            if entry.name:
                item["annotations"] = {REF_NAME: entry.name}
            manifests.append(item)
        self._write_json(self.path / "index.json", {"schemaVersion": 2, "manifests": manifests})

    def write_json(self, path: Path, doc: dict[str, Any]) -> None:
        """A file of ocitool's beside the layout (build-cache.json), written as index.json is."""
        self._write_json(path, doc)

    def _write_json(self, path: Path, doc: dict[str, Any]) -> None:
        """Write beside, fsync, rename: a reader sees the old file or the new, never half."""
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(doc, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    # -- what killed writers leave -------------------------------------------------------

    def sweep(self) -> None:
        """Clear what a killed writer left: scratch tags, work directories, temporaries,
        and the blobs only they reached. Call with the exclusive lock held and the store
        checked: no live ocitool writer can own any of it then, as each holds the lock for
        its whole write (a reader's umoci holds the shared one)."""
        entries = self.index()
        kept = [e for e in entries if not is_scratch(e.name)]
        leftovers = [p for p in self.path.iterdir() if p.name.startswith(_IN_FLIGHT)]
        if len(kept) == len(entries) and not leftovers:
            return
        if len(kept) != len(entries):
            self.write_index(kept)
        for path in leftovers:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with suppress(FileNotFoundError):
                    path.unlink()
        self.collect()

    def collect(self) -> None:
        """Delete the blobs no index entry reaches, as umoci gc does but without reading
        every layer again: a write's own leftovers (umoci new's empty image, the steps
        before the last config) go as it ends. Call with the exclusive lock held."""
        for blob in self.unreachable():
            blob.unlink()

    def unreachable(self) -> list[Path]:
        """The blob files no index entry reaches, through the indexes it names too (none
        when an entry is of a media type ocitool does not read, which is not ocitool's
        to judge). Call with a lock held."""
        reachable: set[str] = set()
        manifests = [(e.digest, e.size, e.media_type) for e in self.index()]
        while manifests:
            digest, size, media_type = manifests.pop()
            if digest in reachable:
                continue
            if media_type and media_type not in MANIFEST_TYPES | INDEX_TYPES:
                return []  # not ocitool's to judge; leave every blob alone
            reachable.add(digest)
            doc = self.read_json(digest, size)
            if media_type in INDEX_TYPES:  # an index: its manifests (parsers.py reads them)
                entries = shapes.index(doc, self.blob_path(digest))
                manifests += [(m["digest"], m["size"], m.get("mediaType", "")) for m in entries]
                continue
            shapes.manifest(doc, self.blob_path(digest))
            reachable.add(doc["config"]["digest"])
            reachable.update(layer["digest"] for layer in doc.get("layers", []))
        blobs = self.path / "blobs" / "sha256"
        return sorted(
            blob
            for blob in (blobs.iterdir() if blobs.is_dir() else ())
            if f"sha256:{blob.name}" not in reachable and blob.is_file()
        )

    # -- containers -------------------------------------------------------------------

    @property
    def containers_dir(self) -> Path:
        return self.path / "containers"


def _has_files(directory: Path) -> bool:
    """Anything below `directory` but empty folders."""
    return directory.is_dir() and any(p.is_file() for p in directory.rglob("*"))


def _not_yours(path: Path) -> UsageError:
    """Not damage: a store of another user's (stores are 0700), or one made by root."""
    return UsageError(
        f"{path} cannot be read by this user (permission denied)",
        hint="use a store of your own (--store PATH), or run as the store's owner",
    )


def is_scratch(name: str | None) -> bool:
    return name is not None and name.startswith(SCRATCH_TAGS)
