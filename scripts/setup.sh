#!/usr/bin/env bash
# Make this machine ready for ocitool and its tests, idempotently:
#  - as root: install the engines from Debian and give podman the containers.conf
#    it needs here (docs/engines.md, Set-up: crun cannot run on this host; runc needs rlimits);
#  - always: a virtualenv in .venv with ocitool installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(podman skopeo umoci docker.io docker-registry runc busybox-static uidmap
          openssh-server python3 python3-venv zsh fish groff-base)  # zsh…groff-base: completion and man tests
CONTAINERS_CONF=/etc/containers/containers.conf

if [ "$(id -u)" = 0 ]; then
  missing=()
  for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
  if [ ! -e "$CONTAINERS_CONF" ]; then
    echo "setup: writing $CONTAINERS_CONF (runtime runc, explicit ulimits)"
    mkdir -p "$(dirname "$CONTAINERS_CONF")"
    cat >"$CONTAINERS_CONF" <<'CONF'
# Written by ocitool's scripts/setup.sh. crun cannot work on this host (cgroup
# hybrid mode), and runc needs both rlimits set explicitly.
[containers]
default_ulimits = [
  "nofile=1024:1024",
  "nproc=1024:1024",
]

[engine]
runtime = "runc"
CONF
  elif ! grep -Eq '^\s*runtime\s*=\s*"runc"' "$CONTAINERS_CONF"; then
    echo "setup: warning: $CONTAINERS_CONF exists without runtime = \"runc\"; podman run may fail" >&2
  fi
else
  for tool in podman skopeo umoci dockerd busybox; do
    command -v "$tool" >/dev/null || echo "setup: warning: $tool not found; as root: apt-get install ${PACKAGES[*]}" >&2
  done
fi

# Debian's own interpreter when there is one: every user can run it (a Python under
# root's home, such as pyenv's, leaves the venv unusable by anyone else).
if [ -z "${PYTHON:-}" ]; then
  if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
home_of_python=$("$PYTHON" -c 'import os, sys; print(os.path.dirname(sys.executable))')
venv_home=$(sed -n 's/^home = //p' .venv/pyvenv.cfg 2>/dev/null || true)
# A missing pip mends a venv left half-made by a failed run; another home means
# the venv was made with a different interpreter.
if [ ! -x .venv/bin/pip ] || [ "$venv_home" != "$home_of_python" ]; then
  rm -rf .venv
  "$PYTHON" -m venv .venv
fi
# compat mode puts the checkout on sys.path with a plain .pth line; the default
# mode's import hook alone costs ~25 ms on every start (docs/benchmarks.md, e).
stamp=".venv/.ocitool-compat-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check \
    --config-settings editable_mode=compat -e '.[dev]' 2>&1 \
    | { grep -Eiv 'warning|^\s|^$' || true; }
  rm -f .venv/.ocitool-*
  touch "$stamp"
fi
# Bytecode, as a wheel install writes it: an editable install compiles nothing, and
# where PYTHONDONTWRITEBYTECODE is set every start would compile every module again.
.venv/bin/python -m compileall -q ocitool backends
