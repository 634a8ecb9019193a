#!/usr/bin/env bash
# Run the whole test suite: lint, types, then pytest against real engines.
# tests/conftest.py starts a private dockerd and podman storage for the run.
# Extra arguments go to pytest (e.g. scripts/test.sh -k contract).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
