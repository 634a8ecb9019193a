"""The podman backend (backend.py), driving the podman CLI, root or rootless."""

from ocitool import capabilities as can
from ocitool.backends.common import CLI_CAPABILITIES

CAPABILITIES = CLI_CAPABILITIES | {can.MANIFEST_LISTS.name}

__all__ = ["CAPABILITIES"]
