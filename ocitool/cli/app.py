"""The root of the command line: global options, the command table, and `execute`.

Every command takes this one road. The table below names each command's
module and one-line help, so `ocitool --help` lists them without importing
any, and a command's own module (and its options) is built only when that
command runs. Errors become one line on stderr and a documented exit code
(ocitool.errors); a traceback appears only with --debug.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated, Any, NamedTuple, cast

import typer
from typer.core import TyperGroup

from ocitool import __version__, notes
from ocitool.cli.state import use
from ocitool.debuglog import enable_debug


class Entry(NamedTuple):
    module: str  # under ocitool.cli
    function: str
    help: str
    settings: dict[str, Any] | None = None


COMMANDS: dict[str, Entry] = {
    "images": Entry("reads", "images", "List local images, one entry per image ID."),
    "inspect": Entry("reads", "inspect", "Show images in detail (all read with one engine call)."),
    "history": Entry("reads", "history", "Show an image's history, newest step first."),
    "ps": Entry("reads", "ps", "List containers (running ones unless --all)."),
    "container": Entry("containers", "container_app", "Container commands: inspect."),
    "logs": Entry("containers", "logs", "Print a container's output (-f follows it)."),
    "exec": Entry(
        "containers",
        "exec_",
        "Run a command in a running container.",
        {"allow_interspersed_args": False},
    ),
    "cp": Entry("containers", "cp", "Copy files between a container and the host."),
    "wait": Entry("containers", "wait", "Wait for containers to exit; print their exit codes."),
    "kill": Entry("containers", "kill", "Send a signal to running containers."),
    "export": Entry("containers", "export", "Write a container's filesystem to a tar file."),
    "import": Entry("lifecycle", "import_", "Import a rootfs tarball as a one-layer image."),
    "run": Entry(
        "lifecycle",
        "run_",
        "Run a command in a new container; exits with the command's exit code.",
        {"allow_interspersed_args": False},
    ),
    "start": Entry("lifecycle", "start", "Start stopped containers in the background."),
    "stop": Entry("lifecycle", "stop", "Stop running containers."),
    "rm": Entry("lifecycle", "rm_", "Remove containers (only the ones named)."),
    "commit": Entry("lifecycle", "commit", "Create an image from a container's changes."),
    "build": Entry("build", "build", "Build an image from a Dockerfile, on every backend."),
    "tag": Entry("lifecycle", "tag", "Give an image another name."),
    "rmi": Entry("lifecycle", "rmi", "Remove images: what was untagged, deleted and freed."),
    "prune": Entry("prune", "prune", "Remove old tags and dangling images; the bytes exact."),
    "push": Entry("distribution", "push", "Push an image to a registry."),
    "pull": Entry("distribution", "pull", "Pull an image from a registry into the backend."),
    "copy": Entry(
        "distribution", "copy", "Copy an image between engines, registries, layouts, archives."
    ),
    "save": Entry("distribution", "save", "Save images to one archive file."),
    "load": Entry("distribution", "load", "Load every image in an archive, with its names."),
    "search": Entry("distribution", "search", "Search a registry (or Docker Hub, via the engine)."),
    "manifest": Entry(
        "manifests",
        "manifest",
        "Build a manifest list of local images: create, add, inspect, push, rm.",
    ),
    "tags": Entry("locations", "tags", "List a repository's tags in a registry."),
    "login": Entry("distribution", "login", "Log in to a registry, for every engine alike."),
    "logout": Entry("distribution", "logout", "Forget the credentials for a registry."),
    "layers": Entry("structure", "layers", "An image's layers: who shares them, what is in them."),
    "du": Entry("structure", "du", "Each image's size, shared size and unique size."),
    "df": Entry("structure", "du", "The same as du."),
    "tree": Entry("structure", "tree", "The images' family tree by shared layers."),
    "diff": Entry("structure", "diff", "What changes from image A to image B."),
    "mutate": Entry("edits", "mutate", "A new image with its config changed (no new layer)."),
    "append": Entry("edits", "append", "A new image with a tarball as one more layer."),
    "flatten": Entry("edits", "flatten", "A new image of one layer with the same files."),
    "backends": Entry("about", "backends", "Each engine: found, version, reachable, capabilities."),
    "schema": Entry("about", "schema", "Print the JSON Schema of ocitool's models."),
    "completion": Entry("shell", "completion", "Print the completion script for bash, zsh, fish."),
}


class LazyGroup(TyperGroup):
    """A typer group whose commands are built from the table when one is invoked."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        import importlib

        from typer.main import get_command_from_info
        from typer.models import CommandInfo

        callback = getattr(importlib.import_module(f"ocitool.cli.{entry.module}"), entry.function)
        if isinstance(callback, typer.Typer):  # a group of its own: `container inspect`
            from typer.main import get_group

            return get_group(callback)
        info = CommandInfo(
            name=cmd_name,
            callback=callback,
            help=None if cmd_name != "df" else entry.help,
            context_settings=entry.settings,
        )
        return get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """The command list from the table: `--help` builds no command."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        cast(dict[str, Any], self.commands).update(dict.fromkeys(COMMANDS))  # for suggestions
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="ocitool",
    cls=LazyGroup,
    help="Manage container images the same way on docker, podman and an OCI store.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="The oci backend's image store (or OCITOOL_STORE).",
            metavar="PATH",
            show_default=False,
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            "-H",
            help="The engine's endpoint: unix://, tcp:// or ssh:// (docker's -H, podman's --url).",
            metavar="URL",
            show_default=False,
        ),
    ] = None,
    connection: Annotated[
        str | None,
        typer.Option(
            "--connection",
            help="A docker context or podman system connection to reach the engine by.",
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
    use(
        backend=backend,
        store=str(store) if store is not None else None,
        host=host,
        connection=connection,
    )
    if debug:
        enable_debug()
    notes.to_stderr()  # a moved tag, a partial removal: one line each


def execute(args: list[str], *, debug: bool = False) -> int:
    """Run the app; every failure becomes one line on stderr and a documented exit code."""
    from ocitool.errors import EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_USAGE, OcitoolError, report

    seen, previous = _watch_interrupts()
    try:
        result = app(args=args or ["--help"], prog_name="ocitool", standalone_mode=False)
        if result == EXIT_INTERRUPTED and seen:
            # typer turns a Ctrl-C it catches into a bare exit code 130, unsaid.
            raise KeyboardInterrupt
    except OcitoolError as exc:
        if debug:
            _log_traceback("failed")
        report(exc.one_line())
        return exc.exit_code
    except typer.TyperException as exc:  # click's usage errors
        report(_usage_line(exc))
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except (KeyboardInterrupt, typer.Abort):
        report("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, the traceback behind --debug
        if debug:
            _log_traceback("unexpected error")
        report(
            f"unexpected error: {type(exc).__name__}: {str(exc)[:300]} "
            "(hint: rerun with --debug for the traceback, and please report it)"
        )
        return EXIT_ENGINE
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return result if isinstance(result, int) else 0


def _usage_line(exc: typer.TyperException) -> str:
    """click's usage error as one line; what it would echo of `login`'s extra arguments
    (a password typed as one) is never shown."""
    message = exc.format_message()
    context = getattr(exc, "ctx", None)
    if message.startswith("Got unexpected extra argument") and (
        context is not None and context.info_name == "login"
    ):
        return (
            "login takes one HOST and no other argument (the extra ones are not shown:"
            " a password is never taken as an argument) (hint: printf '%s' \"$PASSWORD\""
            " | ocitool login HOST -u USER --password-stdin)"
        )
    return f"{message} (hint: see 'ocitool --help')"


def _log_traceback(what: str) -> None:
    import logging

    logging.getLogger("ocitool").exception(what)


def _watch_interrupts() -> tuple[list[int], Any]:
    """Ctrl-C raises KeyboardInterrupt as ever, and is also noted in the returned
    list, so an interrupt typer swallowed can still be reported; with the handler
    it replaced (None where signals cannot be handled: not the main thread)."""
    seen: list[int] = []

    def interrupted(signum: int, frame: object) -> None:
        seen.append(signum)
        raise KeyboardInterrupt

    try:
        return seen, signal.signal(signal.SIGINT, interrupted)
    except ValueError:
        return seen, None
