"""Joining an image's history steps with its layer list.

OCI configs keep `history` and `rootfs.diff_ids` as two lists tied only by the
`empty_layer` flags. podman's inspect keeps those flags; docker's CLI drops
them, so for docker the flags are inferred from anchors: steps whose image is
still known, whose layer count is exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ocitool.models import Layer

# Dockerfile instructions that only change the config (legacy builder and BuildKit).
_METADATA_STEP = re.compile(
    r"^(?:/bin/sh -c )?(?:#\(nop\)\s*)?"
    r"(ENV|CMD|ENTRYPOINT|LABEL|EXPOSE|USER|VOLUME|STOPSIGNAL|HEALTHCHECK|SHELL|ONBUILD|ARG"
    r"|MAINTAINER)\b"
)


@dataclass
class Step:
    """One history entry before it is tied to a layer."""

    size: int | None = None
    created: datetime | None = None
    created_by: str | None = None
    author: str | None = None
    comment: str | None = None
    image_id: str | None = None
    empty: bool | None = None  # known exactly (OCI `empty_layer`), or None to infer
    layers_so_far: int | None = None  # layers up to and including this step, if known


def join_steps(steps: Sequence[Step], diff_ids: Sequence[str]) -> list[Layer]:
    """Steps (oldest first) and diff IDs (bottom first) as Layer models, newest first."""
    flags = _empty_flags(steps, len(diff_ids))
    layers: list[Layer] = []
    next_layer = 0
    for step, empty in zip(steps, flags, strict=True):
        diff_id = None
        if not empty and next_layer < len(diff_ids):
            diff_id = diff_ids[next_layer]
            next_layer += 1
        layers.append(
            Layer(
                diff_id=diff_id,
                size=0 if empty else step.size,
                created=step.created,
                created_by=step.created_by,
                author=step.author,
                comment=step.comment,
                empty=empty,
                image_id=step.image_id,
            )
        )
    return list(reversed(layers))


def _empty_flags(steps: Sequence[Step], layer_count: int) -> list[bool]:
    if all(s.empty is not None for s in steps):
        return [bool(s.empty) for s in steps]
    flags = [True] * len(steps)
    start, before = 0, 0
    anchors = [i for i, s in enumerate(steps) if s.layers_so_far is not None]
    if not anchors or anchors[-1] != len(steps) - 1:
        anchors.append(len(steps) - 1)
    for end in anchors:
        count = steps[end].layers_so_far
        total = layer_count if count is None else count
        segment = list(range(start, end + 1))
        for i in _most_likely_layers(steps, segment, total - before):
            flags[i] = False
        start, before = end + 1, total
    return flags


def _most_likely_layers(steps: Sequence[Step], segment: list[int], wanted: int) -> list[int]:
    """The `wanted` steps of a segment most likely to have added a layer."""

    def unlikeliness(i: int) -> tuple[int, int]:
        step = steps[i]
        if step.empty is not None:
            return (0 if not step.empty else 3, i)
        if step.size:
            return (0, i)
        if step.created_by and _METADATA_STEP.match(step.created_by):
            return (2, i)
        return (1, i)

    wanted = max(0, min(wanted, len(segment)))
    return sorted(segment, key=unlikeliness)[:wanted]
