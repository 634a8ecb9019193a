"""Removing images the same way on every engine: plan, check, then observe.

The engines disagree on what `rmi` does and says (docs/engines.md, Removal): docker keeps
an untagged parent hidden while a child needs it and lists layer chain IDs as
"Deleted"; podman drops a parent's record while printing only "Untagged", and
its `rmi -f` silently removes containers. So ocitool decides what is allowed
from the image and container lists, asks the engine for plain removals only,
and reports what really changed by comparing the store before and after.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ocitool.layers import layer_index
from ocitool.models import Blocker, Container, Image, RemoveResult

_LIVE = ("running", "paused", "restarting")  # a container that must be stopped to be removed


@dataclass
class Target:
    """One image the user named, and the names that naming takes away."""

    ref: str  # as the user gave it; this is what the engine is asked to remove
    image: Image
    name: str | None  # the name it takes away, as models spell it; None when named by ID

    @property
    def by_id(self) -> bool:
        """Named by ID or digest: every name goes, and the image with them."""
        return self.name is None


@dataclass
class Plan:
    result: RemoveResult  # the prediction, with blockers
    engine_refs: list[str] = field(default_factory=list)
    containers: list[Container] = field(default_factory=list)  # to remove first, if asked


def plan_removal(
    targets: Sequence[Target],
    images: Sequence[Image],
    containers: Sequence[Container],
    *,
    force: bool,
    remove_containers: bool,
    keeps_untagged_parents: bool,
) -> Plan:
    """Decide what `rmi` would untag and delete, and what blocks it; changes nothing."""
    by_id = {image.id: image for image in images}
    for target in targets:
        by_id.setdefault(target.image.id, target.image)
    removed_names, named_by_id = _names_taken(targets)
    children = _children(by_id.values())
    users: dict[str, list[Container]] = {}
    for container in containers:
        if container.image_id:
            users.setdefault(container.image_id, []).append(container)

    blocked: list[Blocker] = []
    going: set[str] = set()  # images left with no name, to be deleted if nothing holds them
    for image_id, names in removed_names.items():
        image = by_id[image_id]
        if set(image.names) - names:
            continue  # other names remain: only an untag
        ref = named_by_id.get(image_id) or sorted(names)[0]
        holders = users.get(image_id, [])
        if holders and not remove_containers:
            blocked.append(in_use(ref, image, holders))
        running = [c for c in holders if c.state in _LIVE]
        if running and remove_containers and not force:
            blocked.append(in_use(ref, image, running, running=True))
        if image_id in named_by_id and len(image.names) > 1 and not force:
            blocked.append(several_tags(ref, image))
        if image_id in named_by_id and children.get(image_id):
            blocked.append(has_children(ref, image, children[image_id]))
        going.add(image_id)

    if blocked:
        # All or nothing: the real rmi checks every image before it removes any, so a
        # blocked one means nothing goes, and the dry run says exactly that.
        return Plan(result=RemoveResult(blocked=blocked, dry_run=True))
    # With --rm-containers the containers of the images going are gone first.
    left = {i: c for i, c in users.items() if not (remove_containers and i in going)}
    deleted = _deleted(going, by_id, children, left, keeps_untagged_parents)
    index = layer_index(i.diff_ids for i in by_id.values())
    kept = set(layer_index(i.diff_ids for i in by_id.values() if i.id not in deleted))
    freed = sorted({index[c] for c in set(index) - kept})
    engine_refs = _engine_refs(targets, force)
    doomed = [c for image_id in going for c in users.get(image_id, [])]
    return Plan(
        result=RemoveResult(
            untagged=sorted(n for names in removed_names.values() for n in names),
            deleted=sorted(deleted),
            deleted_layers=freed,
            removed_containers=sorted(c.name for c in doomed) if remove_containers else [],
            dry_run=True,
        ),
        engine_refs=engine_refs,
        containers=doomed if remove_containers else [],
    )


def _names_taken(targets: Sequence[Target]) -> tuple[dict[str, set[str]], dict[str, str]]:
    """Per image ID, the names this removal takes; and the images named by ID."""
    removed: dict[str, set[str]] = {}
    named_by_id: dict[str, str] = {}
    for target in targets:
        names = removed.setdefault(target.image.id, set())
        if target.by_id:
            names.update(target.image.names)
            named_by_id[target.image.id] = target.ref
        elif target.name:
            names.add(target.name)
    return removed, named_by_id


def _children(images: Iterable[Image]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for image in images:
        if image.parent:
            children.setdefault(image.parent, []).append(image.id)
    return children


def _deleted(
    going: set[str],
    images: dict[str, Image],
    children: dict[str, list[str]],
    users: dict[str, list[Container]],
    keeps_untagged_parents: bool,
) -> set[str]:
    """Which images really go: docker keeps a parent while a child needs it, then prunes it."""
    deleted = {i for i in going if not keeps_untagged_parents or not children.get(i)}
    if not keeps_untagged_parents:
        return deleted
    frontier = list(deleted)
    while frontier:
        parent = images.get(images[frontier.pop()].parent or "")
        if (
            parent is not None
            and parent.id not in deleted
            and (not parent.names or parent.id in going)  # no name left
            and not users.get(parent.id)
            and all(c in deleted for c in children.get(parent.id, []))
        ):
            deleted.add(parent.id)
            frontier.append(parent.id)
    return deleted


def _engine_refs(targets: Sequence[Target], force: bool) -> list[str]:
    """What to pass to a plain `rmi`: with --force, an image named by ID loses each
    of its names in turn (the last one deletes it), so no engine needs `-f`. An image
    named by ID as well as by name (or by two IDs) gets one set of refs: a second ref
    to an image the first already deleted would fail in the engine."""
    by_id = {target.image.id for target in targets if target.by_id}
    refs: list[str] = []
    done: set[str] = set()
    for target in targets:
        if target.image.id in by_id and (not target.by_id or target.image.id in done):
            continue
        done.add(target.image.id)
        if target.by_id and force and len(target.image.names) > 1:
            refs.extend(target.image.names)
        else:
            refs.append(target.ref)
    return list(dict.fromkeys(refs))


def observed(
    before: Sequence[Image],
    after: Sequence[Image],
    targets: Sequence[Target],
    removed_containers: Sequence[str],
) -> RemoveResult:
    """What really changed between two listings of the store."""
    after_ids = {i.id for i in after}
    after_names = {n for i in after for n in i.names}
    target_names = {n for t in targets for n in t.image.names}
    before_layers = layer_index(i.diff_ids for i in before)
    after_layers = set(layer_index(i.diff_ids for i in after))
    return RemoveResult(
        untagged=sorted(target_names - after_names),
        deleted=sorted({i.id for i in before} - after_ids),
        deleted_layers=sorted({before_layers[c] for c in set(before_layers) - after_layers}),
        removed_containers=sorted(removed_containers),
    )


def in_use(
    ref: str, image: Image, holders: Sequence[Container], *, running: bool = False
) -> Blocker:
    """Containers hold the image; `running` ones block even --rm-containers without
    --force, as 'ocitool rm' demands -f for a running container."""
    who = ", ".join(f"{c.name} ({c.short_id}, {c.state})" for c in holders)
    message = f"{ref} is used by container {who}"
    if running:
        message += ", which is running; --force stops it, as 'ocitool rm -f' does"
    return Blocker(
        image=ref,
        image_id=image.id,
        reason="running" if running else "in-use",
        containers=list(holders),
        message=message,
    )


def several_tags(ref: str, image: Image) -> Blocker:
    return Blocker(
        image=ref,
        image_id=image.id,
        reason="several-tags",
        message=f"{ref} is tagged {', '.join(image.names)}; --force removes every tag",
    )


def has_children(ref: str, image: Image, child_ids: Sequence[str]) -> Blocker:
    ids = ", ".join(c.removeprefix("sha256:")[:12] for c in child_ids)
    return Blocker(
        image=ref,
        image_id=image.id,
        reason="has-children",
        children=list(child_ids),
        message=f"{ref} has dependent child images ({ids}); remove those first, "
        "or remove it by name to untag it",
    )
