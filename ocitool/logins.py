"""`ocitool login`: check credentials against the registry, then keep them for every engine.

The host is checked by the reference grammar's host rule first. The password
arrives from stdin (the CLI) or the caller (the API), is sent only to the
registry's /v2/ endpoint, and is kept only by the credential helpers or
files (ocitool.credentials), never in argv or output.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ocitool.errors import UsageError
from ocitool.references import validate_registry_host

if TYPE_CHECKING:
    from ocitool.runner import Runner


def login(
    registry: str,
    user: str,
    password: str,
    *,
    tls_verify: bool | None,
    cert_dir: Path | None,
    insecure: bool,
    timeout: float | None = None,
    runner: Runner | None = None,
) -> list[str]:
    """Where the credentials were saved (credential helpers, files), once the registry
    accepted them."""
    from ocitool import credentials
    from ocitool.registry import Registry, Tls

    validate_registry_host(registry)
    if not user or not password:
        raise UsageError(
            "a login needs a username and a password",
            hint="-u USER, and the password on stdin (--password-stdin)",
        )
    verify = tls_verify if tls_verify is not None else not insecure
    Registry(
        registry,
        tls=Tls(verify=verify, cert_dir=cert_dir),
        credentials=(user, password),
        timeout=timeout,
    ).check_login()
    return credentials.save(registry, user, password, runner=runner)
