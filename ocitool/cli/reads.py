"""The read commands: images, inspect, history, ps."""

from __future__ import annotations

from typing import Annotated

import typer

from ocitool.cli.options import (
    FilterOpt,
    Format,
    FormatOpt,
    NoTruncOpt,
    QuietOpt,
)
from ocitool.cli.state import client


def images(
    reference: Annotated[
        str | None,
        typer.Argument(help="REPO[:TAG] (a pattern, as --filter reference=).", show_default=False),
    ] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Include intermediate images.")] = False,
    filter: FilterOpt = None,
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List local images, one entry per image ID."""
    from ocitool import render

    c = client()
    if filter or reference is not None:
        from ocitool.listing import ImageSummary

        shown = c.filtered_images(all, filter or [], reference)
        if format is Format.json and not quiet:
            render.print_json([s.image for s in shown])
            return
        found = [
            ImageSummary(s.image.id, s.names, s.image.repo_digests, s.image.created, s.image.size)
            for s in shown
        ]
    elif format is Format.json and not quiet:
        render.print_json(c.images(all=all))
        return
    else:
        found = c.image_summaries(all=all)  # one list call, no inspect
    if quiet:
        render.print_lines(i.id for i in found)
    else:
        render.images_table(found, no_trunc=no_trunc)


def inspect(
    image: Annotated[list[str], typer.Argument(help="Image names or IDs.", show_default=False)],
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
) -> None:
    """Show images in detail (all of them read with one engine call)."""
    from ocitool import render

    found = client().inspect(*image)
    if quiet:
        render.print_lines(i.id for i in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.image_details(found)


def history(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """Show an image's history, newest step first, with the layer each step added."""
    from ocitool import render

    steps = client().history(image)
    if quiet:
        render.print_lines(s.image_id or "<missing>" for s in steps)
    elif format is Format.json:
        render.print_json(steps)
    else:
        render.history_table(steps, no_trunc=no_trunc)


def ps(
    all: Annotated[bool, typer.Option("--all", "-a", help="Include stopped containers.")] = False,
    filter: FilterOpt = None,
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List containers (running ones unless --all)."""
    from ocitool import render

    found = client().containers(all=all, filters=filter or [])
    if quiet:
        render.print_lines(c.id for c in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.containers_table(found, no_trunc=no_trunc)
