#!/bin/bash
# The CI's way in, on the control plane (cloud-init runs it at first boot,
# before k3s; systemd brings the interface back after a reboot). Parameters
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

# The key stays in its own file; wg-quick loads it from there.
(umask 077 && cat > "$dir/$CI_INTERFACE.conf" <<CONF
[Interface]
Address = $CI_SERVER_ADDRESS/32
ListenPort = $CI_PORT
PostUp = wg set %i private-key $key
PostUp = iptables -A INPUT -i %i -p tcp -m multiport --dports 22,6443 -j ACCEPT
PostUp = iptables -A INPUT -i %i -j DROP
PostDown = iptables -D INPUT -i %i -p tcp -m multiport --dports 22,6443 -j ACCEPT
PostDown = iptables -D INPUT -i %i -j DROP

[Peer]
PublicKey = $CI_PEER_PUBLIC_KEY
AllowedIPs = $CI_PEER_ADDRESS/32
CONF
)
# restart, not start: run again after an edit of the env file (a new CI
# key), the script applies it.
systemctl enable "wg-quick@$CI_INTERFACE"
systemctl restart "wg-quick@$CI_INTERFACE"

wg pubkey < "$key" | curl -sfS --retry 10 --retry-delay 3 --retry-all-errors --local-port 1-1023 \
  -X PATCH -H 'Content-Type: text/plain' --data-binary @- \
  "http://169.254.42.42/user_data/$CI_USER_DATA_KEY"
log "$CI_INTERFACE listens on udp/$CI_PORT; public key published as user data $CI_USER_DATA_KEY"
