#!/usr/bin/env bash
# The end-to-end tests with the real Pulumi engine and Kubernetes provider:
# builds (or reuses) the tools, starts a loopback control plane with kwok
# nodes, runs `go test -tags e2e ./tests/e2e/`, and stops exactly what it
# started, whatever the outcome.
#
#   scripts/e2e.sh                       # loopback control plane
#   APK8S_E2E_KUBECONFIG=~/.kube/config APK8S_E2E_CONTEXT=kind-kind \
#   APK8S_E2E_STORAGE_CLASS=standard scripts/e2e.sh   # a cluster of your own
#
# Extra arguments go to `go test` (e.g. -run Render).
set -euo pipefail
cd "$(dirname "$0")/.."
export APK8S_TOOLS=${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}

scripts/bootstrap-tools.sh "$APK8S_TOOLS"

if [ -z "${APK8S_E2E_KUBECONFIG:-}" ]; then
  state=$(mktemp -d -t apk8s-e2e-kube.XXXXXX)
  trap 'scripts/tools/kube/down.sh "$state" --purge' EXIT
  KUBE_WORKLOADS=1 scripts/tools/kube/up.sh "$APK8S_TOOLS" "$state" >/dev/null
  export APK8S_E2E_KUBECONFIG=$state/kubeconfig
fi

go test -tags e2e -count=1 -timeout 45m -v ./tests/e2e/ "$@"
