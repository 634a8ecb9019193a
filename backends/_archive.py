"""Layer tars inside a docker archive stream (`docker save`, `podman save`).

The archive is read as it streams from the engine: each member that is a
layer tar (`<id>/layer.tar` in docker's format, `<digest>.tar` in podman's)
is handed over as a stream, in archive order, and nothing touches the disk.
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable
from typing import IO


def each_layer(archive: IO[bytes], on_layer: Callable[[IO[bytes]], None]) -> int:
    """Call `on_layer` with every layer tar in a docker archive; returns how many."""
    count = 0
    with tarfile.open(fileobj=archive, mode="r|") as outer:
        for member in outer:
            outer.members = []  # type: ignore[attr-defined]  # tarfile keeps every header
            if not (member.isfile() and member.name.endswith(".tar")):
                continue  # configs, manifest.json, and links docker uses for repeated layers
            handle = outer.extractfile(member)
            if handle is not None:
                on_layer(handle)
                count += 1
    return count
