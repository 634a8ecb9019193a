"""Layer tars inside a docker archive stream (`docker save`, `podman save`).

The archive is read as it streams from the engine: each member that is a
layer tar (`<id>/layer.tar` in docker's format, `<digest>.tar` in podman's)
is handed over as a stream, in archive order, and nothing touches the disk.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
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
