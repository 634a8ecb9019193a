"""Progress people can read: per-layer bytes, a total and the rate on a terminal;
JSON lines with sizes and byte counts; nothing when stderr is not a terminal.

The live tests move a session's big image (a random layer of BIG_MIB MiB on the
busybox base, made once per engine) on every engine pair, through registries,
archives and each engine's own save and load, on a real pseudo-terminal.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ocitool.backends.skopeo import _Bars
from ocitool.client import Client
from ocitool.progress import Progress, binary
from ocitool.runner import Runner, _plain
from tests import lab as lab_setup
from tests.conftest import BASE, ENGINES, Lab, Registries, build_images
from tests.test_cli import ocitool

FIXTURES = Path(__file__).parent / "fixtures" / "skopeo"
BIG_MIB = 40
BIG = "ocitool-test/big:1"
PAIRS = [(a, b) for a in ENGINES for b in ENGINES if a != b]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEX12 = re.compile(r"layer [0-9a-f]{12}")
MIB = 1 << 20


# -- skopeo's bars, recorded ----------------------------------------------------------


def _replayed(name: str) -> list[tuple[str, dict[str, Any]]]:
    """A recorded skopeo 1.9 copy on a 160-column pty (docker-daemon: to
    containers-storage:, a 57 MiB random layer on busybox), line by line as the
    runner reads a terminal, into the events ocitool makes of it."""
    events: list[tuple[str, dict[str, Any]]] = []
    bars = _Bars(lambda event, data: events.append((event, dict(data))), FIXTURES / "none")
    raw = (FIXTURES / name).read_bytes().decode()
    for line in io.StringIO(raw, newline=""):
        bars.line("stdout", _plain(line))
    return events


def test_skopeo_bars_become_byte_counts() -> None:
    events = _replayed("copy_on_a_terminal.txt")
    big = [data for event, data in events if data.get("id") == "cf0d0c68e777"]
    counts = [data["bytes"] for data in big]
    assert counts == sorted(counts) and len(set(counts)) >= 4  # it grew, step by step
    assert big[0] == {
        "id": "cf0d0c68e777",
        "status": "copying",
        "bytes": round(13.3 * MIB),
        "size": round(57.2 * MIB),
    }
    assert big[-1]["status"] == "done" and big[-1]["bytes"] == big[-1]["size"]
    config = [data for event, data in events if event == "config"]
    assert config[-1] == {"id": "2090b2456d", "status": "done", "bytes": 1229, "size": 1229}
    assert events[-1] == ("manifest", {})
    # an unchanged redraw is no event
    assert len(events) == len({json.dumps(e, sort_keys=True) for e in events})


def test_a_layer_already_there_is_skipped_and_bytes_count_in_every_unit() -> None:
    events = _replayed("copy_on_a_terminal_skipped.txt")
    layer = [data for event, data in events if event == "blob"]
    assert layer[-1] == {"id": "391d57a70dbb", "status": "skipped", "bytes": 0, "size": None}
    config = [data for event, data in events if event == "config"]
    assert config[-1]["bytes"] == config[-1]["size"] == 895  # `895.0b`


def test_binary_units() -> None:
    assert [binary(n) for n in (0, 1023, 1229, round(57.2 * MIB), 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.2 KiB",
        "57.2 MiB",
        "3.0 GiB",
    ]


def test_a_terminal_stream_keeps_memory_flat_and_ticks() -> None:
    """A bar redrawn 20,000 times: every line reaches the caller, few are kept."""
    script = "import sys\nfor i in range(20000): sys.stdout.write(f'\\x1b[1A\\x1b[Jbar {i}\\r\\n')"
    seen: list[str] = []
    ticks: list[float] = []
    result = Runner().stream(
        [sys.executable, "-c", script + "\nimport time; time.sleep(1.2)"],
        lambda stream, line: seen.append(line) if stream == "stdout" else None,
        terminal=True,
        tick=lambda: ticks.append(time.monotonic()),
    )
    assert result.ok
    assert len(seen) == 20000 and seen[-1] == "bar 19999"  # plain: no cursor moves
    assert len(result.stdout.splitlines()) <= 200
    assert len(ticks) >= 2


def test_no_progress_when_nothing_is_asked_or_stderr_is_no_terminal() -> None:
    assert Progress("none").events is None
    assert Progress("json").events is not None
    assert Progress("auto").events is None  # pytest's stderr is not a terminal


# -- live: a big image on every engine ----------------------------------------------


@pytest.fixture(scope="session")
def big(lab: Lab) -> Callable[[str], str]:
    """The big image on an engine, made once per session: BIG_MIB MiB of random bytes,
    so no two engines share its layer and every copy moves it."""
    made: set[str] = set()
    script = f"head -c {BIG_MIB * MIB} /dev/urandom > /big"

    def make(engine: str) -> str:
        if engine not in made:
            build_images(engine, lab)
            if engine == "oci":
                oci = Client(backend="oci")
                oci.run(BASE, ["sh", "-c", script], name="ot-big", network="none")
                oci.commit("ot-big", BIG)
                oci.remove("ot-big")
            else:
                fmt = ["--format", "docker"] if engine == "podman" else []
                run = [engine, "run", "--name", "ot-big", "--network", "none", BASE]
                lab_setup.engine([*run, "sh", "-c", script])
                lab_setup.engine([engine, "commit", *fmt, "ot-big", BIG])
                lab_setup.engine([engine, "rm", "ot-big"])
            made.add(engine)
        return BIG

    return make


@cache
def _event_schema() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(ocitool("schema").stdout)
    return {"$defs": doc["$defs"], **doc["progress"]}


def with_json(*args: str) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """The command with --progress json: its result, and its events, each checked
    against the schema's `progress`."""
    proc = ocitool(*args, "--progress", "json")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    for event in events:
        jsonschema.validate(event, _event_schema())
    return proc, events


def on_a_terminal(*args: str, columns: int = 160) -> tuple[int, list[str]]:
    """ocitool on a real pseudo-terminal (stdin, stdout and stderr): its exit code and
    each frame it drew, cleared of cursor moves and colours."""
    master, slave = pty.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns)}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocitool", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer is gone
                    break
                if not chunk:
                    break
                out += chunk
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = out.decode(errors="replace")
    frames = [ANSI.sub("", f).replace("\r", "") for f in re.split(r"\r\x1b\[2K", text)]
    return code, frames


def assert_bars(frames: list[str], *, layers: bool = True, sized: int = BIG_MIB) -> None:
    """Per-layer bytes, a total and a rate while it ran, and a summary line after."""
    shown = "\n".join(frames)
    if layers:
        assert HEX12.search(shown), shown[-3000:]
        assert re.search(r"^total\s+.*MiB", shown, re.M), shown[-3000:]
        # the big layer's bar, with its size: `12.3/40.0 MiB`
        assert re.search(rf"[0-9.]+/{sized}\.[0-9] MiB", shown), shown[-3000:]
    assert re.search(r"[0-9.]+ (?:KiB|MiB|GiB)/s", shown), shown[-3000:]
    summary = re.search(r"^copied .* in [0-9.]+s \([0-9.]+ (?:B|KiB|MiB|GiB)/s\)$", shown, re.M)
    assert summary, shown[-3000:]


def assert_layer_bytes(events: list[dict[str, Any]], *, at_least: int = BIG_MIB) -> None:
    """A blob counted up to its size, and a total that says so."""
    assert events[0]["event"] == "start" and events[0]["source"]
    blobs = [e for e in events if e["event"] == "blob"]
    done = [e for e in blobs if e["status"] == "done" and (e["bytes"] or 0) >= at_least * MIB]
    assert done and done[-1]["bytes"] == done[-1]["size"], blobs
    counting = [e for e in blobs if e["status"] == "copying" and e["id"] == done[-1]["id"]]
    assert counting and all(0 <= e["bytes"] <= e["size"] for e in counting)
    last = [e for e in events if e["event"] == "manifest"][-1]
    assert last["total_bytes"] >= at_least * MIB and last["total_size"] >= at_least * MIB


def _gone(engine: str, name: str) -> None:
    """The copy made, removed: its layer too, so the next copy moves it again."""
    Client(backend=engine).rmi(name)


@pytest.mark.parametrize(("source", "destination"), PAIRS)
def test_a_copy_between_engines_shows_each_layer_a_total_and_the_rate(
    source: str, destination: str, big: Callable[[str], str]
) -> None:
    image = big(source)
    name = f"ocitool-test/copied-from-{source}:tty"
    code, frames = on_a_terminal("copy", f"{source}:{image}", f"{destination}:{name}")
    assert code == 0, frames[-5:]
    assert_bars(frames)
    _gone(destination, name)

    name = f"ocitool-test/copied-from-{source}:json"
    proc, events = with_json(
        "copy", f"{source}:{image}", f"{destination}:{name}", "--format", "json"
    )
    assert (
        json.loads(proc.stdout)[0]["destination"] == f"{destination}:{name}"
    )  # stdout: the result
    assert_layer_bytes(events)
    assert {e["event"] for e in events} >= {"start", "blob", "config", "manifest"}
    assert not [line for line in proc.stderr.splitlines() if not line.startswith("{")]
    _gone(destination, name)


def test_no_progress_output_when_stderr_is_not_a_terminal(big: Callable[[str], str]) -> None:
    engine = ENGINES[0]
    image = big(engine)
    name = "ocitool-test/quiet:1"
    proc = ocitool("--backend", engine, "copy", image, f"{engine}:{name}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    _gone(engine, name)


def _next(engine: str) -> str:
    """Another engine to move an image into, where the run has one."""
    return ENGINES[(ENGINES.index(engine) + 1) % len(ENGINES)]


@pytest.mark.parametrize("engine", ENGINES)
def test_push_and_pull_show_layer_bytes(
    engine: str, big: Callable[[str], str], registries: Registries
) -> None:
    image = big(engine)
    pushed = f"{registries.plain.host}/progress/{engine}:1"
    code, frames = on_a_terminal("--backend", engine, "push", image, pushed, "--tls-verify=false")
    assert code == 0, frames[-5:]
    assert_bars(frames)

    into = _next(engine)  # a pull that moves the layer: into an engine without it
    if into != engine:
        _, events = with_json("--backend", into, "pull", pushed, "--tls-verify=false")
        assert_layer_bytes(events)
        _gone(into, pushed)
    pulled = f"{registries.plain.host}/progress/{engine}:2"
    with_json("--backend", engine, "push", image, pulled, "--tls-verify=false")
    code, frames = on_a_terminal("--backend", engine, "pull", pulled, "--tls-verify=false")
    assert code == 0, frames[-5:]
    assert re.search(r"^copied docker://.* in ", "\n".join(frames), re.M), frames[-5:]
    _gone(engine, pulled)


@pytest.mark.parametrize("engine", ENGINES)
def test_save_and_load_show_bytes(
    engine: str, big: Callable[[str], str], lab: Lab, tmp_path: Path
) -> None:
    """One image (the mover's path) and two in one archive (an engine's own save and
    load where it has them, the mover's otherwise), with bytes and a total."""
    big(engine)
    # names of their own, as a load moves a name from the image it named before
    image, base = f"ocitool-test/big-from-{engine}:1", f"ocitool-test/base-from-{engine}:1"
    source = Client(backend=engine)
    source.tag(BIG, image)
    source.tag(BASE, base)
    one = tmp_path / "one.tar"
    code, frames = on_a_terminal("--backend", engine, "save", image, "-o", str(one))
    assert code == 0, frames[-5:]
    assert_bars(frames)

    two = tmp_path / "two.tar"
    several = "oci-archive" if engine == "oci" else "docker-archive"
    args = ("--backend", engine, "save", image, base, "-o", str(two), "--format", several)
    code, frames = on_a_terminal(*args)
    assert code == 0, frames[-5:]
    assert_bars(frames, layers=engine == "oci")  # an engine's own save: the archive's bytes
    _, events = with_json(*args, "--force")
    counted = [e for e in events if e["event"] in ("written", "blob")]
    assert max(e["bytes"] for e in counted) >= BIG_MIB * MIB, events
    if engine != "oci":
        written = [e for e in events if e["event"] == "written"]
        # as the engine wrote it; ocitool then gives the archive the names `images` shows
        assert abs(written[-1]["bytes"] - two.stat().st_size) < 64 << 10, written
        assert written[-1]["size"] and written[-1]["size"] > BIG_MIB * MIB

    into = _next(engine)  # another engine, whose store lacks the layer, where there is one
    code, frames = on_a_terminal("--backend", into, "load", "-i", str(one))
    assert code == 0, frames[-5:]
    # an engine's own load counts the archive's bytes; the mover, each layer's
    assert_bars(frames, layers=into == "oci" and into != engine)
    _, events = with_json("--backend", into, "load", "-i", str(two))
    read = [e for e in events if e["event"] == "read"]
    if into != "oci" and several == "docker-archive":  # the engine's own load reads it
        assert read[-1]["bytes"] == read[-1]["size"] == two.stat().st_size, read
    source.rmi(image, base)
    if into != engine:
        Client(backend=into).rmi(image, base)


def test_a_stalled_copy_on_a_terminal_is_still_given_up_on(lab: Lab) -> None:
    """skopeo redraws its bars while it waits: redrawn lines are no progress."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[object] = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    port = server.getsockname()[1]
    try:
        proc = ocitool(
            "--backend",
            ENGINES[0],
            "pull",
            "--tls-verify=false",
            "--progress",
            "json",
            f"127.0.0.1:{port}/x/y:1",
            env={"OCITOOL_TIMEOUT": "3"},
        )
    finally:
        server.close()
    assert proc.returncode == 7, proc.stderr
    assert "made no progress for 3s" in proc.stderr.splitlines()[-1]
