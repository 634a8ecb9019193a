"""The options several commands share, as typer annotations."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Format(StrEnum):
    table = "table"
    json = "json"


FormatOpt = Annotated[Format, typer.Option("--format", help="table, or one JSON document.")]

ReportOpt = Annotated[
    Format,
    typer.Option(
        "--report", help="table, or the result as one JSON document (--format is the archive's)."
    ),
]

FilterOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filter", "-f", help="KEY=VALUE, repeatable.", metavar="KEY=VALUE", show_default=False
    ),
]

QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print IDs only.")]

NoTruncOpt = Annotated[bool, typer.Option("--no-trunc", help="Do not shorten IDs.")]

ChangeOpt = Annotated[
    list[str] | None,
    typer.Option("--change", "-c", help="A Dockerfile instruction to apply (CMD, ENV ...)."),
]

ContainersArg = Annotated[
    list[str], typer.Argument(help="Container names or IDs.", show_default=False)
]

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
    str,
    typer.Option(
        "--progress", help="auto (bytes and rate on a terminal), json (lines on stderr) or none."
    ),
]

ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Replace what already has the name.")]

PlatformOpt = Annotated[
    str | None,
    typer.Option(
        "--platform",
        help="os/arch[/variant] of an index to use (default: this host's).",
        metavar="OS/ARCH",
        show_default=False,
    ),
]


def tls_value(verify: str | None) -> bool | None:
    """--tls-verify's text as a choice; None when not given (the config decides)."""
    if verify is None:
        return None
    if verify.lower() in ("true", "1", "yes"):
        return True
    if verify.lower() in ("false", "0", "no"):
        return False
    from ocitool.errors import UsageError

    raise UsageError(f"--tls-verify={verify!r}", hint="use --tls-verify=true or --tls-verify=false")
