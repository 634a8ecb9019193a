"""About ocitool itself: backends (with their capabilities) and schema."""

from __future__ import annotations

from ocitool.cli.formats import TemplateFormatOpt
from ocitool.cli.options import Format
from ocitool.cli.state import state


def backends(format: TemplateFormatOpt = Format.table) -> None:
    """Show each engine: found, version, reachable, why not, and what it can do."""
    from ocitool import render
    from ocitool.cli import formats
    from ocitool.client import Client

    out = formats.chosen(format, "EngineInfo")
    infos = Client.survey(requested=state.backend, host=state.host, connection=state.connection)
    formats.emit(out, infos, table=lambda: render.backends_table(infos))


def schema() -> None:
    """Print the JSON Schema of ocitool's models."""
    from ocitool import render
    from ocitool.schema import json_schema

    render.print_json(json_schema())
