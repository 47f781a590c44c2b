# Runs on the control plane over SSH once it exists (PUBLIC_IP and NODES are
# set above). Waits for cloud-init's k3s install, for the API server's
# /readyz and for every node to be Ready, then prints the admin kubeconfig
# with the API server at the public address. Only the kubeconfig goes to
# stdout (a secret output); progress and diagnostics go to stderr.
# APK8S_ROOT prefixes the kubeconfig's path, for the tests; empty on a node.
set -eu
kubeconfig=${APK8S_ROOT:-}/etc/rancher/k3s/k3s.yaml
deadline=$(( $(date +%s) + 1500 ))

fail() {
  echo "apk8s: $*" >&2
  cloud-init status --long >&2 || true
  tail -n 40 /var/log/cloud-init-output.log >&2 || true
  exit 1
}

until [ -s "$kubeconfig" ] && k3s kubectl get --raw /readyz >/dev/null 2>&1; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the API server was not ready within 25 minutes"
  sleep 5
done
echo "apk8s: API server ready; waiting for $NODES nodes" >&2

ready() { k3s kubectl get nodes --no-headers 2>/dev/null | awk '$2 == "Ready"' | wc -l; }
until [ "$(ready)" -ge "$NODES" ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    k3s kubectl get nodes -o wide >&2 || true
    fail "only $(ready) of $NODES nodes were Ready within 25 minutes"
  fi
  sleep 5
done
echo "apk8s: $NODES nodes Ready" >&2

sed "s#https://127.0.0.1:6443#https://${PUBLIC_IP}:6443#" "$kubeconfig"
