#!/usr/bin/env bash
# The main job: prepare this machine (scripts/setup.sh), make sure a docker
# daemon answers (a private one if none does), then replay the Docker images
# chapter with ocitool on the default backend, and tour the read commands on
# every engine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! docker version >/dev/null 2>&1; then
  DOCKER_HOST=$(bash scripts/dockerd.sh start /tmp/ocitool-demo/docker)
  export DOCKER_HOST
  echo "demo: started a private dockerd; to use it: export DOCKER_HOST=$DOCKER_HOST"
  echo "demo: to stop it: bash scripts/dockerd.sh stop /tmp/ocitool-demo/docker"
fi
OCITOOL_DEMO_REGISTRY=$(bash scripts/registry.sh start /tmp/ocitool-demo/registry "${OCITOOL_DEMO_PORT:-5000}")
export OCITOOL_DEMO_REGISTRY
echo "demo: a private registry runs at $OCITOOL_DEMO_REGISTRY (stop: bash scripts/registry.sh stop /tmp/ocitool-demo/registry)"
export PATH="$PWD/.venv/bin:$PATH"
bash examples/chapter.sh
exec bash examples/tour.sh
