"""Image structure: layers, du (df), tree, diff."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ocitool.cli.formats import TemplateFormatOpt
from ocitool.cli.options import (
    Format,
    FormatOpt,
)
from ocitool.cli.state import client


def layers(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    files: Annotated[
        bool, typer.Option("--files", help="What each layer adds, changes and removes.")
    ] = False,
    ci: Annotated[
        bool,
        typer.Option(
            "--ci",
            help="Exit 11 when a threshold is crossed, or the analysis is partial (with --files).",
        ),
    ] = False,
    lowest_efficiency: Annotated[
        float, typer.Option("--lowest-efficiency", help="--ci fails below this (0-1).")
    ] = 0.9,
    highest_wasted_bytes: Annotated[
        str, typer.Option("--highest-wasted-bytes", help="--ci fails above this, e.g. 10MB.")
    ] = "10MB",
    format: TemplateFormatOpt = Format.table,
) -> None:
    """An image's layers: who shares them, and with --files, what is in them."""
    from ocitool import render
    from ocitool.cli import formats

    out = formats.chosen(format, "FileAnalysis" if files else "LayerUsage")
    if not files:
        rows = client().layers(image)
        formats.emit(out, rows, table=lambda: render.layers_table(rows))
        if ci:
            from ocitool.errors import UsageError

            raise UsageError("--ci needs --files", hint="ocitool layers IMAGE --files --ci")
        return
    analysis = client().layer_files(image)
    formats.emit(out, analysis, table=lambda: render.file_analysis(analysis))
    if ci:
        limit = render.parse_size(highest_wasted_bytes)
        failures = []
        if analysis.truncated:
            failures.append("a layer has more entries than ocitool keeps: the analysis is partial")
        if analysis.efficiency < lowest_efficiency:
            failures.append(f"efficiency {analysis.efficiency:.4f} is below {lowest_efficiency}")
        if analysis.wasted_bytes > limit:
            failures.append(f"wasted {analysis.wasted_bytes} bytes, more than {limit}")
        for failure in failures:
            sys.stderr.write(f"ocitool: ci: FAIL: {failure}\n")
        if failures:
            from ocitool.errors import EXIT_CHECK_FAILED

            raise typer.Exit(EXIT_CHECK_FAILED)
        sys.stderr.write("ocitool: ci: PASS\n")


def du(format: TemplateFormatOpt = Format.table) -> None:
    """Each image's size, shared size, and unique size (what removing it alone frees)."""
    from ocitool import render
    from ocitool.cli import formats

    out = formats.chosen(format, "UsageReport")
    report = client().du()
    formats.emit(out, report, table=lambda: render.usage_table(report))


def tree(format: TemplateFormatOpt = Format.table) -> None:
    """The images' family tree: each image under the one whose layers it builds on."""
    from ocitool import render
    from ocitool.cli import formats

    out = formats.chosen(format, "TreeNode")
    nodes = client().tree()
    formats.emit(out, nodes, table=lambda: render.tree(nodes))


def diff(
    a: Annotated[str, typer.Argument(help="The first image.", show_default=False)],
    b: Annotated[str, typer.Argument(help="The second image.", show_default=False)],
    files: Annotated[
        bool, typer.Option("--files", help="Also the files added, changed and removed.")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """What changes from image A to image B: layers, config, and files."""
    from ocitool import render

    result = client().diff(a, b, files=files)
    render.print_json(result) if format is Format.json else render.image_diff(result)
