"""The test lab: a private dockerd, private podman storage and a busybox base image.

Used by conftest.py and by tests/fixtures/record.py, so tests and recorded
fixtures come from the same set-up. Nothing here touches the host's own
docker data or podman storage.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPLETS = ("sh", "ls", "cat", "echo", "touch", "mkdir", "rm", "sleep", "true", "dd", "head")


def busybox_tar(dest: Path) -> Path:
    """A tiny rootfs tarball from Debian's busybox-static: the base of every test image."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    rootfs = dest / "rootfs"
    (rootfs / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, rootfs / "bin" / "busybox")
    for applet in APPLETS:
        link = rootfs / "bin" / applet
        if not link.is_symlink():
            link.symlink_to("busybox")
    tar = dest / "base.tar"
    with tarfile.open(tar, "w") as tf:
        tf.add(rootfs, arcname=".")
    return tar


def start_dockerd(workdir: Path) -> str:
    """Start a private dockerd (scripts/dockerd.sh) and return its DOCKER_HOST."""
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "dockerd.sh"), "start", str(workdir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"dockerd did not start: {out.stderr.strip()}")
    return out.stdout.strip()


def stop_dockerd(workdir: Path) -> None:
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "dockerd.sh"), "stop", str(workdir)],
        capture_output=True,
        timeout=60,
        check=False,
    )


def podman_storage(workdir: Path) -> Path:
    """A storage.conf that keeps podman's images and containers under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "storage.conf"
    conf.write_text(
        "[storage]\n"
        'driver = "overlay"\n'
        f'graphroot = "{workdir / "graph"}"\n'
        f'runroot = "{workdir / "run"}"\n'
    )
    return conf


def clean_podman(env: dict[str, str] | None = None) -> None:
    """Remove what the tests left in the private podman storage."""
    for argv in (["podman", "rm", "-a", "-f"], ["podman", "rmi", "-a", "-f"]):
        subprocess.run(argv, capture_output=True, timeout=120, check=False, env=env)


def unmount_below(path: Path) -> None:
    """Overlay mounts left in a storage dir would make rmtree fail."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    targets = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def engine(argv: list[str], *, check: bool = True, input: str | None = None) -> str:
    """Run an engine command directly (set-up only; ocitool itself is never bypassed in asserts)."""
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        input=input,
        env=os.environ.copy(),
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()
