"""`ocitool manifest`: build an index (a manifest list) from local images, and push it.

Only a backend that can hold a list locally does it (capability manifest-lists);
any other says so in one NotSupported that names what would. A list is shown
as `inspect LOCATION` shows an index: its digest, media type and platforms.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ocitool import capabilities as can
from ocitool import manifests
from ocitool.errors import ImageNotFound, NotSupported, UsageError
from ocitool.models import LocatedImage, TransferResult
from ocitool.references import ImageRef, validate_image_arg

if TYPE_CHECKING:
    from ocitool.engine import Engine
    from ocitool.models import Image
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
    """The named lists removed (found with one engine call); the images they name stay."""
    if not names:
        raise UsageError("no manifest list given", hint="ocitool manifest rm LIST...")
    transfers.engines.need(can.MANIFEST_LISTS)
    engine = transfers.engines.selected
    found = lists_named(engine, [_name(n) for n in names])
    missing = [n for n in names if n not in found]
    if missing:
        raise ImageNotFound(
            missing,
            backend=engine.name,
            hint="no manifest list has that name; see one with 'ocitool manifest inspect LIST'",
        )
    remove_lists(engine, sorted(set(found.values())))
    return list(names)


def remove_lists(engine: Engine, ids: Sequence[str]) -> None:
    cast("can.ManifestLists", engine).manifest_remove(ids)


def _name(name: str) -> str:
    ref = ImageRef.parse(validate_image_arg(name))
    if ref.digest:
        raise UsageError(f"{name!r} names a digest", hint="a list is named NAME[:TAG]")
    return name


def lists_named(engine: Engine, refs: Sequence[str]) -> dict[str, str]:
    """The refs that name a manifest list, each with the list's ID: one engine call on
    a backend that holds lists, none elsewhere."""
    if can.MANIFEST_LISTS.name not in engine.capabilities:
        return {}
    known = cast("can.ManifestLists", engine).manifest_lists()
    found = {}
    for ref in refs:
        bare = ref.removeprefix("sha256:")
        if len(bare) >= 12 and all(c in "0123456789abcdef" for c in bare):
            ids = {i for i in known.values() if i.removeprefix("sha256:").startswith(bare)}
            if len(ids) == 1:
                found[ref] = ids.pop()
            continue
        list_id = known.get(str(ImageRef.parse(ref).with_default_tag()))
        if list_id:
            found[ref] = list_id
    return found


def inspect_images(engine: Engine, refs: Sequence[str]) -> list[Image]:
    """The refs inspected, where some may name a manifest list (a backend with
    manifest-lists): a list as `images` lists it. The engine's inspect refuses a list
    (or misses an empty one), so only a failed inspect costs the calls that find lists."""
    if can.MANIFEST_LISTS.name not in engine.capabilities:
        return engine.inspect(refs)
    try:
        return engine.inspect(refs)
    except (NotSupported, ImageNotFound):
        lists = lists_named(engine, refs)
        if not lists:
            raise
    listing = {image.id: image for image in engine.images(all=True)}
    rest = [ref for ref in refs if ref not in lists]
    plain = iter(engine.inspect(rest) if rest else [])
    found = []
    for ref in refs:
        image = listing.get(lists[ref]) if ref in lists else next(plain)
        if image is None:  # removed since it was found
            raise ImageNotFound([ref], backend=engine.name)
        found.append(image)
    return found
