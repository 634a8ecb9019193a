"""What the client hands a builder, and what a builder reports while it works.

The client parses and checks the Dockerfile once (ocitool.dockerfile) on every
backend, so a syntax error, an unknown --target or a COPY from outside the
context is the same error everywhere, before any engine is asked. A backend
with the `image-build` capability (ocitool.capabilities.ImageBuilding) then
builds from the request and reports each step through `on_event`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from ocitool.dockerfile import Dockerfile


class BuildRequest(NamedTuple):
    """One build, validated: paths absolute and existing, names normalized."""

    context: Path  # a directory
    dockerfile: Path  # a file; it may lie outside the context, as with docker -f
    parsed: Dockerfile  # the same file, parsed by the client
    tags: tuple[str, ...]  # NAME:TAG, validated (ocitool.references); applied only at the end
    build_args: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]  # --label, set on the final image
    target: str | None  # the stage to stop at (a name or an index); None: the last
    no_cache: bool
    network: Literal["none", "host"]
    platform: str | None = None  # os/arch[/variant]; None: this host's


class BuildEvent(NamedTuple):
    """One thing a builder reports: a step starting, a line it printed, a step done.

    `step` numbers the steps built from 1 (as BuildStep.step); `text` is the
    instruction on "step", an output line on "output", the image ID on "done".
    """

    kind: Literal["step", "output", "done"]
    step: int
    text: str
    cached: bool = False


OnBuildEvent = Callable[[BuildEvent], None]
