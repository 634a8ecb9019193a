"""The backends on recorded real output (tests/fixtures, made by record.py).

The recorded lab: labbase:1 imported from busybox; img:first and img:second
committed on it (img:alias is a second tag of img:first); lab/cfg:1 with every
config field set; lab/m:2 whose parent image is gone; a dangling import on
docker; containers lab_c1, lab_c2, lab_cfg (exited) and lab_running.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any

import pytest

from ocitool.backends import registry as backends
from ocitool.backends.common.listing import human_bytes
from ocitool.config import Config
from ocitool.engine import Engine as Backend
from ocitool.errors import (
    BackendUnavailable,
    Conflict,
    ContainerNotFound,
    ImageInUse,
    ImageNotFound,
    OcitoolError,
)
from ocitool.models import Image
from ocitool.render import human_size
from tests.replay import FIXTURES, ReplayRunner

ENGINES = ["docker", "podman"]
ID = re.compile(r"^sha256:[0-9a-f]{64}$")
AUTHOR = "Lab Author <lab@example.com>"


@pytest.fixture(autouse=True)
def no_host_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recorded output only: podman's backend must not find this host's storage files
    (it would read image IDs there and ask for an inspect nobody recorded)."""
    monkeypatch.setattr("ocitool.backends.podman.backend.storage_location", lambda: None)


def backend(engine: str, name: str) -> Backend:
    return backends.load(engine, ReplayRunner(engine, name), Config())


def by_name(images: list[Image], name: str) -> Image:
    return next(i for i in images if name in i.names)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("recording", ["listing", "listing_all"])
def test_the_list_call_agrees_with_inspect(engine: str, recording: str) -> None:
    """`ocitool images` prints from the list call alone; it must say what inspect says."""
    b = backend(engine, recording)
    every = recording == "listing_all"
    summaries = b.image_summaries(all=every)
    images = {i.id: i for i in b.images(all=every)}
    assert sorted(s.id for s in summaries) == sorted(images)
    if engine == "docker":
        assert any(not s.names for s in summaries)  # the dangling import is listed too
    for summary in summaries:
        image = images[summary.id]
        assert (summary.names, summary.repo_digests) == (image.names, image.repo_digests)
        assert image.created is not None
        assert summary.created == image.created.replace(microsecond=0)
        assert summary.size is not None
        if engine == "podman":
            assert summary.size == image.size
        else:  # docker's list prints sizes to four digits; the table shows three
            assert abs(summary.size - image.size) <= image.size / 1000
            assert human_size(summary.size) == human_size(image.size)


@pytest.mark.parametrize(
    ("text", "size"),
    [("1.982MB", 1_982_000), ("4B", 4), ("12.3kB", 12_300), ("202MB", 202_000_000), ("", None)],
)
def test_docker_list_sizes_as_bytes(text: str, size: int | None) -> None:
    assert human_bytes(text) == size


@pytest.mark.parametrize("engine", ENGINES)
def test_images_are_one_entry_per_id_with_canonical_fields(engine: str) -> None:
    images = backend(engine, "images").images()
    ids = [i.id for i in images]
    assert len(ids) == len(set(ids))
    assert all(ID.match(i) for i in ids)
    for image in images:
        assert isinstance(image.size, int) and image.size > 0
        assert image.created is not None and image.created.tzinfo == UTC
        assert all(ID.match(d) for d in image.diff_ids)
    first = by_name(images, "img:first")
    assert first.names == ["img:alias", "img:first"]  # podman's two rows, folded
    assert first.author == AUTHOR
    assert first.comment == "first commit msg"


@pytest.mark.parametrize("engine", ENGINES)
def test_commit_chain_shares_layers_and_knows_parents(engine: str) -> None:
    images = backend(engine, "images").images()
    base, first, second = (by_name(images, n) for n in ("labbase:1", "img:first", "img:second"))
    assert first.diff_ids[:1] == base.diff_ids
    assert second.diff_ids[:2] == first.diff_ids
    assert len(second.diff_ids) == 3
    assert first.parent == base.id
    assert second.parent == first.id
    assert base.parent is None


@pytest.mark.parametrize("engine", ENGINES)
def test_config_fields_are_normalized(engine: str) -> None:
    cfg = by_name(backend(engine, "images").images(), "lab/cfg:1").config
    assert cfg.cmd == ["-c", "echo hi"]
    assert cfg.entrypoint == ["/bin/sh"]
    assert "FOO=bar" in cfg.env
    assert cfg.labels == {"org.example.team": "images"}
    assert cfg.working_dir == "/work"
    assert cfg.user == "1000"


def test_docker_untagged_image_has_no_names() -> None:
    images = backend("docker", "images").images()
    dangling = [i for i in images if not i.names]
    assert len(dangling) == 1
    assert dangling[0].diff_ids == by_name(images, "labbase:1").diff_ids


def test_podman_names_lose_localhost_prefix_and_ids_gain_sha256() -> None:
    images = backend("podman", "images").images()
    assert all(not n.startswith("localhost/") for i in images for n in i.names)
    assert all(not d.startswith("localhost/") for i in images for d in i.repo_digests)
    base = by_name(images, "labbase:1")
    assert base.repo_digests and base.repo_digests[0].startswith("labbase@sha256:")


@pytest.mark.parametrize("engine", ENGINES)
def test_history_is_newest_first_and_tied_to_layers(engine: str) -> None:
    steps = backend(engine, "history_second").history("img:second")
    image = by_name(backend(engine, "images").images(), "img:second")
    assert len(steps) == 3
    assert [s.diff_id for s in reversed(steps)] == image.diff_ids  # in layer order
    assert all(ID.match(s.image_id or "") for s in steps)
    assert all(isinstance(s.size, int) for s in steps)
    assert all(s.created and s.created.tzinfo == UTC for s in steps)
    assert steps[0].created and steps[2].created and steps[0].created >= steps[2].created
    assert steps[0].author == AUTHOR and not steps[0].empty


def test_docker_history_carries_commit_messages() -> None:
    steps = backend("docker", "history_second").history("img:second")
    assert [s.comment for s in steps][:2] == ["second commit msg", "first commit msg"]
    assert [s.size for s in steps][:2] == [4, 4]  # docker counts file bytes


def test_podman_history_comment_is_the_base_name() -> None:
    # podman stores "FROM <base>" as the step comment; -m goes to the image
    # (docs/engines.md, History).
    steps = backend("podman", "history_second").history("img:second")
    assert steps[0].comment == "FROM localhost/img:first"
    assert steps[0].size == 2048  # podman counts tar bytes


@pytest.mark.parametrize("engine", ENGINES)
def test_history_with_a_missing_parent(engine: str) -> None:
    steps = backend(engine, "history_m2").history("lab/m:2")
    assert steps[1].image_id is None  # `<missing>`
    assert steps[0].image_id is not None
    assert all(s.diff_id for s in steps)  # still tied to the layers
    assert len({s.diff_id for s in steps}) == 3


def test_docker_history_zero_byte_layer_is_not_empty() -> None:
    # `mkdir /work` makes a real layer that docker reports as 0 bytes.
    steps = backend("docker", "history_cfg").history("lab/cfg:1")
    assert steps[0].size == 0
    assert steps[0].empty is False and steps[0].diff_id


@pytest.mark.parametrize("engine", ENGINES)
def test_containers(engine: str) -> None:
    found = backend(engine, "containers_all").containers(all=True)
    names = {c.name: c for c in found}
    assert set(names) == {"lab_c1", "lab_c2", "lab_cfg", "lab_running"}
    assert names["lab_running"].state == "running"
    assert names["lab_c2"].state == "exited"
    assert names["lab_c2"].image == "img:first"
    assert names["lab_c2"].image_id and ID.match(names["lab_c2"].image_id)
    assert all(c.created and c.created.tzinfo == UTC for c in found)
    running = backend(engine, "containers").containers()
    assert [c.name for c in running] == ["lab_running"]


@pytest.mark.parametrize("engine", ENGINES)
def test_inspect_reports_every_missing_image(engine: str) -> None:
    with pytest.raises(ImageNotFound) as err:
        backend(engine, "inspect_missing").inspect(["nonexist:1", "img:first", "nada:2"])
    assert sorted(err.value.refs) == ["nada:2", "nonexist:1"]
    assert err.value.exit_code == 3


@pytest.mark.parametrize("engine", ENGINES)
def test_history_of_missing_image(engine: str) -> None:
    with pytest.raises(ImageNotFound) as err:
        backend(engine, "history_missing").history("nonexist:1")
    assert err.value.refs == ["nonexist:1"]


@pytest.mark.parametrize("engine", ENGINES)
def test_info(engine: str) -> None:
    info = backend(engine, "info").info()
    assert info.reachable and info.found
    assert info.rootless is False
    assert info.version == {"docker": "20.10.24+dfsg1", "podman": "4.3.1"}[engine]
    assert info.storage_driver == {"docker": "overlay2", "podman": "overlay"}[engine]


def test_docker_unreachable_daemon() -> None:
    info = backend("docker", "info_unreachable").info()
    assert not info.reachable
    assert info.reason == (
        "daemon not reachable at unix:///nonexistent/docker.sock; "
        "is dockerd running? set DOCKER_HOST"
    )
    with pytest.raises(BackendUnavailable) as err:
        backend("docker", "images_unreachable").images()
    assert "unix:///nonexistent/docker.sock" in err.value.one_line()
    assert err.value.exit_code == 5


WRITE_ERRORS = [
    ("rmi_in_use", lambda b: b.remove_images(["labbase:1"]), ImageInUse, 4),
    (
        "create_name_in_use",
        lambda b: b.create("labbase:1", ["true"], name="lab_c1", pull="never", **CREATE),
        Conflict,
        8,
    ),
    (
        "create_missing_image",
        lambda b: b.create("nonexist:1", ["true"], name="lab_x", pull="never", **CREATE),
        ImageNotFound,
        3,
    ),
    ("rm_running", lambda b: b.remove_containers(["lab_running"], force=False), Conflict, 8),
    ("stop_missing", lambda b: b.stop(["nosuch"], timeout=1), ContainerNotFound, 3),
    (
        "commit_missing",
        lambda b: b.commit("nosuch", "lab/x:1", author=None, message=None, changes=[]),
        ContainerNotFound,
        3,
    ),
]
CREATE: dict[str, Any] = {
    "interactive": False,
    "tty": False,
    "remove": False,
    "network": "none",
    "env": [],
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("name", "call", "error", "code"), WRITE_ERRORS)
def test_write_errors_are_mapped(
    engine: str, name: str, call: Callable[[Backend], object], error: type[OcitoolError], code: int
) -> None:
    with pytest.raises(error) as err:
        call(backend(engine, name))
    assert err.value.exit_code == code
    line = err.value.one_line()
    assert "\n" not in line and "hint:" in line
    if name == "rm_running":
        assert "container lab_running is running" in line
    if name == "create_name_in_use":
        assert "container name lab_c1 is already in use" in line


def test_docker_history_of_a_loaded_build_never_guesses() -> None:
    """After save/load, docker forgets the intermediate images; 0-byte steps such as
    `RUN true` (no layer) and `WORKDIR /w` (a layer) cannot be told apart from the
    CLI, so they are unknown, and no step is given another step's layer."""
    truth = json.loads((FIXTURES / "docker" / "built_config.json").read_text())
    flags = [bool(h.get("empty_layer")) for h in truth["history"]]
    layer_of, layers = [], iter(truth["diff_ids"])
    for empty in flags:
        layer_of.append(None if empty else next(layers))
    steps = list(reversed(backend("docker", "history_built").history("lab/built:1")))
    assert len(steps) == len(flags)
    for step, empty, diff_id in zip(steps, flags, layer_of, strict=True):
        assert step.empty in (empty, None)
        assert step.diff_id in (diff_id, None)
    unknown = [s.created_by for s in steps if s.empty is None]
    assert unknown == ["/bin/sh -c mkdir /made", "/bin/sh -c true", "/bin/sh -c #(nop) WORKDIR /w"]
    assert [s.empty for s in steps if s.created_by and "ENV" in s.created_by] == [True]
    assert steps[0].diff_id == truth["diff_ids"][0]


def test_podman_history_of_a_build_is_exact() -> None:
    image = backend("podman", "inspect_built").inspect(["lab/built:1"])[0]
    steps = backend("podman", "history_built").history("lab/built:1")
    assert [s.empty for s in steps] == [True, True, False, False, True, False, True, False]
    assert [s.diff_id for s in reversed(steps) if not s.empty] == image.diff_ids
    # podman's own row IDs are per layer and can be a step off; the images are found
    # through the parent chain and kept only where their history ends at that step
    assert steps[0].image_id == image.id
    ids = [s.image_id for s in steps]
    assert all(ids) and len(set(ids)) == len(steps)  # podman build keeps every step's image
