"""podman's names as the user must read them: qualified where a short name would be
ambiguous.

podman stores local names under `localhost/` and Hub names under `docker.io/`,
and ocitool shows both short, as docker does: unless both exist for one
repository. Its manifest lists: tests/test_podman_lists.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocitool.client import Client
from tests import lab as lab_setup
from tests.conftest import BASE, CHAIN, ENGINES, Lab, build_images
from tests.test_cli import ocitool

# The storage files are read where they can be (backends/podman/store.py); with
# STORAGE_DRIVER set they are not, and podman's own answers must say the same.
READS = [
    pytest.param({}, id="storage-files"),
    pytest.param({"STORAGE_DRIVER": "overlay"}, id="cli"),
]
LOCAL, HUB = "localhost/ocitool-test/amb:1", "docker.io/ocitool-test/amb:1"

if "podman" in ENGINES:

    @pytest.fixture
    def podman(lab: Lab) -> Client:
        build_images("podman", lab)
        return Client(backend="podman")

    @pytest.mark.parametrize("env", READS)
    def test_local_and_hub_names_of_one_repository_stay_qualified(
        podman: Client, env: dict[str, str]
    ) -> None:
        lab_setup.engine(["podman", "tag", BASE, LOCAL])
        lab_setup.engine(["podman", "tag", CHAIN[0], HUB])
        try:
            base, chain = podman.image(BASE), podman.image(CHAIN[0])
            assert LOCAL in base.names and HUB in chain.names
            assert podman.image("ocitool-test/amb:1").id == base.id  # podman reads it as local
            rows = ocitool("-b", "podman", "images", env=env).stdout.splitlines()
            found = sorted(tuple(r.split()[:2]) for r in rows if "ocitool-test/amb" in r)
            assert found == [(HUB.removesuffix(":1"), "1"), (LOCAL.removesuffix(":1"), "1")]
            if not env:  # inspect alone judges by the storage files (PodmanBackend._names)
                shown = ocitool("-b", "podman", "inspect", "--format", "json", HUB)
                assert HUB in shown.stdout and '"ocitool-test/amb:1"' not in shown.stdout
            dry = ocitool("-b", "podman", "rmi", "--dry-run", HUB, env=env)
            assert dry.stdout.splitlines() == [f"Would untag: {HUB}"], dry.stdout
            proc = ocitool("-b", "podman", "rmi", "--format", "json", HUB, env=env)
            assert proc.returncode == 0, proc.stderr
            assert f'"untagged": [\n    "{HUB}"\n  ]' in proc.stdout
            # alone again, the local name reads short, as on docker
            assert "ocitool-test/amb:1" in podman.image(BASE).names
        finally:
            lab_setup.engine(["podman", "rmi", LOCAL], check=False)
            lab_setup.engine(["podman", "rmi", HUB], check=False)

    def test_a_podman_archive_is_read_by_the_name_ocitool_shows(
        podman: Client, tmp_path: Path
    ) -> None:
        """podman writes localhost/NAME into a docker archive's RepoTags; `inspect
        docker-archive:FILE:NAME` finds it by NAME (references.familiar), as written too."""
        archive = tmp_path / "base.tar"
        lab_setup.engine(["podman", "save", "--format", "docker-archive", "-o", str(archive), BASE])
        tags = lab_setup.engine(["tar", "-xOf", str(archive), "manifest.json"])
        assert f"localhost/{BASE}" in tags
        for name in (BASE, f"localhost/{BASE}"):
            proc = ocitool("inspect", "--format", "json", f"docker-archive:{archive}:{name}")
            assert proc.returncode == 0, proc.stderr
            [found] = json.loads(proc.stdout)
            assert found["image"]["id"] == podman.image(BASE).id
        other = ocitool("inspect", f"docker-archive:{archive}:ocitool-test/nope:1")
        assert other.returncode == 3
