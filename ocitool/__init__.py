"""ocitool: manage container images the same way on docker, podman and an OCI store."""

from __future__ import annotations

from ocitool.version import __version__

TYPE_CHECKING = False  # typing itself costs `ocitool --version` ~10 ms to import

__all__ = ["Client", "__version__"]

if TYPE_CHECKING:
    from typing import Any

    from ocitool.client import Client


def __getattr__(name: str) -> Any:
    # Lazy, so `ocitool --version` does not pay for pydantic.
    if name == "Client":
        from ocitool.client import Client

        return Client
    raise AttributeError(name)
