#!/usr/bin/env bash
# The CI end of the WireGuard path to a stack's control plane
# (docs/delivery.md, "Reaching the cluster"):
#
#   scripts/ci-tunnel.sh open             connect if the stack's control plane exists
#   scripts/ci-tunnel.sh open-when-ready  the same, or, while `pulumi up` creates the
#                                         control plane, connect in the background as
#                                         soon as it publishes its key
#   scripts/ci-tunnel.sh close            take it all down again (run it always)
#
# Environment: STACK, SCW_SECRET_KEY, SCW_DEFAULT_ZONE, CI_WIREGUARD_PRIVATE_KEY,
# CI_WIREGUARD_PORT (default 51820), RUNNER_TEMP.
#
# The secrets go into files (mode 0600) through printf, a shell builtin: no
# secret is ever a word of a command line. The control plane's WireGuard key
# comes from the Scaleway API (authenticated), where the node published it.
# Traffic to the control plane's public address on ports 22 and 6443 is
# redirected into the tunnel, so the stack's kubeconfig and SSH connection
# work unchanged.
set -euo pipefail

state=${RUNNER_TEMP:?}/ci-tunnel
iface=wg-ci
# cluster.CIServerAddress, cluster.CIPeerAddress, cluster.CIPublicKeyUserData
server_address=100.96.0.1
peer_address=100.96.0.2
user_data_key=wireguard-public-key
port=${CI_WIREGUARD_PORT:-51820}
# How long to wait for the control plane's key: a running one published it
# long ago; one that `up` is creating needs its boot and apt-get first.
if [ "${1:-}" = open ]; then
  wait_seconds=${CI_TUNNEL_WAIT_SECONDS:-120}
else
  wait_seconds=${CI_TUNNEL_WAIT_SECONDS:-900}
fi

log() { echo "ci-tunnel: $*" >&2; }

# The control plane's name as the program makes it (stacks.ResourcePrefix,
# cluster.ControlPlaneName) for a stack whose name is a DNS label already.
control_plane() {
  if [[ ! ${STACK:?} =~ ^[a-z0-9]([a-z0-9-]{0,28}[a-z0-9])?$ ]]; then
    log "stack '$STACK': CI reaches stacks whose names are DNS labels of at most 30 characters"
    return 1
  fi
  echo "apk8s-$STACK-cp"
}

scw() {
  curl -sfS --retry 3 -H "@$state/auth.header" \
    "https://api.scaleway.com/instance/v1/zones/${SCW_DEFAULT_ZONE:?}/$1"
}

prepare() {
  mkdir -p "$state"
  chmod 0700 "$state"
  (
    umask 077
    printf 'X-Auth-Token: %s\n' "${SCW_SECRET_KEY:?}" > "$state/auth.header"
    printf '%s\n' "${CI_WIREGUARD_PRIVATE_KEY:?}" > "$state/wg.key"
  )
}

# lookup prints "<server id> <public address>" of the control plane, or
# nothing when there is none.
lookup() {
  local name
  name=$(control_plane)
  scw "servers?name=$name" | jq -r --arg name "$name" \
    '[.servers[] | select(.name == $name)][0] // empty
     | "\(.id) \(.public_ips[0].address // .public_ip.address // "")"'
}

# connect waits for the control plane's published key, then brings the
# tunnel up and redirects SSH and the API server into it.
connect() {
  local id=$1 address=$2 key="" deadline=$((SECONDS + wait_seconds))
  if [[ ! $address =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
    log "the control plane $id has no public IPv4 address ('$address')"
    return 1
  fi
  until key=$(scw "servers/$id/user_data/$user_data_key" 2>/dev/null) && [ -n "$key" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "the control plane publishes no WireGuard key (user data $user_data_key) after ${wait_seconds}s:" \
        "set ciWireguardPublicKey for stack $STACK (docs/delivery.md)"
      return 1
    fi
    sleep 10
  done
  if [[ ! $key =~ ^[A-Za-z0-9+/]{43}=$ ]]; then
    log "user data $user_data_key of $id is not a WireGuard key"
    return 1
  fi
  command -v wg >/dev/null || sudo apt-get install -y -qq wireguard-tools
  echo "$address" > "$state/address"
  sudo ip link add "$iface" type wireguard
  sudo wg set "$iface" private-key "$state/wg.key" peer "$key" \
    endpoint "$address:$port" allowed-ips "$server_address/32" persistent-keepalive 25
  sudo ip address add "$peer_address/32" dev "$iface"
  sudo ip link set "$iface" up
  sudo ip route add "$server_address/32" dev "$iface"
  sudo iptables -t nat -A OUTPUT -d "$address/32" -p tcp -m multiport --dports 22,6443 \
    -j DNAT --to-destination "$server_address"
  sudo iptables -t nat -A POSTROUTING -o "$iface" -j MASQUERADE
  log "tunnel to $STACK's control plane ($address) is up; SSH and the API server go through it"
}

# watch polls for a control plane that `pulumi up` is creating.
watch() {
  local found="" id address deadline=$((SECONDS + wait_seconds))
  until found=$(lookup) && [ -n "$found" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "no control plane of $STACK appeared within ${wait_seconds}s"
      return 1
    fi
    sleep 10
  done
  read -r id address <<< "$found"
  connect "$id" "$address"
}

close() {
  if [ -s "$state/watcher.pid" ]; then
    kill "$(cat "$state/watcher.pid")" 2>/dev/null || true
  fi
  if [ -s "$state/address" ]; then
    local address
    address=$(cat "$state/address")
    sudo iptables -t nat -D OUTPUT -d "$address/32" -p tcp -m multiport --dports 22,6443 \
      -j DNAT --to-destination "$server_address" || true
    sudo iptables -t nat -D POSTROUTING -o "$iface" -j MASQUERADE || true
  fi
  sudo ip link del "$iface" 2>/dev/null || true
  if [ -s "$state/watcher.log" ]; then
    cat "$state/watcher.log" >&2
  fi
  rm -rf "$state"
  log "closed"
}

case ${1:-} in
open | open-when-ready)
  prepare
  found=$(lookup)
  if [ -n "$found" ]; then
    read -r id address <<< "$found"
    connect "$id" "$address"
  elif [ "$1" = open-when-ready ]; then
    nohup "$0" watch > "$state/watcher.log" 2>&1 &
    echo $! > "$state/watcher.pid"
    log "no control plane of $STACK yet: connecting in the background once it publishes its key"
  else
    log "no control plane of $STACK: nothing to reach"
  fi
  ;;
watch) watch ;;
close) close ;;
*)
  echo "usage: scripts/ci-tunnel.sh open|open-when-ready|close" >&2
  exit 2
  ;;
esac
