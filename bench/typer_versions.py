"""What a typer version costs ocitool's start-up: the same commands, paired.

Each VENV is a virtual environment with ocitool installed from a wheel and a
different typer (e.g. `pip install typer==0.28.0 .` and, with `--no-deps`,
`typer==0.29.2`). Every round runs each command once in every venv, in an
order that alternates, so a busy moment weighs on both alike; the report is
each command's median time per venv and the median of the paired differences
from the first venv. The commands use a scratch oci store, so no engine runs.

    .venv/bin/python bench/typer_versions.py /tmp/ty0.28.0 /tmp/ty0.29.2 --rounds 25 --write

With --write the table replaces the "typer versions" section of
docs/benchmarks.md (bench/run.py keeps that section when it rewrites the rest).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SECTION = "\n## typer versions\n"

COMMANDS = [
    ["--version"],
    ["--help"],
    ["images", "--help"],
    ["images", "--no-such-option"],
    ["--backend", "oci", "images"],
    ["--backend", "oci", "images", "--format", "json"],
]


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True, timeout=60, check=False)
    return time.perf_counter() - start


def typer_version(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import typer; print(typer.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip()


def measure(venvs: list[Path], rounds: int) -> list[str]:
    """The Markdown table: one row per command."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "OCITOOL"))}
        env["OCITOOL_STORE"] = str(Path(scratch) / "store")
        env["OCITOOL_CONFIG"] = str(Path(scratch) / "none.toml")
        labels = [f"typer {typer_version(v)}" for v in venvs]
        lines = [
            f"| command | {' | '.join(labels)} | difference from {labels[0]} |",
            f"|---|{'---:|' * len(labels)}---:|",
        ]
        for command in COMMANDS:
            times: list[list[float]] = [[] for _ in venvs]
            for warm in venvs:
                timed([str(warm / "bin" / "ocitool"), *command], env, scratch)
            for n in range(rounds):
                order = list(range(len(venvs)))
                if n % 2:
                    order.reverse()
                for i in order:
                    argv = [str(venvs[i] / "bin" / "ocitool"), *command]
                    times[i].append(timed(argv, env, scratch))
            medians = [statistics.median(t) * 1000 for t in times]
            diffs = [
                statistics.median(b - a for a, b in zip(times[0], t, strict=True)) * 1000
                for t in times[1:]
            ]
            cells = " | ".join(f"{m:.0f} ms" for m in medians)
            delta = ", ".join(f"{d:+.0f} ms" for d in diffs)
            lines.append(f"| `ocitool {' '.join(command)}` | {cells} | {delta} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("venvs", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--write", action="store_true", help=f"into {OUT}")
    args = parser.parse_args()
    table = measure(args.venvs, args.rounds)
    print("\n".join(table))
    if args.write:
        load = os.getloadavg()[0]
        section = [
            SECTION.strip("\n"),
            "",
            f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
            f"`bench/typer_versions.py --rounds {args.rounds}` ({platform.machine()}, "
            f"{os.cpu_count()} cores, load average {load:.1f}; "
            f"Python {platform.python_version()}): "
            "medians of whole processes, and the median of the paired differences. "
            "typer 0.29 builds a pydantic TypeAdapter for every parameter of the command "
            "that runs, so a command's `--help` and a usage error load pydantic too; that "
            "is why pyproject.toml keeps `typer<0.29`.",
            "",
            *table,
            "",
        ]
        head = OUT.read_text().partition(SECTION)[0]
        OUT.write_text(head.rstrip("\n") + "\n" + "\n" + "\n".join(section))


if __name__ == "__main__":
    main()
