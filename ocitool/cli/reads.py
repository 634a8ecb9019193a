"""The read commands: images, inspect, history, ps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ocitool.cli.formats import TemplateFormatOpt
from ocitool.cli.options import (
    CertDirOpt,
    FilterOpt,
    Format,
    NoTruncOpt,
    PlatformOpt,
    QuietOpt,
    TlsVerifyOpt,
)
from ocitool.cli.state import client

if TYPE_CHECKING:
    from ocitool.filters import Shown
    from ocitool.templates import Row


def images(
    reference: Annotated[
        str | None,
        typer.Argument(help="REPO[:TAG] (a pattern, as --filter reference=).", show_default=False),
    ] = None,
    all: Annotated[bool, typer.Option("--all", "-a", help="Include intermediate images.")] = False,
    filter: FilterOpt = None,
    format: TemplateFormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List local images, one entry per image ID."""
    from ocitool import render
    from ocitool.cli import formats
    from ocitool.fields import IMAGE_FIELDS

    out = formats.chosen(format, "Image", IMAGE_FIELDS) if not quiet else None
    c = client()
    if filter or reference is not None or (out is not None and out.kind != "table"):
        shown = c.filtered_images(all, filter or [], reference)
        if out is not None and out.kind != "table":
            formats.emit(
                out,
                [s.image for s in shown],
                table=lambda: None,
                rows=_image_rows(shown, no_trunc=no_trunc),
                headers=_headers(),
            )
            return
        from ocitool.listing import ImageSummary

        found = [
            ImageSummary(s.image.id, s.names, s.image.repo_digests, s.image.created, s.image.size)
            for s in shown
        ]
    else:
        found = c.image_summaries(all=all)  # one list call, no inspect
    if quiet:
        render.print_lines(i.id for i in found)
    else:
        render.images_table(found, no_trunc=no_trunc)


def _image_rows(shown: list[Shown], *, no_trunc: bool) -> list[Row]:
    """One row per name, as docker lists images (one for an untagged image)."""
    from ocitool.cli.formats import row
    from ocitool.fields import image_row

    return [
        row(s.image, image_row(s.image, name, no_trunc=no_trunc))
        for s in shown
        for name in ([*s.names] if s.names else [None])
    ]


def _headers() -> dict[str, str]:
    from ocitool.fields import HEADERS

    return HEADERS


def inspect(
    image: Annotated[
        list[str],
        typer.Argument(
            help="Image names or IDs; or LOCATIONs (docker://, oci:PATH:TAG, docker-archive:,"
            " oci-archive:), read where they are.",
            show_default=False,
        ),
    ],
    format: TemplateFormatOpt = Format.table,
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
        from ocitool.errors import UsageError

        if format.strip() not in ("table", "json"):
            raise UsageError(
                "--format TEMPLATE reads local images only",
                hint="use --format json for a LOCATION, and jq for its fields",
            )
        inspect_locations(
            image, located, Format(format.strip()), quiet=quiet, raw=raw, config=config,
            platform=platform,
            tls_verify=tls_verify, cert_dir=cert_dir,
        )  # fmt: skip
        return
    from ocitool.cli import formats
    from ocitool.fields import INSPECT_FIELDS, inspect_doc

    out = formats.chosen(format, "Image", INSPECT_FIELDS)
    found = client().inspect(*image, platform=platform)
    if quiet:
        render.print_lines(i.id for i in found)
        return
    formats.emit(
        out,
        found,
        table=lambda: render.image_details(found),
        rows=[formats.row(i, inspect_doc(i)) for i in found],
    )


def history(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    format: TemplateFormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """Show an image's history, newest step first, with the layer each step added."""
    from ocitool import render
    from ocitool.cli import formats

    out = formats.chosen(format, "Layer")
    steps = client().history(image)
    if quiet:
        render.print_lines(s.image_id or "<missing>" for s in steps)
        return
    formats.emit(out, steps, table=lambda: render.history_table(steps, no_trunc=no_trunc))


def ps(
    all: Annotated[bool, typer.Option("--all", "-a", help="Include stopped containers.")] = False,
    filter: FilterOpt = None,
    format: TemplateFormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List containers (running ones unless --all)."""
    from ocitool import render
    from ocitool.cli import formats
    from ocitool.fields import CONTAINER_FIELDS, CONTAINER_HEADERS, container_row

    out = formats.chosen(format, "Container", CONTAINER_FIELDS)
    found = client().containers(all=all, filters=filter or [])
    if quiet:
        render.print_lines(c.id for c in found)
        return
    formats.emit(
        out,
        found,
        table=lambda: render.containers_table(found, no_trunc=no_trunc),
        rows=[formats.row(c, container_row(c, no_trunc=no_trunc)) for c in found],
        headers=CONTAINER_HEADERS,
    )
