#!/usr/bin/env bash
# Start (or stop) a private dockerd whose data, exec root and socket live in one folder.
# Usage: scripts/dockerd.sh start DIR   -> prints the DOCKER_HOST to use
#        scripts/dockerd.sh stop DIR
# --bridge=none and --iptables=false: no network is created, so nothing on the host changes.
set -euo pipefail
cmd=${1:?usage: dockerd.sh start|stop DIR}
dir=${2:?usage: dockerd.sh start|stop DIR}
sock="$dir/docker.sock"
case "$cmd" in
start)
  mkdir -p "$dir"
  if [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
    echo "unix://$sock"; exit 0
  fi
  nohup dockerd --data-root "$dir/root" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --host "unix://$sock" --bridge=none --iptables=false --ip-masq=false --ip6tables=false \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 1 150); do
    if [ -S "$sock" ] && DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
      echo "unix://$sock"; exit 0
    fi
    sleep 0.2
  done
  echo "dockerd did not come up; see $dir/dockerd.log" >&2
  tail -n 20 "$dir/dockerd.log" >&2 || true
  exit 1 ;;
stop)
  if [ -f "$dir/dockerd.pid" ]; then
    pid=$(cat "$dir/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi ;;
*) echo "usage: dockerd.sh start|stop DIR" >&2; exit 2 ;;
esac
