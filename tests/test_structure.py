"""Image structure on every engine: sizes, sharing, the tree, diffs, and layer contents."""

from __future__ import annotations

import io
import itertools
import json
import shutil
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from ocitool import capabilities as can
from ocitool.backends.common.archive import each_layer
from ocitool.backends.podman.store import storage_location
from ocitool.client import Client
from ocitool.errors import StoreCorrupt
from ocitool.layerfiles import DIRECTORY, LayerScan, analyse, final_files, scan_layer
from ocitool.models import ImageDiff, ImageUsage, UsageReport
from ocitool.structure import file_changes, label, usage
from ocitool.usage import held_by
from tests import lab as lab_setup
from tests.conftest import BASE, CHAIN, ENGINES, ORPHAN, Lab, build_images
from tests.test_cli import ocitool

FIRST, SECOND = "structure/chapter:first", "structure/chapter:second"
WASTE = ("structure/waste:1", "structure/waste:2")


def chapter_images(engine: str, lab: Lab) -> dict[str, ImageUsage]:
    """The chapter's three images; returns first's usage as it was before second existed."""
    build_images(engine, lab)
    c = Client(backend=engine)
    if not any(FIRST in i.names for i in c.images()):
        c.run(BASE, ["sh", "-c", "echo first > /first"], name="st-c1", network="none")
        c.commit("st-c1", FIRST, author="soojong", message="my first commit")
    alone = {n: u for u in c.du().images for n in u.names}
    if not any(SECOND in i.names for i in c.images()):
        c.run(FIRST, ["sh", "-c", "echo second > /second"], name="st-c2", network="none")
        c.commit("st-c2", SECOND, author="soojong", message="my second commit")
    return alone


@pytest.mark.parametrize("engine", ENGINES)
def test_a_commit_costs_only_the_files_it_added(engine: str, lab: Lab) -> None:
    alone = chapter_images(engine, lab)
    c = Client(backend=engine)
    top = next(s for s in c.history(FIRST) if not s.empty)  # the engine's size of that layer
    assert top.size is not None
    if engine == "docker":
        assert top.size == len("first\n")  # docker counts file contents
    else:
        assert 0 < top.size < 16 * 1024  # podman: the layer's tar; oci: its gzip blob
    # before second exists, removing first alone frees exactly the layer it added
    assert alone[FIRST].unique == alone[FIRST].added == top.size
    # with second built on it, first's layers are all shared: removing it frees nothing
    report = c.du()
    usage = {n: u for u in report.images for n in u.names}
    assert usage[FIRST].unique == 0 and usage[FIRST].added == top.size
    assert usage[SECOND].shared == usage[FIRST].size
    assert usage[BASE].unique == 0 and usage[BASE].shared == usage[BASE].size  # base is shared
    # every layer is counted once in the totals
    assert report.total == report.shared + report.unique
    assert report.total < sum(u.size for u in report.images)


BUILT = "structure/built:1"
CONTAINERFILE = f"""FROM {BASE}
RUN echo a > /a
ENV STEP=2
RUN echo b > /b
"""


def _engine_du(c: Client) -> UsageReport:
    """du as the engine's CLI alone tells it: list, inspect, history sizes, containers."""
    images = c.backend.images()
    sizes = c.engines.need(can.LAYER_SIZES).layer_sizes(images)
    assert sizes is not None
    held = held_by(c.backend.containers(all=True))
    return usage(images, sizes, held, accounting=c.backend.size_accounting)


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_du_from_the_engine_store_says_what_its_cli_says(engine: str, lab: Lab) -> None:
    """du reads docker's and podman's own files; it must agree with list + inspect,
    with a dangling image, a build's nameless intermediates and a hidden parent."""
    chapter_images(engine, lab)
    run = lab_setup.engine
    (lab.work / "ctx").mkdir(exist_ok=True)
    (lab.work / "ctx" / "Containerfile").write_text(CONTAINERFILE)
    fmt = ["--format", "docker"] if engine == "podman" else []
    layers = ["--layers"] if engine == "podman" else []
    build = [engine, "build", "-q", "--network", "none", *fmt, *layers, "-t", BUILT]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DOCKER_BUILDKIT", "0")  # the classic builder keeps intermediate images
        run([*build, "-f", str(lab.work / "ctx" / "Containerfile"), str(lab.work / "ctx")])
    # The second import takes the name: the first is left dangling. Other messages,
    # or podman would reuse the first image for the same file.
    run([engine, "import", "--message", "one", str(lab.tar), "structure/dangle:1"])
    run([engine, "import", "--message", "two", str(lab.tar), "structure/dangle:1"])
    c = Client(backend=engine)
    store = c.engines.need(can.STORE_USAGE).store_usage()
    assert store is not None, "the engine's store was not read here"
    listed = {i.id for i in c.image_summaries()}
    assert {i.id for i in store.images} == listed  # hidden intermediates stay hidden
    assert any(not i.names for i in store.images)  # the dangling one is listed
    assert len(c.image_summaries(all=True)) > len(listed)  # the build left hidden ones
    assert c.du() == _engine_du(c)
    if engine == "podman":  # podman's images() reads the IDs from its files too
        for every in (False, True):
            by_cli = [
                s.id for s in c.backend.image_summaries(all=every)
            ]  # the engine's own list call
            assert sorted(i.id for i in c.images(all=every)) == sorted(by_cli)


def test_du_falls_back_to_the_cli_where_the_store_is_not_found(
    lab: Lab, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    build_images("podman", lab)
    expected = _engine_du(Client(backend="podman"))
    monkeypatch.setattr(
        "ocitool.backends.podman.backend.storage_location", lambda: (str(tmp_path), "overlay")
    )
    c = Client(backend="podman")
    assert c.engines.need(can.STORE_USAGE).store_usage() is None
    assert c.du() == expected
    assert sorted(i.id for i in c.images()) == sorted(s.id for s in c.backend.image_summaries())


def test_du_trusts_only_the_store_podman_itself_uses(lab: Lab, tmp_path: Path) -> None:
    """A faithful copy of podman's files elsewhere reads well, but podman's own
    inspect places its images under its real graph root: the copy is not used."""
    build_images("podman", lab)
    location = storage_location()
    assert location is not None
    root, driver = location[0], location[1] or "overlay"
    copy = tmp_path / "graph"
    shutil.copytree(Path(root) / f"{driver}-images", copy / f"{driver}-images")
    (copy / f"{driver}-layers").mkdir()
    shutil.copy(Path(root) / f"{driver}-layers" / "layers.json", copy / f"{driver}-layers")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            "ocitool.backends.podman.backend.storage_location", lambda: (str(copy), driver)
        )
        assert Client(backend="podman").engines.need(can.STORE_USAGE).store_usage() is None
    assert (
        Client(backend="podman").engines.need(can.STORE_USAGE).store_usage() is not None
    )  # the real one is


def _conf(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_podman_storage_is_found_as_containers_storage_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc" / "storage.conf"
    monkeypatch.setattr("ocitool.backends.podman.store.SYSTEM_CONFS", (str(system),))
    monkeypatch.delenv("CONTAINERS_STORAGE_CONF", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert storage_location() == ("/var/lib/containers/storage", None)  # no file at all
    _conf(system, '[storage]\ndriver = "overlay"\ngraphroot = "/srv/graph"\n')
    assert storage_location() == ("/srv/graph", "overlay")
    explicit = _conf(tmp_path / "mine.conf", '[storage]\ngraphroot = "/mine"\n')
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", explicit)
    assert storage_location() == ("/mine", None)
    monkeypatch.delenv("CONTAINERS_STORAGE_CONF")
    # Rootless: the system file's graphroot is root's; the user's own file counts.
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    home_store = str(tmp_path / "home" / ".local" / "share" / "containers" / "storage")
    assert storage_location() == (home_store, "overlay")
    user = tmp_path / "home" / ".config" / "containers" / "storage.conf"
    _conf(user, '[storage]\ngraphroot = "/home/store"\n')
    assert storage_location() == ("/home/store", None)
    user.unlink()
    # What du cannot follow by reading files sends it back to the CLI.
    _conf(system, '[storage]\nrootless_storage_path = "/x/$UID"\n')
    assert storage_location() is None
    monkeypatch.setattr("os.geteuid", lambda: 0)
    _conf(system, '[storage.options]\nadditionalimagestores = ["/ro"]\n')
    assert storage_location() is None
    _conf(system, "[storage\n")
    assert storage_location() is None


@pytest.mark.parametrize("engine", ENGINES)
def test_the_tree_shows_base_first_second(engine: str, lab: Lab) -> None:
    chapter_images(engine, lab)
    c = Client(backend=engine)
    base, first, second = (c.image(n).id for n in (BASE, FIRST, SECOND))

    def path_to(nodes: list, target: str) -> list[str] | None:  # type: ignore[type-arg]
        for node in nodes:
            if node.id == target:
                return [node.id]
            below = path_to(node.children, target)
            if below:
                return [node.id, *below]
        return None

    path = path_to(c.tree(), second)
    assert path is not None and path[-3:] == [base, first, second]
    proc = ocitool("--backend", engine, "tree")
    assert proc.returncode == 0 and SECOND in proc.stdout


@pytest.mark.parametrize("engine", ENGINES)
def test_diff_from_first_to_second_is_exactly_the_added_file(engine: str, lab: Lab) -> None:
    chapter_images(engine, lab)
    result = Client(backend=engine).diff(FIRST, SECOND, files=True)
    assert len(result.only_a) == 0 and len(result.only_b) == 1
    assert result.files is not None
    assert [(f.path, f.change) for f in result.files] == [("/second", "added")]
    assert {c.field for c in result.config} >= {"comment"}


@pytest.mark.parametrize("engine", ENGINES)
def test_layers_show_who_shares_them(engine: str, lab: Lab) -> None:
    chapter_images(engine, lab)
    c = Client(backend=engine)
    rows = c.layers(SECOND)
    base_row = rows[-1]
    # an image is shown by its first name, and other tests may give BASE more names
    shown = {n: label(i) for i in c.images() for n in (BASE, FIRST) if n in i.names}
    assert shown[BASE] in base_row.shared_with and shown[FIRST] in base_row.shared_with
    assert rows[0].shared_with == []  # second's own layer is its alone


def waste_images(engine: str, lab: Lab) -> None:
    build_images(engine, lab)
    c = Client(backend=engine)
    if any(WASTE[1] in i.names for i in c.images()):
        return
    c.run(
        BASE,
        ["sh", "-c", "head -c 1000000 /dev/urandom > /big; head -c 100000 /dev/urandom > /over"],
        name="st-w1",
        network="none",
    )
    c.commit("st-w1", WASTE[0])
    c.run(
        WASTE[0],
        ["sh", "-c", "rm /big; head -c 50000 /dev/urandom > /over"],
        name="st-w2",
        network="none",
    )
    c.commit("st-w2", WASTE[1])


@pytest.mark.parametrize("engine", ENGINES)
def test_wasted_bytes_and_efficiency(engine: str, lab: Lab) -> None:
    waste_images(engine, lab)
    result = Client(backend=engine).layer_files(WASTE[1])
    assert result.wasted_bytes == 1_000_000 + 100_000  # /big removed, /over overwritten
    assert result.efficiency == pytest.approx(
        (result.total_bytes - result.wasted_bytes) / result.total_bytes
    )
    top = result.layers[-1]
    changes = {(f.path, f.change) for f in top.files}
    assert ("/big", "removed") in changes and ("/over", "changed") in changes
    assert result.layers[-2].wasted_by_later == 1_100_000
    failing = ocitool(
        "--backend", engine, "layers", WASTE[1], "--files", "--ci", "--lowest-efficiency", "0.99"
    )
    assert failing.returncode == 11
    assert "FAIL: efficiency" in failing.stderr
    passing = ocitool(
        "--backend",
        engine,
        "layers",
        WASTE[1],
        "--files",
        "--ci",
        "--lowest-efficiency",
        "0.1",
        "--highest-wasted-bytes",
        "2MB",
    )
    assert passing.returncode == 0 and "PASS" in passing.stderr


class CraftedLayer(io.RawIOBase):
    """A hostile layer tar made block by block as it is read (never held whole)."""

    def __init__(self, count: int) -> None:
        special = []
        for name, kind, target in (
            ("../escape", tarfile.REGTYPE, ""),
            ("a/../../b", tarfile.REGTYPE, ""),
            ("/etc/absolute", tarfile.REGTYPE, ""),
            ("loop-a", tarfile.SYMTYPE, "loop-b"),
            ("loop-b", tarfile.SYMTYPE, "loop-a"),
            ("up", tarfile.SYMTYPE, "../../.."),
        ):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            special.append(info)
        many = (tarfile.TarInfo(f"many/{i}") for i in range(count))
        self.headers = itertools.chain(special, many)
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self.pending) < len(buffer) and not self.done:
            header = next(self.headers, None)
            if header is None:
                self.pending += b"\0" * 1024  # end of archive
                self.done = True
            else:
                self.pending += header.tobuf(format=tarfile.GNU_FORMAT)
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def test_a_hostile_layer_is_analysed_safely(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracemalloc.start()
    try:
        scan = scan_layer(io.BufferedReader(CraftedLayer(60_000)), limit=5_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert scan.counted == 60_006
    assert len(scan.entries) == 5_000 and scan.truncated
    assert set(scan.unsafe) == {"../escape", "a/../../b"}
    paths = {e.path for e in scan.entries}
    assert "etc/absolute" in paths and "loop-a" in paths  # kept inside the root, links unfollowed
    assert peak < 16 * 1024 * 1024  # bounded by the limit, not by the 60,006 entries
    result = analyse([scan])
    assert result.truncated and result.unsafe_paths == scan.unsafe
    assert list(tmp_path.iterdir()) == []  # nothing was written


def layer(*entries: tuple[str, bytes | str | None]) -> io.BytesIO:
    """A layer tar: bytes make a file, None a directory, "->x" a symlink, "=>x" a hardlink."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name, body in entries:
            info = tarfile.TarInfo(name)
            if body is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(body, str):
                info.type = tarfile.SYMTYPE if body.startswith("->") else tarfile.LNKTYPE
                info.linkname = body[2:]
                tar.addfile(info)
            else:
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    data.seek(0)
    return data


def test_whiteouts_and_opaque_directories() -> None:
    lower = scan_layer(layer(("d", None), ("d/x", b"12345"), ("d/y", b"123"), ("keep", b"1")))
    upper = scan_layer(layer(("d/.wh..wh..opq", b""), ("d/z", b"12"), (".wh.keep", b"")))
    result = analyse([lower, upper])
    removed = {f.path for f in result.layers[1].files if f.change == "removed"}
    assert removed == {"/d/x", "/d/y", "/keep"}
    assert result.wasted_bytes == 5 + 3 + 1
    assert lower.diff_id.startswith("sha256:") and len(lower.diff_id) == 71


def test_whiteouts_hide_lower_layers_only_wherever_they_sit_in_the_tar() -> None:
    lower = scan_layer(layer(("d", None), ("d/x", b"12345")))
    upper = scan_layer(layer(("d/z", b"12"), ("d/.wh..wh..opq", b""), ("d/.wh.z", b"")))
    result = analyse([lower, upper])
    assert {(f.path, f.change) for f in result.layers[1].files} == {
        ("/d/x", "removed"),
        ("/d/z", "added"),
    }
    assert result.wasted_bytes == 5


def test_a_file_over_a_directory_hides_the_whole_subtree() -> None:
    lower = scan_layer(layer(("d", None), ("d/a", b"123"), ("d/e/b", b"4567"), ("f", b"1")))
    upper = scan_layer(layer(("d", b"12"), ("f", None), ("f/g", b"12")))
    result = analyse([lower, upper])
    removed = {f.path for f in result.layers[1].files if f.change == "removed"}
    assert removed == {"/d/a", "/d/e/b", "/f"}
    assert result.wasted_bytes == 3 + 4 + 1
    assert result.layers[0].wasted_by_later == 8
    assert final_files([lower, upper]) == {
        "d": (2, None, "file"),
        "f": DIRECTORY,
        "f/g": (2, None, "file"),
    }


def test_removing_one_name_of_a_hardlinked_file_wastes_nothing() -> None:
    lower = scan_layer(layer(("a", b"x" * 100), ("b", "=>a")))
    upper = scan_layer(layer((".wh.a", b"")))
    result = analyse([lower, upper])
    assert result.layers[0].size == 100  # the link stores no second copy
    assert result.wasted_bytes == 0
    gone = scan_layer(layer((".wh.b", b"")))
    assert analyse([lower, upper, gone]).wasted_bytes == 100  # the last name went


def test_a_new_symlink_target_is_a_change() -> None:
    first = scan_layer(layer(("l", "->a")), contents=True)
    second = scan_layer(layer(("l", "->b")), contents=True)
    changes = file_changes(final_files([first]), final_files([first, second]))
    assert [(c.path, c.change) for c in changes] == [("/l", "changed")]


def test_a_cut_short_layer_is_a_clear_error_not_an_interrupt() -> None:
    whole = layer(("a", b"x" * 5000), ("b", b"y" * 5000)).getvalue()
    for broken in (whole[:700], whole[:6000], b"not a tar at all" * 40):
        with pytest.raises(StoreCorrupt, match="not a readable tar"):
            scan_layer(io.BytesIO(broken))
    with pytest.raises(StoreCorrupt, match="archive is not a readable tar"):
        each_layer(io.BytesIO(whole[:6000]), lambda stream: None)


def test_a_removed_directory_is_listed_with_what_it_held() -> None:
    lower = scan_layer(layer(("dir", None), ("dir/x", b"123"), ("dir/sub", None), ("keep", b"1")))
    upper = scan_layer(layer((".wh.dir", b"")))
    before, after = final_files([lower]), final_files([lower, upper])
    changes = [(c.path, c.change, c.kind) for c in file_changes(before, after)]
    assert changes == [
        ("/dir", "removed", "dir"),
        ("/dir/sub", "removed", "dir"),
        ("/dir/x", "removed", "file"),
    ]
    added = file_changes(after, before)
    assert [c.path for c in added] == ["/dir", "/dir/sub", "/dir/x"]


NASTY = "evil\x1b]0;owned\x07\nname with space\\x\x7f\udcff"


def test_names_with_control_characters_are_escaped_as_ls_b_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ocitool import render

    lower = scan_layer(layer(("keep", b"1")))
    upper = scan_layer(layer((NASTY, b"12")))
    render.file_analysis(analyse([lower, upper]))
    diff = structure_diff_with_files(lower, upper)
    render.image_diff(diff)
    out = capsys.readouterr().out
    shown = "/evil\\033]0;owned\\a\\nname\\ with\\ space\\\\x\\177\\377"
    assert out.count(shown) == 2
    assert "\x1b" not in out and "\x07" not in out
    assert all(line.isprintable() for line in out.splitlines())
    assert diff.model_dump(mode="json")["files"][0]["path"] == "/" + NASTY  # JSON as it is


def structure_diff_with_files(lower: LayerScan, upper: LayerScan) -> ImageDiff:
    return ImageDiff(
        a="a", b="b", files=file_changes(final_files([lower]), final_files([lower, upper]))
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_a_truncated_analysis_says_so_and_fails_ci(
    engine: str, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry limit lowered (OCITOOL_LAYER_ENTRIES) stands for a 500,000-entry layer."""
    waste_images(engine, lab)
    generous = ["--lowest-efficiency", "0", "--highest-wasted-bytes", "1GB"]
    whole = ocitool("--backend", engine, "layers", WASTE[1], "--files", "--ci", *generous)
    assert whole.returncode == 0 and "truncated" not in whole.stdout
    monkeypatch.setenv("OCITOOL_LAYER_ENTRIES", "5")
    cut = ocitool("--backend", engine, "layers", WASTE[1], "--files", "--ci", *generous)
    assert cut.returncode == 11, cut.stderr
    assert "FAIL: a layer has more entries than ocitool keeps" in cut.stderr
    assert "truncated: a layer has more entries" in cut.stdout  # the table says it too
    listed = ocitool("--backend", engine, "layers", WASTE[1], "--files", "--format", "json")
    assert json.loads(listed.stdout)["truncated"] is True
    diff = ocitool("--backend", engine, "diff", WASTE[0], WASTE[1], "--files")
    assert diff.returncode == 0 and "truncated: a layer has more entries" in diff.stdout
    monkeypatch.setenv("OCITOOL_LAYER_ENTRIES", "many")
    bad = ocitool("--backend", engine, "layers", WASTE[1], "--files")
    assert bad.returncode == 2 and "OCITOOL_LAYER_ENTRIES='many'" in bad.stderr


TWIN = "tree/twin:1"  # the base's tarball imported again, with another message


@pytest.mark.parametrize("engine", ENGINES)
def test_the_tree_follows_history_between_images_with_the_same_layers(
    engine: str, lab: Lab
) -> None:
    """Another engine's copy of the base has the same layers and another config (podman's
    import is the oldest: it takes the tar's mtime). The tree must follow the engine's
    parent where it records one, and each image's history where it does not (docker
    forgets a loaded image's parent): the orphan was built on this engine's base, not on
    the same tarball imported again (podman dates both by the file's mtime)."""
    for each in ENGINES:
        build_images(each, lab)
    other = next((e for e in ("podman", "docker", "oci") if e != engine and e in ENGINES), None)
    c = Client(backend=engine)
    if not any(TWIN in i.names for i in c.images()):  # on podman, dated as the base is
        if engine == "oci":
            c.import_image(lab.tar, TWIN, message="the same file again")
        else:
            lab_setup.engine([engine, "import", "--message", "again", str(lab.tar), TWIN])
    copies = {}
    if other is not None:
        copies = {f"tree/base-{other}:1": BASE, f"tree/chain-{other}:1": CHAIN[0]}
        for name, source in copies.items():
            if not any(name in i.names for i in c.images()):
                c.copy(f"{other}:{source}", f"{engine}:{name}")
    parent_in_tree = {}

    def walk(nodes: list, above: str | None) -> None:  # type: ignore[type-arg]
        for node in nodes:
            parent_in_tree[node.id] = above
            walk(node.children, node.id)

    walk(c.tree(), None)
    images = c.images(all=True)
    by_name = {n: i for i in images for n in i.names}
    for image in images:  # the engine's own parent, wherever it records one
        if image.parent:
            assert parent_in_tree[image.id] == image.parent, image.names
    assert parent_in_tree[by_name[ORPHAN].id] == by_name[BASE].id
    if copies:
        base, chain = list(copies)
        assert parent_in_tree[by_name[chain].id] == by_name[base].id
        assert by_name[base].diff_ids == by_name[BASE].diff_ids  # the same layers
    proc = ocitool("--backend", engine, "tree", "--format", "json")
    assert proc.returncode == 0


DIRS = ("structure/dirs:1", "structure/dirs:2")
ODD = "odd\x1b[31mred\nline"  # ESC and a newline, as a crafted image may hold


@pytest.mark.parametrize("engine", ENGINES)
def test_removed_directories_and_odd_names_on_every_engine(engine: str, lab: Lab) -> None:
    """diff --files lists a removed directory with what it held, paths are rooted in JSON
    as in tables, and a name with ESC or a newline is escaped in tables (ls -b)."""
    build_images(engine, lab)
    c = Client(backend=engine)
    if not any(DIRS[1] in i.names for i in c.images()):
        odd = "touch \"$(printf 'odd\\033[31mred\\nline')\""
        make = f"mkdir -p /gone/sub && echo x > /gone/sub/f && {odd}"
        c.run(BASE, ["sh", "-c", make], name="st-d1", network="none")
        c.commit("st-d1", DIRS[0])
        c.run(DIRS[0], ["sh", "-c", "rm -r /gone"], name="st-d2", network="none")
        c.commit("st-d2", DIRS[1])
    proc = ocitool("--backend", engine, "diff", *DIRS, "--files", "--format", "json")
    changes = {(f["path"], f["change"], f["kind"]) for f in json.loads(proc.stdout)["files"]}
    assert {
        ("/gone", "removed", "dir"),
        ("/gone/sub", "removed", "dir"),
        ("/gone/sub/f", "removed", "file"),
    } <= changes
    assert all(path.startswith("/") for path, _, _ in changes)
    table = ocitool("--backend", engine, "diff", *DIRS, "--files").stdout
    assert "- /gone/\n" in table and "- /gone/sub/f (2B)" in table
    listed = ocitool("--backend", engine, "layers", DIRS[0], "--files", "--format", "json")
    paths = {f["path"] for layer in json.loads(listed.stdout)["layers"] for f in layer["files"]}
    assert "/" + ODD in paths and "/gone/sub/f" in paths  # JSON keeps the name as it is
    shown = ocitool("--backend", engine, "layers", DIRS[0], "--files").stdout
    assert "+ /odd\\033[31mred\\nline (0B)" in shown
    assert "\x1b" not in shown and "red\nline" not in shown


def test_a_lineage_is_read_only_from_a_history_that_describes_the_layers() -> None:
    from ocitool.backends.common.parsing import lineage_of

    made = {"created": "2026-11-28T17:53:07Z", "created_by": "ADD x"}
    assert lineage_of([made, {"created_by": "ENV a=b", "empty_layer": True}], 1)[0][1] == "ADD x"
    assert lineage_of([made], 2) == ()  # a layer no step made
    for odd in (None, "x", 3, [1], [{"created": 7.5e99}], [{"created": "noon"}]):
        assert lineage_of(odd, 1) == ()
