"""The docker backend (backend.py), driving the docker CLI against DOCKER_HOST."""

from ocitool.backends.common import CLI_CAPABILITIES as CAPABILITIES

__all__ = ["CAPABILITIES"]
