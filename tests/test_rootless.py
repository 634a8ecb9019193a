"""The oci backend as an unprivileged user, end to end (docs/engines.md, Rootless).

Run as root, this test makes a user with useradd, gives it a copy of the
checkout, runs the README's set-up (`bash scripts/setup.sh`) as that user, and
runs the oci parts of the contract, chapter, lifecycle and store tests with the
venv it made: `umoci unpack --rootless` and rootless runc, no daemon.
"""

from __future__ import annotations

import os

from tests.lab import ROOT, pytest_as_user, unprivileged_checkout

SUITES = ["test_contract.py", "test_lifecycle.py", "test_lifecycle_errors.py", "test_oci.py"]


if os.geteuid() == 0:

    def test_the_oci_backend_works_for_an_unprivileged_user() -> None:
        home, source = unprivileged_checkout()
        tests = [str(source / "tests" / suite) for suite in SUITES]
        run = pytest_as_user(home, source, *tests)
        assert run.returncode == 0, (run.stdout[-6000:], run.stderr[-3000:])
        assert " passed" in run.stdout and "skipped" not in run.stdout


def test_the_venv_interpreter_is_one_every_user_can_run() -> None:
    """scripts/setup.sh must not build the venv on a Python under root's home (pyenv's,
    say): other users could then not start ocitool at all."""
    interpreter = (ROOT / ".venv" / "bin" / "python").resolve()
    for folder in interpreter.parents:
        assert folder.stat().st_mode & 0o001, f"{folder} is not searchable by other users"
    assert interpreter.stat().st_mode & 0o005 == 0o005
