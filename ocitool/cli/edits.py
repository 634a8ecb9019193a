"""Image edits with no container: mutate, append, flatten (docs/edits.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ocitool.cli.options import Format, FormatOpt
from ocitool.cli.state import client

if TYPE_CHECKING:
    from ocitool.models import Image

ImageArg = Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)]
NameArg = Annotated[str, typer.Argument(help="NAME[:TAG] for the new image.", show_default=False)]
_COMMAND = "A JSON array, or a shell-like string (split, not run by a shell); '' clears it."


def mutate(
    image: ImageArg,
    name: NameArg,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="KEY=VALUE, added or replaced.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE, added or replaced.")
    ] = None,
    entrypoint: Annotated[str | None, typer.Option("--entrypoint", help=_COMMAND)] = None,
    cmd: Annotated[str | None, typer.Option("--cmd", help=_COMMAND)] = None,
    workdir: Annotated[
        str | None, typer.Option("--workdir", "-w", help="An absolute path; '' clears it.")
    ] = None,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="USER[:GROUP]; '' clears it.")
    ] = None,
    format: FormatOpt = Format.table,
) -> None:
    """A new image whose config is changed, with no new layer."""
    image_made = client().mutate(
        image,
        name,
        labels=label or [],
        env=env or [],
        entrypoint=entrypoint,
        cmd=cmd,
        workdir=workdir,
        user=user,
    )
    _print(image_made, format)


def append(
    image: ImageArg,
    tarball: Annotated[
        Path, typer.Argument(help="A tar (or tar.gz) of the files to add.", show_default=False)
    ],
    name: NameArg,
    format: FormatOpt = Format.table,
) -> None:
    """A new image: the tarball as one new layer on top."""
    _print(client().append(image, tarball, name), format)


def flatten(image: ImageArg, name: NameArg, format: FormatOpt = Format.table) -> None:
    """A new image of one layer with the same files, its config kept."""
    _print(client().flatten(image, name), format)


def _print(image: Image, format: Format) -> None:
    """The new image's ID, as commit prints it; its names and the rest with --format json."""
    from ocitool import render

    if format is Format.json:
        render.print_json(image)
    else:
        render.print_lines([image.id])
