"""The container verbs: logs, exec, cp, container inspect, wait, kill, export."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ocitool.cli.options import ContainersArg, Format, FormatOpt, QuietOpt
from ocitool.cli.state import client

ContainerArg = Annotated[str, typer.Argument(help="Container name or ID.", show_default=False)]


def logs(
    container: ContainerArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the container exits.")
    ] = False,
    tail: Annotated[
        int | None, typer.Option("--tail", "-n", help="Only the last N lines.", metavar="N")
    ] = None,
    timestamps: Annotated[
        bool, typer.Option("--timestamps", help="Start each line with its time (UTC).")
    ] = False,
) -> None:
    """Print what a container wrote to stdout and stderr."""
    client().logs(container, follow=follow, tail=tail, timestamps=timestamps, terminal=True)


def exec_(
    container: ContainerArg,
    command: Annotated[
        list[str], typer.Argument(help="Command and arguments.", show_default=False)
    ],
    interactive: Annotated[
        bool, typer.Option("--interactive", "-i", help="Keep stdin open.")
    ] = False,
    tty: Annotated[bool, typer.Option("--tty", "-t", help="Allocate a terminal.")] = False,
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="USER[:GROUP], by name or number.")
    ] = None,
    workdir: Annotated[
        str | None, typer.Option("--workdir", "-w", help="Working directory (absolute).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE.")] = None,
) -> None:
    """Run a command in a running container; exits with the command's exit code."""
    done = client().exec(
        container,
        command,
        interactive=interactive,
        tty=tty,
        user=user,
        workdir=workdir,
        env=env or [],
        terminal=True,
    )
    raise typer.Exit(done.exit_code)


def cp(
    source: Annotated[
        str, typer.Argument(help="CONTAINER:PATH, or a host path.", show_default=False)
    ],
    destination: Annotated[
        str, typer.Argument(help="A host path, or CONTAINER:PATH.", show_default=False)
    ],
) -> None:
    """Copy files between a container (running or stopped) and the host."""
    client().cp(source, destination)


container_app = typer.Typer(
    name="container",
    help="Container commands that share a name with image ones.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@container_app.command("inspect")
def inspect(
    containers: ContainersArg, format: FormatOpt = Format.table, quiet: QuietOpt = False
) -> None:
    """Show containers in detail: state, exit code, command, image, times, mounts, user,
    workdir and env."""
    from ocitool import render

    found = client().inspect_containers(*containers)
    if quiet:
        render.print_lines(c.id for c in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.container_details(found)


def wait(containers: ContainersArg) -> None:
    """Wait for containers to exit; print each one's exit code."""
    for code in client().wait(*containers):
        print(code)


def kill(
    containers: ContainersArg,
    signal: Annotated[
        str, typer.Option("--signal", "-s", help="A signal name (TERM, KILL, ...) or number.")
    ] = "KILL",
) -> None:
    """Send a signal to running containers (KILL unless -s says otherwise)."""
    client().kill(*containers, signal=signal)
    for name in containers:
        print(name)


def export(
    container: ContainerArg,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The tar file to write.", show_default=False)
    ],
) -> None:
    """Write a container's filesystem to a tar file."""
    client().export(container, output)
