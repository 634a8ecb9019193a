"""`run --platform`: the image a container starts from is for the platform asked for.

An image whose config names another os or architecture than the one wanted
(by default this host's) would start and fail with "exec format error", or,
where its files are this host's after all, run under a false label. It is
refused before a container is made, in one line (exit 126, as a command that
cannot be executed). A --platform image that is not here is pulled first
through the mover, which picks it from an index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitool.errors import CommandNotExecutable, ImageNotFound
from ocitool.manifests import wanted

if TYPE_CHECKING:
    from collections.abc import Callable

    from ocitool.engines import Engines
    from ocitool.lifecycle import PullPolicy


def runnable(
    engines: Engines,
    image: str,
    platform: str | None,
    pull: PullPolicy,
    *,
    fetch: Callable[[str], object],
) -> PullPolicy:
    """Check (and with --platform, `fetch`: pull) the image; the pull policy create should
    use."""
    if platform is None and pull == "always":
        return pull  # the engine pulls this host's platform itself
    want = wanted(platform)
    engine = engines.selected
    if platform is not None and pull == "always":
        found = None
    else:
        try:
            found = engine.inspect([image])[0]
        except ImageNotFound:
            if platform is None or pull == "never":
                return pull  # the engine says it is not here, or pulls this host's platform
            found = None
    if found is None:
        fetch(image)
        found, pull = engine.inspect([image])[0], "never"
    if (
        found.os
        and found.architecture
        and (found.os, found.architecture)
        != (
            want.os,
            want.architecture,
        )
    ):
        raise CommandNotExecutable(
            f"{image} is an image for {found.os}/{found.architecture}, and this run wants"
            f" {want.os}/{want.architecture}",
            hint=f"pull the {want} image of its index (ocitool pull --platform {want} NAME), or"
            " run on a host of its platform",
        )
    return pull
