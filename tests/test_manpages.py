"""The man pages in man/man1 are what the CLI says now, and groff reads each one
without a warning (scripts/manpages.py writes them; the wheel installs them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ocitool.cli.app import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "man" / "man1"


def test_the_pages_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "manpages.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_one_page_for_ocitool_and_one_for_each_command() -> None:
    names = {p.name for p in PAGES.glob("*.1")}
    assert names == {"ocitool.1", *(f"ocitool-{c}.1" for c in COMMANDS)}


def test_groff_reads_every_page_without_a_warning() -> None:
    for page in sorted(PAGES.glob("*.1")):
        proc = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-z", str(page)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert (proc.returncode, proc.stderr) == (0, ""), page.name


def test_a_command_page_carries_its_options_and_the_root_page_the_exit_codes() -> None:
    rmi = (PAGES / "ocitool-rmi.1").read_text()
    assert ".B \\-\\-dry\\-run" in rmi and ".I IMAGE..." in rmi
    root = (PAGES / "ocitool.1").read_text()
    for code in ("0", "2", "10", "127", "130"):
        assert f".B {code}\n" in root
    assert ".BR ocitool\\-completion (1)" in root
