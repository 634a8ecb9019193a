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

from ocitool import capabilities as can
from ocitool.errors import CommandNotExecutable, ImageNotFound
from ocitool.manifests import wanted

if TYPE_CHECKING:
    from collections.abc import Callable

    from ocitool.engines import Engines
    from ocitool.lifecycle import PullPolicy
    from ocitool.manifests import Wanted
    from ocitool.models import Image


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
            found = engine.inspect([picked(engines, image, platform)])[0]
        except ImageNotFound:
            if platform is None or pull == "never":
                return pull  # the engine says it is not here, or pulls this host's platform
            found = None
    if found is None:
        fetch(image)
        found, pull = engine.inspect([image])[0], "never"
    if not_for(found, want):
        raise CommandNotExecutable(
            f"{image} is an image for {found.os}/{found.architecture}, and this run wants"
            f" {want.os}/{want.architecture}",
            hint=f"pull the {want} image of its index (ocitool pull --platform {want} NAME), or"
            " run on a host of its platform",
        )
    return pull


def picked(engines: Engines, image: str, platform: str | None) -> str:
    """The image to judge: where the store holds indexes, the index's image for the
    platform (a platform it lacks is one error naming those it has)."""
    if platform is None or not engines.has(can.IMAGE_INDEXES):
        return image
    return engines.need(can.IMAGE_INDEXES).platform_images([image], platform)[0]


def for_platform(engines: Engines, image: str, platform: str | None) -> str:
    """What the container is made from: an index's image for --platform (by its ID), or
    `image` as given (the engine then picks, or it is not an index)."""
    try:
        chosen = picked(engines, image, platform)
    except ImageNotFound:
        return image  # pull=never, or the engine pulls it itself: it says what is missing
    return image if chosen == image else chosen


def not_for(image: Image, want: Wanted) -> bool:
    """Whether the image's config names another os/architecture than the one wanted."""
    named = (image.os, image.architecture)
    return bool(image.os and image.architecture) and named != (want.os, want.architecture)
