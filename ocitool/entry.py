"""The console entry point, kept tiny so `ocitool --version` imports nothing heavy.

typer, pydantic and rich are imported only once a real command runs.
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
    """The quick `images` path where it applies, else the typer CLI."""
    if args in (["--version"], ["-V"]):
        sys.stdout.write(f"ocitool {__version__}\n")
        return
    debug = "--debug" in args or os.environ.get("OCITOOL_DEBUG", "") not in ("", "0")
    if debug:
        enable_debug()
    else:
        from ocitool.quick import images

        code = images(args)  # the common listing, without typer and pydantic
        if code is not None:
            sys.exit(code)
    from ocitool.cli import execute

    sys.exit(execute(args, debug=debug))


def enable_debug() -> None:
    """Log every engine command to stderr; errors then show their traceback."""
    import logging

    os.environ["OCITOOL_DEBUG"] = "1"
    logging.basicConfig(level=logging.DEBUG, format="ocitool: %(message)s", stream=sys.stderr)
    logging.getLogger("ocitool").setLevel(logging.DEBUG)
