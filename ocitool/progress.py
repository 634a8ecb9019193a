"""Progress of long transfers: a status line on a terminal, or JSON lines.

skopeo and the engines report steps, not bytes, when not on a terminal
(docs/engines.md, Distribution): which blob is being copied, the config, the manifest. Those
steps are shown live with rich on a terminal, or written as one JSON object
per line to stderr with `--progress json`, so stdout keeps the result.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

Mode = Literal["auto", "json", "none"]


class Progress:
    def __init__(self, mode: Mode = "auto") -> None:
        self.mode: Mode = mode if mode != "auto" else ("auto" if sys.stderr.isatty() else "none")
        self.blobs = 0
        self._status: Any = None

    def __enter__(self) -> Progress:
        if self.mode == "auto":
            from rich.console import Console

            self._status = Console(stderr=True).status("starting")
            self._status.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.__exit__(kind, error, trace)

    def __call__(self, event: str, data: dict[str, str]) -> None:
        if event == "blob":
            self.blobs += 1
        if self.mode == "json":
            line = {"event": event, **data, "time": datetime.now(UTC).isoformat()}
            sys.stderr.write(json.dumps(line) + "\n")
            sys.stderr.flush()
        elif self._status is not None:
            self._status.update(self._describe(event, data))

    def _describe(self, event: str, data: dict[str, str]) -> str:
        digest = data.get("digest", "")[7:19]
        if event == "start":
            return f"copying {data.get('source')} to {data.get('destination')}"
        if event == "blob":
            return f"copying layer {self.blobs} ({digest})"
        if event == "config":
            return f"copying config ({digest})"
        return "writing manifest"
