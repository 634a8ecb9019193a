"""The chapter's writes on any engine: import, commit, tag, run, and rmi.

Each validates its arguments, asks the engine's core (ocitool.engine) for the
write, and reports what really happened: a tag that moved is a note naming
where it went and what the old image still has, an interrupted write says
which image the engine had already made, and a removal is planned from the
image and container lists (ocitool.removal) and observed afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ocitool import capabilities as can
from ocitool.errors import (
    Conflict,
    EngineError,
    EngineTimeout,
    ImageInUse,
    ImageNotFound,
    Interrupted,
    InvalidReference,
    OcitoolError,
    UsageError,
    last_meaningful_line,
)
from ocitool.notes import note
from ocitool.references import ImageRef, is_image_id, validate_container_name, validate_image_arg
from ocitool.runner import InterruptedWrite
from ocitool.together import together

if TYPE_CHECKING:
    from ocitool.engine import Engine, RunOptions
    from ocitool.engines import Engines
    from ocitool.models import Blocker, Image, RemoveResult, RunResult
    from ocitool.removal import Target

PullPolicy = Literal["always", "missing", "never"]


def import_image(
    engine: Engine, tarball: Path, ref: str, *, message: str | None, changes: Sequence[str]
) -> Image:
    if not tarball.is_file():
        raise UsageError(f"{tarball}: no such file", hint="give the path of a tar archive")
    target = target_name(ref)
    return _made(
        engine,
        "import",
        target,
        lambda: engine.import_image(
            tarball, target, message=message or f"imported from {tarball.name}", changes=changes
        ),
    )


def commit(
    engine: Engine,
    container: str,
    ref: str,
    *,
    author: str | None,
    message: str | None,
    changes: Sequence[str],
) -> Image:
    container = validate_container_name(container)
    target = target_name(ref)
    return _made(
        engine,
        "commit",
        target,
        lambda: engine.commit(container, target, author=author, message=message, changes=changes),
    )


def _made(engine: Engine, what: str, target: str, write: Callable[[], str]) -> Image:
    """Run a write that makes the image `target` and read back what it made; a Ctrl-C
    at any moment says exactly what exists (interrupted)."""
    previous = current(engine, target)
    try:
        new_id = write()
    except InterruptedWrite as stop:
        raise interrupted(engine, what, stop.image_id) from None
    except KeyboardInterrupt:
        raise interrupted(engine, what, None, abandoned=True) from None
    try:
        return created(engine, new_id, target, previous)
    except KeyboardInterrupt:  # after the engine made it: it is named all the same
        raise interrupted(engine, what, new_id) from None


def tag(engine: Engine, source: str, target: str) -> Image:
    source = validate_image_arg(source)
    name = target_name(target)
    previous = current(engine, name)
    engine.tag(source, name)
    return created(engine, engine.inspect([name])[0].id, name, previous)


def run(
    engines: Engines,
    image: str,
    command: Sequence[str],
    *,
    name: str | None,
    interactive: bool,
    tty: bool,
    remove: bool,
    detach: bool,
    network: str | None,
    pull: PullPolicy,
    env: Sequence[str],
    terminal: bool,
    options: RunOptions | None = None,
) -> RunResult:
    from ocitool.engine import RunOptions
    from ocitool.models import RunResult

    image = validate_image_arg(image)
    if name is not None:
        name = validate_container_name(name)
    if network is not None:
        network = validate_container_name(network)
    if pull not in ("always", "missing", "never"):
        raise UsageError(f"unknown pull policy {pull!r}", hint="use always, missing or never")
    if pull == "always":
        engines.need(can.PULL_ON_RUN)
    if tty and detach:
        engines.need(can.DETACHED_TERMINAL)
    if options is not None and options.publish:
        engines.need(can.PUBLISHED_PORTS)
    engine = engines.selected
    try:
        container_id = engine.create(
            image,
            list(command),
            name=name,
            interactive=interactive,
            tty=tty,
            remove=remove,
            network=network,
            pull=pull,
            env=list(env),
            detach=detach,
            options=options or RunOptions(),
        )
    except EngineError as failed:
        raise _not_here(engine, image, failed) from None
    name = name or engine.container_name(container_id)
    if detach:
        engine.start([container_id])
        return RunResult(id=container_id, name=name)
    done = engine.start_attached(container_id, interactive=interactive, terminal=terminal)
    return RunResult(
        id=container_id,
        name=name,
        exit_code=done.exit_code,
        removed=remove,
        stdout=done.stdout,
        stderr=done.stderr,
    )


def _not_here(engine: Engine, image: str, failed: EngineError) -> OcitoolError:
    """A create that failed on an image that is not here failed on its pull (the
    engines word it as a DNS error or an unresolved short name): not found, exit 3,
    with the engine's reason. Any other failure is the engine's own."""
    if isinstance(failed, EngineTimeout) or current(engine, image) is not None:
        return failed
    reason = " ".join(last_meaningful_line(failed.stderr).split())
    return ImageNotFound(
        [image],
        backend=engine.name,
        hint=f"it is not here and could not be pulled ({reason[:200]}); "
        f"list local images with 'ocitool --backend {engine.name} images'",
    )


def containers(names: Iterable[str]) -> list[str]:
    checked = [validate_container_name(n) for n in names]
    if not checked:
        raise UsageError("no container given", hint="name at least one container")
    return checked


def rmi(
    engine: Engine,
    refs: Sequence[str],
    *,
    force: bool,
    dry_run: bool,
    remove_containers: bool,
) -> RemoveResult:
    """Remove images the same way on every engine: planned from the lists, asked of
    the engine as plain removals only, and observed afterwards (ocitool.removal).
    A manifest list is planned as `images` lists it (manifest_lists.inspect_images);
    the engine removes it as a list, and the images it names stay."""
    checked = [validate_image_arg(r) for r in refs]
    if not checked:
        raise UsageError("no image given", hint="name at least one image to remove")
    return _rmi_images(
        engine, checked, force=force, dry_run=dry_run, remove_containers=remove_containers
    )


def _rmi_images(
    engine: Engine,
    checked: Sequence[str],
    *,
    force: bool,
    dry_run: bool,
    remove_containers: bool,
) -> RemoveResult:
    from ocitool.manifest_lists import inspect_images
    from ocitool.removal import plan_removal

    found = inspect_images(engine, checked)
    before, holders = together(lambda: engine.images(all=True), lambda: engine.containers(all=True))
    # The targets as the whole listing spells their names: it alone sees every name.
    listed = {image.id: image for image in before}
    targets = [
        _target(engine, ref, _listed(engine, ref, before) or listed.get(image.id, image))
        for ref, image in zip(checked, found, strict=True)
    ]
    plan = plan_removal(
        targets,
        before,
        holders,
        force=force,
        remove_containers=remove_containers,
        keeps_untagged_parents=engine.keeps_untagged_parents,
    )
    if dry_run:
        return plan.result
    if plan.result.blocked:
        raise blocked_error(plan.result.blocked, engine.name)
    if plan.containers:
        # A running one is planned only with --force (removal.in_use, running=True).
        engine.remove_containers([c.id for c in plan.containers], force=force)
    return removed_observed(
        engine, plan.engine_refs, before, targets, [c.name for c in plan.containers]
    )


def removed_observed(
    engine: Engine,
    refs: Sequence[str],
    before: Sequence[Image],
    targets: Sequence[Target],
    removed: Sequence[str],
    listing: Callable[[], Sequence[Image]] | None = None,
) -> RemoveResult:
    """One plain removal of every ref, then what really changed (read by `listing`,
    by default the engine's whole list); a removal that fails midway says what it had
    done before the error (rmi and prune)."""
    from ocitool.removal import observed

    listing = listing or (lambda: engine.images(all=True))
    try:
        engine.remove_images(refs)
    except BaseException:
        done = observed(before, listing(), targets, removed)
        if done.untagged or done.deleted:
            note(
                "before it failed, the removal untagged %s and deleted %s",
                done.untagged or "nothing",
                done.deleted or "nothing",
            )
        raise
    return observed(before, listing(), targets, removed)


def blocked_error(blocked: Sequence[Blocker], backend: str) -> ImageInUse | Conflict:
    """The error for a removal that cannot go ahead: in-use first, as users meet it most."""
    for blocker in blocked:
        if blocker.reason == "in-use":
            names = " ".join(c.name for c in blocker.containers)
            return ImageInUse(
                blocker.image,
                [f"{c.name} ({c.short_id}, {c.state})" for c in blocker.containers],
                backend=backend,
                hint=f"stop and remove them first (ocitool stop {names}; ocitool rm {names}),"
                " or pass --rm-containers to remove them with the image",
            )
    for blocker in blocked:
        if blocker.reason == "running":
            names = " ".join(c.name for c in blocker.containers)
            return Conflict(
                f"cannot remove: {blocker.message}",
                hint=f"pass --force as well, or stop them first (ocitool stop {names})",
            )
    return Conflict(f"cannot remove: {blocked[0].message}")


def target_name(ref: str) -> str:
    """A name an image can be given: a valid reference with no digest."""
    parsed = ImageRef.parse(ref)
    if parsed.digest:
        raise InvalidReference(
            ref,
            "a new image name cannot carry a digest",
            hint="use NAME:TAG, e.g. commit_test:first",
        )
    return str(parsed)


def current(engine: Engine, name: str) -> Image | None:
    try:
        return engine.inspect([name])[0]
    except ImageNotFound:
        return None


def created(engine: Engine, image_id: str, name: str, previous: Image | None) -> Image:
    """The new image, with a note when `name` moved to it from another image.

    The old image is read again in the same call, so the note names the tags it
    really keeps, however the engine spells the one that moved (`x` is `x:latest`).
    """
    if previous is None or previous.id == image_id:
        return engine.inspect([image_id])[0]
    left: list[str] | None
    try:
        found = engine.inspect([image_id, previous.id])
        left = found[-1].names
    except ImageNotFound:  # the old image went with its name: nothing to say it keeps
        found, left = engine.inspect([image_id]), None
    # as the models spell it (podman: Names)
    note_moved(engine.canonical_name(name), previous, found[0], left)
    return found[0]


def note_moved(name: str, previous: Image, image: Image, left: Sequence[str] | None) -> None:
    """The one note for a name that moved to `image` (tag, commit, import, load): the
    old image stays, tagged `left`, or untagged, or is gone (`left` None)."""
    if left is None:
        fate = "gone"
    elif left:
        fate = f"still tagged {', '.join(left)}"
    else:
        fate = f"now untagged but kept; 'ocitool rmi {previous.id}' removes it"
    note(
        "%s moved from %s to %s; %s is %s",
        name,
        previous.short_id,
        image.short_id,
        previous.short_id,
        fate,
    )


def interrupted(
    engine: Engine, what: str, image_id: str | None, *, abandoned: bool = False
) -> Interrupted:
    """Say exactly what an interrupted write left behind: the engine was let finish
    and said which image it made, or it was abandoned by a second Ctrl-C."""
    if image_id:
        try:
            names = ", ".join(engine.inspect([image_id])[0].names) or "untagged"
        except KeyboardInterrupt:  # a second Ctrl-C: the ID alone, but said
            names = "its names unread"
        return Interrupted(
            f"{what} interrupted, but the engine had already created {image_id} ({names})",
            hint=f"keep it, or remove it with 'ocitool rmi {image_id}'",
        )
    if abandoned:
        return Interrupted(
            f"{what} abandoned; no image exists yet, but the engine may still finish it",
            hint="check 'ocitool images -a' in a moment",
        )
    return Interrupted(f"{what} interrupted; no image was created")


def _listed(engine: Engine, ref: str, before: Sequence[Image]) -> Image | None:
    """The listed entry a name or ID names, where it is not the image inspect shows:
    an index a store holds is listed as itself, and inspect shows its platform's image."""
    name = engine.canonical_name(ref)
    bare = ref.removeprefix("sha256:")
    hexed = len(bare) >= 3 and all(c in "0123456789abcdef" for c in bare)
    for image in before:
        by_id = hexed and image.id.removeprefix("sha256:").startswith(bare)
        if image.platforms is not None and (name in image.names or by_id):
            return image
    return None


def _target(engine: Engine, ref: str, image: Image) -> Target:
    from ocitool.removal import Target

    name = engine.canonical_name(ref)
    by_id = (
        is_image_id(ref)
        or "@" in ref
        or (name not in image.names and image.id.removeprefix("sha256:").startswith(ref))
    )
    return Target(ref=ref, image=image, name=None if by_id else name)
