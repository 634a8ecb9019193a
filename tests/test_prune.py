"""prune on every engine: the rules, what stays and why, and the bytes exact.

Each test builds its own repository of versions (v1 <- v2 <- v3, v1 <- v4), a
dangling image, and a stopped container on v2, all labelled for that test, and
prunes only what carries the label, so the shared lab's images are never at
stake. Every real run is checked three ways: the dry run's prediction, the real
run's prediction, and du's own total before minus after must be one number.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from ocitool.client import Client
from ocitool.models import PruneResult
from tests.conftest import Lab
from tests.test_cli import ocitool, one_error_line


@dataclass
class Versions:
    repo: str
    label: str
    ids: dict[str, str]  # "1".."4", "dangling", "dangle" -> image ID
    stopped: str  # the stopped container on v2

    @property
    def scope(self) -> str:
        return f"label={self.label}"


def build(client: Client, lab: Lab, name: str) -> Versions:
    """Four versions of one repository, a dangling image beside them, a stopped container."""
    repo = f"ocitool-prune/{name}"
    label = f"ocitool.prune={name}"
    ids: dict[str, str] = {}
    label_change = [f"LABEL ocitool.prune={name}"]
    ids["1"] = client.import_image(lab.tar, f"{repo}:1", changes=label_change).id

    def version(base: str, tag: str, path: str) -> str:
        box = f"op-{name}-{path}"
        client.run(base, ["sh", "-c", f"echo {tag} > /{path}"], name=box, network="none")
        made = client.commit(box, tag if ":" in tag else f"{repo}:{tag}")
        client.remove(box)
        return made.id

    ids["2"] = version(f"{repo}:1", "2", "v2")
    ids["3"] = version(f"{repo}:2", "3", "v3")
    ids["4"] = version(f"{repo}:1", "4", "v4")
    ids["dangling"] = version(f"{repo}:1", f"{repo}-dangle:1", "d1")
    ids["dangle"] = version(f"{repo}:1", f"{repo}-dangle:1", "d2")  # moves the tag
    stopped = f"op-{name}-stopped"
    client.run(f"{repo}:2", ["true"], name=stopped, network="none")
    return Versions(repo, label, ids, stopped)


def clean(client: Client, v: Versions) -> None:
    """What a test left: its container, then every image it made, children first."""
    if any(c.name == v.stopped for c in client.containers(all=True)):
        client.remove(v.stopped, force=True)
    left = {i.id for i in client.images(all=True)}
    for key in ("3", "2", "4", "dangle", "dangling", "1"):
        if v.ids[key] in left:
            client.rmi(v.ids[key], force=True)


def checked(client: Client, **rules: object) -> PruneResult:
    """The dry run, then the real run; both predictions and du's own difference agree."""
    dry = client.prune(dry_run=True, **rules)  # type: ignore[arg-type]
    total = client.du().total
    real = client.prune(**rules)  # type: ignore[arg-type]
    after = client.du().total
    assert dry.dry_run and not real.dry_run and dry.observed is None
    assert (dry.deleted, dry.untagged) == (real.deleted, real.untagged)
    assert dry.reclaimed == real.reclaimed == real.observed == total - after
    return real


@pytest.fixture
def versions(client: Client, lab: Lab, request: pytest.FixtureRequest) -> object:
    test = request.node.name.split("[")[0].removeprefix("test_")
    made = build(client, lab, test[:20].replace("_", "-").strip("-"))
    yield made
    clean(client, made)


def _names(client: Client) -> set[str]:
    return {n for i in client.images(all=True) for n in i.names}


def _canon(client: Client, name: str) -> str:
    return client.backend.canonical_name(name)


def test_prune_by_default_takes_the_dangling_image_only(client: Client, versions: Versions) -> None:
    v = versions
    real = checked(client, filters=[v.scope])
    assert real.deleted == [v.ids["dangling"]]
    assert real.untagged == [] and real.kept == []
    assert real.reclaimed > 0  # its own layer
    assert v.ids["dangle"] in {i.id for i in client.images()}


def test_keep_n_keeps_the_newest_and_what_containers_and_kept_images_need(
    client: Client, versions: Versions
) -> None:
    v = versions
    real = checked(client, keep=1, filters=[v.scope])
    assert real.untagged == [_canon(client, f"{v.repo}:3")]
    assert real.deleted == [v.ids["3"]]
    kept = {k.image_id: k for k in real.kept}
    assert kept[v.ids["2"]].reason == "in-use" and kept[v.ids["2"]].containers == [v.stopped]
    assert kept[v.ids["1"]].reason == "parent" and v.ids["4"] in kept[v.ids["1"]].children
    assert set(kept) == {v.ids["1"], v.ids["2"]}
    assert real.removed_containers == []
    left = _names(client)
    assert {_canon(client, f"{v.repo}:{t}") for t in "124"} <= left
    assert v.ids["dangling"] in {i.id for i in client.images(all=True)}  # --keep alone
    assert [c.state for c in client.containers(all=True) if c.name == v.stopped] == ["exited"]


def test_containers_goes_first_only_when_asked(client: Client, versions: Versions) -> None:
    v = versions
    real = checked(client, keep=1, dangling=True, containers=True, filters=[v.scope])
    assert real.removed_containers == [v.stopped]
    assert sorted(real.deleted) == sorted([v.ids["2"], v.ids["3"], v.ids["dangling"]])
    assert [k.reason for k in real.kept] == ["parent"]  # v1: v4 is built on it
    assert not any(c.name == v.stopped for c in client.containers(all=True))


def test_older_than_and_until_narrow_by_age(client: Client, versions: Versions) -> None:
    v = versions
    real = checked(client, older_than="10m", filters=[v.scope])
    assert (real.deleted, real.untagged, real.reclaimed) == ([], [], 0)
    images = {i.id: i for i in client.images(all=True)}
    c3, c4 = images[v.ids["3"]].created, images[v.ids["4"]].created
    assert c3 is not None and c4 is not None and c3 < c4
    middle = (c3 + (c4 - c3) / 2).isoformat()
    real = checked(client, older_than="0s", filters=[v.scope, f"until={middle}"])
    assert real.deleted == [v.ids["3"]]  # 1 and 2 stay: parent, and in use
    assert {k.image_id for k in real.kept} == {v.ids["1"], v.ids["2"]}
    assert v.ids["4"] in {i.id for i in client.images()}


def test_keep_and_older_than_together_and_the_engine_calls_stay_constant(
    client: Client, versions: Versions
) -> None:
    v = versions
    client.tag(f"{v.repo}:4", f"{v.repo}:latest")  # two tags of one image: one build
    before = len(client.runner.calls)
    client.prune(keep=1, filters=[v.scope], dry_run=True)
    dry_calls = len(client.runner.calls) - before
    before = len(client.runner.calls)
    checked_one = client.prune(keep=1, filters=[v.scope])
    one = client.runner.calls[before:]
    assert checked_one.deleted == [v.ids["3"]]
    assert _canon(client, f"{v.repo}:latest") in _names(client)
    client.remove(v.stopped)
    before = len(client.runner.calls)
    many = client.prune(older_than="0s", keep=0, filters=[v.scope])
    calls = client.runner.calls[before:]
    assert sorted(many.deleted) == sorted(v.ids[k] for k in ("1", "2", "4", "dangling", "dangle"))
    assert many.reclaimed == many.observed
    assert len(calls) == len(one)  # 1 image or 5: the same calls
    assert len(one) <= dry_calls + 4
    removals = [c for c in calls if "rmi" in c or "gc" in c]
    # one batched removal: the engine's rmi, or umoci gc; none where the oci store
    # collects its blobs itself (it does while it holds an image index)
    assert len(removals) <= 1


def test_prune_cli_json_table_and_usage_errors(
    engine: str, client: Client, versions: Versions
) -> None:
    v = versions
    proc = ocitool(
        "--backend", engine, "prune", "--dry-run", "--filter", v.scope, "--format", "json"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert PruneResult.model_validate(doc).deleted == [v.ids["dangling"]]
    proc = ocitool("--backend", engine, "prune", "--keep", "1", "--filter", v.scope)
    assert proc.returncode == 0, proc.stderr
    assert f"Untagged: {_canon(client, f'{v.repo}:3')}" in proc.stdout
    assert "Kept: " in proc.stdout and "observed by du" in proc.stdout
    for bad, says in (
        (["--filter", "colour=red"], "unknown filter"),
        (["--older-than", "soon"], "not a duration"),
        (["--filter", "until=whenever"], "neither a duration nor a time"),
        (["--keep", "-1"], "cannot be negative"),
    ):
        proc = ocitool("--backend", engine, "prune", *bad)
        assert proc.returncode == 2, proc.stderr
        assert says in one_error_line(proc)


def test_the_oci_store_collects_unreferenced_blobs_and_leftover_bundles(lab: Lab) -> None:
    client = Client(backend="oci")
    client.images()  # the store exists
    blob = lab.store / "blobs" / "sha256" / ("ab" * 32)
    blob.write_bytes(b"left by a killed copy")
    bundle = lab.store / "containers" / ("cd" * 32)
    (bundle / "bundle").mkdir(parents=True)
    (bundle / "bundle" / "config.json").write_text("{}")
    old = time.time() - timedelta(days=1).total_seconds()
    os.utime(bundle, (old, old))
    dry = client.prune(dry_run=True, filters=["label=ocitool.prune=none"])
    assert dry.store is not None
    assert (dry.store.blobs, dry.store.blob_bytes) == (1, len(b"left by a killed copy"))
    assert dry.store.bundles == [bundle.name] and dry.store.bundle_bytes == 2
    assert blob.exists() and bundle.exists()
    real = client.prune(filters=["label=ocitool.prune=none"])
    assert real.store == dry.store
    assert not blob.exists() and not bundle.exists()
    assert Path(lab.store / "index.json").exists()
