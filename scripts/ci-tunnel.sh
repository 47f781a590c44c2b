#!/usr/bin/env bash
# The CI end of the WireGuard path to a stack's control plane
# (docs/delivery.md, "Reaching the cluster"):
#
#   scripts/ci-tunnel.sh open             connect if the stack's control plane exists
#                                         and its API server answers through the tunnel
#                                         (then reached=true in $GITHUB_OUTPUT)
#   scripts/ci-tunnel.sh open-when-ready  the same, or, while `pulumi up` creates the
#                                         control plane, connect in the background as
#                                         soon as it publishes its key
#   scripts/ci-tunnel.sh close            take it all down again (run it always)
#
# Environment: STACK, SCW_SECRET_KEY, CI_WIREGUARD_PRIVATE_KEY, CI_WIREGUARD_PORT
# (default 51820), RUNNER_TEMP; the Pulumi CLI logged in to the stack's backend.
#
# The control plane is the server whose ID the stack's state holds (`pulumi
# stack export`), never a server found by its name: an orphaned server of an
# earlier stack may carry the same name. The secrets go into files (mode
# 0600) through printf, a shell builtin: no secret is ever a word of a
# command line. The control plane's WireGuard key comes from the Scaleway
# API (authenticated), where the node published it. Traffic to the control
# plane's public address on ports 22 and 6443 is redirected into the tunnel,
# so the stack's kubeconfig and SSH connection work unchanged.
#
# One peer per stack: every job that opens the tunnel to a stack joins the
# concurrency group pulumi-stack-<stack>, so no two hold it at once
# (TestWorkflowTunnelOnePeerAtATime).
set -euo pipefail

state=${RUNNER_TEMP:?}/ci-tunnel
iface=wg-ci
# cluster.CIServerAddress, cluster.CIPeerAddress, cluster.CIPublicKeyUserData
server_address=100.96.0.1
peer_address=100.96.0.2
user_data_key=wireguard-public-key
# The control plane's URN ends with its resource name ("cluster" + "-cp").
server_type=scaleway:instance/server:Server
server_urn_suffix=::cluster-cp
# The SSH host key the program gave it (cluster.go, "-ssh-host-key").
host_key_type=tls:index/privateKey:PrivateKey
host_key_urn_suffix=::cluster-cp-ssh-host-key
port=${CI_WIREGUARD_PORT:-51820}
# How long to wait for the control plane's key: a running one published it
# long ago; one that `up` is creating needs its boot and apt-get first.
if [ "${1:-}" = open ]; then
  wait_seconds=${CI_TUNNEL_WAIT_SECONDS:-120}
else
  wait_seconds=${CI_TUNNEL_WAIT_SECONDS:-900}
fi

log() { echo "ci-tunnel: $*" >&2; }

# scw GETs path of the Instance API in zone.
scw() {
  curl -sfS --retry 3 -H "@$state/auth.header" \
    "https://api.scaleway.com/instance/v1/zones/$1/$2"
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

# lookup prints "<zone> <server id> <public address>" of the control plane
# in the stack's state, or nothing when the state holds none. A server
# the state holds and Scaleway does not is an error.
lookup() {
  local id zone uuid address
  # Without --show-secrets: the secrets stay ciphertext.
  pulumi stack export --stack "${STACK:?}" --file "$state/stack.json" || {
    log "cannot read the state of stack $STACK"
    return 1
  }
  id=$(resource "$server_type" "$server_urn_suffix" .id)
  [ -n "$id" ] || return 0
  # The provider's IDs are <zone>/<uuid>.
  if [[ ! $id =~ ^([a-z]{2}-[a-z]{3}-[0-9])/([0-9a-f-]{36})$ ]]; then
    log "the control plane's ID in the state is not <zone>/<uuid>: '$id'"
    return 1
  fi
  zone=${BASH_REMATCH[1]} uuid=${BASH_REMATCH[2]}
  address=$(scw "$zone" "servers/$uuid" | jq -r '.server.public_ips[0].address // .server.public_ip.address // ""') || {
    log "the control plane $id of the state is not at Scaleway (deleted outside Pulumi?)"
    return 1
  }
  echo "$zone $uuid $address"
}

# resource prints field (a jq path) of the resource in the last read state
# whose type is $1 and whose URN ends with $2, not pending deletion.
resource() {
  jq -r --arg type "$1" --arg suffix "$2" \
    "[.deployment.resources[]? | select(.type == \$type and (.urn | endswith(\$suffix)) and (.delete | not))][0] | $3 // empty" \
    "$state/stack.json"
}

# fingerprint of an OpenSSH public key line, or the key when ssh-keygen
# is missing.
fingerprint() {
  ssh-keygen -lf - <<< "$1" 2>/dev/null | awk '{ print $2 }' | grep . || echo "$1"
}

# host_key_matches compares the SSH host key the control plane at $1
# presents (through the tunnel) with the one the state pins, before any
# Pulumi command dials it: the remote commands would refuse another key
# too, with the SSH library's words only.
host_key_matches() {
  local address=$1 want got
  want=$(resource "$host_key_type" "$host_key_urn_suffix" .outputs.publicKeyOpenssh | awk '{ print $1, $2 }')
  [ -n "$want" ] || return 0 # a stack from before the pin
  if ! command -v ssh-keyscan >/dev/null; then
    log "ssh-keyscan not found: the remote commands check the host key when they dial"
    return 0
  fi
  got=$(ssh-keyscan -T 10 -t ed25519 "$address" 2>/dev/null | awk '$2 == "ssh-ed25519" { print $2, $3; exit }') || true
  if [ -z "$got" ]; then
    log "no SSH host key from $address yet; the remote commands check it when they dial"
    return 0
  fi
  [ "$got" = "$want" ] && return 0
  log "the control plane at $address presents SSH host key $(fingerprint "$got"), not $(fingerprint "$want")," \
    "which the state pins (cluster-cp-ssh-host-key). Check that $address is still $STACK's control plane" \
    "in the Scaleway console, that /etc/ssh/ssh_host_ed25519_key.pub on it is the key in the state, and only" \
    "then suspect the network (docs/cluster.md, \"A changed key\")"
  return 1
}

# connect waits for the control plane's published key, then brings the
# tunnel up and redirects SSH and the API server into it.
connect() {
  local zone=$1 id=$2 address=$3 key="" deadline=$((SECONDS + wait_seconds))
  if [[ ! $address =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
    log "the control plane $id has no public IPv4 address ('$address')"
    return 1
  fi
  until key=$(scw "$zone" "servers/$id/user_data/$user_data_key" 2>/dev/null) && [ -n "$key" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "the control plane publishes no WireGuard key (user data $user_data_key) after ${wait_seconds}s:" \
        "set ciWireguardPublicKey for stack $STACK, and run pulumi up once to publish it again (docs/delivery.md)"
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

# answers tells whether the API server at address answers through the
# tunnel: any HTTP status will do (it wants credentials that curl has not).
answers() {
  local code
  code=$(curl -sk -o /dev/null -w '%{http_code}' --retry 5 --retry-delay 3 --retry-all-errors \
    --connect-timeout 5 --max-time 10 "https://$1:6443/readyz") || true
  [ "${code:-000}" != 000 ]
}

# watch polls for a control plane that `pulumi up` is creating.
watch() {
  local found="" zone id address deadline=$((SECONDS + wait_seconds))
  until found=$(lookup) && [ -n "$found" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "no control plane of $STACK appeared within ${wait_seconds}s"
      return 1
    fi
    sleep 10
  done
  read -r zone id address <<< "$found"
  connect "$zone" "$id" "$address"
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

# cluster_kind is the cluster key of the stack's file, "scaleway" (the key's
# default) when it names none. Only the k3s cluster has the WireGuard path: a
# Kapsule API server is public behind its own authentication (docs/kapsule.md).
cluster_kind() {
  local kind
  kind=$(sed -n 's/^[[:space:]]*apk8s-platform:cluster:[[:space:]]*\([^#[:space:]]*\).*/\1/p' \
    "$(dirname "$0")/../Pulumi.${STACK:?}.yaml" 2>/dev/null | tr -d "\"'" | head -n 1)
  echo "${kind:-scaleway}"
}

case ${1:-} in
open | open-when-ready)
  kind=$(cluster_kind)
  if [ "$kind" != scaleway ]; then
    log "stack $STACK runs on cluster \"$kind\", whose API server CI reaches directly: no tunnel to open"
    exit 0
  fi
  prepare
  found=$(lookup)
  if [ -n "$found" ]; then
    read -r zone id address <<< "$found"
    connect "$zone" "$id" "$address"
    host_key_matches "$address" || exit 1
    if answers "$address"; then
      if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "reached=true" >> "$GITHUB_OUTPUT"; fi
      log "the API server of $STACK answers"
    elif [ "$1" = open ]; then
      log "the API server of $STACK ($address) does not answer through the tunnel"
      exit 1
    else
      # up may be the run that repairs it.
      log "the API server of $STACK ($address) does not answer through the tunnel (yet)"
    fi
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
