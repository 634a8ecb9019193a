"""podman's manifest lists, shown as the oci store shows an index (tests/test_indexes.py).

`podman images` lists a list as an image, once per name and with the digest it
had when created; ocitool lists it once, with its names, platforms, media type
and today's digest, `inspect` shows that entry, and `rmi`/`prune` remove it as
a list (`podman manifest rm`), leaving the images it names. On docker, which
holds no list, nothing changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ocitool.backends import registry as backends
from ocitool.backends.common.listing import Names
from ocitool.backends.podman import lists
from ocitool.backends.podman.store import StoredList
from ocitool.capabilities import IMAGE_INDEXES, MANIFEST_LISTS
from ocitool.client import Client
from ocitool.config import Config
from ocitool.manifests import DOCKER_LIST, OCI_INDEX
from tests import lab as lab_setup
from tests.conftest import BASE, ENGINES, Lab, build_images
from tests.replay import FIXTURES, ReplayRunner
from tests.test_cli import ocitool, one_error_line
from tests.test_schema import validate

INDEX = "application/vnd.oci.image.index.v1+json"
STORED = json.loads((FIXTURES / "podman" / "manifest_lists_stored.json").read_text())

# -- recorded: the lab's lists (tests/fixtures/record.py, capture_lists) -------------------


def recorded(monkeypatch: pytest.MonkeyPatch, *, readable: bool) -> list[Any]:
    """images() on the recording; `readable`: the lists' documents in podman's storage."""
    monkeypatch.setattr("ocitool.backends.podman.backend.storage_location", lambda: None)
    monkeypatch.setattr(
        "ocitool.backends.podman.lists.list_document",
        lambda list_id: STORED[list_id].encode() if readable else None,
    )
    backend = backends.load("podman", ReplayRunner("podman", "manifest_lists"), Config())
    return backend.images()


def test_a_recorded_list_is_one_entry_with_its_platforms_and_todays_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = {tuple(i.names): i for i in recorded(monkeypatch, readable=True)}
    assert set(found) == {("labbase:1",), ("lab/empty:1",), ("lab/list:1", "lab/list:2")}
    base, empty = found[("labbase:1",)], found[("lab/empty:1",)]
    full = found[("lab/list:1", "lab/list:2")]
    assert base.platforms is None and base.media_type is None  # an image, as before
    assert full.id == "sha256:9cd39035d740d86482894435b0921882a7ac9c8a313cf8f80cf8db2164ffbb7a"
    assert full.media_type == INDEX and full.layers == [] and full.size == 524
    [platform] = full.platforms or []
    assert (platform.os, platform.architecture) == ("linux", "amd64")
    assert platform.digest in " ".join(base.repo_digests)  # the list names labbase:1
    # podman's Digest is the empty list's it was created as; the document's is today's
    today = "sha256:" + hashlib.sha256(STORED[full.id[7:]].encode()).hexdigest()
    assert full.repo_digests == [f"lab/list@{today}"] and "20b959ad" not in today
    assert empty.platforms == [] and empty.media_type == DOCKER_LIST  # stored as null
    assert full.accounting == lists.LIST_ACCOUNTING


def test_where_the_storage_is_not_read_a_lists_platforms_are_not_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = {tuple(i.names): i for i in recorded(monkeypatch, readable=False)}
    full = found[("lab/list:1", "lab/list:2")]
    assert full.platforms == [] and full.media_type is None and full.repo_digests == []


def test_a_list_model_spells_names_as_images_do() -> None:
    stored = StoredList("sha256:" + "a" * 64, ["localhost/x:1", "docker.io/y:1"], None, None, 3)
    model = lists.list_model(stored, Names(["localhost/x:1", "docker.io/library/x:1"]))
    assert model.names == ["localhost/x:1", "y:1"]  # x:1 would mean either


# -- live, on podman -----------------------------------------------------------------

FULL, SECOND, EMPTY = "ocitool-test/lists:1", "ocitool-test/lists:2", "ocitool-test/lists-empty:1"
# The storage files are read where they can be; with STORAGE_DRIVER set they are not.
READS = [
    pytest.param({}, id="storage-files"),
    pytest.param({"STORAGE_DRIVER": "overlay"}, id="cli"),
]


def podman(*args: str) -> str:
    return lab_setup.engine(["podman", *args])


def exists(name: str) -> bool:
    argv = ["podman", "manifest", "exists", name]
    return subprocess.run(argv, capture_output=True, timeout=60, check=False).returncode == 0


def calls(*args: str, env: dict[str, str] | None = None) -> int:
    """How many engine calls one ocitool command makes (its --debug lines)."""
    proc = ocitool("--debug", "-b", "podman", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return len(re.findall(r"^ocitool: \+ podman ", proc.stderr, re.M))


if "podman" in ENGINES:

    @pytest.fixture
    def made(lab: Lab) -> Iterator[str]:
        """FULL (BASE's image, also named SECOND) and EMPTY; yields FULL's ID."""
        build_images("podman", lab)
        podman("manifest", "create", EMPTY)
        list_id = podman("manifest", "create", FULL).strip()
        podman("manifest", "add", FULL, f"containers-storage:localhost/{BASE}")
        podman("tag", FULL, SECOND)
        try:
            yield f"sha256:{list_id}"
        finally:
            for name in (FULL, SECOND, EMPTY):
                lab_setup.engine(["podman", "manifest", "rm", name], check=False)

    @pytest.mark.parametrize("env", READS)
    def test_images_lists_a_list_once_with_its_names_and_platforms(
        made: str, env: dict[str, str]
    ) -> None:
        proc = ocitool("-b", "podman", "images", "--format", "json", env=env)
        assert proc.returncode == 0, proc.stderr
        entries = [i for i in validate("images", proc.stdout) if i["id"] == made]
        assert len(entries) == 1
        [entry] = entries
        assert entry["names"] == [FULL, SECOND] and entry["layers"] == []
        [base] = json.loads(ocitool("-b", "podman", "inspect", "--format", "json", BASE).stdout)
        if env:  # podman's storage is not read: its listing says no platform
            assert entry["platforms"] == [] and entry["media_type"] is None
        else:
            assert entry["media_type"] == INDEX
            assert [(p["os"], p["architecture"]) for p in entry["platforms"]] == [
                ("linux", "amd64")
            ]
            assert entry["platforms"][0]["digest"] in " ".join(base["repo_digests"])
            shown = Client(backend="podman").manifest_inspect(FULL)
            assert entry["repo_digests"] == [f"ocitool-test/lists@{shown.digest}"]
        table = ocitool("-b", "podman", "images", env=env).stdout.splitlines()
        rows = [r.split()[:3] for r in table if "ocitool-test/lists " in f"{r} "]
        assert rows == [["ocitool-test/lists", t, made[7:19]] for t in ("1", "2")]
        quiet = ocitool("-b", "podman", "images", "-q", env=env).stdout.split()
        assert quiet.count(made) == 1
        template = "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"
        shown_rows = ocitool(
            "-b", "podman", "images", "--format", template,
            "--filter", "reference=ocitool-test/lists:*", env=env,
        ).stdout.splitlines()  # fmt: skip
        size = f"{entry['size']}B"
        assert shown_rows == [f"{made[7:19]} {FULL} {size}", f"{made[7:19]} {SECOND} {size}"]
        client = Client(backend="podman")
        summaries = {s.id: s for s in client.image_summaries()}
        for image in client.images():  # the table's list call says what the models say
            assert summaries[image.id].names == image.names
            assert summaries[image.id].size == image.size

    def test_listing_costs_the_same_calls_however_many_lists(made: str) -> None:
        for env in ({}, {"STORAGE_DRIVER": "overlay"}):
            before = calls("images", "--format", "json", env=env), calls("images", env=env)
            for n in range(3):
                podman("manifest", "create", f"ocitool-test/lists-more:{n}")
            try:
                after = calls("images", "--format", "json", env=env), calls("images", env=env)
            finally:
                for n in range(3):
                    podman("manifest", "rm", f"ocitool-test/lists-more:{n}")
            assert after == before, env
        assert calls("inspect", BASE) == 1  # no list named: the one inspect, as before

    @pytest.mark.parametrize("env", READS)
    def test_inspect_shows_the_list(made: str, env: dict[str, str]) -> None:
        proc = ocitool("-b", "podman", "inspect", "--format", "json", BASE, FULL, env=env)
        assert proc.returncode == 0, proc.stderr
        base, entry = validate("inspect", proc.stdout)
        assert base["names"] and base["platforms"] is None
        assert entry["id"] == made and entry["names"] == [FULL, SECOND]
        table = ocitool("-b", "podman", "inspect", FULL, env=env)
        assert table.returncode == 0, table.stderr
        assert made in table.stdout and "Sizes count" in table.stdout
        if not env:
            assert INDEX in table.stdout and "linux/amd64" in table.stdout
        [again] = Client(backend="podman").inspect(made[7:19])  # by its short ID
        assert again.id == made
        [empty] = Client(backend="podman").inspect(EMPTY)  # podman's inspect misses it
        assert empty.names == [EMPTY]
        for argv in (["history", FULL], ["tag", FULL, "ocitool-test/lists-tag:1"]):
            refused = ocitool("-b", "podman", *argv, env=env)
            assert refused.returncode == 6, (argv, refused.stderr)
            assert "manifest list" in one_error_line(refused)

    @pytest.mark.parametrize("env", READS)
    def test_rmi_removes_a_name_then_the_list_and_never_its_image(
        made: str, env: dict[str, str]
    ) -> None:
        client = Client(backend="podman")
        images = {i.id for i in client.images(all=True)} - {made}
        dry = ocitool("-b", "podman", "rmi", "--dry-run", SECOND, env=env)
        assert dry.stdout.splitlines() == [f"Would untag: {SECOND}"], dry.stdout
        gone = ocitool("-b", "podman", "rmi", SECOND, env=env)
        assert gone.returncode == 0, gone.stderr
        assert gone.stdout.splitlines() == [f"Untagged: {SECOND}"]
        assert exists(FULL) and not exists(SECOND)  # the list keeps its other name
        dry = ocitool("-b", "podman", "rmi", "--dry-run", FULL, env=env)
        assert dry.stdout.splitlines() == [f"Would untag: {FULL}", f"Would delete: {made}"]
        assert exists(FULL)
        gone = ocitool("-b", "podman", "rmi", "--format", "json", FULL, env=env)
        assert gone.returncode == 0, gone.stderr
        result = validate("rmi", gone.stdout)
        assert (result["untagged"], result["deleted"]) == ([FULL], [made])
        assert result["deleted_layers"] == []
        assert not exists(FULL)
        assert {i.id for i in client.images(all=True)} - {made} == images  # no image went
        assert BASE in client.image(BASE).names

    def test_rmi_of_a_list_by_id_with_two_names_needs_force(made: str) -> None:
        blocked = ocitool("-b", "podman", "rmi", made[7:19])
        assert blocked.returncode == 8, blocked.stderr
        assert exists(FULL) and exists(SECOND)
        forced = ocitool("-b", "podman", "rmi", "--force", made[7:19])
        assert forced.returncode == 0, forced.stderr
        assert not exists(FULL) and not exists(SECOND)
        assert BASE in Client(backend="podman").image(BASE).names

    def test_du_counts_nothing_for_a_list(made: str) -> None:
        report = json.loads(ocitool("-b", "podman", "du", "--format", "json").stdout)
        [row] = [u for u in report["images"] if u["id"] == made]
        assert row["size"] == 0 and row["layers"] == 0
        podman("manifest", "rm", SECOND)
        podman("manifest", "rm", FULL)
        after = json.loads(ocitool("-b", "podman", "du", "--format", "json").stdout)
        assert after["total"] == report["total"]  # the list added no byte
        assert made not in {u["id"] for u in after["images"]}

    def test_prune_removes_a_list_as_a_list(made: str) -> None:
        time.sleep(1.1)  # older than 1s
        rule = ["prune", "--older-than", "1s", "--filter", "reference=ocitool-test/lists*"]
        dry = ocitool("-b", "podman", *rule, "--dry-run", "--format", "json")
        assert dry.returncode == 0, dry.stderr
        planned = json.loads(dry.stdout)
        assert sorted(planned["untagged"]) == sorted([FULL, SECOND, EMPTY])
        assert made in planned["deleted"] and planned["reclaimed"] == 0
        done = ocitool("-b", "podman", *rule, "--format", "json")
        assert done.returncode == 0, done.stderr
        assert not (exists(FULL) or exists(SECOND) or exists(EMPTY))
        assert BASE in Client(backend="podman").image(BASE).names


# -- the contract: a backend that holds no list lists what it did ---------------------


def test_no_entry_is_an_index_where_no_index_is_held(client: Client, engine: str) -> None:
    """docker holds none; podman's are its manifest lists (the oci store's indexes:
    tests/test_indexes.py, in a store of their own)."""
    listed = client.images(all=True)
    indexes = {i.id for i in listed if i.platforms is not None}
    expected: set[str] = set()
    if client.engines.has(MANIFEST_LISTS):
        expected = set(client.engines.need(MANIFEST_LISTS).manifest_lists().values())
    if client.engines.has(IMAGE_INDEXES):  # the shared store holds what tests copied --all
        expected = {i.id for i in listed if i.media_type in (OCI_INDEX, DOCKER_LIST)}
    assert indexes == expected
    [image] = client.inspect(BASE)
    assert image.platforms is None and image.media_type is None
