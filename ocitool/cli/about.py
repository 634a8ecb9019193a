"""About ocitool itself: backends (with their capabilities) and schema."""

from __future__ import annotations

from ocitool.cli.options import (
    Format,
    FormatOpt,
)
from ocitool.cli.state import state


def backends(format: FormatOpt = Format.table) -> None:
    """Show each engine: found, version, reachable, why not, and what it can do."""
    from ocitool import render
    from ocitool.client import Client

    infos = Client.survey(requested=state.backend, host=state.host, connection=state.connection)
    if format is Format.json:
        render.print_json(infos)
    else:
        render.backends_table(infos)


def schema() -> None:
    """Print the JSON Schema of ocitool's models."""
    from ocitool import render
    from ocitool.schema import json_schema

    render.print_json(json_schema())
