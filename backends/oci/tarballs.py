"""What `import` takes: a rootfs tar, plain or compressed as docker import accepts it.

umoci adds only uncompressed tars, so gzip, bzip2 and xz are decompressed to a
temporary file beside the store, within the free space there; zstd and anything
that is not a whole tar are refused by name before the store is touched.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import io
import lzma
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO

from ocitool.errors import NotSupported, OcitoolError, UsageError

# What docker import decompresses too, by magic number.
_COMPRESSED: tuple[tuple[bytes, Callable[[Path], io.BufferedIOBase]], ...] = (
    (b"\x1f\x8b", partial(gzip.GzipFile, mode="rb")),
    (b"BZh", partial(bz2.BZ2File, mode="rb")),
    (b"\xfd7zXZ\x00", partial(lzma.LZMAFile, mode="rb")),
)
_ZSTD = b"\x28\xb5\x2f\xfd"


LAYER_TEMP = ".ocitool-layer-"  # a decompressed tarball beside the store (store.py sweeps it)
_HEADROOM = 16 << 20  # left free besides the layer blob umoci writes next


@contextmanager
def uncompressed(tarball: Path, *, scratch: Path) -> Iterator[Path]:
    """The tarball as a whole, checked plain tar: itself, or a decompressed copy in
    `scratch`, which may use only the free space umoci's blob will not need."""
    with tarball.open("rb") as handle:
        head = handle.read(6)
    opener = next((o for magic, o in _COMPRESSED if head.startswith(magic)), None)
    if head.startswith(_ZSTD):
        raise NotSupported(
            f"{tarball} is zstd-compressed, which ocitool cannot decompress",
            hint=f"decompress it first: zstd -d {tarball}",
        )
    if opener is None:
        check_tar(tarball, tarball)
        yield tarball
        return
    room = shutil.disk_usage(scratch).free - tarball.stat().st_size - _HEADROOM
    with tempfile.NamedTemporaryFile(dir=scratch, prefix=LAYER_TEMP, suffix=".tar") as plain:
        _decompress(opener, tarball, plain, room, scratch)
        plain.flush()
        check_tar(Path(plain.name), tarball)
        yield Path(plain.name)


def _decompress(
    opener: Callable[[Path], io.BufferedIOBase],
    tarball: Path,
    plain: IO[bytes],
    room: int,
    scratch: Path,
) -> None:
    """Stream it out, stopping before the decompressed tar outgrows `room` (a gzip bomb
    is refused, not written until the disk is full)."""
    written = 0
    try:
        with opener(tarball) as source:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > room:
                    raise UsageError(
                        f"{tarball} decompresses to more than the {_mib(max(room, 0))} "
                        f"that {scratch} can spare",
                        hint="free some space there, or point --store at a larger filesystem",
                    )
                try:
                    plain.write(chunk)
                except OSError as exc:
                    # The disk, not the input: exit 1, never "damaged" (nor usage).
                    what = "no space left" if exc.errno == errno.ENOSPC else "cannot write"
                    raise OcitoolError(
                        f"{what} in {scratch} to decompress {tarball} ({exc.strerror or exc})",
                        hint="free some space there, or point --store at a larger filesystem",
                    ) from exc
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise UsageError(
            f"{tarball} is damaged or cut short ({exc})",
            hint="make the archive again",
        ) from exc


def check_tar(path: Path, given: Path) -> None:
    """A whole tar, as docker and podman read it: every entry's header and data there,
    and nothing after the last entry but end-of-archive blocks (or nothing at all)."""
    entries = 0
    try:
        with tarfile.open(path, "r:") as tar:
            for _ in tar:  # tarfile checks each entry's data is present as it moves on
                entries += 1
            end = tar.offset
    except (tarfile.TarError, OSError) as exc:
        if entries == 0:
            raise UsageError(
                f"{given} is not a tar archive (or a gzip, bzip2 or xz one)",
                hint="import takes a root filesystem as a tarball, as docker import does",
            ) from exc
        raise _cut_short(given, f"entry {entries + 1} is incomplete") from exc
    with path.open("rb") as handle:
        handle.seek(end)
        rest = handle.read(1024)
    # tarfile stops quietly at a partial or garbled header; docker's reader does not
    if rest.strip(b"\0"):
        raise _cut_short(given, f"the header after entry {entries} is incomplete or garbled")


def _cut_short(given: Path, why: str) -> UsageError:
    return UsageError(f"{given} is cut short or damaged: {why}", hint="make the archive again")


def _mib(size: int) -> str:
    return f"{size / (1 << 20):.0f} MiB"
