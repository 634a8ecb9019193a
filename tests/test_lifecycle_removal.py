"""rmi over several images, and with the containers that use them, on every engine.

The dry run must say exactly what the real run then does, and a running
container is removed only with --force, as `ocitool rm` demands.
"""

from __future__ import annotations

import pytest

from ocitool.client import Client
from ocitool.errors import Conflict, ImageInUse
from tests.conftest import BASE
from tests.test_cli import ocitool


def _names(client: Client) -> set[str]:
    return {n for i in client.images(all=True) for n in i.names}


def test_a_blocked_image_blocks_the_whole_removal_and_the_dry_run_says_so(
    client: Client, engine: str
) -> None:
    held = client.commit("ot-c1", "ocitool-test/held-a:1")
    free = client.commit("ot-c2", "ocitool-test/free-b:1")
    client.run("ocitool-test/held-a:1", ["true"], name="ot-held-a", network="none")
    try:
        both = ("ocitool-test/held-a:1", "ocitool-test/free-b:1")
        dry = client.rmi(*both, dry_run=True)
        assert [b.reason for b in dry.blocked] == ["in-use"]
        assert (dry.untagged, dry.deleted, dry.deleted_layers) == ([], [], [])
        proc = ocitool("--backend", engine, "rmi", "--dry-run", *both)
        assert proc.returncode == 4
        assert "Would" not in proc.stdout and "Blocked: ocitool-test/held-a:1" in proc.stdout
        with pytest.raises(ImageInUse):
            client.rmi(*both)
        assert set(both) <= _names(client)  # the prediction held: nothing went
        assert ocitool("--backend", engine, "rmi", *both).returncode == 4
        assert set(both) <= _names(client)
    finally:
        client.remove("ot-held-a")
    result = client.rmi(*both)
    assert sorted(result.deleted) == sorted({held.id, free.id})


def test_rm_containers_needs_force_for_a_running_container(client: Client, engine: str) -> None:
    client.commit("ot-c1", "ocitool-test/live:1")
    client.run("ocitool-test/live:1", ["sleep", "600"], name="ot-live", network="none", detach=True)
    try:
        dry = client.rmi("ocitool-test/live:1", remove_containers=True, dry_run=True)
        assert [b.reason for b in dry.blocked] == ["running"]
        assert "running" in dry.blocked[0].message and dry.untagged == []
        with pytest.raises(Conflict) as err:
            client.rmi("ocitool-test/live:1", remove_containers=True)
        assert "--force" in err.value.one_line()
        proc = ocitool("--backend", engine, "rmi", "--rm-containers", "ocitool-test/live:1")
        assert proc.returncode == 8 and "running" in proc.stderr
        assert [c.state for c in client.containers() if c.name == "ot-live"] == ["running"]
        live = "ocitool-test/live:1"
        planned = client.rmi(live, remove_containers=True, force=True, dry_run=True)
        assert planned.blocked == [] and planned.removed_containers == ["ot-live"]
        result = client.rmi("ocitool-test/live:1", remove_containers=True, force=True)
        assert result.removed_containers == ["ot-live"]
        assert result.untagged == ["ocitool-test/live:1"]
    finally:
        if [c for c in client.containers(all=True) if c.name == "ot-live"]:
            client.remove("ot-live", force=True)
    assert not [c for c in client.containers(all=True) if c.name == "ot-live"]
    assert BASE in _names(client)
