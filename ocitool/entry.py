"""The console entry point, kept tiny so `ocitool --version` imports nothing heavy.

Every other command takes the one road through the typer CLI (ocitool.cli.app),
with or without --debug.
"""

from __future__ import annotations

import os
import sys

from ocitool import __version__


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code for whatever happened."""
    try:
        run(sys.argv[1:] if argv is None else argv)
    except KeyboardInterrupt:  # Ctrl-C while Python was still loading ocitool
        from ocitool.errors import EXIT_INTERRUPTED, report

        report("interrupted")
        sys.exit(EXIT_INTERRUPTED)


def run(args: list[str]) -> None:
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"ocitool {__version__}\n")
        return
    if args[:1] == ["__complete"]:  # names for a shell's TAB: no typer, no rich
        from ocitool.completion import names

        sys.exit(names(args[1:]))
    debug = "--debug" in args or os.environ.get("OCITOOL_DEBUG", "") not in ("", "0")
    if debug:
        from ocitool.debuglog import enable_debug

        enable_debug()
    from ocitool.cli.app import execute

    sys.exit(execute(args, debug=debug))
