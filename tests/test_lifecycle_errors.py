"""The lifecycle commands under bad input and interruption, on every engine.

Each test uses its own image and container names so the tests stay independent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocitool.client import Client
from ocitool.errors import (
    Conflict,
    ContainerNotFound,
    ImageInUse,
    ImageNotFound,
    InvalidReference,
    OcitoolError,
)
from tests.conftest import BASE, Lab
from tests.test_cli import ocitool, one_error_line


def test_run_returns_the_command_exit_code_and_output(client: Client) -> None:
    result = client.run(
        BASE, ["sh", "-c", "echo out; echo err >&2; exit 3"], network="none", remove=True
    )
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.removed
    assert not [c for c in client.containers(all=True) if c.id == result.id]


def test_cli_run_passes_the_terminal_through(engine: str) -> None:
    proc = ocitool(
        "--backend",
        engine,
        "run",
        "--rm",
        "--network",
        "none",
        BASE,
        "sh",
        "-c",
        "echo hello; exit 5",
    )
    assert proc.returncode == 5
    assert proc.stdout == "hello\n"
    interactive = subprocess.run(
        [
            sys.executable,
            "-m",
            "ocitool",
            "--backend",
            engine,
            "run",
            "-i",
            "--rm",
            "--network",
            "none",
            BASE,
            "cat",
        ],
        input="typed\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (interactive.returncode, interactive.stdout) == (0, "typed\n")


def test_detached_run_start_stop_rm(client: Client) -> None:
    result = client.run(BASE, ["sleep", "600"], name="ot-detached", network="none", detach=True)
    assert result.exit_code is None and result.name == "ot-detached"
    assert [c.state for c in client.containers() if c.name == "ot-detached"] == ["running"]
    with pytest.raises(Conflict) as err:
        client.remove("ot-detached")
    assert "ot-detached is running" in err.value.one_line()
    client.stop("ot-detached", timeout=1)
    assert [c.state for c in client.containers(all=True) if c.name == "ot-detached"] == ["exited"]
    client.remove("ot-detached")
    assert not [c for c in client.containers(all=True) if c.name == "ot-detached"]


def test_a_detached_command_that_cannot_start_is_an_error(client: Client) -> None:
    with pytest.raises(OcitoolError):
        client.run(BASE, ["ot-no-such-command"], name="ot-nostart", network="none", detach=True)
    try:
        states = [c.state for c in client.containers(all=True) if c.name == "ot-nostart"]
        assert states and "running" not in states  # kept, as docker keeps it, but not running
    finally:
        client.remove("ot-nostart", force=True)


def test_container_name_in_use(client: Client) -> None:
    client.run(BASE, ["true"], name="ot-dup", network="none")
    try:
        with pytest.raises(Conflict) as err:
            client.run(BASE, ["true"], name="ot-dup", network="none")
        assert "container name ot-dup is already in use" in err.value.one_line()
    finally:
        client.remove("ot-dup")


def test_removing_an_image_that_does_not_exist(engine: str) -> None:
    proc = ocitool("--backend", engine, "rmi", "ocitool-test/nope:1")
    assert proc.returncode == 3
    assert "ocitool-test/nope:1" in one_error_line(proc)


def test_committing_a_container_that_does_not_exist(client: Client, engine: str) -> None:
    with pytest.raises(ContainerNotFound) as err:
        client.commit("ot-no-such-container", "ocitool-test/x:1")
    assert err.value.names == ["ot-no-such-container"]
    proc = ocitool("--backend", engine, "commit", "ot-no-such-container", "ocitool-test/x:1")
    assert proc.returncode == 3
    assert "ot-no-such-container" in one_error_line(proc)


@pytest.mark.parametrize("target", ["UPPER:case", "x@sha256:" + "a" * 64, "-rf", "a b"])
def test_an_invalid_target_name(client: Client, engine: str, target: str) -> None:
    with pytest.raises(InvalidReference):
        client.commit("ot-c1", target)
    with pytest.raises(InvalidReference):
        client.tag(BASE, target)
    assert client.runner.calls == []  # rejected before any engine call
    proc = ocitool("--backend", engine, "commit", "--", "ot-c1", target)
    assert proc.returncode == 2
    one_error_line(proc)


def test_a_target_that_is_already_a_tag_moves_and_says_so(client: Client, engine: str) -> None:
    old = client.commit("ot-c1", "ocitool-test/moved:1", message="old")
    proc = ocitool("--backend", engine, "commit", "-m", "new", "ot-c1", "ocitool-test/moved:1")
    assert proc.returncode == 0, proc.stderr
    new_id = proc.stdout.strip()
    assert new_id != old.id
    note = proc.stderr.strip()
    assert note.startswith("ocitool: note: ocitool-test/moved:1 moved from ")
    assert "now untagged but kept" in note and old.id in note
    kept = client.image(old.id)  # nothing was lost: the old image is still there
    assert kept.names == [] and kept.comment == "old"
    client.rmi(old.id)
    client.rmi("ocitool-test/moved:1")


def test_a_moved_tag_note_names_only_the_tags_the_old_image_keeps(
    client: Client, engine: str
) -> None:
    """`NAME` is `NAME:latest`: the note must not count the moved tag among those left."""
    old = client.commit("ot-c1", "ocitool-test/renote", message="old")
    client.tag(old.id, "ocitool-test/renote-alias:1")
    proc = ocitool("--backend", engine, "commit", "-m", "new", "ot-c1", "ocitool-test/renote")
    assert proc.returncode == 0, proc.stderr
    note = proc.stderr.strip()
    assert note.endswith(f"{old.short_id} is still tagged ocitool-test/renote-alias:1"), note
    assert client.image(old.id).names == ["ocitool-test/renote-alias:1"]
    client.rmi("ocitool-test/renote", "ocitool-test/renote-alias:1")


def _cut(lab: Lab, tmp_path: Path, how: str) -> Path:
    """The base tarball cut short: in an entry's data, in its header, or compressed
    and then cut (a cut right after an entry is a tar every engine takes whole)."""
    import gzip
    import lzma
    import tarfile

    data = lab.tar.read_bytes()
    with tarfile.open(lab.tar) as tar:
        last = tar.getmembers()[-1]
    cut = {
        "mid-entry": data[: len(data) // 2],
        "mid-header": data[: last.offset + 100],
        "gzip": gzip.compress(data)[:-4096],
        "xz": lzma.compress(data)[:-4096],
    }[how]
    path = tmp_path / f"cut-{how}.tar"
    path.write_bytes(cut)
    return path


@pytest.mark.parametrize("how", ["mid-entry", "mid-header", "gzip", "xz"])
def test_import_of_a_truncated_tarball_is_refused(
    client: Client, engine: str, lab: Lab, tmp_path: Path, how: str
) -> None:
    before = {i.id for i in client.images(all=True)}
    proc = ocitool("--backend", engine, "import", str(_cut(lab, tmp_path, how)), "ot-cut:1")
    assert proc.returncode == 2, proc.stderr
    assert "cut short" in one_error_line(proc)
    with pytest.raises(ImageNotFound):
        client.image("ot-cut:1")
    assert {i.id for i in client.images(all=True)} == before


def test_rmi_force_never_removes_a_container(client: Client, engine: str) -> None:
    client.commit("ot-c1", "ocitool-test/held:1")
    client.run("ocitool-test/held:1", ["true"], name="ot-holder", network="none")
    for force in (False, True):
        with pytest.raises(ImageInUse) as err:
            client.rmi("ocitool-test/held:1", force=force)
        assert "ot-holder" in err.value.one_line()
    assert [c.name for c in client.containers(all=True) if c.name == "ot-holder"] == ["ot-holder"]
    proc = ocitool("--backend", engine, "rmi", "--force", "ocitool-test/held:1")
    assert proc.returncode == 4
    assert [c.name for c in client.containers(all=True) if c.name == "ot-holder"] == ["ot-holder"]
    # only the explicit option removes it, and the result says so
    result = client.rmi("ocitool-test/held:1", remove_containers=True)
    assert result.removed_containers == ["ot-holder"]
    assert result.untagged == ["ocitool-test/held:1"]
    assert not [c for c in client.containers(all=True) if c.name == "ot-holder"]


def test_rmi_of_a_name_and_the_id_of_one_image(client: Client) -> None:
    """Both refs mean one image: it is deleted once, not failed on the second ref."""
    image = client.commit("ot-c1", "ocitool-test/both:1")
    result = client.rmi("ocitool-test/both:1", image.short_id)
    assert result.untagged == ["ocitool-test/both:1"]
    assert result.deleted == [image.id]
    with pytest.raises(ImageNotFound):
        client.image(image.id)


def test_rmi_by_id_with_several_tags_needs_force(client: Client) -> None:
    image = client.commit("ot-c1", "ocitool-test/multi:1")
    client.tag("ocitool-test/multi:1", "ocitool-test/multi:2")
    dry = client.rmi(image.id, dry_run=True)
    assert [b.reason for b in dry.blocked] == ["several-tags"]
    with pytest.raises(Conflict):
        client.rmi(image.id)
    assert client.image(image.id).names == ["ocitool-test/multi:1", "ocitool-test/multi:2"]
    result = client.rmi(image.id, force=True)
    assert result.untagged == ["ocitool-test/multi:1", "ocitool-test/multi:2"]
    assert result.deleted == [image.id]
    with pytest.raises(ImageNotFound):
        client.image(image.id)


def test_dry_run_changes_nothing(client: Client) -> None:
    image = client.commit("ot-c1", "ocitool-test/dry:1")
    before = [(i.id, i.names) for i in client.images(all=True)]
    result = client.rmi("ocitool-test/dry:1", dry_run=True)
    assert result.dry_run and result.untagged == ["ocitool-test/dry:1"]
    assert result.deleted == [image.id] and result.blocked == []
    assert [(i.id, i.names) for i in client.images(all=True)] == before
    assert client.rmi("ocitool-test/dry:1").deleted == [image.id]  # the prediction held


def _engine_commit_started(parent: int, *needles: str) -> bool:
    """Whether ocitool (pid `parent`) has started the engine's commit process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        writing = b"commit" in argv or b"repack" in argv  # not the inspect before it
        if ppid == parent and writing and any(n.encode() in a for a in argv for n in needles):
            return True
    return False


def test_ctrl_c_during_commit_leaves_nothing_unreported(client: Client, engine: str) -> None:
    client.run(
        BASE,
        ["sh", "-c", "dd if=/dev/zero of=/big bs=1M count=120 2>/dev/null"],
        name="ot-big",
        network="none",
    )
    before = set({s.id for s in client.backend.image_summaries(all=True)})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ocitool",
            "--backend",
            engine,
            "commit",
            "ot-big",
            "ocitool-test/big:1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 30
    # the engines name the target; the oci backend builds under a scratch tag first
    while not _engine_commit_started(proc.pid, "ocitool-test/big:1", "ocitool-commit-"):
        assert proc.poll() is None, "the commit finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    *notes, error = stderr.strip().splitlines()
    print(f"{engine}: {notes} {error}")  # shown with -s: which outcome this engine gave
    assert all(n.startswith("ocitool: note: waiting for") for n in notes)
    assert error.startswith("ocitool: error: commit interrupted")
    time.sleep(1)  # were the engine still at work, this is when a late image would appear
    new = set({s.id for s in client.backend.image_summaries(all=True)}) - before
    for image_id in new:  # whatever the engine made, ocitool said so
        assert image_id in error
    if not new:
        assert "no image was created" in error
    for image_id in new:
        client.rmi(image_id, force=True)
    client.remove("ot-big")


def test_cli_run_it_gives_the_command_a_terminal(engine: str) -> None:
    primary, secondary = os.openpty()
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ocitool",
                "--backend",
                engine,
                "run",
                "-it",
                "--rm",
                "--network",
                "none",
                BASE,
                "sh",
                "-c",
                "[ -t 0 ] && [ -t 1 ] && echo has-a-tty",
            ],
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            timeout=60,
            check=False,
        )
    finally:
        os.close(secondary)
    output = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the terminal's other end is closed and drained
            break
        if not chunk:
            break
        output += chunk
    os.close(primary)
    assert proc.returncode == 0, output
    assert b"has-a-tty" in output


def test_commit_applies_changes(client: Client) -> None:
    image = client.commit(
        "ot-c1",
        "ocitool-test/changed:1",
        author="A <a@example.com>",
        message="m",
        changes=["ENV FOO=bar", 'CMD ["sh", "-c", "echo hi"]', "LABEL team=images"],
    )
    assert "FOO=bar" in image.config.env
    assert image.config.cmd == ["sh", "-c", "echo hi"]
    assert image.config.labels == {"team": "images"}
    assert (image.author, image.comment) == ("A <a@example.com>", "m")
    run = client.run("ocitool-test/changed:1", network="none", remove=True)
    assert (run.exit_code, run.stdout) == (0, "hi\n")
    client.rmi("ocitool-test/changed:1")


def test_ctrl_c_just_after_the_engine_made_the_image_still_names_it(
    client: Client, lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/concepts.md's promise holds in the last window too: Ctrl-C after the engine
    returned, while ocitool reads the new image, names it (issue 12, item 29)."""
    from ocitool import lifecycle
    from ocitool.errors import Interrupted

    def ctrl_c(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(lifecycle, "created", ctrl_c)
    try:
        client.import_image(lab.tar, "ocitool-test/late-ctrl-c:1")
    except Interrupted as stop:
        said = stop.message
    except KeyboardInterrupt:
        said = "a bare 'interrupted', naming nothing"
    made = client.image("ocitool-test/late-ctrl-c:1")
    assert f"the engine had already created {made.id}" in said, said
    assert "ocitool-test/late-ctrl-c:1" in said, said
    client.rmi("ocitool-test/late-ctrl-c:1")
