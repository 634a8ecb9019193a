"""docker as a user the daemon's socket is closed to: the error says why and the fix.

The test's private dockerd makes its socket `root:docker`, mode 660, as the
packaged one does. A user outside group docker gets ocitool's one line naming
the owner, group and mode, and the fix (the group, or rootless podman or the
oci backend), not "is dockerd running?". The user and its own virtualenv are
made here, as tests/test_rootless.py makes its own.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ENGINES, Lab
from tests.lab import ROOT

USER = "ocitool-nodocker"
SOURCES = ["ocitool", "backends", "pyproject.toml", "README.md"]


def _as_user(argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {"HOME": str(home), "USER": USER, "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", **env}
    return subprocess.run(
        ["runuser", "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in clean.items()], *argv],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=home,
    )


def _installed() -> tuple[Path, Path]:
    """The user (made once) and ocitool installed in a virtualenv of its own."""
    try:
        user = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True, timeout=60)
        user = pwd.getpwnam(USER)
    home = Path(user.pw_dir)
    source = home / "ocitool-src"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir()
    for name in SOURCES:
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, source / name)
    for path in [source, *source.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
    venv = home / "venv"
    if not (venv / "bin" / "pip").exists():
        made = _as_user(["/usr/bin/python3", "-m", "venv", str(venv)], home)
        assert made.returncode == 0, made.stderr
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check"]
    for extra in ([], ["--force-reinstall", "--no-deps"]):  # its dependencies, then this code
        done = _as_user([*pip, *extra, str(source)], home)
        assert done.returncode == 0, done.stderr[-3000:]
    return home, venv / "bin" / "ocitool"


if os.geteuid() == 0 and "docker" in ENGINES:

    def test_a_closed_docker_socket_says_whose_it_is_and_the_fix(lab: Lab) -> None:
        home, ocitool = _installed()
        env = {"DOCKER_HOST": lab.docker_host, "OCITOOL_CONFIG": str(home / "none.toml")}
        socket = Path(lab.docker_host.removeprefix("unix://"))
        assert (socket.stat().st_uid, socket.stat().st_mode & 0o777) == (0, 0o660)

        closed = _as_user([str(ocitool), "-b", "docker", "images"], home, **env)
        assert closed.returncode == 5, closed.stderr
        assert "a directory on the way to it is closed to ocitool-nodocker" in closed.stderr

        mode = lab.work.stat().st_mode & 0o777
        os.chmod(lab.work, 0o711)  # noqa: S103 - the way open, the socket still closed
        try:
            proc = _as_user([str(ocitool), "-b", "docker", "images"], home, **env)
        finally:
            os.chmod(lab.work, mode)
        assert proc.returncode == 5 and proc.stdout == ""
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("ocitool: error: docker: permission denied")
        line = lines[0]
        assert "owned by root:docker with mode 660" in line
        assert "ocitool-nodocker is not in group docker" in line
        assert "sudo usermod -aG docker ocitool-nodocker" in line
        assert "--backend podman" in line and "--backend oci" in line
        assert "is dockerd running" not in line
