"""The podman backend (backend.py), driving the podman CLI, root or rootless."""

from ocitool.backends.common import CLI_CAPABILITIES as CAPABILITIES

__all__ = ["CAPABILITIES"]
