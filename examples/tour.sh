#!/usr/bin/env bash
# A tour of ocitool on every engine that works here: the same commands, the
# same output shape. Each command is printed before its result.
# Run it through scripts/demo.sh, which prepares the machine first.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# No image can be pulled here, so the base image is a busybox rootfs tarball.
busybox_tar "$work"

step ocitool --version
step ocitool backends

for engine in docker podman; do
  if ! ocitool --backend "$engine" images -q >/dev/null 2>&1; then
    printf '\n# %s is not usable here; skipped (see ocitool backends)\n' "$engine"
    continue
  fi
  printf '\n# ---- %s ----\n' "$engine"
  ocitool --backend "$engine" rmi ocitool-demo/busybox:1 >/dev/null 2>&1  # a previous run's
  step ocitool --backend "$engine" import -m "busybox base" "$work/base.tar" ocitool-demo/busybox:1
  step ocitool --backend "$engine" images
  step ocitool --backend "$engine" inspect ocitool-demo/busybox:1
  step ocitool --backend "$engine" history ocitool-demo/busybox:1
  step ocitool --backend "$engine" inspect --format json ocitool-demo/busybox:1
  step ocitool --backend "$engine" ps -a
done

printf '\n# Errors are one line with a hint, and a documented exit code:\n'
step ocitool inspect -- --privileged; echo "exit code $?"
step ocitool inspect ocitool-demo/nope:1; echo "exit code $?"
exit 0
