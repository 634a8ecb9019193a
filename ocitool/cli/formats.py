"""--format for the listing commands and inspect: table, json, or a Go template.

The template is parsed, and its fields checked against the command's model (and
docker's names, where the command has them), before any engine is asked; then
it runs once per item of what `--format json` prints, or once on a single
document (du, layers --files).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ocitool.templates import Output, Row

TemplateFormatOpt = Annotated[
    str,
    typer.Option(
        "--format",
        help="table, json (one document), or a Go template: '{{.ID}}', "
        "'table {{.ID}}\\t{{.Size}}', '{{json .}}'.",
        metavar="FORMAT",
    ),
]


def chosen(format: str, model: str, aliases: Iterable[str] = ()) -> Output:
    """What --format asks for; a bad template or an unknown field is a usage error.
    `model` names the class in ocitool.models, loaded only for a template (a table
    loads no pydantic)."""
    from ocitool.templates import output

    if format.strip() in ("table", "json", ""):
        return output(format)
    from ocitool import models

    fields = getattr(models, model).model_fields
    return output(format, {*fields, *aliases})


def emit(
    out: Output,
    data: BaseModel | Sequence[BaseModel],
    *,
    table: Callable[[], None],
    rows: Sequence[Row] | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """The data as the table, the JSON document, or through the template."""
    from ocitool import render

    if out.kind == "json":
        render.print_json(data)
    elif out.kind == "table":
        table()
    else:
        from ocitool.templates import render_rows

        if rows is None:
            rows = [row(item) for item in (data if isinstance(data, Sequence) else [data])]
        import sys

        sys.stdout.write(render_rows(out, rows, headers or {}))


def row(item: BaseModel, aliases: Mapping[str, Any] | None = None) -> Row:
    from ocitool.templates import Row

    return Row(item, aliases)
