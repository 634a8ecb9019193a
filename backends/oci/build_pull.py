"""FROM an image the store lacks: pulled into it first, through skopeo as `pull` does.

The registry's TLS is checked unless the host is loopback (docker's own default,
127.0.0.0/8 is an insecure registry) or listed in `insecure_registries`; logins
come from the same places `pull` reads (ocitool.credentials).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocitool import credentials
from ocitool.references import ImageRef

if TYPE_CHECKING:
    from ocitool.backends.oci.backend import OciBackend

_LOOPBACK = ("127.", "localhost", "[::1]")


def pull(backend: OciBackend, reference: str) -> None:
    """`reference` from its registry into the store, under its own name."""
    from ocitool.backends.skopeo import Skopeo

    parsed = ImageRef.parse(reference)
    remote = reference if parsed.domain else f"docker.io/{reference}"
    host = ImageRef.parse(remote).domain or "docker.io"
    local = str(parsed.with_default_tag())
    verify = not (host.startswith(_LOOPBACK) or host in backend.insecure_registries)
    mover = Skopeo(backend.runner)
    source = mover.registry(
        remote,
        tls_verify=verify,
        cert_dir=None,
        authfile=credentials.containers_auth_file(),
        credentials=credentials.lookup(host, runner=backend.runner),
    )
    with backend.copy_endpoint(local, writing=True) as destination:
        mover.copy(source, destination)
