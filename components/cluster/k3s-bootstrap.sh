#!/bin/bash
# Installs k3s on a node of the apk8s cluster. cloud-init runs it once, at
# first boot, after writing /etc/rancher/k3s/config.yaml (token, flags) and
# /etc/apk8s/k3s.env (K3S_ROLE, K3S_VERSION, PRIVATE_CIDR, SERVER_HOST).
# It never prints the token.
set -euo pipefail
. /etc/apk8s/k3s.env

log() { echo "apk8s-k3s: $*"; }
now() { date +%s; }

# The private interface is the one holding an address in PRIVATE_CIDR; the
# private network's DHCP gives it one shortly after boot.
deadline=$(( $(now) + 600 ))
iface="" addr=""
while :; do
  read -r iface addr < <(ip -o -4 addr show to "$PRIVATE_CIDR" |
    awk 'NR == 1 { split($4, a, "/"); print $2, a[1] }') || true
  [ -n "$addr" ] && break
  if [ "$(now)" -ge "$deadline" ]; then
    log "no address in $PRIVATE_CIDR after 10 minutes; interfaces:"
    ip -o addr >&2
    exit 1
  fi
  sleep 3
done
log "private network: $iface $addr"

# Kubernetes traffic stays on the private network: the kubelet's node IP
# and flannel's VXLAN both use the private interface.
conf=/etc/rancher/k3s/config.yaml.d/50-private-network.yaml
mkdir -p "$(dirname "$conf")"
printf 'node-ip: %s\nflannel-iface: %s\n' "$addr" "$iface" > "$conf"

if [ "$K3S_ROLE" = agent ]; then
  # The control plane boots at the same time; its name resolves on the
  # private network's DNS (169.254.169.254, names <server>.<network>.internal)
  # once it is attached. Send *.internal there through the private link.
  resolvectl dns "$iface" 169.254.169.254 || true
  resolvectl domain "$iface" '~internal' || true
  deadline=$(( $(now) + 900 ))
  server_ip=""
  until server_ip=$(getent ahostsv4 "$SERVER_HOST" | awk 'NR == 1 { print $1 }') && [ -n "$server_ip" ]; do
    if [ "$(now)" -ge "$deadline" ]; then
      log "$SERVER_HOST did not resolve in 15 minutes"
      exit 1
    fi
    sleep 5
  done
  log "control plane: $SERVER_HOST = $server_ip"
  printf 'server: https://%s:6443\n' "$server_ip" >> "$conf"
fi

# The install script of the pinned release (get.k3s.io when GitHub is
# unreachable); INSTALL_K3S_VERSION pins the binary either way.
installer=$(mktemp)
if ! curl -sfL --retry 10 --retry-delay 5 --retry-all-errors -o "$installer" \
  "https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION/+/%2B}/install.sh"; then
  curl -sfL --retry 10 --retry-delay 5 --retry-all-errors -o "$installer" https://get.k3s.io
fi
INSTALL_K3S_VERSION="$K3S_VERSION" sh "$installer" "$K3S_ROLE"
rm -f "$installer"
log "k3s $K3S_VERSION $K3S_ROLE installed"
