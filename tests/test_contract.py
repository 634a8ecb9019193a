"""The contract: the same calls give the same normalized results on every backend.

Every test here runs once per engine (the `engine` fixture), against the real
engine started by conftest.py. Adding a backend means adding one parameter.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC

import pytest

from ocitool.client import Client
from ocitool.errors import ImageNotFound, InvalidReference
from ocitool.models import Image
from tests import lab as lab_setup
from tests.conftest import (
    AUTHOR,
    BASE,
    BASE_ALIAS,
    BASE_MESSAGE,
    CHAIN,
    ENGINES,
    ORPHAN,
    RUNNING,
    Lab,
    build_images,
    tag_outside,
    untag_outside,
)

ID = re.compile(r"^sha256:[0-9a-f]{64}$")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
BAD_REFS = ["-rf", "--privileged", "UPPER/case", "a b", "foo@sha256:123", "", "x;rm -rf /"]


def named(images: list[Image], name: str) -> Image:
    matches = [i for i in images if name in i.names]
    assert len(matches) == 1, f"{name}: {[i.names for i in images]}"
    return matches[0]


def test_images_are_one_entry_per_id(client: Client) -> None:
    images = client.images()
    ids = [i.id for i in images]
    assert len(ids) == len(set(ids))
    assert all(ID.match(i) for i in ids)
    base = named(images, BASE)
    assert base.names == sorted([BASE, BASE_ALIAS])
    for image in images:
        assert isinstance(image.size, int) and image.size > 0
        assert image.created is not None and image.created.utcoffset() is not None
        assert image.created.tzinfo == UTC
        assert image.backend == client.backend_name
    created = [i.created for i in images]
    assert created == sorted(created, reverse=True)  # type: ignore[type-var]


# Engine processes a read costs: docker and podman list IDs then inspect them all in
# one call; the OCI store is read directly, with no process at all.
# docker: list + inspect; podman: inspect of the IDs in its storage files; oci: no process.
LIST_CALLS = {"docker": 2, "podman": 1, "oci": 0}
INSPECT_CALLS = {"docker": 1, "podman": 1, "oci": 0}


def test_listing_costs_a_fixed_number_of_engine_calls(client: Client, engine: str) -> None:
    images = client.images(all=True)
    assert len(images) >= 4
    assert len(client.runner.calls) == LIST_CALLS[engine]


def test_inspect_many_images_in_one_call(client: Client, engine: str) -> None:
    found = client.inspect(CHAIN[1], BASE, CHAIN[0], BASE_ALIAS)
    assert len(client.runner.calls) == INSPECT_CALLS[engine]
    assert [CHAIN[1] in found[0].names, BASE in found[1].names] == [True, True]
    assert found[1].id == found[3].id
    second, first = found[0], found[2]
    assert second.diff_ids[:-1] == first.diff_ids  # derived images share their base's layers
    assert first.diff_ids[:-1] == found[1].diff_ids
    assert second.parent == first.id and first.parent == found[1].id
    assert first.author == AUTHOR and first.comment == "first"
    assert second.comment == "second"


BATCHED = [e for e in ENGINES if e != "oci"]  # the OCI store is read without argv
if BATCHED:

    @pytest.mark.parametrize("engine", BATCHED, indirect=True)
    def test_many_images_in_several_batches_give_the_same_result(
        client: Client, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        whole = client.images(all=True)
        monkeypatch.setattr(
            "ocitool.backends.common.parsing.BATCH_CHARS", 150
        )  # two IDs per engine call
        calls_before = len(client.runner.calls)
        batched = client.images(all=True)
        listing = LIST_CALLS[client.backend_name] - 1  # the calls besides the inspect
        assert len(client.runner.calls) - calls_before == listing + (len(whole) + 1) // 2
        assert batched == whole


def test_hub_names_read_the_same_on_every_engine(client: Client, engine: str) -> None:
    tag_outside(engine, BASE, "docker.io/library/ocitool-hub:1")
    try:
        assert "ocitool-hub:1" in client.image(BASE).names
        assert client.image("ocitool-hub:1").id == client.image(BASE).id
    finally:
        untag_outside(engine, "docker.io/library/ocitool-hub:1")


def test_inspect_by_id_and_short_id(client: Client) -> None:
    image = client.image(BASE)
    assert client.image(image.id).id == image.id
    assert client.image(image.short_id).id == image.id


def test_missing_images_are_named(client: Client) -> None:
    with pytest.raises(ImageNotFound) as err:
        client.inspect("ocitool-test/nope:1", BASE, "ocitool-test/nada:2")
    assert sorted(err.value.refs) == ["ocitool-test/nada:2", "ocitool-test/nope:1"]
    with pytest.raises(ImageNotFound) as err:
        client.history("ocitool-test/nope:1")
    assert err.value.refs == ["ocitool-test/nope:1"]


@pytest.mark.parametrize("bad", BAD_REFS)
def test_invalid_references_never_reach_the_engine(client: Client, bad: str) -> None:
    with pytest.raises(InvalidReference):
        client.inspect(bad)
    with pytest.raises(InvalidReference):
        client.history(bad)
    assert client.runner.calls == []


def test_history_is_tied_to_layers(client: Client) -> None:
    image = client.image(CHAIN[1])
    steps = client.history(CHAIN[1])
    assert len(steps) == 3
    assert [s.diff_id for s in reversed(steps)] == image.diff_ids
    assert [s.image_id for s in steps] == [image.id, image.parent, client.image(BASE).id]
    assert all(isinstance(s.size, int) for s in steps)
    assert all(s.created is not None and s.created.tzinfo == UTC for s in steps)
    assert steps[0].author == AUTHOR
    assert not any(s.empty for s in steps)


def test_history_with_a_missing_parent(client: Client) -> None:
    steps = client.history(ORPHAN)
    assert len(steps) == 3
    assert steps[0].image_id == client.image(ORPHAN).id
    assert steps[1].image_id is None  # the engine says `<missing>`
    assert [s.diff_id for s in reversed(steps)] == client.image(ORPHAN).diff_ids


def test_containers(client: Client) -> None:
    everything = {c.name: c for c in client.containers(all=True)}
    assert {"ot-c1", "ot-c2", RUNNING} <= set(everything)
    c2 = everything["ot-c2"]
    assert c2.state == "exited"
    assert c2.image == CHAIN[0]
    assert c2.image_id == client.image(CHAIN[0]).id
    assert c2.created is not None and c2.created.tzinfo == UTC
    running = client.containers()
    assert [c.name for c in running] == [RUNNING]
    assert running[0].state == "running"


def test_info(client: Client) -> None:
    info = client.info()
    assert info.backend == client.backend_name
    assert info.found and info.reachable and info.reason is None
    assert info.version and info.rootless is (os.geteuid() != 0)
    assert info.storage_driver in {"overlay2", "overlay", "oci-layout"}


def test_cli_images_json_is_normalized(engine: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "ocitool", "--backend", engine, "images", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    docs = json.loads(out.stdout)
    ids = [d["id"] for d in docs]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    for doc in docs:
        assert type(doc["size"]) is int
        assert RFC3339_UTC.match(doc["created"])
        assert doc["backend"] == engine
    base = next(d for d in docs if BASE in d["names"])
    assert base["names"] == sorted([BASE, BASE_ALIAS])


if "podman" in ENGINES:

    def test_podman_oci_image_has_no_borrowed_comment(lab: Lab) -> None:
        # podman shows an OCI image's first history comment as the image's
        # (docs/engines.md, Inspect).
        build_images("podman", lab)
        lab_setup.engine(["podman", "commit", "ot-c1", "ocitool-test/oci:1"])  # OCI by default
        try:
            image = Client(backend="podman").image("ocitool-test/oci:1")
            assert image.comment is None
            assert Client(backend="podman").image(BASE).comment == BASE_MESSAGE  # one step: its own
        finally:
            lab_setup.engine(["podman", "rmi", "ocitool-test/oci:1"])


# Fields whose values legitimately differ between engines for the same imported
# tarball; docs/models.md ("Engine-specific fields") gives the reason for each.
ENGINE_SPECIFIC = {"id", "created", "size", "accounting", "repo_digests", "backend"}
ENGINE_SPECIFIC_LAYER = {"created", "created_by", "comment", "author", "digest", "size"}


def normalized(image: Image) -> dict[str, object]:
    doc = image.model_dump(mode="json", exclude=ENGINE_SPECIFIC)
    doc["layers"] = [
        {k: v for k, v in layer.items() if k not in ENGINE_SPECIFIC_LAYER}
        for layer in doc["layers"]
    ]
    return doc


def test_same_import_gives_the_same_normalized_inspect(lab: Lab) -> None:
    images = {}
    for engine in ENGINES:
        build_images(engine, lab)
        images[engine] = Client(backend=engine).image(BASE)
    first = next(iter(images.values()))
    for engine, image in images.items():
        assert normalized(image) == normalized(first), engine
        assert image.comment == BASE_MESSAGE
        assert image.diff_ids == first.diff_ids  # the tarball's sha256, on every engine


def test_sizes_say_what_they_count(client: Client, engine: str) -> None:
    """history, layers and inspect state their accounting as du does, table and JSON."""
    accounting = client.du().accounting
    assert client.image(CHAIN[1]).accounting == accounting
    assert {s.accounting for s in client.history(CHAIN[1])} == {accounting}
    assert {r.step.accounting for r in client.layers(CHAIN[1])} == {accounting}
    footer = f"sizes: {accounting}"
    for command in (["history", CHAIN[1]], ["layers", CHAIN[1]], ["du"]):
        shown = _ocitool(engine, *command)
        assert shown.stdout.splitlines()[-1] == footer, command
    assert re.search(
        rf"^Sizes count +{re.escape(accounting)}$",
        _ocitool(engine, "inspect", CHAIN[1]).stdout,
        re.M,
    )
    for command in (["inspect", CHAIN[1]], ["images"]):
        docs = json.loads(_ocitool(engine, *command, "--format", "json").stdout)
        assert {d["accounting"] for d in docs} == {accounting}
    steps = json.loads(_ocitool(engine, "history", CHAIN[1], "--format", "json").stdout)
    assert {s["accounting"] for s in steps} == {accounting}


def test_inspect_gives_every_layer_its_size(client: Client, engine: str) -> None:
    """From the engine's own layer records, in the inspect's one call; the same bytes
    that history and du count for each layer."""
    image = client.image(CHAIN[1])
    assert len(client.runner.calls) == INSPECT_CALLS[engine]
    sizes = [layer.size for layer in image.layers]
    assert all(isinstance(s, int) for s in sizes), sizes
    by_history = {s.diff_id: s.size for s in client.history(CHAIN[1]) if s.diff_id}
    assert sizes == [by_history[d] for d in image.diff_ids]
    doc = json.loads(_ocitool(engine, "inspect", CHAIN[1], "--format", "json").stdout)[0]
    assert [layer["size"] for layer in doc["layers"]] == sizes


def _ocitool(engine: str, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ocitool", "--backend", engine, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc
