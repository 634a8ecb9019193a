"""What the root options leave for the command that runs: the backend asked for, and the
Client made for it on first use (so `--help` and usage errors never make one)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocitool.client import Client


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
