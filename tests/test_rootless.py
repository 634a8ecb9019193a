"""The oci backend as an unprivileged user, end to end (ENGINES.md §9).

Run as root, this test makes a user with useradd, gives it a copy of the
checkout, runs the README's set-up (`bash scripts/setup.sh`) as that user, and
runs the oci parts of the contract, chapter, lifecycle and store tests with the
venv it made: `umoci unpack --rootless` and rootless runc, no daemon.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

from tests.lab import ROOT

USER = "ocitool-tester"
SUITES = ["test_contract.py", "test_lifecycle.py", "test_lifecycle_errors.py", "test_oci.py"]
SOURCES = ["ocitool", "backends", "tests", "scripts", "pyproject.toml", "README.md"]


def as_user(argv: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        "HOME": str(home),
        "USER": USER,
        "LANG": "C.UTF-8",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **env,
    }
    return subprocess.run(
        ["runuser", "-u", USER, "--", "env", "-i", *[f"{k}={v}" for k, v in clean.items()], *argv],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=home,
    )


def ensure_user() -> Path:
    try:
        return Path(pwd.getpwnam(USER).pw_dir)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True, timeout=60)
        return Path(pwd.getpwnam(USER).pw_dir)


if os.geteuid() == 0:

    def test_the_oci_backend_works_for_an_unprivileged_user() -> None:
        home = ensure_user()
        user = pwd.getpwnam(USER)
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

        shutil.rmtree(source / ".venv", ignore_errors=True)
        setup = as_user(["bash", str(source / "scripts" / "setup.sh")], home)
        assert setup.returncode == 0, setup.stderr[-3000:]
        venv = source / ".venv"

        tests = [str(source / "tests" / suite) for suite in SUITES]
        run = as_user(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--rootdir",
                str(source),
                *tests,
            ],
            home,
            OCITOOL_TEST_BACKENDS="oci",
        )
        assert run.returncode == 0, (run.stdout[-6000:], run.stderr[-3000:])
        assert " passed" in run.stdout and "skipped" not in run.stdout


def test_the_venv_interpreter_is_one_every_user_can_run() -> None:
    """scripts/setup.sh must not build the venv on a Python under root's home (pyenv's,
    say): other users could then not start ocitool at all."""
    interpreter = (ROOT / ".venv" / "bin" / "python").resolve()
    for folder in interpreter.parents:
        assert folder.stat().st_mode & 0o001, f"{folder} is not searchable by other users"
    assert interpreter.stat().st_mode & 0o005 == 0o005
