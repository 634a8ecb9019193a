"""Image structure: who shares which layer, what each image costs, the family tree.

Images are built like git commits: a child has all its parent's layers and
adds some. Layers are identified by ChainID (ocitool.layers), so two images
share a layer only when they share everything under it too. Everything here
is computed from layer lists and per-layer sizes in O(images + layers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, TypeVar

from ocitool.layers import chain_ids
from ocitool.models import (
    ConfigChange,
    FileChange,
    Image,
    ImageDiff,
    ImageUsage,
    Layer,
    LayerUsage,
    TreeNode,
    UsageReport,
)
from ocitool.usage import Stacked

if TYPE_CHECKING:
    from ocitool.layerfiles import Final


def label(image: Image) -> str:
    return image.names[0] if image.names else image.short_id


S = TypeVar("S", bound=Stacked)


def users(images: Iterable[S]) -> dict[str, list[S]]:
    """ChainID -> the images that have that layer."""
    found: dict[str, list[S]] = {}
    for image in images:
        for chain in chain_ids(image.diff_ids):
            found.setdefault(chain, []).append(image)
    return found


def usage(
    images: Sequence[Stacked],
    sizes: Mapping[str, int],
    held: Mapping[str, int],
    *,
    accounting: str,
) -> UsageReport:
    """Total, shared, unique and added size of every image; each layer counted once."""
    by_chain = users(images)
    parents = _parents(images)
    rows = []
    for image in images:
        chains = chain_ids(image.diff_ids)
        size = sum(sizes.get(c, 0) for c in chains)
        unique = sum(sizes.get(c, 0) for c in chains if len(by_chain[c]) == 1)
        parent_layers = len(parents[image.id].diff_ids) if image.id in parents else 0
        added = sum(sizes.get(c, 0) for c in chains[parent_layers:])
        rows.append(
            ImageUsage(
                id=image.id,
                names=image.names,
                size=size,
                shared=size - unique,
                unique=unique,
                added=added,
                layers=len(chains),
                containers=held.get(image.id, 0),
            )
        )
    shared_total = sum(sizes.get(c, 0) for c, owners in by_chain.items() if len(owners) > 1)
    unique_total = sum(sizes.get(c, 0) for c, owners in by_chain.items() if len(owners) == 1)
    return UsageReport(
        images=sorted(rows, key=lambda r: (-r.size, r.id)),
        total=shared_total + unique_total,
        shared=shared_total,
        unique=unique_total,
        accounting=accounting,
    )


def layer_usage(image: Image, steps: Sequence[Layer], images: Sequence[Image]) -> list[LayerUsage]:
    """`history` steps (newest first) with the other images that share each step's layer."""
    by_chain = users(images)
    chain_of = dict(zip(image.diff_ids, chain_ids(image.diff_ids), strict=True))
    rows = []
    for step in steps:
        others: list[str] = []
        if step.diff_id and step.diff_id in chain_of:
            others = sorted(
                {label(i) for i in by_chain.get(chain_of[step.diff_id], []) if i.id != image.id}
            )
        rows.append(LayerUsage(step=step, shared_with=others))
    return rows


def tree(images: Sequence[Image]) -> list[TreeNode]:
    """Images as a forest: each under the image whose layers are its longest prefix."""
    parents = _parents(images)
    children: dict[str | None, list[Image]] = {}
    for image in images:
        parent = parents.get(image.id)
        children.setdefault(parent.id if parent else None, []).append(image)

    def node(image: Image, depth: int) -> TreeNode:
        parent = parents.get(image.id)
        kids = sorted(
            children.get(image.id, []), key=lambda i: (i.created is None, i.created, i.id)
        )
        return TreeNode(
            id=image.id,
            names=image.names,
            layers=len(image.diff_ids),
            added_layers=len(image.diff_ids) - (len(parent.diff_ids) if parent else 0),
            children=[node(k, depth + 1) for k in kids],
        )

    roots = sorted(children.get(None, []), key=lambda i: (i.created is None, i.created, i.id))
    return [node(root, 0) for root in roots]


def _parents(images: Sequence[S]) -> dict[str, S]:
    """image ID -> the image whose layer stack is the longest proper prefix of its own.

    The engine's own parent wins where it records one. Where several images
    share that stack (the same layers, other configs: normal after copies
    between engines), the ones whose history the image's own history continues
    come first, then the oldest; an image with exactly the layers of another is
    a child only by the engine's say-so.
    """
    at: dict[tuple[str, ...], list[S]] = {}
    for image in images:
        at.setdefault(tuple(chain_ids(image.diff_ids)), []).append(image)
    by_id = {image.id: image for image in images}
    found: dict[str, S] = {}
    for image in images:
        chains = chain_ids(image.diff_ids)
        if (
            image.parent in by_id
            and by_id[image.parent].diff_ids == image.diff_ids[: len(by_id[image.parent].diff_ids)]
            and image.parent != image.id
        ):
            found[image.id] = by_id[image.parent]
            continue
        for depth in range(len(chains) - 1, 0, -1):
            candidates = [c for c in at.get(tuple(chains[:depth]), []) if c.id != image.id]
            if candidates:
                found[image.id] = min(
                    candidates,
                    key=lambda c: (not _continues(image, c), c.created is None, c.created, c.id),
                )
                break
    # no cycles: an image never parents an ancestor of its own
    for child, parent in list(found.items()):
        seen = {child}
        cursor: S | None = parent
        while cursor is not None:
            if cursor.id in seen:
                del found[child]
                break
            seen.add(cursor.id)
            cursor = found.get(cursor.id)
    return found


def _continues(image: Stacked, parent: Stacked) -> bool:
    """Whether the steps that made the parent's layers made the image's first layers too;
    a step whose history was not read (all None) neither agrees nor disagrees."""
    own, theirs = image.lineage, parent.lineage
    if not (own and theirs):
        return True  # a store reader that kept no history
    if len(theirs) > len(own):
        return False
    unread = (None, None, None)
    return all(a == b or unread in (a, b) for a, b in zip(own, theirs, strict=False))


def diff(a: Image, b: Image) -> ImageDiff:
    """Layers the two share, layers only in each, and what the config changes."""
    chains_a, chains_b = chain_ids(a.diff_ids), chain_ids(b.diff_ids)
    common = 0
    while common < min(len(chains_a), len(chains_b)) and chains_a[common] == chains_b[common]:
        common += 1
    changes = []
    for field in ("author", "comment", "architecture", "os"):
        if getattr(a, field) != getattr(b, field):
            changes.append(ConfigChange(field=field, a=getattr(a, field), b=getattr(b, field)))
    config_a, config_b = a.config.model_dump(), b.config.model_dump()
    for field, value in config_a.items():
        if value != config_b[field]:
            changes.append(ConfigChange(field=f"config.{field}", a=value, b=config_b[field]))
    return ImageDiff(
        a=label(a),
        b=label(b),
        common_layers=a.diff_ids[:common],
        only_a=a.diff_ids[common:],
        only_b=b.diff_ids[common:],
        config=changes,
    )


def file_changes(before: Mapping[str, Final], after: Mapping[str, Final]) -> list[FileChange]:
    """From a's final paths to b's: added, removed, and changed (kind, size or content);
    a removed directory is listed as well as what it held."""
    from ocitool.layerfiles import rooted

    def change(path: str, what: Literal["added", "changed", "removed"], at: Final) -> FileChange:
        return FileChange(path=rooted(path), change=what, size=at.size, kind=at.kind)

    changes = [change(p, "added", after[p]) for p in set(after) - set(before)]
    changes += [change(p, "removed", before[p]) for p in set(before) - set(after)]
    changes += [
        change(p, "changed", after[p]) for p in set(before) & set(after) if before[p] != after[p]
    ]
    return sorted(changes, key=lambda c: c.path)
