"""The `ocitool` command line: parse options, call the Client, render.

No engine logic lives here. Errors become one line on stderr and a documented
exit code (ocitool.errors); a traceback appears only with --debug.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ocitool import __version__
from ocitool.entry import enable_debug

if TYPE_CHECKING:
    from ocitool.client import Client
    from ocitool.models import Image, TransferResult
    from ocitool.progress import Progress

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
ChangeOpt = Annotated[
    list[str] | None,
    typer.Option("--change", "-c", help="A Dockerfile instruction to apply (CMD, ENV ...)."),
]
ContainersArg = Annotated[
    list[str], typer.Argument(help="Container names or IDs.", show_default=False)
]


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
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="The oci backend's image store (or OCITOOL_STORE).",
            metavar="PATH",
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
    if store is not None:
        os.environ["OCITOOL_STORE"] = str(store)  # beats the config file, as the flag should
    if debug:
        enable_debug()
    _show_notes()


@app.command()
def images(
    all: Annotated[bool, typer.Option("--all", "-a", help="Include intermediate images.")] = False,
    format: FormatOpt = Format.table,
    quiet: QuietOpt = False,
    no_trunc: NoTruncOpt = False,
) -> None:
    """List local images, one entry per image ID."""
    from ocitool import render

    if format is Format.json and not quiet:
        render.print_json(client().images(all=all))
        return
    found = client().image_summaries(all=all)  # one list call; ocitool.quick prints the same
    if quiet:
        render.print_lines(i.id for i in found)
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


@app.command("import")
def import_(
    tarball: Annotated[Path, typer.Argument(help="A rootfs tar archive.", show_default=False)],
    name: Annotated[str, typer.Argument(help="NAME[:TAG] for the new image.", show_default=False)],
    message: Annotated[
        str | None, typer.Option("--message", "-m", help="Commit message (default: the file).")
    ] = None,
    change: ChangeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Import a rootfs tarball as a one-layer image."""
    image = client().import_image(tarball, name, message=message, changes=change or [])
    _print_image(image, format)


@app.command("run", context_settings={"allow_interspersed_args": False})
def run_(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    command: Annotated[
        list[str] | None, typer.Argument(help="Command and arguments.", show_default=False)
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Container name.")] = None,
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Keep stdin open.")
    ] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Allocate a terminal.")] = False,
    rm: Annotated[bool, typer.Option("--rm", help="Remove the container when it exits.")] = False,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="Run in the background.")] = False,
    network: Annotated[str | None, typer.Option("--network", help="e.g. none, host.")] = None,
    pull: Annotated[str, typer.Option("--pull", help="always, missing or never.")] = "missing",
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE.")] = None,
) -> None:
    """Run a command in a new container; exits with the command's exit code."""
    result = client().run(
        image,
        command or [],
        name=name,
        interactive=interactive,
        tty=tty,
        remove=rm,
        detach=detach,
        network=network,
        pull=pull,  # type: ignore[arg-type]
        env=env or [],
        terminal=True,
    )
    if detach:
        print(result.id)
    raise typer.Exit(result.exit_code or 0)


@app.command()
def start(containers: ContainersArg) -> None:
    """Start stopped containers in the background."""
    client().start(*containers)
    _print_lines(containers)


@app.command()
def stop(
    containers: ContainersArg,
    time: Annotated[
        int | None, typer.Option("--time", "-t", help="Seconds to wait before killing.")
    ] = None,
) -> None:
    """Stop running containers."""
    client().stop(*containers, timeout=time)
    _print_lines(containers)


@app.command("rm")
def rm_(
    containers: ContainersArg,
    force: Annotated[bool, typer.Option("--force", "-f", help="Stop running ones first.")] = False,
) -> None:
    """Remove containers (only the ones named)."""
    client().remove(*containers, force=force)
    _print_lines(containers)


@app.command()
def commit(
    container: Annotated[str, typer.Argument(help="Container name or ID.", show_default=False)],
    name: Annotated[str, typer.Argument(help="NAME[:TAG] for the new image.", show_default=False)],
    author: Annotated[str | None, typer.Option("--author", "-a", help="Author.")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="Commit message.")] = None,
    change: ChangeOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Create an image from a container's changes."""
    image = client().commit(container, name, author=author, message=message, changes=change or [])
    _print_image(image, format)


@app.command()
def tag(
    source: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    target: Annotated[str, typer.Argument(help="New NAME[:TAG].", show_default=False)],
    format: FormatOpt = Format.table,
) -> None:
    """Give an image another name."""
    image = client().tag(source, target)
    if format is Format.json:
        from ocitool import render

        render.print_json(image)


@app.command()
def rmi(
    image: Annotated[list[str], typer.Argument(help="Image names or IDs.", show_default=False)],
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Remove every tag of an image named by ID.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would happen; change nothing.")
    ] = False,
    rm_containers: Annotated[
        bool, typer.Option("--rm-containers", help="Also remove containers using the images.")
    ] = False,
    format: FormatOpt = Format.table,
) -> None:
    """Remove images: what was untagged, what was deleted, and what space was freed.

    Containers are never removed unless --rm-containers is given; with
    --dry-run the exit code says whether the removal would go ahead.
    """
    from ocitool import render
    from ocitool.client import blocked_error

    c = client()
    result = c.rmi(*image, force=force, dry_run=dry_run, remove_containers=rm_containers)
    if format is Format.json:
        render.print_json(result)
    else:
        render.removal(result)
    if result.blocked:
        raise typer.Exit(blocked_error(result.blocked, c.backend_name).exit_code)


def _print_image(image: Image, format: Format) -> None:
    from ocitool import render

    if format is Format.json:
        render.print_json(image)
    else:
        render.print_lines([image.id])


def _print_lines(lines: list[str]) -> None:
    from ocitool import render

    render.print_lines(lines)


TlsVerifyOpt = Annotated[
    str | None,
    typer.Option(
        "--tls-verify",
        help="false: skip TLS verification (or use plain HTTP).",
        metavar="BOOL",
        show_default=False,
    ),
]
CertDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--cert-dir",
        help="A folder with the registry's CA (*.crt).",
        metavar="DIR",
        show_default=False,
    ),
]
ProgressOpt = Annotated[
    str, typer.Option("--progress", help="auto (a status line on a terminal), json or none.")
]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Replace what already has the name.")]


def _tls(verify: str | None) -> bool | None:
    if verify is None:
        return None
    if verify.lower() in ("true", "1", "yes"):
        return True
    if verify.lower() in ("false", "0", "no"):
        return False
    from ocitool.errors import UsageError

    raise UsageError(f"--tls-verify={verify!r}", hint="use --tls-verify=true or --tls-verify=false")


def _progress(mode: str) -> Progress:
    from ocitool.errors import UsageError
    from ocitool.progress import Progress

    if mode not in ("auto", "json", "none"):
        raise UsageError(f"--progress={mode!r}", hint="use auto, json or none")
    return Progress(mode)  # type: ignore[arg-type]


def _print_transfers(results: list[TransferResult], format: Format) -> None:
    from ocitool import render

    if format is Format.json:
        render.print_json(results if len(results) != 1 else results[0])
    else:
        render.transfers(results)


@app.command()
def push(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    destination: Annotated[
        str | None, typer.Argument(help="HOST/REPO:TAG (default: the image's name).")
    ] = None,
    force: ForceOpt = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
) -> None:
    """Push an image to a registry."""
    moves = client().transfers(tls_verify=_tls(tls_verify), cert_dir=cert_dir)
    with _progress(progress) as shown:
        result = moves.push(image, destination, force=force, on_event=shown)
    _print_transfers([result], format)


@app.command()
def pull(
    reference: Annotated[str, typer.Argument(help="[HOST/]REPO:TAG", show_default=False)],
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
) -> None:
    """Pull an image from a registry into the selected backend."""
    moves = client().transfers(tls_verify=_tls(tls_verify), cert_dir=cert_dir)
    with _progress(progress) as shown:
        result = moves.pull(reference, on_event=shown)
    _print_transfers([result], format)


@app.command()
def copy(
    source: Annotated[str, typer.Argument(help="Where from (see README: Locations).")],
    destination: Annotated[str, typer.Argument(help="Where to.")],
    force: ForceOpt = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
) -> None:
    """Copy an image between engines, registries, OCI layouts and archives."""
    moves = client().transfers(tls_verify=_tls(tls_verify), cert_dir=cert_dir)
    with _progress(progress) as shown:
        result = moves.copy(source, destination, force=force, on_event=shown)
    _print_transfers([result], format)


@app.command()
def save(
    image: Annotated[list[str], typer.Argument(help="Image names or IDs.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The archive to write.")],
    archive_format: Annotated[
        str, typer.Option("--format", help="docker-archive or oci-archive.")
    ] = "docker-archive",
    force: ForceOpt = False,
    progress: ProgressOpt = "auto",
) -> None:
    """Save images to one archive file."""
    moves = client().transfers()
    with _progress(progress) as shown:
        result = moves.save(
            image, output, archive_format=archive_format, force=force, on_event=shown
        )
    _print_transfers([result], Format.table)


@app.command()
def load(
    input: Annotated[Path, typer.Option("--input", "-i", help="The archive to read.")],
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
) -> None:
    """Load every image in a docker or OCI archive, with its names."""
    moves = client().transfers()
    with _progress(progress) as shown:
        results = moves.load(input, on_event=shown)
    _print_transfers(results, format)


@app.command()
def search(
    term: Annotated[str, typer.Argument(help="Part of a repository name, or HOST/REPO.")],
    registry: Annotated[
        str | None, typer.Option("--registry", help="A v2 registry HOST[:PORT] to search.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many results.")] = 25,
    tags: Annotated[bool, typer.Option("--tags", help="List each repository's tags.")] = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Search a registry's repositories (or Docker Hub, through the engine)."""
    from ocitool import render

    found = client().search(
        term,
        registry=registry,
        limit=limit,
        tags=tags,
        tls_verify=_tls(tls_verify),
        cert_dir=cert_dir,
    )
    if format is Format.json:
        render.print_json(found)
    else:
        render.search_table(found, tags=tags)


@app.command()
def login(
    registry: Annotated[str, typer.Argument(help="HOST[:PORT]", show_default=False)],
    username: Annotated[str, typer.Option("--username", "-u", help="The user name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin (required).")
    ] = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
) -> None:
    """Log in to a registry, for docker, podman, skopeo and ocitool alike."""
    from ocitool.errors import UsageError

    if not password_stdin:
        raise UsageError(
            "the password is read from stdin only",
            hint="printf '%s' \"$PASSWORD\" | ocitool login HOST -u USER --password-stdin",
        )
    password = sys.stdin.read().rstrip("\r\n")
    written = client().login(
        registry, username, password, tls_verify=_tls(tls_verify), cert_dir=cert_dir
    )
    print(f"Login Succeeded (saved to {', '.join(str(p) for p in written)})")


@app.command()
def logout(
    registry: Annotated[str, typer.Argument(help="HOST[:PORT]", show_default=False)],
) -> None:
    """Forget the credentials for a registry."""
    from ocitool.client import Client

    if Client.logout(registry):
        print(f"Removed login credentials for {registry}")
    else:
        print(f"Not logged in to {registry}")


@app.command()
def layers(
    image: Annotated[str, typer.Argument(help="Image name or ID.", show_default=False)],
    files: Annotated[
        bool, typer.Option("--files", help="What each layer adds, changes and removes.")
    ] = False,
    ci: Annotated[
        bool, typer.Option("--ci", help="Exit 11 when a threshold is crossed (with --files).")
    ] = False,
    lowest_efficiency: Annotated[
        float, typer.Option("--lowest-efficiency", help="--ci fails below this (0-1).")
    ] = 0.9,
    highest_wasted_bytes: Annotated[
        str, typer.Option("--highest-wasted-bytes", help="--ci fails above this, e.g. 10MB.")
    ] = "10MB",
    format: FormatOpt = Format.table,
) -> None:
    """An image's layers: who shares them, and with --files, what is in them."""
    from ocitool import render

    if not files:
        rows = client().layers(image)
        render.print_json(rows) if format is Format.json else render.layers_table(rows)
        if ci:
            from ocitool.errors import UsageError

            raise UsageError("--ci needs --files", hint="ocitool layers IMAGE --files --ci")
        return
    analysis = client().layer_files(image)
    if format is Format.json:
        render.print_json(analysis)
    else:
        render.file_analysis(analysis)
    if ci:
        limit = render.parse_size(highest_wasted_bytes)
        failures = []
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


@app.command()
def du(format: FormatOpt = Format.table) -> None:
    """Each image's size, shared size, and unique size (what removing it alone frees)."""
    from ocitool import render

    report = client().du()
    render.print_json(report) if format is Format.json else render.usage_table(report)


app.command("df", help="The same as du.")(du)


@app.command()
def tree(format: FormatOpt = Format.table) -> None:
    """The images' family tree: each image under the one whose layers it builds on."""
    from ocitool import render

    nodes = client().tree()
    render.print_json(nodes) if format is Format.json else render.tree(nodes)


@app.command()
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


@app.command()
def backends(format: FormatOpt = Format.table) -> None:
    """Show each engine: found, version, rootless, reachable, and why not."""
    from ocitool import render
    from ocitool.client import Client

    infos = Client.survey(requested=state.backend)
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


def _show_notes() -> None:
    """Notes (a moved tag, a partial removal) go to stderr as one line each."""
    notes = logging.getLogger("ocitool.notes")
    if not notes.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ocitool: note: %(message)s"))
        notes.addHandler(handler)
        notes.propagate = False


def execute(args: list[str], *, debug: bool = False) -> int:
    """Run the app; every failure becomes one line on stderr and a documented exit code."""
    from ocitool.errors import EXIT_ENGINE, EXIT_INTERRUPTED, EXIT_USAGE, OcitoolError

    seen, previous = _watch_interrupts()
    try:
        result = app(args=args or ["--help"], prog_name="ocitool", standalone_mode=False)
        if result == EXIT_INTERRUPTED and seen:
            # typer turns a Ctrl-C it catches into a bare exit code 130, unsaid.
            raise KeyboardInterrupt
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
    except Exception as exc:  # a bug: still one line, the traceback behind --debug
        if debug:
            logging.getLogger("ocitool").exception("unexpected error")
        _error(
            f"unexpected error: {type(exc).__name__}: {str(exc)[:300]} "
            "(hint: rerun with --debug for the traceback, and please report it)"
        )
        return EXIT_ENGINE
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    return result if isinstance(result, int) else 0


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


def _error(line: str) -> None:
    from ocitool.errors import report

    report(line)
