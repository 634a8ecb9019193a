"""What `import` takes: a rootfs tar, plain or compressed as docker import accepts it.

umoci adds only uncompressed tars, so gzip, bzip2 and xz are decompressed to a
temporary file beside the store; zstd and anything that is not a tar are refused
by name before the store is touched.
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

from ocitool.errors import NotSupported, OcitoolError, UsageError

# What docker import decompresses too, by magic number.
_COMPRESSED: tuple[tuple[bytes, Callable[[Path], io.BufferedIOBase]], ...] = (
    (b"\x1f\x8b", partial(gzip.GzipFile, mode="rb")),
    (b"BZh", partial(bz2.BZ2File, mode="rb")),
    (b"\xfd7zXZ\x00", partial(lzma.LZMAFile, mode="rb")),
)
_ZSTD = b"\x28\xb5\x2f\xfd"


@contextmanager
def uncompressed(tarball: Path, *, scratch: Path) -> Iterator[Path]:
    """The tarball as a plain tar: itself, or a decompressed copy in `scratch`."""
    with tarball.open("rb") as handle:
        head = handle.read(6)
    opener = next((o for magic, o in _COMPRESSED if head.startswith(magic)), None)
    if head.startswith(_ZSTD):
        raise NotSupported(
            f"{tarball} is zstd-compressed, which ocitool cannot decompress",
            hint=f"decompress it first: zstd -d {tarball}",
        )
    if opener is None:
        _require_tar(tarball, tarball)
        yield tarball
        return
    with tempfile.NamedTemporaryFile(dir=scratch, suffix=".tar") as plain:
        try:
            with opener(tarball) as source:
                shutil.copyfileobj(source, plain, 1 << 20)
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                raise OcitoolError(
                    f"no space left in {scratch} to decompress {tarball}",
                    hint="free some space there (or import the plain tar), then try again",
                ) from exc
            raise UsageError(
                f"{tarball} is damaged or cut short ({exc})",
                hint="make the archive again",
            ) from exc
        plain.flush()
        _require_tar(Path(plain.name), tarball)
        yield Path(plain.name)


def _require_tar(path: Path, given: Path) -> None:
    """A file umoci would take as a layer: a tar, checked by its first header."""
    try:
        with tarfile.open(path, "r:") as tar:
            tar.next()
    except (tarfile.TarError, OSError) as exc:
        raise UsageError(
            f"{given} is not a tar archive (or a gzip, bzip2 or xz one)",
            hint="import takes a root filesystem as a tarball, as docker import does",
        ) from exc
