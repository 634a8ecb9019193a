"""`ocitool manifest`: build an index (a manifest list) from local images, and push it.

Only a backend that can hold a list locally does it (capability manifest-lists);
any other says so in one NotSupported that names what would. A list is shown
as `inspect LOCATION` shows an index: its digest, media type and platforms.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool import manifests
from ocitool.errors import UsageError
from ocitool.models import LocatedImage, TransferResult
from ocitool.references import ImageRef, validate_image_arg

if TYPE_CHECKING:
    from ocitool.transfer import Transfers


def create(transfers: Transfers, name: str, images: Sequence[str]) -> LocatedImage:
    lists = transfers.engines.need(can.MANIFEST_LISTS)
    lists.manifest_create(_name(name), [validate_image_arg(i) for i in images])
    return inspect(transfers, name)


def add(transfers: Transfers, name: str, images: Sequence[str]) -> LocatedImage:
    if not images:
        raise UsageError("no image given", hint="ocitool manifest add LIST IMAGE...")
    lists = transfers.engines.need(can.MANIFEST_LISTS)
    lists.manifest_add(_name(name), [validate_image_arg(i) for i in images])
    return inspect(transfers, name)


def inspect(transfers: Transfers, name: str) -> LocatedImage:
    lists = transfers.engines.need(can.MANIFEST_LISTS)
    digest, raw = lists.manifest_document(_name(name))
    where = f"{transfers.engines.selected_name}:{name}"
    found = manifests.document(raw, None, where)
    return LocatedImage(
        location=where,
        digest=digest or found.digest,
        media_type=found.media_type,
        platforms=manifests.platforms(found) if found.is_index else [],
    )


def push(transfers: Transfers, name: str, destination: str) -> TransferResult:
    """The list and every image it names, to docker://HOST/REPO:TAG (or HOST/REPO:TAG)."""
    lists = transfers.engines.need(can.MANIFEST_LISTS)
    target = destination.removeprefix("docker://")
    ref = ImageRef.parse(target)
    if ref.domain is None:
        raise UsageError(
            f"{destination!r} names no registry", hint="push to docker://HOST[:PORT]/REPO:TAG"
        )
    reference = str(ref.with_default_tag())
    endpoint = transfers.registry_endpoint(reference)
    with tempfile.TemporaryDirectory(prefix="ocitool-manifest-") as tmp:
        digestfile = Path(tmp) / "digest"
        lists.manifest_push(_name(name), endpoint, digestfile)
        digest = digestfile.read_text().strip() if digestfile.exists() else None
    return TransferResult(
        source=f"{transfers.engines.selected_name}:{name}",
        destination=f"docker://{reference}",
        path=f"{transfers.engines.selected_name} manifest push --all",
        digest=digest or None,
    )


def remove(transfers: Transfers, names: Sequence[str]) -> list[str]:
    if not names:
        raise UsageError("no manifest list given", hint="ocitool manifest rm LIST...")
    lists = transfers.engines.need(can.MANIFEST_LISTS)
    lists.manifest_remove([_name(n) for n in names])
    return list(names)


def _name(name: str) -> str:
    ref = ImageRef.parse(validate_image_arg(name))
    if ref.digest:
        raise UsageError(f"{name!r} names a digest", hint="a list is named NAME[:TAG]")
    return name
