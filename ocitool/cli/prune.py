"""`prune`: retention rules, a dry run that predicts the bytes, one batched removal."""

from __future__ import annotations

from typing import Annotated

import typer

from ocitool.cli.options import Format, FormatOpt
from ocitool.cli.state import client


def prune(
    dangling: Annotated[
        bool,
        typer.Option(
            "--dangling", help="Untagged images nothing is built on (the default with no rule)."
        ),
    ] = False,
    keep: Annotated[
        int | None,
        typer.Option(
            "--keep",
            help="Keep the N newest images of each repository; untag the rest.",
            metavar="N",
            show_default=False,
        ),
    ] = None,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            help="Images created longer ago than this (90m, 72h, 7d).",
            metavar="DURATION",
            show_default=False,
        ),
    ] = None,
    filter: Annotated[
        list[str] | None,
        typer.Option(
            "--filter",
            help="reference=PATTERN, label=KEY[=VALUE] or until=TIME; repeatable.",
            metavar="KEY=VALUE",
            show_default=False,
        ),
    ] = None,
    containers: Annotated[
        bool,
        typer.Option(
            "--containers", help="First remove the stopped containers that hold those images."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go and the bytes; change nothing.")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Remove old tags and dangling images, never what a container uses or a kept
    image is built on; report the bytes freed, as du counts them."""
    from ocitool import render

    result = client().prune(
        dangling=dangling,
        keep=keep,
        older_than=older_than,
        filters=filter or [],
        containers=containers,
        dry_run=dry_run,
    )
    if format is Format.json:
        render.print_json(result)
    else:
        render.pruned(result)
