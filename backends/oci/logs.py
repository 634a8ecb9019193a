"""A container's output, kept where its supervisor writes it: `containers/<id>/container.log`.

One JSON object per line, as docker's json-file driver keeps them: the time
(RFC 3339, nanoseconds, UTC), the stream and the line as printed. The
supervisor (supervise.py) appends while the container runs; `logs` reads, and
with `follow` reads on until the record says the container has ended.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

LOG = "container.log"
_POLL = 0.1


class Writer:
    """Appends lines to a container's log, each flushed as it comes (for `logs -f`)."""

    def __init__(self, directory: Path) -> None:
        self.handle: IO[str] = (directory / LOG).open("a", encoding="utf-8")

    def line(self, stream: str, text: str) -> None:
        entry = {"time": stamp(time.time_ns()), "stream": stream, "log": text + "\n"}
        self.handle.write(json.dumps(entry) + "\n")
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def stamp(ns: int) -> str:
    """`2026-12-02T02:00:00.123456789Z`, as docker's --timestamps prints a time."""
    seconds, rest = divmod(ns, 1_000_000_000)
    whole = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{whole}.{rest:09d}Z"


def entries(
    directory: Path, *, tail: int | None, follow: bool, ended: Callable[[], bool], limit: float
) -> Iterator[tuple[str, str, str]]:
    """(time, stream, text) of each line, the last `tail` first; with `follow`, then each
    new line as it is written, until the container has ended (or `limit` seconds pass)."""
    path = directory / LOG
    if not path.exists():
        path.touch()
    with path.open("rb") as handle:
        first: deque[bytes] = deque(_whole_lines(handle), maxlen=tail)
        yield from _parsed(first)
        deadline = time.monotonic() + limit
        while follow and time.monotonic() < deadline:
            done = ended()  # once the end is seen, what was written before it is read
            yield from _parsed(_whole_lines(handle))
            if done:
                return
            time.sleep(_POLL)


def _whole_lines(handle: IO[bytes]) -> Iterator[bytes]:
    """The complete lines from here on; a line still being written is left for later."""
    while True:
        where = handle.tell()
        line = handle.readline()
        if not line.endswith(b"\n"):
            handle.seek(where)
            return
        yield line


def _parsed(lines: Iterable[bytes]) -> Iterator[tuple[str, str, str]]:
    for line in lines:
        try:
            entry = json.loads(line)
            yield str(entry["time"]), str(entry["stream"]), str(entry["log"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a killed supervisor


def show(
    found: Iterator[tuple[str, str, str]], *, timestamps: bool, terminal: bool
) -> tuple[str, str]:
    """Write each line to the terminal's matching stream, or collect them."""
    kept: dict[str, list[str]] = {"stdout": [], "stderr": []}
    for moment, stream, text in found:
        line = f"{moment} {text}" if timestamps else text
        if terminal:
            out = sys.stderr if stream == "stderr" else sys.stdout
            out.write(line)
            out.flush()
        else:
            kept["stderr" if stream == "stderr" else "stdout"].append(line)
    return "".join(kept["stdout"]), "".join(kept["stderr"])
