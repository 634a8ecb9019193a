"""Layer tars inside a docker archive stream (`docker save`, `podman save`).

The archive is read as it streams from the engine: each member that is a
layer tar (`<id>/layer.tar` in docker's format, `<digest>.tar` in podman's)
is handed over as a stream, in archive order, and nothing touches the disk.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from ocitool.errors import StoreCorrupt
from ocitool.layerfiles import UNREADABLE, check_ended
from ocitool.streams import Counted


def each_layer(archive: IO[bytes], on_layer: Callable[[IO[bytes]], None]) -> int:
    """Call `on_layer` with every layer tar in a docker archive; returns how many."""
    count = 0
    try:
        counted = Counted(archive)
        with tarfile.open(fileobj=counted, mode="r|") as outer:  # type: ignore[call-overload]
            for member in outer:
                outer.members = []  # tarfile keeps every header
                if not (member.isfile() and member.name.endswith(".tar")):
                    continue  # configs, manifest.json, and links docker uses for repeated layers
                handle = outer.extractfile(member)
                if handle is not None:
                    on_layer(handle)
                    count += 1
        check_ended(counted, outer)
    except UNREADABLE as exc:
        raise StoreCorrupt(
            f"the engine's image archive is not a readable tar ({exc or type(exc).__name__})",
            hint="the engine stopped mid-stream or its store is damaged; see --debug",
        ) from exc
    return count


def colon_free(path: Path, alias: Path, *, writing: bool | str) -> Path:
    """`path`, or a symlink at `alias` leading to it where `path` holds a ':'.

    containers/image transports read `PATH:NAME`, so skopeo and podman would cut
    such a path short. A destination must exist for the link to lead somewhere:
    a file is made empty (the caller's own partial file, which the engine then
    fills), a layout directory (`writing="directory"`) is made.
    """
    if ":" not in str(path):
        return path
    target = path.absolute()
    if writing == "directory":
        target.mkdir(parents=True, exist_ok=True)
    elif writing:
        target.touch()
    alias.symlink_to(target)
    return alias
