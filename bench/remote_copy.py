"""A 100 MB image from the local docker to a docker daemon over ssh (issue 13's bench):
`ocitool copy docker:IMG docker@[ssh://…]:IMG` against `docker save IMG | ssh HOST
docker load`, by wall time and by peak RSS.

    .venv/bin/python bench/remote_copy.py [--megabytes 100] [--runs 3] [--before TREE]

Starts its own local dockerd and the tests' remote lab (tests/remote_lab.py: a
second dockerd, an sshd on 127.0.0.1 whose sessions reach it, the `ssh` wrapper
with the lab's keys), makes an image with a layer of random bytes, and copies it
`--runs` times each way, back to back, removing it from the far daemon between
runs (`--before TREE` adds the same copies by TREE's ocitool to each run). Peak RSS is
the largest resident set among the command's own processes (wait4's ru_maxrss:
the process itself and every descendant it waited for). Prints medians; everything
it started is stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab import busybox_tar, start_dockerd, stop_dockerd  # noqa: E402
from tests.remote_lab import Remote, start_remote  # noqa: E402

IMAGE = "bench/remote:1"


def big_image(work: Path, megabytes: int, docker_host: str) -> None:
    """busybox plus one file of random bytes (incompressible, as real layers mostly are)."""
    base = busybox_tar(work)
    tar = work / "big.tar"
    shutil.copy(base, tar)
    blob = work / "random.bin"
    with blob.open("wb") as out:
        for _ in range(megabytes):
            out.write(os.urandom(1 << 20))
    with tarfile.open(tar, "a") as archive:
        archive.add(blob, arcname="random.bin")
    subprocess.run(
        ["docker", "import", str(tar), IMAGE],
        check=True,
        capture_output=True,
        timeout=600,
        env={**os.environ, "DOCKER_HOST": docker_host},
    )


def measured(argvs: list[list[str]], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a pipeline of argvs, each waited with wait4."""
    # `python -m` puts the working directory first on sys.path: run in the tree's own
    cwd = env.get("PYTHONPATH", str(ROOT))
    started = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    stdin = None
    for index, argv in enumerate(argvs):
        last = index == len(argvs) - 1
        proc = subprocess.Popen(
            argv,
            stdin=stdin,
            stdout=subprocess.DEVNULL if last else subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        if stdin is not None:
            stdin.close()
        stdin = proc.stdout
        procs.append(proc)
    peak = 0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(proc.args)} failed ({proc.returncode})")  # type: ignore[arg-type]
        peak = max(peak, usage.ru_maxrss)
    return time.monotonic() - started, peak


def run(
    remote: Remote, local_host: str, runs: int, before: Path | None = None
) -> dict[str, tuple[float, int]]:
    env = {**os.environ, "DOCKER_HOST": local_host}
    ssh_host = remote.docker_ssh.removeprefix("ssh://")
    user_host, _, port = ssh_host.rpartition(":")
    ocitool = [sys.executable, "-m", "ocitool"]
    ways: dict[str, list[list[str]]] = {
        "docker save | ssh HOST docker load": [
            ["docker", "save", IMAGE],
            [str(remote.ssh_bin / "ssh"), "-p", port, user_host, "docker", "load"],
        ],
        "ocitool copy docker:IMG docker@[ssh://HOST]:IMG": [
            [*ocitool, "copy", f"docker:{IMAGE}", f"docker@[{remote.docker_ssh}]:{IMAGE}"]
        ],
        # replaces the name as `docker load` does: no check that it is free first
        "ocitool copy … --force": [
            [
                *ocitool,
                "copy",
                "--force",
                f"docker:{IMAGE}",
                f"docker@[{remote.docker_ssh}]:{IMAGE}",
            ]
        ],
    }
    envs = {name: env for name in ways}
    if before is not None:  # the same copies by another tree's ocitool, in the same runs
        for name in list(ways)[1:]:
            ways[f"{name} [before]"] = ways[name]
            envs[f"{name} [before]"] = {**env, "PYTHONPATH": str(before)}
    found: dict[str, list[tuple[float, int]]] = {name: [] for name in ways}
    for _ in range(runs):
        for name, argvs in ways.items():
            subprocess.run(
                ["docker", "rmi", "--force", IMAGE],
                capture_output=True,
                timeout=120,
                check=False,
                env={**os.environ, "DOCKER_HOST": remote.docker_unix},
            )
            found[name].append(measured(argvs, envs[name]))
    return {
        name: (statistics.median(t for t, _ in rows), max(r for _, r in rows))
        for name, rows in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--before",
        type=Path,
        help="another source tree (e.g. the main branch's worktree): its ocitool is timed "
        "too, in the same runs, for before/after figures taken side by side",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ocitool-bench-remote-"))
    os.environ["DOCKER_CONFIG"] = str(work / "docker-config")
    os.environ["OCITOOL_CONFIG"] = str(work / "none.toml")
    remote = None
    try:
        local = start_dockerd(work / "local")
        remote = start_remote(work / "remote", podman=False)
        os.environ["PATH"] = f"{remote.ssh_bin}{os.pathsep}{os.environ['PATH']}"
        os.environ["PYTHONPATH"] = str(ROOT)
        big_image(work, args.megabytes, local)
        results = run(remote, local, args.runs, args.before)
    finally:
        if remote is not None:
            remote.stop()
        stop_dockerd(work / "local")
        shutil.rmtree(work, ignore_errors=True)
    baseline = next(iter(results.values()))[0]
    print(f"{args.megabytes} MB image, median of {args.runs} runs (peak RSS: the largest run)")
    for name, (seconds, peak) in results.items():
        print(f"  {name:<61} {seconds:6.2f} s  {seconds / baseline:4.2f}x  {peak / 1024:6.1f} MB")
    print(f"  (this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB)")


if __name__ == "__main__":
    main()
