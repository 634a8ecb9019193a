"""podman's names as the user must read them: qualified where a short name would be
ambiguous, and manifest lists never shown or planned as images.

podman stores local names under `localhost/` and Hub names under `docker.io/`,
and ocitool shows both short, as docker does: unless both exist for one
repository. A list from `podman manifest create` is listed by `podman images`,
but no image command treats it as one.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from ocitool.client import Client
from ocitool.errors import NotSupported
from tests import lab as lab_setup
from tests.conftest import BASE, CHAIN, ENGINES, Lab, build_images
from tests.test_cli import ocitool, one_error_line

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

    @pytest.mark.parametrize("env", READS)
    def test_a_manifest_list_is_not_an_image(podman: Client, env: dict[str, str]) -> None:
        empty, full = "ocitool-test/list:1", "ocitool-test/list:2"
        lab_setup.engine(["podman", "manifest", "create", empty])
        lab_setup.engine(["podman", "manifest", "create", full])
        lab_setup.engine(
            ["podman", "manifest", "add", full, f"containers-storage:localhost/{BASE}"]
        )
        try:
            listed = ocitool("-b", "podman", "images", env=env)
            assert listed.returncode == 0 and "ocitool-test/list" not in listed.stdout
            assert not [i for i in podman.images(all=True) if "ocitool-test/list" in str(i.names)]
            for name in (empty, full):
                with pytest.raises(NotSupported) as err:
                    podman.image(name)
                assert f"ocitool manifest rm {name}" in err.value.one_line()
                for argv in (
                    ["inspect", name],
                    ["history", name],
                    ["tag", name, "ocitool-test/list-tag:1"],
                ):
                    proc = ocitool("-b", "podman", *argv, env=env)
                    assert proc.returncode == 6, (argv, proc.stdout, proc.stderr)
                    assert "manifest list" in one_error_line(proc) and not proc.stdout
                lab_setup.engine(["podman", "manifest", "exists", name])  # still there
                dry = ocitool("-b", "podman", "rmi", "--dry-run", name, env=env)
                assert dry.returncode == 0, dry.stderr
                assert dry.stdout.splitlines()[0] == f"Would untag: {name}"
                lab_setup.engine(["podman", "manifest", "exists", name])  # still there
            images = {i.id for i in podman.images(all=True)}
            gone = ocitool("-b", "podman", "rmi", "--format", "json", empty, full, env=env)
            assert gone.returncode == 0, gone.stderr
            assert json.loads(gone.stdout)["untagged"] == [empty, full]
            for name in (empty, full):  # removed truly, as podman manifest rm does
                exists = subprocess.run(
                    ["podman", "manifest", "exists", name],
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
                assert exists.returncode == 1
            assert {i.id for i in podman.images(all=True)} == images  # no image went
            assert BASE in podman.image(BASE).names  # the list's image is untouched
            names = lab_setup.engine(["podman", "images", "--format", "{{.Repository}}"])
            assert "ocitool-test/list-tag" not in names  # no list gained a name
        finally:
            lab_setup.engine(["podman", "manifest", "rm", empty], check=False)
            lab_setup.engine(["podman", "manifest", "rm", full], check=False)
