#!/bin/bash
# Restarts k3s on this node when one of its certificates is within 90 days
# of expiry: k3s renews every certificate that is expired or has fewer than
# 90 days left when it starts, and never while it runs. Run weekly by
# apk8s-k3s-renew.timer, so a certificate of one year is renewed with at
# least 83 days to spare. On the control plane the restart also rewrites
# /etc/rancher/k3s/k3s.yaml with the renewed admin certificate, which the
# program reads again at the first `up` of each month (docs/cluster.md).
# Restarting k3s leaves the pods running. APK8S_ROOT prefixes every file
# path, for the tests; empty on a node.
set -euo pipefail
root=${APK8S_ROOT:-}
# shellcheck source=/dev/null
. "$root/etc/apk8s/k3s.env"

case "$K3S_ROLE" in
  server) unit=k3s dir=$root/var/lib/rancher/k3s/server/tls ;;
  agent) unit=k3s-agent dir=$root/var/lib/rancher/k3s/agent ;;
  *)
    echo "apk8s-k3s-renew: K3S_ROLE='$K3S_ROLE': want server or agent" >&2
    exit 1
    ;;
esac

window=$((90 * 86400))
for crt in "$dir"/*.crt; do
  [ -e "$crt" ] || continue
  if ! openssl x509 -noout -checkend "$window" -in "$crt" >/dev/null; then
    echo "apk8s-k3s-renew: ${crt#"$root"} expires within 90 days: restarting $unit, which renews it"
    systemctl restart "$unit"
    exit 0
  fi
done
echo "apk8s-k3s-renew: no certificate in ${dir#"$root"} expires within 90 days"
