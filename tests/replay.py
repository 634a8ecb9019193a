"""A Runner that answers from recorded real engine calls (tests/fixtures/).

It plays the part httpx's MockTransport plays: the backend under test runs
unchanged, but each argv is answered with what the real engine printed when
tests/fixtures/record.py ran it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from ocitool.runner import Completed, Runner

T = TypeVar("T")

FIXTURES = Path(__file__).parent / "fixtures"


class ReplayRunner(Runner):
    def __init__(self, engine: str, name: str) -> None:
        super().__init__()
        self.recorded = json.loads((FIXTURES / engine / f"{name}.json").read_text())

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        input: str | None = None,
        stdin_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        finish_on_interrupt: bool = False,
        dies_with_ocitool: bool = False,
    ) -> Completed:
        args = self._checked(argv)
        for index, call in enumerate(self.recorded):
            if call["argv"] == args:
                self.recorded.pop(index)
                return Completed(tuple(args), call["rc"], call["stdout"], call["stderr"], 0.0)
        raise AssertionError(f"no recorded call for {args}")

    def run_while(
        self,
        argvs: Sequence[Sequence[str]],
        work: Callable[[], T],
        *,
        env: Mapping[str, str] | None = None,
    ) -> tuple[list[Completed], T]:
        """Calls made side by side are answered from the recording too, never run."""
        done = work()
        return [self.run(argv, env=env) for argv in argvs], done
