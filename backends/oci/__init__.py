"""The daemonless backend (backend.py): an OCI image layout written with umoci, run with runc."""

from ocitool import capabilities as can

# No Hub search, no engine save/load, no pull on run, no detached terminal (runc
# needs a console socket), no published ports (no network but none or host): the
# client says so, naming what would (docs/oci-backend.md).
CAPABILITIES = frozenset(
    {
        can.LAYER_SIZES.name,
        can.LAYER_STREAMS.name,
        can.COPY_ENDPOINT.name,
        can.CONTAINER_LOGS.name,
        can.CONTAINER_EXEC.name,
        can.CONTAINER_FILES.name,
        can.CONTAINER_SIGNALS.name,
        can.STORE_GARBAGE.name,
        can.IMAGE_INDEXES.name,
        can.IMAGE_BUILD.name,
    }
)
