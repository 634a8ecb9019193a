"""Image edits with no container: mutate, append and flatten, on every backend alike.

One road for every engine (docs/edits.md): the image is copied out of the
selected backend into a private OCI layout by the copy machinery
(ocitool.transfer, through the copy-endpoint capability), changed there
(ocitool.image_edits), and copied back under NAME:TAG. Everything the user gave
is checked first (names, options, the tarball), before any engine call; NAME:TAG
is written only by the last copy, once the new image is whole; the layout goes
on success, failure and Ctrl-C alike.
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ocitool import capabilities as can
from ocitool.lifecycle import created, current, interrupted, target_name
from ocitool.locations import refuse_elsewhere
from ocitool.references import validate_image_arg

if TYPE_CHECKING:
    from ocitool.errors import Interrupted
    from ocitool.image_edits import ConfigEdits, EditedImage
    from ocitool.models import Image
    from ocitool.transfer import Transfers

_SOURCE = "source"  # the copied image's name in the private layout


def mutate(transfers: Transfers, image: str, name: str, edits: ConfigEdits) -> Image:
    """A new image whose config has `edits`; its layers are the image's own."""
    from ocitool.image_edits import apply_edits

    def change(edited: EditedImage) -> None:
        apply_edits(edited.config, edits)
        edited.step(f"ocitool mutate: {'; '.join(edits.steps)}", empty=True)

    return _edit(transfers, "mutate", image, name, lambda _: change)


def append(transfers: Transfers, image: str, tarball: Path, name: str) -> Image:
    """A new image: the tarball (plain or gzip) as one layer on top of the image's."""
    from ocitool.image_edits import append_layer, layer_from_tarball

    def prepare(work: Path) -> Callable[[EditedImage], None]:
        layer = layer_from_tarball(tarball, work)  # checked before any engine call
        said = f"ocitool append {shlex.quote(tarball.name)}"
        return lambda edited: append_layer(edited, layer, said)

    return _edit(transfers, "append", image, name, prepare)


def flatten(transfers: Transfers, image: str, name: str) -> Image:
    """A new image of one layer holding the image's final filesystem, its config kept."""
    from ocitool.image_edits import flatten as flattened

    said = f"ocitool flatten {image}"
    return _edit(transfers, "flatten", image, name, lambda _: lambda e: flattened(e, said))


def _edit(
    transfers: Transfers,
    what: str,
    image: str,
    name: str,
    prepare: Callable[[Path], Callable[[EditedImage], None]],
) -> Image:
    """Copy out, change, copy back: a constant number of engine calls, however many
    layers (two copies, and the inspects that say what was made)."""
    from ocitool.image_edits import EDITED, EditedImage

    refuse_elsewhere(image, what)
    source = validate_image_arg(image)
    target = target_name(name)
    engines = transfers.engines
    engines.need(can.COPY_ENDPOINT)
    backend = engines.selected_name
    with tempfile.TemporaryDirectory(prefix=f"ocitool-{what}-") as tmp:
        work = Path(tmp)
        change = prepare(work)
        engine = engines.selected
        layout = work / "layout"
        try:  # nothing is written to the backend until the copy back
            transfers.copy(f"{backend}:{source}", f"oci:{layout}:{_SOURCE}")
            previous = current(engine, target)
            edited = EditedImage(layout, _SOURCE)
            change(edited)
            new_id = edited.save()
        except KeyboardInterrupt:
            raise interrupted(engine, what, None) from None
        try:
            done = transfers.copy(f"oci:{layout}:{EDITED}", f"{backend}:{target}", force=True)
        except KeyboardInterrupt:
            raise _interrupted(transfers, what, target, new_id) from None
        return created(engine, done.image_id or new_id, target, previous)


def _interrupted(transfers: Transfers, what: str, target: str, new_id: str) -> Interrupted:
    """A Ctrl-C during the copy back: whether NAME:TAG already names the whole new image
    (the engine may have been let finish its load), said exactly."""
    engine = transfers.engines.selected
    try:
        now = current(engine, target)
    except KeyboardInterrupt:
        return interrupted(engine, what, None, abandoned=True)
    same = now is not None and now.id.removeprefix("sha256:") == new_id.removeprefix("sha256:")
    return interrupted(engine, what, now.id if same and now else None)
