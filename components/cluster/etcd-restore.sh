#!/bin/bash
# apk8s-etcd-restore: lists the etcd snapshots of this k3s server (local and
# in the stack's Object Storage bucket, with the S3 settings the program put
# in config.yaml.d) and restores one, with k3s's guard rails:
#
#   apk8s-etcd-restore list
#   apk8s-etcd-restore restore <snapshot name> [--others-stopped]
#   apk8s-etcd-restore rejoin
#
# restore runs on the first server (the one that started etcd): it stops
# k3s here, resets the cluster to the snapshot (k3s server --cluster-reset
# --cluster-reset-restore-path) and starts k3s again. With three servers,
# stop k3s on the other two first (systemctl stop k3s) and say so with
# --others-stopped; afterwards run `apk8s-etcd-restore rejoin` on each of
# them, which moves its old etcd data aside and joins the restored cluster.
# The snapshot needs the server token that was in use when it was taken:
# the program's (in config.yaml.d/10-agent-token.yaml).
# APK8S_ROOT prefixes every file path, for the tests; empty on a node.
set -euo pipefail
root=${APK8S_ROOT:-}
# shellcheck source=/dev/null
. "$root/etc/apk8s/k3s.env"

log() { echo "apk8s-restore: $*" >&2; }
fail() {
  echo "apk8s-restore: $*" >&2
  exit 1
}
now() { date +%s; }
usage() { fail "usage: apk8s-etcd-restore list | restore <snapshot name> [--others-stopped] | rejoin"; }

[ "$K3S_ROLE" = server ] || fail "this node is a k3s agent: run this on a server (apk8s-<stack>-cp)"
[ "${K3S_DATASTORE:-sqlite}" = etcd ] ||
  fail "this server keeps its datastore in SQLite, not etcd: snapshots need etcdSnapshots or controlPlaneCount 3"

db=$root/var/lib/rancher/k3s/server/db
case "${1:-}" in
  list)
    exec k3s etcd-snapshot ls
    ;;
  restore)
    name=${2:-}
    if [ -z "$name" ] || [ "${name#-}" != "$name" ]; then usage; fi
    others=""
    [ "${3:-}" = --others-stopped ] && others=1
    [ -z "${K3S_JOIN:-}" ] ||
      fail "this server joined $K3S_JOIN: restore on that first server, then run 'apk8s-etcd-restore rejoin' here"
    if [ "${K3S_SERVERS:-1}" -gt 1 ] && [ -z "$others" ]; then
      fail "this cluster has $K3S_SERVERS servers: stop k3s on the others first (systemctl stop k3s), then run: apk8s-etcd-restore restore $name --others-stopped"
    fi
    grep -q '^token: ' "$root/etc/rancher/k3s/config.yaml.d/10-agent-token.yaml" 2>/dev/null ||
      fail "no server token in config.yaml.d/10-agent-token.yaml: the snapshot's data is encrypted with it; run pulumi up first, which delivers it"
    log "stopping k3s"
    systemctl stop k3s
    log "restoring $name (the server token of the snapshot must be the one in config.yaml.d)"
    k3s server --cluster-reset --cluster-reset-restore-path="$name" ||
      fail "k3s could not restore $name; k3s stays stopped: look at the output above, then start it with systemctl start k3s"
    systemctl start k3s
    deadline=$(($(now) + 600))
    until k3s kubectl get --raw /readyz >/dev/null 2>&1; do
      [ "$(now)" -lt "$deadline" ] || fail "the API server was not ready 10 minutes after the restore"
      sleep 5
    done
    log "restored $name; the API server is ready"
    if [ "${K3S_SERVERS:-1}" -gt 1 ]; then
      log "now run 'apk8s-etcd-restore rejoin' on each other server, one at a time"
    fi
    ;;
  rejoin)
    [ -n "${K3S_JOIN:-}" ] || fail "this is the first server: restore here, rejoin on the others"
    systemctl stop k3s
    if [ -d "$db" ]; then
      aside=$db.before-restore-$(now)
      mv "$db" "$aside"
      log "old etcd data moved to $aside"
    fi
    systemctl start k3s
    log "k3s started: it joins the restored cluster through $K3S_JOIN"
    ;;
  *)
    usage
    ;;
esac
