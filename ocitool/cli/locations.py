"""Commands that read or change images where they live: `inspect LOCATION`, `tags`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ocitool.cli.options import CertDirOpt, Format, FormatOpt, TlsVerifyOpt, tls_value
from ocitool.cli.state import client
from ocitool.errors import UsageError


def inspect_locations(
    given: list[str],
    located: list[bool],
    format: Format,
    *,
    quiet: bool,
    raw: bool,
    config: bool,
    platform: str | None,
    tls_verify: str | None,
    cert_dir: Path | None,
) -> None:
    """`inspect` of registries, layouts and archives; --raw and --config print bytes."""
    from ocitool import render

    if not all(located):
        local = given[located.index(False)]
        raise UsageError(
            f"{local!r} is a local image; inspect reads local images or LOCATIONs, not both"
            if any(located)
            else f"--raw, --config and --platform read a LOCATION, and {local!r} is a local image",
            hint="give docker://HOST/REPO:TAG, oci:PATH:TAG, docker-archive:FILE or"
            " oci-archive:FILE",
        )
    if raw and config:
        raise UsageError("--raw and --config print different documents", hint="give one")
    verify = tls_value(tls_verify)
    if raw or config:
        if len(given) != 1:
            raise UsageError("--raw and --config print one document", hint="give one LOCATION")
        data = client().location_bytes(
            given[0], config=config, platform=platform, tls_verify=verify, cert_dir=cert_dir
        )
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    found = [
        client().inspect_location(where, platform=platform, tls_verify=verify, cert_dir=cert_dir)
        for where in given
    ]
    if quiet:
        render.print_lines(item.digest for item in found)
    elif format is Format.json:
        render.print_json(found)
    else:
        render.located_details(found)


def tags(
    repository: Annotated[
        str, typer.Argument(help="HOST/REPO", show_default=False, metavar="HOST/REPO")
    ],
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """List a repository's tags in a registry."""
    from ocitool import render

    found = client().tags(repository, tls_verify=tls_value(tls_verify), cert_dir=cert_dir)
    if format is Format.json:
        render.print_json(found)
    else:
        render.print_lines(found.tags or [])
