#!/usr/bin/env bash
# The Docker images chapter (docs/chapter.md), with
# ocitool on whichever engine is selected (--backend, OCITOOL_BACKEND, or auto).
# Each command is printed before its result. Run it through scripts/demo.sh.
#
# The chapter starts from ubuntu:14.04 pulled from Docker Hub; no image can be
# pulled here, so the base is a busybox rootfs imported as chapter/base:14.04.
set -uo pipefail

. "$(dirname "$0")/lib.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
busybox_tar "$work"

# Start clean if a previous run left the chapter's containers or images behind.
for container in commit_test commit_test2; do ocitool rm --force "$container" >/dev/null 2>&1; done
for image in commit_test:second commit_test:first chapter/base:14.04 \
  "${OCITOOL_DEMO_REGISTRY:-none}/commit_test:second"; do
  ocitool rmi "$image" >/dev/null 2>&1
done

step ocitool backends   # the * marks the engine used here, as no --backend is given

printf '\n# ---- Creating an image: run a container, change it, commit it ----\n'
step ocitool import "$work/base.tar" chapter/base:14.04
step ocitool run --name commit_test --network none chapter/base:14.04 sh -c 'echo first > /first'
step ocitool commit -a soojong -m "my first commit" commit_test commit_test:first
step ocitool run --name commit_test2 --network none commit_test:first sh -c 'echo second > /second'
step ocitool commit -a soojong -m "my second commit" commit_test2 commit_test:second

printf '\n# ---- Image structure: layers are shared like git commits ----\n'
step ocitool images
step ocitool inspect chapter/base:14.04 commit_test:first commit_test:second
step ocitool history commit_test:second

if [ -n "${OCITOOL_DEMO_REGISTRY:-}" ]; then
  registry=$OCITOOL_DEMO_REGISTRY
  printf '\n# ---- Distributing images (the chapter'"'"'s TODO): push, search, pull ----\n'
  step ocitool push --force --tls-verify=false commit_test:second "$registry/commit_test:second"
  step ocitool search commit_test --registry "$registry" --tags --tls-verify=false
  step ocitool save commit_test:first commit_test:second -o "$work/chapter.tar" --force
  step ocitool copy --force --tls-verify=false "docker://$registry/commit_test:second" "oci:$work/layout:second"
fi

printf '\n# ---- Removing images ----\n'
step ocitool rmi commit_test:first
echo "exit code $?  (4: in use)"
step ocitool rmi --dry-run commit_test:first
step ocitool stop commit_test2
step ocitool rm commit_test2
printf '\n# "Untagged": only the name goes; commit_test:second is built on that image.\n'
step ocitool rmi commit_test:first
printf '\n# "Deleted": the layers the commits added are really removed.\n'
step ocitool rmi commit_test:second
step ocitool images
step ocitool ps -a

if [ -n "${OCITOOL_DEMO_REGISTRY:-}" ]; then
  printf '\n# Gone here, but distributed: pull it back from the registry, then load the archive.\n'
  step ocitool pull --tls-verify=false "$registry/commit_test:second"
  step ocitool load -i "$work/chapter.tar"
  step ocitool images
fi
exit 0
