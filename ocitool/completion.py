"""Shell completion: a spec of every command read from the CLI, and the bash, zsh and
fish scripts that carry it.

The script holds the commands, their options and what each option and argument
takes, so completing a command or an option starts no process at all. Only local
image and container names need ocitool: the script runs `ocitool __complete
images|containers` (`names` below), which lists them with the engine's one list
call and never loads typer or rich (nor pydantic, for images).
"""

from __future__ import annotations

import os
import sys
from typing import Any, NamedTuple

SHELLS = ("bash", "zsh", "fish")

# What the arguments that take a name complete with, by the CLI's parameter name.
ARGUMENT_KINDS = {
    "image": "image",
    "source": "image",
    "a": "image",
    "b": "image",
    "container": "container",
    "containers": "container",
    "tarball": "file",
    "context": "dir",  # build's CONTEXT
}
# Values of options whose type does not list them (a plain str in the CLI).
OPTION_VALUES = {
    "--backend": "docker podman oci auto",
    "--pull": "always missing never",
    "--tls-verify": "true false",
    "--progress": "auto json none",
    "save --format": "docker-archive oci-archive",
    "--format": "table json",  # or a Go template, which no list can offer
}
DIRECTORIES = {"--store", "--cert-dir"}  # options whose path is a folder
NAME_TIMEOUT = "3"  # seconds an engine may take to list names while a user waits at a TAB


class Row(NamedTuple):
    """One line of the spec: `command<TAB>field<TAB>value`; command "" is the root."""

    command: str
    field: str
    value: str


def spec() -> list[Row]:
    """Every command's options and arguments, read from the typer app (once, when the
    script is made)."""
    import typer.main

    from ocitool.cli.app import COMMANDS, app

    group: Any = typer.main.get_command(app)  # the LazyGroup of ocitool.cli.app
    ctx = group.context_class(group, info_name="ocitool")
    rows = [Row("", "commands", " ".join(COMMANDS))]
    rows += _params("", group.params)
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        rows += _params(name, command.params)
        if not (command.context_settings or {}).get("allow_interspersed_args", True):
            rows.append(Row(name, "stop", "1"))  # options after the first argument are not ours
    return rows


def _params(command: str, params: list[Any]) -> list[Row]:
    options, valued, args, rows = ["--help", "-h"], [], [], []
    for p in params:
        if p.param_type_name == "argument":
            choices = getattr(p.type, "choices", None)
            kind = "one-of:" + ",".join(choices) if choices else ARGUMENT_KINDS.get(p.name, "none")
            args.append(kind + ("..." if p.nargs == -1 else ""))
            continue
        names = [*p.opts, *p.secondary_opts]
        options += names
        if p.is_flag:
            continue
        valued += names
        values = _values(command, p)
        rows += [Row(command, f"values{n}", values) for n in names if values]
    rows += [Row(command, "options", " ".join(options)), Row(command, "valued", " ".join(valued))]
    if args:
        rows.append(Row(command, "args", " ".join(args)))
    return rows


def _values(command: str, param: Any) -> str:
    choices = getattr(param.type, "choices", None)
    if choices:
        return " ".join(str(c) for c in choices)
    kind = type(param.type).__name__
    if kind.endswith("Path"):
        return "@dir" if DIRECTORIES & set(param.opts) else "@file"
    keys = [k for n in param.opts for k in (f"{command} {n}", n)]
    return next((OPTION_VALUES[k] for k in keys if k in OPTION_VALUES), "")


def script(shell: str) -> str:
    """The completion script for `shell`, with the spec in it."""
    from importlib import resources

    folder = resources.files("ocitool").joinpath("completions")
    table = "\n".join("\t".join(row) for row in spec()).replace("'", "'\\''")
    common = folder.joinpath("common.sh").read_text().replace("@SPEC@", table)
    if shell == "fish":  # inside a fish string in single quotes
        common = common.replace("\\", "\\\\").replace("'", "\\'")
    return folder.joinpath(f"ocitool.{shell}").read_text().replace("@COMMON@", common)


def names(args: list[str]) -> int:
    """`ocitool __complete images|containers [ROOT OPTION...]`: one name a line, from the
    engine the same root options (and environment) choose for a real command
    (ocitool.cli.state.use), nothing at all when the engine cannot say (a TAB is no
    place for an error)."""
    from ocitool.cli.state import client, root_options, use

    kind = args[0] if args else ""
    os.environ["OCITOOL_TIMEOUT"] = NAME_TIMEOUT
    try:
        use(**root_options(args[1:]))
        if kind == "images":
            found = [n for i in client().image_summaries() for n in (i.names or [i.id[7:19]])]
        elif kind == "containers":
            found = [c.name for c in client().containers(all=True)]
        else:
            return 2
    except Exception:  # any failure: no names, no noise
        return 0
    sys.stdout.write("".join(f"{n}\n" for n in found))
    return 0
