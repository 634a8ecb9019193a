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
from typing import TYPE_CHECKING, NamedTuple, NoReturn, Protocol

if TYPE_CHECKING:
    from ocitool.runner import Completed

ProgressEvent = Callable[[str, Mapping[str, object]], None]
"""(event, details): start, read, blob, config, manifest, as the copy goes; the
details are strings, byte counts (int) or None (docs/progress.md)."""
Platform = tuple[str, str, str | None]
"""os, architecture, variant (None: any)."""


class Command(NamedTuple):
    """An engine's own call that streams an image (its save to stdout, its load from stdin)."""

    argv: tuple[str, ...]
    env: Mapping[str, str] | None
    failed: Callable[[Completed], NoReturn]  # the engine's own error for a failed call
    name: str | None = None  # the engine's program, where argv runs it elsewhere (over ssh)

    @property
    def program(self) -> str:
        return self.name or self.argv[0].rsplit("/", 1)[-1]


class Endpoint(NamedTuple):
    """One side of a copy.

    Where the mover cannot open `ref` itself (`reachable` False: a daemon over ssh,
    a remote podman's storage), the engine's own streams over its own connection
    carry the image instead: `save` writes it as a docker archive on stdout, `load`
    reads one on stdin, and `archive_name` is the name such an archive carries for
    that load to give the image the name asked for (ocitool.transfer picks the path).
    """

    ref: str  # transport:reference
    label: str = ""  # how ocitool names it to the user
    daemon_host: str | None = None  # a docker daemon's endpoint, where the ref is one
    tls_verify: bool = True
    cert_dir: Path | None = None
    authfile: Path | None = None
    path: Path | None = None  # the file or directory `ref` names, where it names one
    # a registry's stored login (ocitool.credentials.lookup), handed over without argv
    credentials: tuple[str, str] | None = None
    reachable: bool = True  # whether the mover can open `ref` itself
    save: Command | None = None
    load: Command | None = None
    archive_name: str | None = None
    pass_fds: tuple[int, ...] = ()  # a pipe `ref` names as /dev/fd/N, for the mover's process


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
