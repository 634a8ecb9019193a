"""`build --progress`: each step and its command's output, on stderr.

`plain` prints `STEP 3/7: RUN make`, the command's lines, and `--> Using cache`
for a cached step, the same on every backend; `json` writes one BuildEventLine
per event (docs/build.md); `auto` is plain when stderr is not a terminal and,
on one, a live view: the steps stay, the running command's last lines show
below them and go when it ends. stdout keeps the result.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

from ocitool.building import BuildEvent

Mode = Literal["auto", "plain", "json", "none"]
Shown = Literal["live", "plain", "json", "none"]  # what `auto` becomes: live on a terminal
TAIL = 6  # lines of the running command shown under its step, on a terminal


class BuildProgress:
    """The `on_event` (and `on_plan`) of one build, drawn as `mode` asks."""

    def __init__(self, mode: Mode = "auto") -> None:
        live: Shown = "live" if sys.stderr.isatty() else "plain"
        self.mode: Shown = live if mode == "auto" else mode
        self.steps = 0
        self._live: Any = None
        self._tail: deque[str] = deque(maxlen=TAIL)
        self._current = ""

    def planned(self, steps: int) -> None:
        self.steps = steps

    def __enter__(self) -> BuildProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, event: BuildEvent) -> None:
        if self.mode == "none":
            return
        if self.mode == "json":
            self._json(event)
        elif self.mode == "plain":
            line = self._plain(event)
            if line is not None:
                sys.stderr.write(line + "\n")
                sys.stderr.flush()
        else:
            self._draw(event)

    def _header(self, event: BuildEvent) -> str:
        return f"STEP {event.step}/{self.steps}: {event.text}"

    def _plain(self, event: BuildEvent) -> str | None:
        if event.kind == "step":
            return self._header(event)
        if event.kind == "output":
            return event.text
        if event.step and event.cached:
            return "--> Using cache"
        return None

    def _json(self, event: BuildEvent) -> None:
        from ocitool.models import BuildEventLine  # pydantic: only when JSON is asked for

        line = BuildEventLine(
            event=event.kind,
            time=datetime.now(UTC),
            step=event.step,
            steps=self.steps,
            text=event.text,
            cached=event.cached,
        )
        sys.stderr.write(json.dumps(line.model_dump(mode="json")) + "\n")
        sys.stderr.flush()

    def _draw(self, event: BuildEvent) -> None:
        from rich.console import Console, Group
        from rich.live import Live
        from rich.text import Text

        if self._live is None:
            console = Console(stderr=True, highlight=False)
            self._live = Live(Text(""), console=console, transient=True, redirect_stdout=False)
            self._live.start()
        if event.kind == "step":
            self._tail.clear()
            self._current = self._header(event)
        elif event.kind == "output":
            self._tail.append(event.text)
        elif event.step:
            shown = f"{self._current}{'  (cached)' if event.cached else ''}"
            self._live.console.print(Text(shown), soft_wrap=True)
            self._current = ""
            self._tail.clear()
        rows = [Text(self._current, style="bold")] if self._current else []
        rows += [Text(f"  {line}", style="dim") for line in self._tail]
        self._live.update(Group(*rows))
