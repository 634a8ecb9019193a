"""Which backend a Client uses, its instances, and the one gate for capabilities.

Backend choice (explicit, OCITOOL_BACKEND, the config file, or `auto`) and
loading by name happen in ocitool.backends.registry; here they are held for
one Client, one instance per name, so both ends of a copy within one store
share its lock. `need` is the only place a missing capability becomes an
error: one NotSupported, worded the same on every backend, naming what would
do it instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from ocitool.backends import registry
from ocitool.capabilities import Capability, lacking
from ocitool.errors import NotSupported

if TYPE_CHECKING:
    from ocitool.config import Config
    from ocitool.engine import Engine
    from ocitool.movers import Mover
    from ocitool.runner import Runner

C = TypeVar("C")


def choose_backend(requested: str | None, config: Config) -> str:
    """The backend a Client(backend=requested) uses under this config."""
    return registry.choose(
        requested,
        configured=config.backend,
        order=config.order,
        programs=registry.programs(config),
        docker_host=config.docker.host,
    )


class Engines:
    """The backends of one Client: the selected one, and any other a copy names."""

    def __init__(
        self,
        config: Config,
        runner: Runner,
        *,
        selected: str,
        store: Path | None = None,
        at: str | None = None,
    ) -> None:
        self.config = config
        self.runner = runner
        self.selected_name = selected
        self.store = store
        self.at = at  # the selected backend's endpoint (--host, --connection), if chosen
        self._loaded: dict[tuple[str, str | None], Engine] = {}
        self._mover: Mover | None = None

    @property
    def selected(self) -> Engine:
        return self.get(self.selected_name)

    def get(self, name: str, at: str | None = None) -> Engine:
        """The backend `name` at endpoint `at` (ENGINE@WHERE:); without one, the selected
        backend keeps the endpoint the Client was given."""
        if at is None and name == self.selected_name:
            at = self.at
        key = (name, at)
        found = self._loaded.get(key)
        if found is None:  # threads sharing a Client share one backend (setdefault is atomic)
            loaded = registry.load(name, self.runner, self.config, store=self.store, at=at)
            found = self._loaded.setdefault(key, loaded)
        return found

    def has(
        self, capability: Capability[C], name: str | None = None, at: str | None = None
    ) -> bool:
        return capability.name in self.get(name or self.selected_name, at).capabilities

    def need(self, capability: Capability[C], name: str | None = None, at: str | None = None) -> C:
        """The backend as the capability's calls, or the one NotSupported for it."""
        backend = self.get(name or self.selected_name, at)
        if capability.name not in backend.capabilities:
            raise not_supported(backend.name, capability)
        return cast(C, backend)

    def mover(self, what: str) -> Mover:
        """The program that copies images; `what` says which copy needs it, if it is missing."""
        if self._mover is None:
            self._mover = registry.mover(self.runner, self.config)
        if not self._mover.available():
            raise NotSupported(
                f"{what} needs {self._mover.name}, which is not on PATH",
                hint=f"install it (Debian: apt-get install {self._mover.name})",
            )
        return self._mover


def not_supported(backend: str, capability: Capability[C]) -> NotSupported:
    """`the B backend cannot DO (hint: INSTEAD; the X backend can)`, for every capability."""
    others = [n for n in registry.NAMES if n != backend and capability.name in registry.declared(n)]
    return lacking(backend, capability, can=others)
