"""Moving images: push, pull, copy, save, load; and search, login, logout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ocitool.cli.formats import TemplateFormatOpt
from ocitool.cli.options import (
    CertDirOpt,
    ForceOpt,
    Format,
    FormatOpt,
    PlatformOpt,
    ProgressOpt,
    ReportOpt,
    TlsVerifyOpt,
)
from ocitool.cli.options import tls_value as _tls
from ocitool.cli.state import client

if TYPE_CHECKING:
    from ocitool.models import TransferResult
    from ocitool.progress import Progress


def _progress(mode: str) -> Progress:
    from ocitool.errors import UsageError
    from ocitool.progress import Progress

    if mode not in ("auto", "json", "none"):
        raise UsageError(f"--progress={mode!r}", hint="use auto, json or none")
    return Progress(mode)  # type: ignore[arg-type]


def _print_transfers(results: list[TransferResult], format: Format) -> None:
    """Every transfer command prints the same JSON shape, an array of TransferResult,
    whether it moved one image or several (docs/json.md)."""
    from ocitool import render

    if format is Format.json:
        render.print_json(results)
    else:
        render.transfers(results)


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
        result = moves.push(image, destination, force=force, on_event=shown.events)
    _print_transfers([result], format)


def pull(
    reference: Annotated[str, typer.Argument(help="[HOST/]REPO:TAG", show_default=False)],
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
    platform: PlatformOpt = None,
) -> None:
    """Pull an image from a registry into the selected backend."""
    moves = client().transfers(tls_verify=_tls(tls_verify), cert_dir=cert_dir, platform=platform)
    with _progress(progress) as shown:
        result = moves.pull(reference, on_event=shown.events)
    _print_transfers([result], format)


def copy(
    source: Annotated[
        str,
        typer.Argument(
            help="Where from: NAME, docker:NAME, podman:NAME, oci:NAME, oci:PATH:TAG, "
            "docker://HOST/REPO:TAG, docker-archive:FILE[:NAME] or oci-archive:FILE[:NAME]."
        ),
    ],
    destination: Annotated[str, typer.Argument(help="Where to.")],
    force: ForceOpt = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
    platform: PlatformOpt = None,
    all_platforms: Annotated[
        bool,
        typer.Option(
            "--all", "-a", help="Copy an index with every image it names, digests unchanged."
        ),
    ] = False,
) -> None:
    """Copy an image between engines, registries, OCI layouts and archives."""
    moves = client().transfers(
        tls_verify=_tls(tls_verify),
        cert_dir=cert_dir,
        platform=platform,
        all_platforms=all_platforms,
    )
    with _progress(progress) as shown:
        result = moves.copy(source, destination, force=force, on_event=shown.events)
    _print_transfers([result], format)


def save(
    image: Annotated[list[str], typer.Argument(help="Image names or IDs.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The archive to write.")],
    archive_format: Annotated[
        str, typer.Option("--format", help="docker-archive or oci-archive.")
    ] = "docker-archive",
    force: ForceOpt = False,
    progress: ProgressOpt = "auto",
    report: ReportOpt = Format.table,
) -> None:
    """Save images to one archive file."""
    moves = client().transfers()
    with _progress(progress) as shown:
        result = moves.save(
            image, output, archive_format=archive_format, force=force, on_event=shown.events
        )
    _print_transfers([result], report)


def load(
    input: Annotated[Path, typer.Option("--input", "-i", help="The archive to read.")],
    progress: ProgressOpt = "auto",
    format: FormatOpt = Format.table,
) -> None:
    """Load every image in a docker or OCI archive, with its names."""
    moves = client().transfers()
    with _progress(progress) as shown:
        results = moves.load(input, on_event=shown.events)
    _print_transfers(results, format)


def search(
    term: Annotated[str, typer.Argument(help="Part of a repository name, or HOST/REPO.")],
    registry: Annotated[
        str | None, typer.Option("--registry", help="A v2 registry HOST[:PORT] to search.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many results.")] = 25,
    tags: Annotated[bool, typer.Option("--tags", help="List each repository's tags.")] = False,
    tls_verify: TlsVerifyOpt = None,
    cert_dir: CertDirOpt = None,
    format: TemplateFormatOpt = Format.table,
) -> None:
    """Search a registry's repositories (or Docker Hub, through the engine)."""
    from ocitool import render
    from ocitool.cli import formats

    out = formats.chosen(format, "SearchResult")
    found = client().search(
        term,
        registry=registry,
        limit=limit,
        tags=tags,
        tls_verify=_tls(tls_verify),
        cert_dir=cert_dir,
    )
    formats.emit(out, found, table=lambda: render.search_table(found, tags=tags))


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
    from ocitool.references import validate_registry_host

    validate_registry_host(registry)  # before stdin is read or anything is sent
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


def logout(
    registry: Annotated[str, typer.Argument(help="HOST[:PORT]", show_default=False)],
) -> None:
    """Forget the credentials for a registry."""
    from ocitool.client import Client

    if Client.logout(registry):
        print(f"Removed login credentials for {registry}")
    else:
        print(f"Not logged in to {registry}")
