"""Bytes of a transfer that an engine makes on its own (its save, its load).

An engine's own save writes the archive, and its own load reads it, with no
byte counts ocitool could parse. What they did is still visible from outside:
the size of the file being written, and how far the engine's process has read
into the archive (its file position, in /proc). A meter polls one of them in a
thread while the engine works and reports it as ProgressEvent `written` or
`read` (docs/progress.md); nothing is read twice and memory stays flat.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ocitool.movers import ProgressEvent

EVERY = 0.25  # seconds between two looks


@contextmanager
def metered(
    on_event: ProgressEvent | None,
    event: str,
    measure: Callable[[], int | None],
    size: int | None,
    *,
    whole: bool = False,
) -> Iterator[None]:
    """While the block runs, `on_event(event, {"bytes", "size"})` whenever `measure()`
    changes, and once more at its end: with `whole`, `size` itself, as a block that
    ends well has read all of it (its reader is gone by then, and says nothing)."""
    if on_event is None:
        yield
        return
    stop = threading.Event()
    last: list[int] = [-1]

    def look() -> None:
        done = measure()
        if done is not None and done != last[0]:
            last[0] = done
            on_event(event, {"bytes": done, "size": size})

    def poll() -> None:
        while not stop.wait(EVERY):
            look()

    watcher = threading.Thread(target=poll, daemon=True, name=f"ocitool-{event}-meter")
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=5)
    if whole and size is not None:
        on_event(event, {"bytes": size, "size": size})
    else:
        look()


def file_size(path: Path) -> Callable[[], int | None]:
    """The size of a file being written; None before it exists."""

    def measure() -> int | None:
        try:
            return path.stat().st_size
        except OSError:
            return None

    return measure


def read_position(path: Path) -> Callable[[], int | None]:
    """How far any process ocitool started has read into `path`: the largest file
    position among their open descriptors of it (proc(5) fdinfo). None where /proc
    does not say (another OS, or no such process yet)."""
    target = os.path.realpath(path)

    def measure() -> int | None:
        found = None
        for pid in _descendants(os.getpid()):
            for position in _positions(pid, target):
                found = position if found is None else max(found, position)
        return found

    return measure


def _descendants(root: int) -> Iterator[int]:
    parents: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    todo = list(parents.get(root, []))
    while todo:
        pid = todo.pop()
        yield pid
        todo += parents.get(pid, [])


def _positions(pid: int, target: str) -> Iterator[int]:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != target:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("pos:"):
                        yield int(line.split()[1])
        except (OSError, ValueError):
            continue
