"""Joining an image's history steps with its layer list.

OCI configs keep `history` and `rootfs.diff_ids` as two lists tied only by the
`empty_layer` flags. podman's inspect keeps those flags. docker's CLI drops
them, so for docker the flags are worked out between anchors: steps whose
image docker still knows, whose layer count is exact. Between anchors a step
with bytes made a layer and a config-only instruction (ENV, CMD ...) did not;
when 0-byte steps remain that could go either way (`RUN true` makes none,
`WORKDIR /new` or `mkdir` makes one), the step's flag and layer are reported
as unknown rather than guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ocitool.backends.common.parsing import lineage_of, parse_time, text_or_none
from ocitool.models import Image, Layer

# One entry of an image config's `history` (OCI and docker configs spell it alike).
HistoryEntry = Mapping[str, Any]

# Dockerfile instructions that only change the config (legacy builder and BuildKit).
_METADATA_STEP = re.compile(
    r"^(?:/bin/sh -c )?(?:#\(nop\)\s*)?"
    r"(ENV|CMD|ENTRYPOINT|LABEL|EXPOSE|USER|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|ARG"
    r"|MAINTAINER)\b"
)

# How surely a step made a layer: 0 certainly, 3 certainly not.
_MADE_LAYER, _MAYBE, _CONFIG_ONLY, _NO_LAYER = range(4)


@dataclass
class Step:
    """One history entry before it is tied to a layer."""

    size: int | None = None
    created: datetime | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    image_id: str | None = None
    empty: bool | None = None  # known exactly (OCI `empty_layer`), or None to work out
    layers_so_far: int | None = None  # layers up to and including this step, if known


def config_step(
    entry: HistoryEntry, *, image_id: str | None = None, size: int | None = None
) -> Step:
    """A step from a config's history entry, whose `empty_layer` flag is exact."""
    return Step(
        size=size,
        created=parse_time(entry.get("created")),
        created_by=text_or_none(entry.get("created_by")),
        author=text_or_none(entry.get("author")),
        comment=text_or_none(entry.get("comment")),
        image_id=image_id,
        empty=bool(entry.get("empty_layer")),
    )


def history_key(history: Sequence[HistoryEntry], diff_ids: Sequence[str]) -> tuple[object, ...]:
    """Identity of config history steps and the layers they made: two images with equal
    keys for their first steps were built the same way up to there."""
    layers = sum(1 for h in history if not h.get("empty_layer"))
    steps = tuple(
        (h.get("created"), h.get("created_by"), bool(h.get("empty_layer"))) for h in history
    )
    return steps, tuple(diff_ids[:layers])


def producers(
    image_id: str,
    history: Sequence[HistoryEntry],
    diff_ids: Sequence[str],
    others: Iterable[tuple[str, Sequence[HistoryEntry], Sequence[str]]],
) -> dict[int, str]:
    """Step index -> a local image whose history ends exactly at that step (the last step
    is the image itself); `others` are (ID, history, diff IDs) of the candidates."""
    found: dict[int, str] = {}
    for other_id, other_history, other_diff_ids in others:
        count = len(other_history)
        if (
            other_id
            and other_id != image_id
            and 0 < count <= len(history)
            and history_key(other_history, other_diff_ids) == history_key(history[:count], diff_ids)
        ):
            found.setdefault(count - 1, other_id)
    if history and image_id:
        found[len(history) - 1] = image_id
    return found


def join_steps(steps: Sequence[Step], diff_ids: Sequence[str]) -> list[Layer]:
    """Steps (oldest first) and diff IDs (bottom first) as Layer models, newest first."""
    if not steps:
        return _unrecorded(diff_ids, [])
    empty: list[bool | None] = [None] * len(steps)
    layer_of: list[str | None] = [None] * len(steps)
    for start, end, first_layer, last_layer in _segments(steps, len(diff_ids)):
        segment = list(range(start, end))
        flags = _flags(steps, segment, last_layer - first_layer)
        for i, flag in zip(segment, flags, strict=True):
            empty[i] = flag
        _assign(segment, flags, diff_ids[first_layer:last_layer], layer_of)
    unsure = sum(1 for i in range(len(steps)) if empty[i] is None and layer_of[i] is None)
    return _unrecorded(diff_ids, layer_of, unsure) + [
        Layer.model_construct(
            diff_id=layer_of[i],
            size=0 if empty[i] else step.size,
            created=step.created,
            created_by=step.created_by,
            author=step.author,
            comment=step.comment,
            empty=empty[i],
            image_id=step.image_id,
        )
        for i, step in reversed(list(enumerate(steps)))
    ]


def _unrecorded(
    diff_ids: Sequence[str], layer_of: Sequence[str | None], unsure: int = 0
) -> list[Layer]:
    """Layers that no history step can claim (a history shorter than the rootfs, as tools
    that write no history leave), newest first: an image never loses a layer to its
    history. Steps that may or may not own a layer (`unsure`) account for as many."""
    claimed = Counter(d for d in layer_of if d is not None)
    missing = []
    for diff_id in diff_ids:
        if claimed[diff_id]:
            claimed[diff_id] -= 1
        else:
            missing.append(Layer.model_construct(diff_id=diff_id, empty=False))
    return missing[unsure:][::-1]


def _segments(steps: Sequence[Step], layer_count: int) -> list[tuple[int, int, int, int]]:
    """(first step, end step, first layer, end layer) between consecutive anchors."""
    anchors = [i for i, s in enumerate(steps) if s.layers_so_far is not None]
    if all(s.empty is not None for s in steps) or not anchors or anchors[-1] != len(steps) - 1:
        anchors.append(len(steps) - 1)
    segments = []
    start, before = 0, 0
    for end in sorted(set(anchors)):
        count = steps[end].layers_so_far
        total = min(layer_count, layer_count if count is None else count)
        segments.append((start, end + 1, before, max(before, total)))
        start, before = end + 1, max(before, total)
    return segments


def _flags(steps: Sequence[Step], segment: list[int], layers: int) -> list[bool | None]:
    """Per step of a segment: True empty, False made a layer, None cannot be told."""
    ranks = [_rank(steps[i]) for i in segment]
    flags: list[bool | None] = [True] * len(segment)
    wanted = layers
    for rank in (_MADE_LAYER, _MAYBE, _CONFIG_ONLY, _NO_LAYER):
        members = [k for k, r in enumerate(ranks) if r == rank]
        if wanted <= 0 or not members:
            continue
        if len(members) <= wanted:
            for k in members:
                flags[k] = False
            wanted -= len(members)
        else:  # some, but not all, of these made a layer: which ones is unknown
            for k in members:
                flags[k] = None
            wanted = 0
    return flags


def _rank(step: Step) -> int:
    if step.empty is not None:
        return _NO_LAYER if step.empty else _MADE_LAYER
    if step.size:
        return _MADE_LAYER
    if step.created_by and _METADATA_STEP.match(step.created_by):
        return _CONFIG_ONLY
    return _MAYBE


def _assign(
    segment: list[int],
    flags: list[bool | None],
    diff_ids: Sequence[str],
    layer_of: list[str | None],
) -> None:
    """Give each layer-making step its diff ID, from both ends up to an unknown step."""
    known = [(i, f) for i, f in zip(segment, flags, strict=True)]
    front = 0
    for i, flag in known:
        if flag is None or front >= len(diff_ids):
            break
        if flag is False:
            layer_of[i] = diff_ids[front]
            front += 1
    if None not in flags:
        return
    back = len(diff_ids) - 1
    for i, flag in reversed(known):
        if flag is None or back < front:
            break
        if flag is False:
            layer_of[i] = diff_ids[back]
            back -= 1


def with_config_history(
    images: Sequence[Image], configs: Mapping[str, Mapping[str, Any]]
) -> list[Image]:
    """Images whose layers are bare diff IDs, given the steps that made them from their
    configs (image ID -> config), as podman's inspect and the oci store give them."""
    found = []
    for image in images:
        config = configs.get(image.id)
        history = config.get("history") if isinstance(config, Mapping) else None
        if not isinstance(history, list) or not lineage_of(history, len(image.diff_ids)):
            found.append(image)
            continue
        layers = config_layers(history, image.diff_ids)
        found.append(image.model_copy(update={"layers": layers}))
    return found


def config_layers(history: Sequence[HistoryEntry], diff_ids: Sequence[str]) -> list[Layer]:
    """Bottom-first layers with what a config's history (exact empty flags) says of each."""
    steps = [config_step(h) for h in history]
    return [layer for layer in reversed(join_steps(steps, diff_ids)) if not layer.empty]


def with_layer_sizes(images: Sequence[Image], sizes: Mapping[str, int] | None) -> list[Image]:
    """The images with each layer's size from the engine's own layer records (ChainID ->
    bytes, capability layer-sizes); a layer the records do not hold keeps its None."""
    from ocitool.layers import chain_ids

    if not sizes:
        return list(images)
    found = []
    for image in images:
        chains = iter(chain_ids(image.diff_ids))  # one per layer with a diff ID, in order
        layers = []
        for layer in image.layers:
            chain = next(chains) if layer.diff_id else ""
            known = layer.size is None and chain in sizes
            layers.append(layer.model_copy(update={"size": sizes[chain]}) if known else layer)
        found.append(image.model_copy(update={"layers": layers}))
    return found
