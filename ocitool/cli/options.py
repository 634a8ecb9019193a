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
    str, typer.Option("--progress", help="auto (a status line on a terminal), json or none.")
]

ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Replace what already has the name.")]
