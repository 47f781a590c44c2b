#!/usr/bin/env bash
# The platform on this machine, without a cloud account: a loopback
# Kubernetes control plane (etcd, kube-apiserver, controller-manager,
# scheduler, kwok nodes that run no containers but report pods Ready) and
# the `local` stack deployed to it with the real Pulumi engine and provider.
#
#   scripts/local.sh up      # builds the tools once (long; cached), starts the
#                            # cluster, deploys the local stack, prints its outputs
#   scripts/local.sh down    # destroys the stack and stops the cluster
#
# To deploy to kind or minikube instead, see README.md ("The stacks").
set -euo pipefail
cd "$(dirname "$0")/.."
export APK8S_TOOLS=${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}
# APK8S_LOCAL_DIR moves the state elsewhere (the end-to-end test uses a
# scratch directory); KUBE_*_PORT (see tools/kube/up.sh) move the ports.
base=${APK8S_LOCAL_DIR:-$HOME/.cache/apk8s-platform/local}
cluster=$base/cluster
mkdir -p "$base"

# Made once and kept beside the state: the passphrase of the stack's secrets,
# the basic-auth and the MQTT passwords.
secret_file() { [ -s "$1" ] || (umask 077 && openssl rand -hex 16 >"$1"); }
secret_file "$base/passphrase"
secret_file "$base/basic-auth-password"
secret_file "$base/mqtt-password"
PULUMI_CONFIG_PASSPHRASE=$(cat "$base/passphrase")
export PULUMI_CONFIG_PASSPHRASE
export KUBECONFIG=$cluster/kubeconfig

platform() { go run ./cmd/platform -stack local -workdir "$base/stack" -tools "$APK8S_TOOLS" "$@"; }
running() { [ -f "$cluster/pids/kube-apiserver.pid" ] && kill -0 "$(cat "$cluster/pids/kube-apiserver.pid")" 2>/dev/null; }

case ${1:-up} in
up)
  scripts/bootstrap-tools.sh "$APK8S_TOOLS"
  running || KUBE_WORKLOADS=1 scripts/tools/kube/up.sh "$APK8S_TOOLS" "$cluster" >/dev/null
  # Also when the cluster was already running: deploy only once it takes pods.
  KUBECTL=$APK8S_TOOLS/bin/kubectl scripts/tools/kube/wait-ready.sh 180
  "$APK8S_TOOLS/bin/kubectl" apply -f scripts/local/volumes.yaml
  platform -set storageClass=local-static -secret-file "basicAuthPassword=$base/basic-auth-password" \
    -secret-file "mqttPassword=$base/mqtt-password" up
  platform outputs
  echo "local.sh: up. Try: source $cluster/env && kubectl -n data get pods,svc,pvc"
  ;;
down)
  if running; then
    platform destroy
    "$APK8S_TOOLS/bin/kubectl" delete -f scripts/local/volumes.yaml --ignore-not-found
  fi
  scripts/tools/kube/down.sh "$cluster" --purge
  rm -rf "$base/stack"
  ;;
*)
  echo "usage: scripts/local.sh up|down" >&2
  exit 2
  ;;
esac
