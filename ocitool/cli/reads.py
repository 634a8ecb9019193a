"""The read commands: images, inspect, history, ps."""

from __future__ import annotations

from typing import Annotated

import typer

from ocitool.cli.options import (
    CertDirOpt,
    Format,
    FormatOpt,
    NoTruncOpt,
    PlatformOpt,
    QuietOpt,
    TlsVerifyOpt,
)
from ocitool.cli.state import client


def images(
    all: Annotated[bool, typer.Option("--all", "-a", help="Include intermediate images.")] = False,
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List local images, one entry per image ID."""
    from ocitool import render

    if format is Format.json and not quiet:
        render.print_json(client().images(all=all))
        return
    found = client().image_summaries(all=all)  # one list call, no inspect
    if quiet:
        render.print_lines(i.id for i in found)
    else:
        render.images_table(found, no_trunc=no_trunc)


def inspect(
    image: Annotated[
        list[str],
        typer.Argument(
            help="Image names or IDs; or LOCATIONs (docker://, oci:PATH:TAG, docker-archive:,"
            " oci-archive:), read where they are.",
            show_default=False,
        ),
    ],
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    raw: Annotated[
        bool, typer.Option("--raw", help="A LOCATION's manifest bytes, exactly as served.")
    ] = False,
    config: Annotated[
        bool, typer.Option("--config", help="A LOCATION's raw image config.")
    ] = False,
    platform: PlatformOpt = None,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
) -> None:
    """Show images in detail (all of them read with one engine call)."""
    from ocitool import render
    from ocitool.locations import is_location

    located = [is_location(i) for i in image]
    if any(located) or raw or config:
        from ocitool.cli.locations import inspect_locations

        inspect_locations(
            image, located, format, quiet=quiet, raw=raw, config=config, platform=platform,
            tls_verify=tls_verify, cert_dir=cert_dir,
        )  # fmt: skip
        return
    found = client().inspect(*image, platform=platform)
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
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List containers (running ones unless --all)."""
    from ocitool import render

    found = client().containers(all=all)
    if quiet:
        render.print_lines(c.id for c in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.containers_table(found, no_trunc=no_trunc)
