"""`prune`: retention rules over the image list, removed in one batch, the bytes exact.

The rules choose names and images (ocitool.filters narrows what they see); what a
container uses, or a parent a staying image is built on, stays and is reported as
kept. The removal itself is an ordinary planned `rmi` (ocitool.removal), so it is
as safe as one and costs one engine call however many images go. What it frees
is predicted from du's inputs (ocitool.usage) and, after a real run, observed as
du's total before minus after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from ocitool import capabilities as can
from ocitool.filters import Filters, Shown, dangling, filter_images
from ocitool.layers import chain_ids

if TYPE_CHECKING:
    from ocitool.engines import Engines
    from ocitool.models import Container, Image, KeptImage, PruneResult, StoreGarbage
    from ocitool.removal import Target
    from ocitool.usage import Stacked, StoreInventory

_LIVE = ("running", "paused", "restarting")


@dataclass
class Rules:
    """What to prune; with no rule at all, the dangling images."""

    dangling: bool = False
    keep: int | None = None  # the N newest images of each repository keep their tags there
    older_than: timedelta | None = None
    filters: Filters = field(default_factory=Filters)
    containers: bool = False  # remove the stopped containers that hold chosen images

    def __post_init__(self) -> None:
        if self.keep is None and self.older_than is None:
            self.dangling = True


@dataclass
class Choice:
    targets: list[Target]
    kept: list[KeptImage]


def choose(
    images: Sequence[Image],
    containers: Sequence[Container],
    rules: Rules,
    *,
    now: datetime | None = None,
) -> Choice:
    """The names and images the rules take, less what must stay (changes nothing)."""
    from ocitool.removal import Target

    by_id = {i.id: i for i in images}
    taken = _taken(images, rules, now or datetime.now(UTC))
    going = {i for i, names in taken.items() if set(by_id[i].names) <= set(names)}
    kept = _staying(going, images, containers, remove_stopped=rules.containers)
    targets: list[Target] = []
    for image_id, names in taken.items():
        if image_id in kept:
            continue
        image = by_id[image_id]
        if not names:
            targets.append(Target(ref=image.id, image=image, name=None))
        else:
            targets.extend(Target(ref=n, image=image, name=n) for n in names)
    return Choice(targets, sorted(kept.values(), key=lambda k: (k.image, k.image_id)))


def _taken(images: Sequence[Image], rules: Rules, now: datetime) -> dict[str, list[str]]:
    """image ID -> the names the rules take from it ([] for a dangling image, taken whole)."""
    cutoff = now - rules.older_than if rules.older_than is not None else None
    parents = {i.parent for i in images if i.parent}
    scoped = filter_images(images, rules.filters, anchors={}, now=now)
    keeps = _newest(scoped, rules.keep) if rules.keep is not None else None

    def old(image: Image) -> bool:
        return cutoff is None or (image.created is not None and image.created < cutoff)

    taken: dict[str, list[str]] = {}
    for shown in scoped:
        image = shown.image
        if dangling(image, parents):
            if (rules.dangling or cutoff is not None) and old(image):
                taken[image.id] = []
        elif (keeps is not None or cutoff is not None) and old(image):
            names = [n for n in shown.names if keeps is None or n not in keeps]
            if names:
                taken[image.id] = names
    return taken


def _staying(
    going: set[str],
    images: Sequence[Image],
    containers: Sequence[Container],
    *,
    remove_stopped: bool,
) -> dict[str, KeptImage]:
    """Of the images that would be deleted, those that stay: a container uses them
    (a stopped one only without --containers), or an image that stays is built on them."""
    by_id = {i.id: i for i in images}
    holders: dict[str, list[Container]] = {}
    for container in containers:
        if container.image_id:
            holders.setdefault(container.image_id, []).append(container)
    kept: dict[str, KeptImage] = {}
    for image_id in sorted(going):
        held = holders.get(image_id, [])
        running = [c for c in held if c.state in _LIVE]
        if running:
            kept[image_id] = _kept(by_id[image_id], "running", running)
        elif held and not remove_stopped:
            kept[image_id] = _kept(by_id[image_id], "in-use", held)
    going = going - set(kept)
    children: dict[str, list[str]] = {}
    for image in images:
        if image.parent:
            children.setdefault(image.parent, []).append(image.id)
    changed = True
    while changed:  # a parent stays while any image built on it stays
        changed = False
        for image_id in sorted(going):
            staying = [c for c in children.get(image_id, []) if c not in going]
            if staying:
                kept[image_id] = _kept(by_id[image_id], "parent", [], staying)
                going.discard(image_id)
                changed = True
    return kept


def _newest(scoped: Sequence[Shown], count: int) -> set[str]:
    """The names the N newest images of each repository have there."""
    from ocitool.render import split_name

    by_repo: dict[str, list[tuple[Image, str]]] = {}
    for shown in scoped:
        for name in shown.names:
            by_repo.setdefault(split_name(name)[0], []).append((shown.image, name))
    keep: set[str] = set()
    for entries in by_repo.values():
        order = sorted(
            {image.id: image for image, _ in entries}.values(),
            key=lambda i: (i.created is not None, i.created, i.id),
            reverse=True,
        )
        newest = {i.id for i in order[:count]}
        keep.update(name for image, name in entries if image.id in newest)
    return keep


def _kept(
    image: Image,
    reason: Literal["in-use", "running", "parent"],
    containers: Sequence[Container],
    children: Sequence[str] = (),
) -> KeptImage:
    from ocitool.models import KeptImage

    label = image.names[0] if image.names else image.short_id
    if reason == "parent":
        ids = ", ".join(c.removeprefix("sha256:")[:12] for c in children)
        message = f"{label} is the parent of {ids}, which stay"
    else:
        who = ", ".join(f"{c.name} ({c.short_id}, {c.state})" for c in containers)
        message = f"{label} is used by container {who}"
        if reason == "in-use":
            message += "; --containers removes stopped ones first"
    return KeptImage(
        image=label,
        image_id=image.id,
        reason=reason,
        containers=[c.name for c in containers],
        children=list(children),
        message=message,
    )


def total(images: Sequence[Stacked], sizes: dict[str, int]) -> int:
    """Every distinct layer once, as du's total counts it."""
    chains = {c for image in images for c in chain_ids(image.diff_ids)}
    return sum(sizes.get(c, 0) for c in chains)


def reclaimed(inventory: StoreInventory, deleted: set[str]) -> int:
    """du's total now minus du's total once these images are gone."""
    left = [i for i in inventory.images if i.id not in deleted]
    return total(inventory.images, inventory.sizes) - total(left, inventory.sizes)


def prune(engines: Engines, rules: Rules, *, dry_run: bool) -> PruneResult:
    """Choose, plan, predict; then (unless a dry run) remove in one batch and observe."""
    from ocitool.analysis import inventory
    from ocitool.lifecycle import blocked_error, removed_observed
    from ocitool.models import PruneResult
    from ocitool.removal import plan_removal
    from ocitool.together import together

    engine = engines.selected
    images, containers, before = together(
        lambda: engine.images(all=True),
        lambda: engine.containers(all=True),
        lambda: inventory(engines),
    )
    choice = choose(images, containers, rules)
    plan = plan_removal(
        choice.targets,
        images,
        containers,
        force=False,
        remove_containers=rules.containers,
        keeps_untagged_parents=engine.keeps_untagged_parents,
    )
    if plan.result.blocked:  # choose() leaves nothing that blocks; the engine may differ
        raise blocked_error(plan.result.blocked, engine.name)
    predicted = reclaimed(before, set(plan.result.deleted))
    garbage = _garbage(engines, collect=not dry_run)
    result = PruneResult(
        untagged=plan.result.untagged,
        deleted=plan.result.deleted,
        deleted_layers=plan.result.deleted_layers,
        removed_containers=plan.result.removed_containers,
        kept=choice.kept,
        reclaimed=predicted,
        accounting=engine.size_accounting,
        store=garbage,
        dry_run=True,
    )
    if dry_run or not choice.targets:
        return result.model_copy(update={"dry_run": dry_run, "observed": None if dry_run else 0})
    if plan.containers:
        engine.remove_containers([c.id for c in plan.containers], force=False)
    read: list[StoreInventory] = []

    def listing() -> list[Image]:
        """The images after, from the one list call (the full models are the ones from
        before: a removal changes only which exist and their names), with du's inputs."""
        summaries, inputs = together(
            lambda: engine.image_summaries(all=True), lambda: inventory(engines)
        )
        read.append(inputs)
        names = {s.id: s.names for s in summaries}
        return [i.model_copy(update={"names": names[i.id]}) for i in images if i.id in names]

    done = removed_observed(
        engine,
        plan.engine_refs,
        images,
        choice.targets,
        plan.result.removed_containers,
        listing=listing,
    )
    after = read[-1]
    return result.model_copy(
        update={
            "untagged": done.untagged,
            "deleted": done.deleted,
            "deleted_layers": done.deleted_layers,
            "observed": total(before.images, before.sizes) - total(after.images, after.sizes),
            "dry_run": False,
        }
    )


def _garbage(engines: Engines, *, collect: bool) -> StoreGarbage | None:
    if not engines.has(can.STORE_GARBAGE):
        return None
    return engines.need(can.STORE_GARBAGE).store_garbage(collect=collect)
