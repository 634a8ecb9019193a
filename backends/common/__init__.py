"""What docker and podman share: a CLI with docker's verbs, its listing and history."""

from ocitool import capabilities as can

# What a docker-style engine CLI can do beyond the core: everything ocitool asks, but
# a local manifest list, which only podman's CLI holds (docker's manifest command
# reads and writes registries only), collecting a store's garbage by hand, which the
# engine's own removal already does, and an image index held in the store as it is
# (their pulls take one platform; podman's lists are ManifestLists).
CLI_CAPABILITIES = frozenset(
    c.name for c in can.ALL if c not in (can.MANIFEST_LISTS, can.STORE_GARBAGE, can.IMAGE_INDEXES)
)
