#!/usr/bin/env bash
# Wait until a cluster can take workloads: the API server is ready, a node
# is Ready, and the controllers are at work — shown by the ServiceAccount
# "default" in namespace "default", which the service-account controller
# makes. A fresh control plane answers /readyz seconds before that, and a
# Pod created in that gap is refused ("serviceaccount default not found").
#
#   scripts/tools/kube/wait-ready.sh [TIMEOUT_SECONDS]   (default 180)
#
# Uses kubectl from PATH (or $KUBECTL) with the current KUBECONFIG, and
# looks again every $WAIT_READY_POLL seconds (default 1).
set -euo pipefail
timeout=${1:-180}
poll=${WAIT_READY_POLL:-1}
kubectl=${KUBECTL:-kubectl}
t0=$SECONDS
missing=""
while :; do
  if ! "$kubectl" get --raw /readyz >/dev/null 2>&1; then
    missing="the API server does not answer /readyz"
  elif ! "$kubectl" get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -qx True; then
    missing="no node is Ready"
  elif ! "$kubectl" -n default get serviceaccount default >/dev/null 2>&1; then
    missing="no ServiceAccount default/default yet: kube-controller-manager is not running its controllers"
  else
    echo "wait-ready.sh: the cluster takes workloads ($((SECONDS - t0))s)" >&2
    exit 0
  fi
  if [ $((SECONDS - t0)) -ge "$timeout" ]; then
    echo "wait-ready.sh: ERROR: the cluster is not ready for workloads after ${timeout}s: $missing" >&2
    exit 1
  fi
  sleep "$poll"
done
