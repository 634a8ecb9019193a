"""`ocitool manifest ACTION LIST [ARG...]`: manifest lists built from local images."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ocitool.cli.options import CertDirOpt, Format, FormatOpt, TlsVerifyOpt, tls_value
from ocitool.cli.state import client
from ocitool.errors import UsageError


class Action(StrEnum):
    create = "create"
    add = "add"
    inspect = "inspect"
    push = "push"
    rm = "rm"


def manifest(
    action: Annotated[
        Action, typer.Argument(help="create, add, inspect, push or rm.", metavar="ACTION")
    ],
    name: Annotated[str, typer.Argument(help="The manifest list's NAME[:TAG].", metavar="LIST")],
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="create/add: local images; push: docker://HOST/REPO:TAG; rm: more lists.",
            show_default=False,
            metavar="ARG...",
        ),
    ] = None,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Build a manifest list (an index) from local images, show it, push it, remove it."""
    from ocitool import render

    c, rest = client(), args or []
    if action is Action.push:
        if len(rest) != 1:
            raise UsageError(
                "manifest push takes one destination",
                hint="ocitool manifest push LIST HOST/REPO:TAG",
            )
        pushed = c.manifest_push(name, rest[0], tls_verify=tls_value(tls_verify), cert_dir=cert_dir)
        if format is Format.json:
            render.print_json([pushed])  # an array, as every transfer prints (docs/json.md)
        else:
            render.transfers([pushed])
        return
    if action is Action.rm:
        render.print_lines(f"Removed: {n}" for n in c.manifest_remove(name, *rest))
        return
    if action is Action.inspect and rest:
        raise UsageError("manifest inspect takes one list", hint="ocitool manifest inspect LIST")
    if action is Action.create:
        found = c.manifest_create(name, *rest)
    elif action is Action.add:
        found = c.manifest_add(name, *rest)
    else:
        found = c.manifest_inspect(name)
    if format is Format.json:
        render.print_json(found)
    else:
        render.located_details([found])
