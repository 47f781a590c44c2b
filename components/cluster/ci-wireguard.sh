#!/bin/bash
# The CI's way in, on the control plane (cloud-init runs it at first boot,
# before k3s; the program runs it again over SSH after every change of the
# server's user data; systemd brings the interface back after a reboot). Parameters
# in /etc/apk8s/ci-wireguard.env, none of them secret: CI_PEER_PUBLIC_KEY,
# CI_PORT, CI_SERVER_ADDRESS, CI_PEER_ADDRESS, CI_INTERFACE, CI_USER_DATA_KEY.
#
# The interface's private key is made here and never leaves the node. Its
# public half goes to the instance's user data (the metadata API takes
# writes from root, i.e. a privileged source port), where CI reads it
# through the authenticated Scaleway API. The one peer reaches SSH and the
# API server through the tunnel, nothing else.
set -euo pipefail
# APK8S_ROOT prefixes every file path, for the tests; empty on a node.
root=${APK8S_ROOT:-}
# shellcheck source=/dev/null
. "$root/etc/apk8s/ci-wireguard.env"

log() { echo "apk8s-ci-wireguard: $*"; }

# cloud-init installs wireguard-tools (packages) before it runs this.
if ! command -v wg >/dev/null; then
  log "wg not found: wireguard-tools is not installed"
  exit 1
fi

dir=$root/etc/wireguard
key=$dir/$CI_INTERFACE.key
install -d -m 0700 "$dir"
if [ ! -s "$key" ]; then
  (umask 077 && wg genkey > "$key")
fi

# Nothing that comes through the tunnel is forwarded, nor anything sent
# into it: the peer reaches this node's SSH and API server, never the pod
# or service networks or the private network behind it. An nftables base
# chain of its own, so no rule that k3s or flannel inserts into iptables'
# FORWARD chain can let such a packet through (a drop in any base chain is
# final).
forward=$root/etc/apk8s/ci-forward.nft
install -d -m 0755 "$(dirname "$forward")"
cat > "$forward.new" <<NFT
table inet apk8s_ci
delete table inet apk8s_ci
table inet apk8s_ci {
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname "$CI_INTERFACE" counter drop
		oifname "$CI_INTERFACE" counter drop
	}
}
NFT
mv -f "$forward.new" "$forward"

# The key stays in its own file; wg-quick loads it from there.
conf=$dir/$CI_INTERFACE.conf
want=$(cat <<CONF
[Interface]
Address = $CI_SERVER_ADDRESS/32
ListenPort = $CI_PORT
PostUp = wg set %i private-key $key
PostUp = nft -f $forward
PostUp = iptables -A INPUT -i %i -p tcp -m multiport --dports 22,6443 -j ACCEPT
PostUp = iptables -A INPUT -i %i -j DROP
PostDown = iptables -D INPUT -i %i -p tcp -m multiport --dports 22,6443 -j ACCEPT
PostDown = iptables -D INPUT -i %i -j DROP
PostDown = nft delete table inet apk8s_ci

[Peer]
PublicKey = $CI_PEER_PUBLIC_KEY
AllowedIPs = $CI_PEER_ADDRESS/32
CONF
)
systemctl enable "wg-quick@$CI_INTERFACE"
# The program runs this again on every `up` that changes the server's user
# data (cipath.go): the interface is restarted only when its settings
# changed (a new CI key or port), so a CI job whose SSH session runs this
# through the tunnel keeps it.
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ] || ! systemctl is-active --quiet "wg-quick@$CI_INTERFACE"; then
  (umask 077 && printf '%s\n' "$want" > "$conf")
  systemctl restart "wg-quick@$CI_INTERFACE"
  log "$CI_INTERFACE (re)started with its settings"
fi

# The published key is gone whenever the program rewrites the user data:
# publish it on every run.
wg pubkey < "$key" | curl -sfS --retry 10 --retry-delay 3 --retry-all-errors --local-port 1-1023 \
  -X PATCH -H 'Content-Type: text/plain' --data-binary @- \
  "http://169.254.42.42/user_data/$CI_USER_DATA_KEY"
log "$CI_INTERFACE listens on udp/$CI_PORT; public key published as user data $CI_USER_DATA_KEY"
