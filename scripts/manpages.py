"""Write the man pages ocitool(1) and ocitool-COMMAND(1) from the CLI itself.

Every command's synopsis, description, arguments and options come from the typer
app (ocitool/cli/app.py and the command modules), and the exit codes from the
README's table, so the pages say what `--help` says. They are written to
man/man1/, and installed with the package into share/man/man1.

    .venv/bin/python scripts/manpages.py           # write man/man1/*.1
    .venv/bin/python scripts/manpages.py --check   # exit 1 when a page is out of date

`tests/test_manpages.py` runs the check, and `man` reads each page without a warning.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "man" / "man1"
sys.path.insert(0, str(ROOT))

ABOUT = (
    "ocitool drives docker's and podman's own command lines, and keeps a daemonless, "
    "rootless image store of its own (an OCI image layout written with umoci, containers "
    "run with runc), and turns all of them into one set of models: the same commands, "
    "the same JSON (--format json) and the same errors on every engine."
)
ENVIRONMENT = {
    "OCITOOL_BACKEND": "The backend when --backend is not given: docker, podman, oci or auto.",
    "OCITOOL_STORE": "The oci backend's store (--store overrides it).",
    "OCITOOL_CONFIG": "The configuration file, instead of ~/.config/ocitool/config.toml.",
    "OCITOOL_TIMEOUT": "Seconds each engine call and registry request may take (default 120).",
    "OCITOOL_RUN_TIMEOUT": "Seconds a run or a transfer may take in all (default 24 hours).",
    "OCITOOL_DEBUG": "1: as --debug.",
    "OCITOOL_LAYER_ENTRIES": "Paths per layer that layers --files keeps (default 500,000).",
    "DOCKER_HOST, CONTAINERS_CONF, CONTAINERS_STORAGE_CONF": "Passed on to the engines.",
}


def roff(text: str) -> str:
    """Text as roff reads it literally: backslashes, dashes, and a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line[:1] in (".", "'") else line for line in text.split("\n"))


def paragraphs(text: str) -> list[str]:
    out: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        out += [".PP", roff(block.strip())]
    return out[1:] if out else []


def header(name: str, version: str) -> list[str]:
    return [f'.TH {name.upper()} 1 "" "ocitool {version}" "ocitool manual"']


def options(params: list[Any], ctx: Any) -> list[str]:
    lines: list[str] = []
    for p in params:
        if p.param_type_name != "option" or p.hidden:
            continue
        record = p.get_help_record(ctx)
        if record:
            names, text = record
            lines += [".TP", f".B {roff(names)}", roff(" ".join(text.split()))]
    return lines


def arguments(params: list[Any]) -> tuple[list[str], list[str]]:
    """The synopsis words and the ARGUMENTS section."""
    words, lines = [], []
    for p in params:
        if p.param_type_name != "argument":
            continue
        word = p.name.upper() + ("..." if p.nargs == -1 else "")
        words.append(word if p.required else f"[{word}]")
        if getattr(p, "help", None):
            lines += [".TP", f".I {roff(word)}", roff(" ".join(p.help.split()))]
    return words, lines


def exit_codes() -> list[str]:
    """The README's exit-code table, one tagged paragraph a code."""
    readme = (ROOT / "README.md").read_text()
    section = readme.partition("\n## Exit codes\n")[2].partition("\n## ")[0]
    lines = []
    for row in re.findall(r"^\| (\d+) \| (.+?) \|\s*(.*?)\s*\|$", section, re.MULTILINE):
        code, meaning, classes = (re.sub(r"`([^`]*)`", r"\1", cell) for cell in row)
        text = meaning + (f". In Python: {classes}." if classes else ".")
        lines += [".TP", f".B {code}", roff(text)]
    return lines


def pages() -> dict[str, str]:
    """Every page's file name and text."""
    import typer.main

    from ocitool import __version__
    from ocitool.cli.app import COMMANDS, app

    group: Any = typer.main.get_command(app)
    ctx = group.context_class(group, info_name="ocitool")
    root = [
        *header("ocitool", __version__),
        ".SH NAME",
        roff(f"ocitool - {group.help}"),
        ".SH SYNOPSIS",
        ".B ocitool",
        "[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]...",
        ".SH DESCRIPTION",
        roff(ABOUT),
        ".SH OPTIONS",
        *options(group.params, ctx),
        ".SH COMMANDS",
    ]
    for name, entry in COMMANDS.items():
        root += [".TP", f".BR ocitool\\-{roff(name)} (1)", roff(entry.help)]
    root += [".SH EXIT STATUS", *exit_codes(), ".SH ENVIRONMENT"]
    for variable, text in ENVIRONMENT.items():
        root += [".TP", f".B {roff(variable)}", roff(text)]
    root += [
        ".SH FILES",
        ".TP",
        ".I ~/.config/ocitool/config.toml",
        "The configuration (docs/configuration.md in the source).",
        ".SH SEE ALSO",
        ".BR docker (1),",
        ".BR podman (1),",
        ".BR skopeo (1),",
        ".BR umoci (1)",
    ]
    out = {"ocitool.1": "\n".join(root) + "\n"}
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        sub = command.context_class(command, info_name=name, parent=ctx)
        words, args = arguments(command.params)
        help_text = command.help or COMMANDS[name].help
        first = help_text.partition("\n")[0]
        page = [
            *header(f"ocitool-{name}", __version__),
            ".SH NAME",
            roff(f"ocitool-{name} - {first.strip().rstrip('.')}"),
            ".SH SYNOPSIS",
            ".B ocitool",
            "[\\fIGLOBAL OPTIONS\\fR]",
            f".B {roff(name)}",
            roff(" ".join(["[OPTIONS]", *words])),
            ".SH DESCRIPTION",
            *paragraphs(help_text),
        ]
        if args:
            page += [".SH ARGUMENTS", *args]
        page += [".SH OPTIONS", *options(command.params, sub)]
        page += [".SH SEE ALSO", ".BR ocitool (1)"]
        out[f"ocitool-{name}.1"] = "\n".join(page) + "\n"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether they are current")
    args = parser.parse_args()
    wanted = pages()
    present = {p.name: p.read_text() for p in OUT.glob("*.1")} if OUT.is_dir() else {}
    stale = sorted(n for n in wanted.keys() | present.keys() if wanted.get(n) != present.get(n))
    if args.check:
        if stale:
            sys.exit(f"out of date: {', '.join(stale)} (run: python scripts/manpages.py)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for name in stale:
        if name in wanted:
            (OUT / name).write_text(wanted[name])
        else:
            (OUT / name).unlink()
    print(f"{len(wanted)} pages in {OUT.relative_to(ROOT)}, {len(stale)} written or removed")


if __name__ == "__main__":
    main()
