"""The structure commands on any engine: du, tree, layers, layer files and diff.

The arithmetic lives in ocitool.structure and ocitool.layerfiles; this module
gathers their inputs from an engine in a constant number of calls, using the
engine's own records where it has them (capabilities store-usage, layer-sizes,
layer-streams) and its history where it has not.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

from ocitool import capabilities as can
from ocitool.errors import EngineError
from ocitool.layers import chain_ids

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ocitool.engines import Engines
    from ocitool.layerfiles import LayerScan
    from ocitool.models import (
        FileAnalysis,
        Image,
        ImageDiff,
        Layer,
        LayerUsage,
        TreeNode,
        UsageReport,
    )
    from ocitool.usage import StoreInventory


def du(engines: Engines) -> UsageReport:
    """Every image's size, shared, unique and added size; every layer counted once.

    Where the engine's own store is local and readable, it is read directly (one
    round of engine calls at once); otherwise the images are listed and inspected
    and their layer sizes read from the engine's records or histories."""
    from ocitool.structure import usage

    return usage(*inventory(engines), accounting=engines.selected.size_accounting)


def inventory(engines: Engines) -> StoreInventory:
    """du's inputs: from the engine's own store where it can be read, else listed."""
    from ocitool.usage import StoreInventory, held_by

    engine = engines.selected
    if engines.has(can.STORE_USAGE):
        found = engines.need(can.STORE_USAGE).store_usage()
        if found is not None:
            return found
    from ocitool.together import together

    images, containers = together(engine.images, lambda: engine.containers(all=True))
    return StoreInventory(images, layer_sizes(engines, images), held_by(containers))


def layer_sizes(engines: Engines, images: Sequence[Image]) -> dict[str, int]:
    """ChainID -> size: from the engine's own records, else from each image's history."""
    if engines.has(can.LAYER_SIZES):
        recorded = engines.need(can.LAYER_SIZES).layer_sizes(images)
        if recorded is not None:
            return recorded
    sizes: dict[str, int] = {}  # one history per image: the engine's records are not here
    for image in (i for i in images if i.diff_ids):  # no layer, nothing to size (a list)
        steps = [s for s in reversed(engines.selected.history(image.id)) if s.diff_id]
        for chain, step in zip(chain_ids(image.diff_ids), steps, strict=False):
            sizes[chain] = step.size or 0
    return sizes


def accounted_images(engines: Engines, images: Sequence[Image]) -> list[Image]:
    """The images, saying what their sizes count (the engine's accounting, as du says it,
    unless the backend said it for one: a podman manifest list counts its documents)."""
    accounting = engines.selected.size_accounting
    return [i.model_copy(update={"accounting": i.accounting or accounting}) for i in images]


def accounted_steps(engines: Engines, steps: Sequence[Layer]) -> list[Layer]:
    """History steps, each saying what its size counts."""
    accounting = engines.selected.size_accounting
    return [s.model_copy(update={"accounting": accounting}) for s in steps]


def tree(engines: Engines) -> list[TreeNode]:
    from ocitool.structure import tree

    return tree(engines.selected.images(all=True))


def layers(engines: Engines, ref: str) -> list[LayerUsage]:
    from ocitool.structure import layer_usage
    from ocitool.together import together

    engine = engines.selected
    image = engine.inspect([ref])[0]
    steps, images = together(lambda: engine.history(image.id), lambda: engine.images(all=True))
    return layer_usage(image, accounted_steps(engines, steps), images)


def layer_files(engines: Engines, ref: str, *, limit: int | None) -> FileAnalysis:
    from ocitool.layerfiles import analyse, entry_limit

    engine = engines.selected
    image = engine.inspect([ref])[0]
    scans = _scan(engines, [image.id], [image], limit=limit or entry_limit(), contents=False)
    steps = [s.created_by for s in reversed(engine.history(image.id)) if not s.empty]
    result = analyse([scans[d] for d in image.diff_ids], steps)
    return result.model_copy(update={"image": ref, "image_id": image.id})


def diff(engines: Engines, a: str, b: str, *, files: bool) -> ImageDiff:
    from ocitool.layerfiles import entry_limit, final_files
    from ocitool.structure import diff, file_changes

    first, second = engines.selected.inspect([a, b])
    result = diff(first, second).model_copy(update={"a": a, "b": b})
    if not files:
        return result
    scans = _scan(
        engines, [first.id, second.id], [first, second], limit=entry_limit(), contents=True
    )
    before = final_files(scans[d] for d in first.diff_ids)
    after = final_files(scans[d] for d in second.diff_ids)
    truncated = any(scan.truncated for scan in scans.values())
    return result.model_copy(
        update={"files": file_changes(before, after), "files_truncated": truncated}
    )


def _scan(
    engines: Engines, refs: list[str], images: list[Image], *, limit: int, contents: bool
) -> dict[str, LayerScan]:
    """Every distinct layer of the images, read once from the engine as a stream."""
    from ocitool.layerfiles import scan_layer

    scans: dict[str, LayerScan] = {}

    def on_layer(stream: IO[bytes]) -> None:
        scan = scan_layer(stream, limit=limit, contents=contents)
        scans[scan.diff_id] = scan

    engines.need(can.LAYER_STREAMS).read_layers(refs, on_layer)
    missing = [d for image in images for d in image.diff_ids if d not in scans]
    if missing:
        raise EngineError(
            ("read layers",), None, "", message=f"the engine did not hand over layer {missing[0]}"
        )
    return scans
