"""`build`: an image from a Dockerfile, on any backend that can build (docs/build.md)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ocitool.cli.options import Format, FormatOpt
from ocitool.cli.state import client


class Progress(StrEnum):
    auto = "auto"
    plain = "plain"
    json = "json"


class Network(StrEnum):
    host = "host"
    none = "none"


def build(
    context: Annotated[
        Path,
        typer.Argument(
            help="The folder sent to the builder.", metavar="CONTEXT", show_default=False
        ),
    ],
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag",
            "-t",
            help="A name for the image, given once it is whole; repeatable.",
            metavar="NAME[:TAG]",
            show_default=False,
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            "-f",
            help="The Dockerfile (default: CONTEXT/Dockerfile).",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    build_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--build-arg",
            help="KEY=VALUE for an ARG, or KEY to take it from the environment; repeatable.",
            metavar="KEY[=VALUE]",
            show_default=False,
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            help="KEY=VALUE on the image; repeatable.",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Stop at this stage.", metavar="STAGE", show_default=False),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step again, with no cache.")
    ] = False,
    network: Annotated[
        Network, typer.Option("--network", help="RUN's network: host, or none.")
    ] = Network.host,
    platform: Annotated[
        str | None,
        typer.Option(
            "--platform",
            help="os/arch[/variant] of the image (default: this host's).",
            metavar="OS/ARCH",
            show_default=False,
        ),
    ] = None,
    progress: Annotated[
        Progress,
        typer.Option(
            "--progress",
            help="auto (a live view on a terminal, else plain), plain (each step and its"
            " output), or json (lines); on stderr.",
        ),
    ] = Progress.auto,
    format: FormatOpt = Format.table,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the image ID; no progress.")
    ] = False,
) -> None:
    """Build an image from a Dockerfile, as docker build does, on every backend."""
    from ocitool import render
    from ocitool.build_progress import BuildProgress, Mode

    mode: Mode = progress.value if not quiet or progress is Progress.json else "none"
    with BuildProgress(mode) as shown:
        result = client().build(
            context,
            dockerfile=file,
            tags=tag or [],
            build_args=build_arg or [],
            labels=label or [],
            target=target,
            no_cache=no_cache,
            network=network.value,
            platform=platform,
            on_event=shown,
            on_plan=shown.planned,
        )
    if quiet:
        print(result.image_id)
    elif format is Format.json:
        render.print_json(result)
    else:
        render.built(result)
