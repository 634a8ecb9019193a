"""`inspect --platform NAME`: the image an index in the store holds for a platform.

Only a backend whose store holds indexes (capability image-indexes) has a
choice to make; an image it names that is of another platform is one error,
as an index without that platform is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool.errors import UsageError
from ocitool.manifests import wanted
from ocitool.run_platform import not_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ocitool.engines import Engines
    from ocitool.models import Image


def inspect_platform(engines: Engines, refs: Sequence[str], platform: str) -> list[Image]:
    """Each ref's image for `platform`, read with one inspect call."""
    want = wanted(platform)
    indexes = engines.need(can.IMAGE_INDEXES)
    ids = indexes.platform_images(refs, platform)
    found = engines.selected.inspect(ids)
    for ref, image in zip(refs, found, strict=True):
        if not_for(image, want):
            raise UsageError(
                f"{ref} is an image for {image.os}/{image.architecture}, not {want}",
                hint=f"inspect it without --platform, or pick an index's {want} image",
            )
    return found
