# Runs on a k3s server over SSH: writes the k3s config drop-in with the
# server token and the agent token, read from stdin (never from the command
# line, which any process on the node can see). The bootstrap waits for it
# before k3s starts. A server that runs already with a server token k3s made
# itself (a cluster from before the program made the token) has its datastore
# rotated to the program's token first, and k3s restarted with it: every
# server of a cluster, and any restore, needs the one token the program keeps.
# APK8S_ROOT prefixes every file path, for the tests; empty on a node.
set -eu
umask 077
root=${APK8S_ROOT:-}
dropin=$root/etc/rancher/k3s/config.yaml.d/10-agent-token.yaml
current=$root/var/lib/rancher/k3s/server/token

fail() {
  echo "apk8s-k3s: $*" >&2
  rm -f "$tmp"
  exit 1
}

mkdir -p "$(dirname "$dropin")"
tmp=$(dirname "$dropin")/.$(basename "$dropin")
cat >"$tmp"
new=$(sed -n 's/^token: *//p' "$tmp")
[ -n "$new" ] || fail "no server token on stdin"

if [ -s "$current" ]; then
  # The token file is K10<CA hash>::server:<password>; the password is
  # what the config's token names.
  old=$(cat "$current")
  old=${old##*:}
  if [ "$old" != "$new" ]; then
    echo "apk8s-k3s: rotating the server token to the program's" >&2
    K3S_TOKEN=$old K3S_NEW_TOKEN=$new k3s token rotate >&2 ||
      fail "k3s token rotate failed: the server keeps its old token and the drop-in is unchanged (docs/cluster.md, \"Server token\")"
    mv -f "$tmp" "$dropin"
    systemctl restart k3s
    echo "apk8s-k3s: server token rotated; k3s restarted" >&2
    exit 0
  fi
fi
mv -f "$tmp" "$dropin"
