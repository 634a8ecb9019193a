"""The `ocitool` command line: parse options, call the Client, render.

No engine logic lives here. Errors become one line on stderr and a documented
exit code (ocitool.errors); a traceback appears only with --debug.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from ocitool import __version__
from ocitool.entry import enable_debug

if TYPE_CHECKING:
    from ocitool.client import Client

app = typer.Typer(
    name="ocitool",
    help="Manage container images the same way on docker, podman and an OCI store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="table, or one JSON document.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print IDs only.")]
NoTruncOpt = Annotated[bool, typer.Option("--no-trunc", help="Do not shorten IDs.")]


class _State:
    backend: str | None = None
    client: Client | None = None


state = _State()


def client() -> Client:
    if state.client is None:
        from ocitool.client import Client

        state.client = Client(backend=state.backend)
    return state.client


def _version(value: bool) -> None:
    if value:
        print(f"ocitool {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            "-b",
            help="docker, podman, oci or auto (default: auto).",
            metavar="NAME",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Log every engine command; show tracebacks.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    state.backend = backend
    if debug:
        enable_debug()


@app.command()
def images(
    all: Annotated[bool, typer.Option("--all", "-a", help="Include intermediate images.")] = False,
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List local images, one entry per image ID."""
    from ocitool import render

    found = client().images(all=all)
    if quiet:
        render.print_lines(i.id for i in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.images_table(found, no_trunc=no_trunc)


@app.command()
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


@app.command()
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


@app.command()
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


@app.command()
def backends(format: FormatOpt = Format.table) -> None:
    """Show each engine: found, version, rootless, reachable, and why not."""
    from ocitool import render
    from ocitool.client import Client

    infos = Client.survey()
    if format is Format.json:
        render.print_json(infos)
    else:
        render.backends_table(infos)


@app.command()
def schema() -> None:
    """Print the JSON Schema of ocitool's models."""
    from ocitool import render
    from ocitool.schema import json_schema

    render.print_json(json_schema())


def run(args: list[str], *, debug: bool = False) -> int:
    from ocitool.errors import EXIT_INTERRUPTED, EXIT_USAGE, OcitoolError

    try:
        result = app(args=args, prog_name="ocitool", standalone_mode=False)
    except OcitoolError as exc:
        if debug:
            logging.getLogger("ocitool").exception("failed")
        _error(exc.one_line())
        return exc.exit_code
    except typer.TyperException as exc:  # click's usage errors
        _error(f"{exc.format_message()} (hint: see 'ocitool --help')")
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except (KeyboardInterrupt, typer.Abort):
        _error("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def _error(line: str) -> None:
    sys.stderr.write(f"ocitool: error: {line}\n")
