"""The Python API, which the CLI is built on.

    from ocitool import Client
    Client(backend="podman").images()

A Client validates every image reference before a backend sees it, picks the
backend (explicit, OCITOOL_BACKEND, the config file, or `auto`), and returns
the core models.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

import backends
from ocitool.config import Config, load_config
from ocitool.errors import BackendUnavailable, UsageError
from ocitool.references import validate_image_arg
from ocitool.runner import Runner

if TYPE_CHECKING:
    from ocitool.backend import Backend
    from ocitool.models import Container, EngineInfo, Image, Layer

log = logging.getLogger("ocitool")


def choose_backend(requested: str | None, config: Config) -> str:
    """The backend to use: the explicit choice, else OCITOOL_BACKEND, else the config.

    `auto` takes the first engine in `config.order` that can work here, with
    no engine process started (see backends.unusable_reason).
    """
    name = requested or os.environ.get("OCITOOL_BACKEND") or config.backend
    if name != "auto":
        if name not in backends.NAMES:
            raise UsageError(
                f"unknown backend {name!r}",
                hint=f"choose one of {', '.join(backends.NAMES)}, auto",
            )
        return name
    reasons = []
    for candidate in config.order:
        reason = backends.unusable_reason(candidate, config)
        if reason is None:
            log.debug("auto: picked %s (order %s)", candidate, ",".join(config.order))
            return candidate
        reasons.append(f"{candidate}: {reason}")
    raise BackendUnavailable(
        "auto",
        "no usable engine; " + "; ".join(reasons),
        hint="run 'ocitool backends' for details, or choose one with --backend",
    )


class Client:
    """One engine, the same API whichever it is."""

    def __init__(
        self,
        backend: str | None = None,
        *,
        config: Config | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.config = config or load_config()
        self.runner = runner or (
            Runner(timeout=self.config.timeout) if self.config.timeout else Runner()
        )
        self.backend_name = choose_backend(backend, self.config)
        self._backend: Backend | None = None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = backends.load(self.backend_name, self.runner, self.config)
        return self._backend

    def images(self, *, all: bool = False) -> list[Image]:
        """Local images, newest first, one entry per image ID."""
        images = self.backend.images(all=all)
        return sorted(images, key=lambda i: (i.created is not None, i.created, i.id), reverse=True)

    def inspect(self, *refs: str) -> list[Image]:
        """The named images in argument order, read with one engine call."""
        checked = _validated(refs)
        if not checked:
            raise UsageError("no image given", hint="name at least one image, e.g. myapp:1.0")
        return self.backend.inspect(checked)

    def image(self, ref: str) -> Image:
        return self.inspect(ref)[0]

    def history(self, ref: str) -> list[Layer]:
        """Every history step of an image, newest first, empty steps included."""
        return self.backend.history(validate_image_arg(ref))

    def containers(self, *, all: bool = False) -> list[Container]:
        """Containers, newest first; running ones only unless `all`."""
        found = self.backend.containers(all=all)
        return sorted(found, key=lambda c: (c.created is not None, c.created, c.id), reverse=True)

    ps = containers

    def info(self) -> EngineInfo:
        return self.backend.info()

    @staticmethod
    def survey(config: Config | None = None, runner: Runner | None = None) -> list[EngineInfo]:
        """Every backend's status: found, version, rootless, reachable, and why not."""
        return backends.survey(runner or Runner(), config or load_config())


def _validated(refs: Iterable[str]) -> list[str]:
    return [validate_image_arg(r) for r in refs]
