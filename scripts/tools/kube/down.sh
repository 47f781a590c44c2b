#!/usr/bin/env bash
# Stop a control plane started by up.sh: only the processes whose PIDs up.sh
# recorded in STATE/pids, and only if that PID still runs the same program.
#
#   scripts/tools/kube/down.sh [STATE] [--purge]
#
# STATE defaults to ${KUBE_STATE:-${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}/kube-run},
# the same default as up.sh. --purge then deletes STATE (pki, etcd data,
# logs, kubeconfig); without it a later up.sh reuses pki, tokens and data.
set -uo pipefail

STATE=${KUBE_STATE:-${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}/kube-run}
PURGE=0
for a in "$@"; do
  case $a in
    --purge) PURGE=1 ;;
    *) STATE=$a ;;
  esac
done

ours() { # ours PID NAME: the process is alive and is still NAME (no PID reuse)
  kill -0 "$1" 2>/dev/null || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

stop() { # stop NAME: TERM, up to 20 s grace, then KILL
  local f=$STATE/pids/$1.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if ours "$pid" "$1"; then
    echo "down.sh: stopping $1 (pid $pid)" >&2
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "down.sh: $1 (pid $pid) still running after TERM; sending KILL" >&2
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$f"
}

# Clients first, etcd last.
for n in kwok kube-scheduler kube-controller-manager kube-apiserver etcd; do
  stop "$n"
done

if [ "$PURGE" = 1 ] && [ -d "$STATE" ]; then
  echo "down.sh: removing $STATE" >&2
  rm -rf "$STATE"
fi
exit 0
