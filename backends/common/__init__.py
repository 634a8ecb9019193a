"""What docker and podman share: a CLI with docker's verbs, its listing and history."""

from ocitool import capabilities as can

# What a docker-style engine CLI can do beyond the core: everything ocitool asks, but
# collecting a store's garbage by hand, which the engine's own removal already does.
CLI_CAPABILITIES = frozenset(c.name for c in can.ALL if c is not can.STORE_GARBAGE)
