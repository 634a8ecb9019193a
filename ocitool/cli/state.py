"""What the root options leave for the command that runs: the backend asked for, and the
Client made for it on first use (so `--help` and usage errors never make one)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocitool.client import Client

# The root options that take a value, every spelling, and the setting each gives
# use(): `__complete` (ocitool.completion.names) reads them from its argv without
# typer; tests/test_completion.py checks they are main_options' (ocitool.cli.app).
ROOT_VALUED = {
    "--backend": "backend",
    "-b": "backend",
    "--store": "store",
    "--host": "host",
    "-H": "host",
    "--connection": "connection",
}


class _State:
    backend: str | None = None
    host: str | None = None  # --host URL
    connection: str | None = None  # --connection NAME
    client: Client | None = None


state = _State()


def client() -> Client:
    if state.client is None:
        from ocitool.client import Client

        state.client = Client(backend=state.backend, host=state.host, connection=state.connection)
    return state.client


def use(
    *,
    backend: str | None = None,
    store: str | None = None,
    host: str | None = None,
    connection: str | None = None,
) -> None:
    """What the root options choose, for the command that runs (main_options) or the
    names a TAB completes (completion.names): the same engine either way."""
    state.backend, state.host, state.connection = backend, host, connection
    if store is not None:
        os.environ["OCITOOL_STORE"] = store  # beats the config file, as the flag should


def root_options(args: Sequence[str]) -> dict[str, str]:
    """The ROOT_VALUED options in `args` (`--host URL`, `--host=URL`, `-H URL`), by the
    setting each gives use(); anything else is passed over."""
    found: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        flag, equals, value = arg.partition("=")
        if flag in ROOT_VALUED and equals and flag.startswith("--"):
            found[ROOT_VALUED[flag]] = value
        elif arg in ROOT_VALUED:
            found[ROOT_VALUED[arg]] = next(rest, "")
    return found
