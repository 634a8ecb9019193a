"""The oci backend as an unprivileged user, end to end (ENGINES.md §9).

Run as root, this test makes a user with useradd, installs ocitool for it in a
virtualenv of its own (Debian's python3; root's Python is not readable by
others), and runs the oci parts of the contract, chapter, lifecycle and store
tests as that user: `umoci unpack --rootless` and rootless runc, no daemon.
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
SOURCES = ["ocitool", "backends", "tests", "pyproject.toml", "README.md"]


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

        venv = home / "venv"
        if not (venv / "bin" / "pip").exists():
            made = as_user(["/usr/bin/python3", "-m", "venv", str(venv)], home)
            assert made.returncode == 0, made.stderr
        installed = as_user(
            [
                str(venv / "bin" / "pip"),
                "install",
                "-q",
                "--disable-pip-version-check",
                f"{source}[dev]",
            ],
            home,
        )
        assert installed.returncode == 0, installed.stderr[-3000:]

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
