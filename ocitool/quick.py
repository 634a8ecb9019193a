"""`ocitool images` without typer, pydantic or rich, straight from the entry point.

The listing is the command people and scripts run most, and the full CLI spends
~300 ms importing before it starts the engine. This path prints the same table or
IDs from the same list call (backends._listing, rendered by ocitool.render) in a
few tens of milliseconds of Python (docs/benchmarks.md, case e).

It handles only what it can do exactly as the full CLI would: the table or `-q`,
on docker or podman, with no settings file. For anything else it returns None
and the full CLI runs; so does a failed engine call, whose error the full CLI
maps to its one line and exit code as it always does.
"""

from __future__ import annotations

_SHORT_FLAGS = {"a": "all", "q": "quiet"}
_LONG_FLAGS = {"--all": "all", "--quiet": "quiet", "--no-trunc": "no_trunc"}


class _Request:
    def __init__(self) -> None:
        self.backend: str | None = None
        self.all = False
        self.quiet = False
        self.no_trunc = False


def images(args: list[str]) -> int | None:
    """The exit code, or None when the full CLI must run this command instead."""
    request = parse(args)
    name = _backend(request) if request is not None else None
    if request is None or name is None:
        return None
    from ocitool.errors import EXIT_INTERRUPTED, OcitoolError, report

    try:
        return _list(name, request)
    except OcitoolError as exc:  # a timeout, or the engine vanished: report once, not twice
        report(exc.one_line())
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        report("interrupted")
        return EXIT_INTERRUPTED


def _backend(request: _Request) -> str | None:
    """docker or podman, chosen as the full CLI would; None for anything it must do."""
    import os

    from ocitool.defaults import config_file

    if os.path.exists(config_file()):
        return None  # the settings file is validated by pydantic: the full CLI reads it
    from ocitool.backends import registry as backends
    from ocitool.errors import OcitoolError

    try:
        name = backends.choose(request.backend)
    except OcitoolError:
        return None  # the full CLI says why, as it always does
    return name if name in ("docker", "podman") else None  # oci: read in-process anyway


def parse(args: list[str]) -> _Request | None:
    """`[-b NAME] images [-a] [-q] [--no-trunc] [--format table]`, as typer would take
    them (global options before the command); anything else is the full CLI's."""
    request = _Request()
    rest = list(args)
    while rest and rest[0] != "images":
        option = rest.pop(0)
        if option in ("-b", "--backend") and rest:
            request.backend = rest.pop(0)
        elif option.startswith("--backend="):
            request.backend = option.removeprefix("--backend=")
        else:
            return None
    if not rest or not all(_take(option, request) for option in _table_format(rest[1:])):
        return None
    return request


def _table_format(options: list[str]) -> list[str]:
    """The options without `--format table`, which is the default; `--format` with
    anything else stays, to be refused by _take."""
    kept = []
    for index, option in enumerate(options):
        if option == "--format=table" or (
            option == "table" and index > 0 and options[index - 1] == "--format"
        ):
            continue
        if option == "--format" and options[index + 1 : index + 2] == ["table"]:
            continue
        kept.append(option)
    return kept


def _take(option: str, request: _Request) -> bool:
    """Set one flag (`-aq` is two); False for anything the quick path does not know."""
    if option in _LONG_FLAGS:
        setattr(request, _LONG_FLAGS[option], True)
        return True
    flags = option[1:]
    if option.startswith("--") or not option.startswith("-") or not flags:
        return False
    if not all(flag in _SHORT_FLAGS for flag in flags):
        return False
    for flag in flags:
        setattr(request, _SHORT_FLAGS[flag], True)
    return True


def _list(name: str, request: _Request) -> int | None:
    from ocitool.backends.registry import list_argv
    from ocitool.runner import Runner, resolve_timeout

    runner = Runner(timeout=resolve_timeout(None))
    # The engine starts first; what parses and prints its answer loads meanwhile.
    (result,), _ = runner.run_while([[name, *list_argv(all=request.all)]], _load_printing)
    from ocitool import render
    from ocitool.backends.common import listing as _listing
    from ocitool.listing import newest_first

    if not result.ok:
        return None
    try:
        found = newest_first(_listing.summaries(name, result.stdout))
    except Exception:  # unforeseen output: the full CLI names the call that printed it
        return None
    if request.quiet:
        render.print_lines(i.id for i in found)
    else:
        render.images_table(found, no_trunc=request.no_trunc)
    return 0


def _load_printing() -> None:
    from ocitool import render  # noqa: F401
    from ocitool.backends.common import listing as _listing  # noqa: F401
