#!/usr/bin/env bash
# Start (or stop) a private registry (docker-registry, the CNCF distribution
# server) on 127.0.0.1, plain HTTP, its data and config in one folder.
# Usage: scripts/registry.sh start DIR [PORT]   -> prints HOST:PORT
#        scripts/registry.sh stop DIR
set -euo pipefail
cmd=${1:?usage: registry.sh start|stop DIR [PORT]}
dir=${2:?usage: registry.sh start|stop DIR [PORT]}
case "$cmd" in
start)
  port=${3:-5000}
  mkdir -p "$dir"
  if [ -f "$dir/registry.pid" ] && kill -0 "$(cat "$dir/registry.pid")" 2>/dev/null; then
    cat "$dir/host"; exit 0
  fi
  cat >"$dir/config.yml" <<CONF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $dir/data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$port
CONF
  # distribution reads REGISTRY_* variables as configuration: give it none.
  env -u REGISTRY_AUTH_FILE nohup docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
  echo $! >"$dir/registry.pid"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "127.0.0.1:$port" | tee "$dir/host"; exit 0
    fi
    sleep 0.1
  done
  echo "the registry did not start; see $dir/registry.log" >&2; exit 1 ;;
stop)
  [ -f "$dir/registry.pid" ] && kill "$(cat "$dir/registry.pid")" 2>/dev/null || true ;;
*) echo "usage: registry.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
