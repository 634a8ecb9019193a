"""The interface to the program that copies images between places (skopeo today).

A place is an Endpoint in containers/image transport syntax (`docker-daemon:`,
`containers-storage:`, `oci:`, `docker://`, `docker-archive:` ...): a backend
that can be one end of a copy gives its own (capability copy-endpoint), and the
mover gives the rest. ocitool.transfer plans which copy to make and never
builds a mover's argv itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

ProgressEvent = Callable[[str, Mapping[str, object]], None]
"""(event, details): start, read, blob, config, manifest, as the copy goes; the
details are strings, byte counts (int) or None (docs/progress.md)."""
Platform = tuple[str, str, str | None]
"""os, architecture, variant (None: any)."""


class Endpoint(NamedTuple):
    """One side of a copy."""

    ref: str  # transport:reference
    label: str = ""  # how ocitool names it to the user
    daemon_host: str | None = None  # a docker daemon's endpoint, where the ref is one
    tls_verify: bool = True
    cert_dir: Path | None = None
    authfile: Path | None = None
    path: Path | None = None  # the file or directory `ref` names, where it names one
    # a registry's stored login (ocitool.credentials.lookup), handed over without argv
    credentials: tuple[str, str] | None = None


class Mover(Protocol):
    name: str

    def available(self) -> bool:
        """Whether its program is installed here."""
        ...

    def registry(
        self,
        reference: str,
        *,
        tls_verify: bool,
        cert_dir: Path | None,
        authfile: Path | None,
        credentials: tuple[str, str] | None = None,
    ) -> Endpoint:
        """An image in a registry: HOST[:PORT]/REPO:TAG or @digest."""
        ...

    def archive(self, kind: str, path: Path, name: str | None) -> Endpoint:
        """An image in a docker-archive or oci-archive file (`name` picks one, or @N)."""
        ...

    def layout(self, path: Path, tag: str) -> Endpoint:
        """An image in an OCI image layout directory."""
        ...

    def copy(
        self,
        source: Endpoint,
        destination: Endpoint,
        *,
        on_event: ProgressEvent | None = None,
        platform: Platform | None = None,
        all_platforms: bool = False,
    ) -> str | None:
        """Copy one image, streamed; the manifest digest written at the destination.

        From an index, `platform` (os, architecture, variant) picks the image
        (default: this host's); `all_platforms` copies the index and every image
        it names, digests unchanged."""
        ...
