#!/bin/bash
# Installs k3s on a node of the apk8s cluster, or brings it to the version
# and settings of /etc/apk8s/k3s.env (K3S_ROLE, K3S_VERSION, PRIVATE_CIDR,
# SERVER_HOST; on a server K3S_DATASTORE and K3S_JOIN). cloud-init runs it
# at first boot; the program runs it again over SSH on every `pulumi up`
# that changes it (a new k3sVersion), after rewriting that file. Running it twice changes nothing.
# Pods never reach the metadata API: the firewall is loaded before k3s is
# installed or restarted. The script never prints a token.
# APK8S_ROOT prefixes every file path, for the tests; empty on a node.
set -euo pipefail
root=${APK8S_ROOT:-}
# shellcheck source=/dev/null
. "$root/etc/apk8s/k3s.env"

log() { echo "apk8s-k3s: $*"; }
fail() {
  echo "apk8s-k3s: $*" >&2
  exit 1
}
now() { date +%s; }

# One run at a time: cloud-init's and the program's may overlap.
mkdir -p "$root/run"
exec 9>"$root/run/apk8s-k3s-bootstrap.lock"
flock 9

case "$K3S_ROLE" in
  server) unit=k3s ;;
  agent) unit=k3s-agent ;;
  *) fail "K3S_ROLE='$K3S_ROLE': want server or agent" ;;
esac

# The metadata API serves this node's user data: pods must not reach it.
# The unit loads the rules now and at every boot, before k3s starts.
command -v nft >/dev/null || fail "nft is missing: the nftables package is required"
systemctl daemon-reload
systemctl enable --now apk8s-metadata-block.service
nft list table inet apk8s_metadata >/dev/null ||
  fail "the metadata API block is not loaded; k3s is not installed without it"
log "metadata API blocked for pods"
# k3s renews a certificate only when it starts: the timer restarts it when
# one is within 90 days of expiry (apk8s-k3s-renew).
systemctl enable --now apk8s-k3s-renew.timer

conf_d=$root/etc/rancher/k3s/config.yaml.d
mkdir -p "$conf_d"
changed=""
# put FILE CONTENT writes FILE when its content differs and notes the change.
put() {
  if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
    printf '%s\n' "$2" >"$1"
    changed=1
  fi
}

# The private interface is the one holding an address in PRIVATE_CIDR; the
# private network's DHCP gives it one shortly after boot.
deadline=$(($(now) + 600))
iface="" addr=""
while :; do
  read -r iface addr < <(ip -o -4 addr show to "$PRIVATE_CIDR" |
    awk 'NR == 1 { split($4, a, "/"); print $2, a[1] }') || true
  [ -n "$addr" ] && break
  if [ "$(now)" -ge "$deadline" ]; then
    ip -o addr >&2 || true
    fail "no address in $PRIVATE_CIDR after 10 minutes"
  fi
  sleep 3
done
log "private network: $iface $addr"

# Kubernetes traffic stays on the private network: the kubelet's node IP
# and flannel's VXLAN both use the private interface.
network="node-ip: $addr
flannel-iface: $iface"

# An agent joins through the first of the servers that resolves (any one may
# be gone), a joining server through the first server; both by their names
# on the private network's DNS, which follow the servers' addresses (the
# servers' certificates carry them).
join=""
if [ "$K3S_ROLE" = agent ]; then
  join=$SERVER_HOST
elif [ -n "${K3S_JOIN:-}" ]; then
  join=$K3S_JOIN
fi
if [ -n "$join" ]; then
  # *.internal resolves on the private network's DNS (169.254.169.254)
  # through the private link: set now and before every start of k3s.
  dropin=$root/etc/systemd/system/$unit.service.d
  mkdir -p "$dropin"
  put "$dropin/apk8s-private-dns.conf" "[Service]
ExecStartPre=-/usr/bin/resolvectl dns $iface 169.254.169.254
ExecStartPre=-/usr/bin/resolvectl domain $iface ~internal"
  resolvectl dns "$iface" 169.254.169.254 || true
  resolvectl domain "$iface" '~internal' || true
  deadline=$(($(now) + 900))
  server=""
  while [ -z "$server" ]; do
    for host in $join; do
      if getent ahostsv4 "$host" >/dev/null; then
        server=$host
        break
      fi
    done
    [ -n "$server" ] && break
    [ "$(now)" -lt "$deadline" ] || fail "none of $join resolved in 15 minutes"
    sleep 5
  done
  log "control plane: $server resolves"
  network="$network
server: https://$server:6443"
fi
if [ "$K3S_ROLE" = server ]; then
  # Embedded etcd: the first server starts the cluster (and migrates a
  # running single server's SQLite datastore into it on the restart that
  # follows this change); the others join it.
  if [ "${K3S_DATASTORE:-sqlite}" = etcd ] && [ -z "${K3S_JOIN:-}" ]; then
    network="$network
cluster-init: true"
  fi
  # The tokens come over SSH from the program, never in user data.
  deadline=$(($(now) + 900))
  until [ -s "$conf_d/10-agent-token.yaml" ]; do
    [ "$(now)" -lt "$deadline" ] || fail "the tokens were not delivered in 15 minutes"
    sleep 5
  done
fi
put "$conf_d/50-private-network.yaml" "$network"

installed=""
if command -v k3s >/dev/null; then
  installed=$(k3s --version | awk 'NR == 1 { print $3 }')
fi
if [ "$installed" = "$K3S_VERSION" ]; then
  if [ -n "$changed" ]; then
    # Restarting k3s leaves the pods running (its unit kills only the k3s
    # process): nothing is evicted, so no disruption budget can block it.
    systemctl daemon-reload
    systemctl restart "$unit"
    log "k3s $K3S_VERSION restarted with the new settings"
  else
    log "k3s $K3S_VERSION already installed"
  fi
  exit 0
fi

# The install script of the pinned release and nothing else: no fallback
# to get.k3s.io, whose script is whatever is current. INSTALL_K3S_VERSION
# pins the binary, which the script checks against the release's
# checksums. On a node that runs k3s, it replaces the binary and restarts
# the unit in place, pods running on: an upgrade without eviction.
installer=$(mktemp)
trap 'rm -f "$installer"' EXIT
pinned="https://raw.githubusercontent.com/k3s-io/k3s/${K3S_VERSION/+/%2B}/install.sh"
curl -sfL --retry 10 --retry-delay 5 --retry-all-errors -o "$installer" "$pinned" ||
  fail "cannot download the k3s install script of $K3S_VERSION ($pinned); run this again once it can: $0"
INSTALL_K3S_VERSION="$K3S_VERSION" sh "$installer" "$K3S_ROLE" ||
  fail "the k3s installer failed (k3s $K3S_VERSION $K3S_ROLE)"
log "k3s ${installed:-(none)} -> $K3S_VERSION $K3S_ROLE installed"
