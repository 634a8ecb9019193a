"""The daemonless backend (backend.py): an OCI image layout written with umoci, run with runc."""

from ocitool import capabilities as can

# No Hub search, no engine save/load, no pull on run, no detached terminal (runc
# needs a console socket): the client says so, naming what would (README).
CAPABILITIES = frozenset(
    {
        can.LAYER_SIZES.name,
        can.LAYER_STREAMS.name,
        can.COPY_ENDPOINT.name,
        can.STORE_GARBAGE.name,
    }
)
