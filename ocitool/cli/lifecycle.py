"""The chapter's writes: import, run, start, stop, rm, commit, tag, rmi."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ocitool.cli.options import (
    ChangeOpt,
    ContainersArg,
    Format,
    FormatOpt,
)
from ocitool.cli.state import client

if TYPE_CHECKING:
    from ocitool.models import Image


def import_(
    tarball: Annotated[Path, typer.Argument(help="A rootfs tar archive.", show_default=False)],
    name: Annotated[str, typer.Argument(help="NAME[:TAG] for the new image.", show_default=False)],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Commit message (default: the file).")
    ] = None,
    change: ChangeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Import a rootfs tarball as a one-layer image."""
    image = client().import_image(tarball, name, message=message, changes=change or [])
    _print_image(image, format)


def run_(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    command: Annotated[
        list[str] | None, typer.Argument(help="Command and arguments.", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Container name.")] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Keep stdin open.")
    ] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Allocate a terminal.")] = False,
    rm: Annotated[bool, typer.Option("--rm", help="Remove the container when it exits.")] = False,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
    network: Annotated[str | None, typer.Option("--network", help="e.g. none, host.")] = None,
    pull: Annotated[str, typer.Option("--pull", help="always, missing or never.")] = "missing",
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE.")] = None,
    env_file: Annotated[
        Path | None, typer.Option("--env-file", help="KEY=VALUE lines, read as docker does.")
    ] = None,
    volume: Annotated[
        list[str] | None,
        typer.Option("--volume", "-v", help="HOST:CONTAINER[:ro], a bind mount."),
    ] = None,
    workdir: Annotated[
        str | None, typer.Option("--workdir", "-w", help="Working directory (absolute).")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="USER[:GROUP], by name or number.")
    ] = None,
    entrypoint: Annotated[
        str | None, typer.Option("--entrypoint", help="Replaces the image's ('' clears it).")
    ] = None,
    hostname: Annotated[str | None, typer.Option("--hostname", help="The container's.")] = None,
    publish: Annotated[
        list[str] | None,
        typer.Option("--publish", "-p", help="[IP:][HOST_PORT:]PORT[/PROTO], where it can."),
    ] = None,
) -> None:
    """Run a command in a new container; exits with the command's exit code."""
    result = client().run(
        image,
        command or [],
        name=name,
        interactive=interactive,
        tty=tty,
        remove=rm,
        detach=detach,
        network=network,
        pull=pull,  # type: ignore[arg-type]
        env=env or [],
        terminal=True,
        volumes=volume or [],
        workdir=workdir,
        user=user,
        entrypoint=entrypoint,
        hostname=hostname,
        env_file=env_file,
        publish=publish or [],
    )
    if detach:
        print(result.id)
    raise typer.Exit(result.exit_code or 0)


def start(containers: ContainersArg) -> None:
    """Start stopped containers in the background."""
    client().start(*containers)
    _print_lines(containers)


def stop(
    containers: ContainersArg,
    time: Annotated[
        int | None, typer.Option("--time", "-t", help="Seconds to wait before killing.")
    ] = None,
) -> None:
    """Stop running containers."""
    client().stop(*containers, timeout=time)
    _print_lines(containers)


def rm_(
    containers: ContainersArg,
    force: Annotated[bool, typer.Option("--force", "-f", help="Stop running ones first.")] = False,
) -> None:
    """Remove containers (only the ones named)."""
    client().remove(*containers, force=force)
    _print_lines(containers)


def commit(
    container: Annotated[str, typer.Argument(help="Container name or ID.", show_default=False)],
    name: Annotated[str, typer.Argument(help="NAME[:TAG] for the new image.", show_default=False)],
    author: Annotated[str | None, typer.Option("--author", "-a", help="Author.")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message.")] = None,
    change: ChangeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Create an image from a container's changes."""
    image = client().commit(container, name, author=author, message=message, changes=change or [])
    _print_image(image, format)


def tag(
    source: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    target: Annotated[str, typer.Argument(help="New NAME[:TAG].", show_default=False)],
    format: FormatOpt = Format.table,
) -> None:
    """Give an image another name."""
    image = client().tag(source, target)
    if format is Format.json:
        from ocitool import render

        render.print_json(image)


def rmi(
    image: Annotated[list[str], typer.Argument(help="Image names or IDs.", show_default=False)],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            "-f",
            help="Remove every tag of an image named by ID; with --rm-containers,"
            " stop running ones too.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
    rm_containers: Annotated[
        bool, typer.Option("--rm-containers", help="Also remove containers using the images.")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Remove images: what was untagged, what was deleted, and what space was freed.

    Containers are never removed unless --rm-containers is given; with
    --dry-run the exit code says whether the removal would go ahead.
    """
    from ocitool import render
    from ocitool.lifecycle import blocked_error

    c = client()
    result = c.rmi(*image, force=force, dry_run=dry_run, remove_containers=rm_containers)
    if format is Format.json:
        render.print_json(result)
    else:
        render.removal(result)
    if result.blocked:
        raise typer.Exit(blocked_error(result.blocked, c.backend_name).exit_code)


def _print_image(image: Image, format: Format) -> None:
    from ocitool import render

    if format is Format.json:
        render.print_json(image)
    else:
        render.print_lines([image.id])


def _print_lines(lines: list[str]) -> None:
    from ocitool import render

    render.print_lines(lines)
