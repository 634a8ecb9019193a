"""Progress of long transfers: bars with bytes on a terminal, or JSON lines.

The mover reports each layer's bytes as it copies them (ocitool.movers'
ProgressEvent: start, read, blob, config, manifest, written). On a terminal
(`auto`) they are drawn with rich on stderr: a line per layer, a total, and
the rate; each copy ends with one summary line that stays. With `--progress
json` each event is one JSON object per line on stderr (docs/progress.md), so
stdout keeps the result. With `none`, or `auto` when stderr is not a terminal,
nothing is shown and the mover is not asked for events at all.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

Mode = Literal["auto", "json", "none"]

JSON_EVERY = 0.5  # seconds between two JSON events of one layer, unless its status changes
FINAL = ("done", "skipped")


@dataclass
class _Blob:
    id: str
    kind: str  # blob or config
    status: str = "waiting"
    done: int = 0
    size: int | None = None
    task: Any = None  # its rich task, on a terminal
    sent: float = 0.0  # when its last JSON line went out
    sent_status: str = ""


def _count(value: object, default: int) -> int:
    return value if isinstance(value, int) else default


def _size(value: object, default: int | None) -> int | None:
    return value if isinstance(value, int) else default


class _Copy:
    """One image's copy: its layers' bytes, summed."""

    def __init__(self, source: str, destination: str) -> None:
        self.source, self.destination = source, destination
        self.started = time.monotonic()
        self.blobs: dict[str, _Blob] = {}
        # bytes read before any layer (a docker daemon's image) or by an engine's own
        # load, and written by its own save; with the size expected, where known
        self.read = self.written = 0
        self.expected: int | None = None

    def update(self, kind: str, data: Mapping[str, object]) -> _Blob:
        key = str(data.get("id", ""))
        blob = self.blobs.setdefault(key, _Blob(key, kind))
        blob.status = str(data.get("status", blob.status))
        blob.done = _count(data.get("bytes"), blob.done)
        blob.size = _size(data.get("size"), blob.size)
        return blob

    @property
    def done(self) -> int:
        return sum(b.done for b in self.blobs.values()) or self.written or self.read

    @property
    def size(self) -> int | None:
        sizes = [b.size or 0 for b in self.blobs.values() if b.status != "skipped"]
        return sum(sizes) if self.blobs else self.expected

    def totals(self) -> dict[str, object]:
        return {"total_bytes": self.done, "total_size": self.size}

    def summary(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-3)
        layers = [b for b in self.blobs.values() if b.kind == "blob"]
        skipped = sum(b.status == "skipped" for b in layers)
        line = f"copied {self.source} to {self.destination}"
        if layers:
            line += f": {len(layers)} layer{'s' if len(layers) != 1 else ''}"
            line += f" ({skipped} already there)" if skipped else ""
        moved = self.done
        rate = f"{binary(round(moved / seconds))}/s"
        return f"{line}, {binary(moved)} in {seconds:.1f}s ({rate})"


def binary(size: int) -> str:
    """Binary units, as skopeo's bars count: `57.2 MiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


class Progress:
    """The `on_event` of a transfer, for its whole command (one or several copies)."""

    def __init__(self, mode: Mode = "auto") -> None:
        self.mode: Mode = mode if mode != "auto" else ("auto" if sys.stderr.isatty() else "none")
        self.copy: _Copy | None = None
        self._live: Any = None  # on a terminal: rich's live display, its bars and tasks
        self._bars: Any = None
        self._sums: Any = None
        self._total: Any = None
        self._read: Any = None

    @property
    def events(self) -> Progress | None:
        """What a transfer is given as `on_event`: None when nothing is shown, so the
        mover need not count bytes for nobody."""
        return self if self.mode != "none" else None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._finish(summary=kind is None)

    def __call__(self, event: str, data: Mapping[str, object]) -> None:
        if event == "start":
            self._finish(summary=True)
            self.copy = _Copy(str(data.get("source", "")), str(data.get("destination", "")))
            self.copy.expected = _size(data.get("size"), None)
        copy = self.copy = self.copy or _Copy("", "")
        blob = copy.update(event, data) if event in ("blob", "config") else None
        if event in ("read", "written"):
            setattr(copy, event, _count(data.get("bytes"), getattr(copy, event)))
            copy.expected = _size(data.get("size"), copy.expected)
        if self.mode == "json":
            self._json(event, data, blob)
        elif self.mode == "auto":
            self._draw(event, blob)

    # -- JSON lines -------------------------------------------------------------

    def _json(self, event: str, data: Mapping[str, object], blob: _Blob | None) -> None:
        line: dict[str, object] = {"event": event, **data}
        now = time.monotonic()
        if blob is not None:
            final = blob.status in FINAL or blob.done == blob.size
            if not (final or blob.status != blob.sent_status or now - blob.sent >= JSON_EVERY):
                return
            blob.sent, blob.sent_status = now, blob.status
        if event in ("blob", "config", "manifest") and self.copy is not None:
            line.update(self.copy.totals())
        from ocitool.models import TransferEvent  # pydantic: only when JSON is asked for

        line["time"] = datetime.now(UTC)
        shown = TransferEvent.model_validate(line).model_dump(mode="json")
        sys.stderr.write(json.dumps(shown) + "\n")
        sys.stderr.flush()

    # -- a terminal ---------------------------------------------------------------

    def _draw(self, event: str, blob: _Blob | None) -> None:
        bars, sums = self._start_bars()
        copy = self.copy
        if copy is None:
            return
        if event in ("read", "written"):
            done = getattr(copy, event)
            total = max(copy.expected, done) if copy.expected else None
            if self._read is None:
                shown = "reading" if event == "read" else "writing"
                self._read = bars.add_task(shown, total=total, status="")
            bars.update(self._read, completed=done, total=total)
            return
        if self._read is not None and not copy.expected:  # its layers begin: read through
            bars.update(self._read, total=copy.read, completed=copy.read)
        if blob is not None:
            if blob.task is None:
                shown = f"{'layer' if blob.kind == 'blob' else 'config'} {blob.id[:12]}"
                blob.task = bars.add_task(shown, total=blob.size, status="")
            status = {"skipped": "already there", "done": "done"}.get(blob.status, "")
            total = blob.size if blob.status != "skipped" else 0
            total = blob.done if total is None and blob.status in FINAL else total
            bars.update(blob.task, completed=blob.done, total=total, status=status)
        elif event != "manifest":
            return
        if self._total is None:
            self._total = sums.add_task("total", total=copy.size, status="")
        status = "writing manifest" if event == "manifest" else ""
        sums.update(self._total, completed=copy.done, total=copy.size, status=status)

    def _start_bars(self) -> tuple[Any, Any]:
        """Two sets of bars on one live display: the layers', then the total below them."""
        if self._live is None:
            from rich.console import Console, Group
            from rich.live import Live
            from rich.progress import BarColumn, DownloadColumn, ProgressColumn, TextColumn
            from rich.progress import Progress as Bars
            from rich.text import Text

            class Counted(DownloadColumn):
                """Nothing where nothing was counted (a layer already there)."""

                def render(self, task: Any) -> Text:
                    if task.total == 0 and task.completed == 0:
                        return Text("")
                    return super().render(task)

            class Rate(ProgressColumn):
                """Bytes a second in binary units, as the byte counts beside it."""

                def render(self, task: Any) -> Text:
                    speed = task.finished_speed or task.speed
                    shown = f"{binary(round(speed))}/s" if speed else ""
                    return Text(shown, style="progress.data.speed")

            console = Console(stderr=True, highlight=False)
            if self.copy is not None and self.copy.source:
                shown = f"copying {self.copy.source} to {self.copy.destination}"
                console.print(shown, soft_wrap=True)
            self._bars, self._sums = (
                Bars(
                    TextColumn("{task.description:<20}"),
                    BarColumn(bar_width=30),
                    Counted(binary_units=True),
                    Rate(),
                    TextColumn("{task.fields[status]}"),
                    console=console,
                )
                for _ in range(2)
            )
            # transient: the bars go when the copy ends; its summary line stays
            group = Group(self._bars, self._sums)
            self._live = Live(group, console=console, transient=True, redirect_stdout=False)
            self._live.start()
        return self._bars, self._sums

    def _finish(self, *, summary: bool) -> None:
        if self._live is not None:
            self._live.stop()
            if summary and self.copy is not None:
                self._live.console.print(self.copy.summary(), soft_wrap=True)
        self._live = self._bars = self._sums = self._total = self._read = None
