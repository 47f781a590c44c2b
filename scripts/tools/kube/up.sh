#!/usr/bin/env bash
# Run a throwaway Kubernetes control plane on 127.0.0.1 from the binaries that
# scripts/bootstrap-tools.sh put in CACHE/bin.
#
#   scripts/tools/kube/up.sh [CACHE] [STATE]
#
#   CACHE  bootstrap output (default ${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools})
#   STATE  per-cluster directory: pki/, etcd data, logs/, pids/, kubeconfig, env
#          (default ${KUBE_STATE:-$CACHE/kube-run})
#
# Environment (all optional):
#   KUBE_WORKLOADS=1     also run kube-controller-manager, kube-scheduler and kwok,
#                        and register the fake node kwok-node-0, so that pods of
#                        Deployments/StatefulSets get scheduled and turn Running/Ready.
#                        kwok also serves the node's kubelet API on KUBE_KWOK_PORT with
#                        its PortForward resource installed: a PortForward named like a
#                        pod sends `kubectl port-forward` to that pod to a real address.
#                        Without it only etcd + kube-apiserver run (enough for
#                        server-side dry runs and storing objects).
#   KUBE_ETCD_BIN        etcd binary (default CACHE/bin/etcd)
#   KUBE_ETCD_PORT       etcd client port            (default 23790)
#   KUBE_ETCD_PEER_PORT  etcd peer port              (default 23800)
#   KUBE_API_PORT        kube-apiserver https port   (default 16443)
#   KUBE_KCM_PORT        controller-manager https    (default 20257)
#   KUBE_SCHED_PORT      scheduler https             (default 20259)
#   KUBE_KWOK_PORT       kwok's kubelet API          (default 20250)
#   KUBE_READY_TIMEOUT   seconds to wait for each component (default 240)
# The variables are KUBE_*, never ETCD_*: etcd takes every ETCD_* variable in
# its environment as a command-line flag.
#
# Writes STATE/kubeconfig (cluster-admin, token auth) and prints its path as
# the last line of stdout. `source STATE/env` exports KUBECONFIG, KUBECACHEDIR
# (kubectl's discovery cache, kept out of ~/.kube) and PATH. Stop with
# down.sh STATE. Needs openssl and curl.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${1:-${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}}
STATE=${2:-${KUBE_STATE:-$CACHE/kube-run}}
BIN=$CACHE/bin
ETCD=${KUBE_ETCD_BIN:-$BIN/etcd}
ETCD_PORT=${KUBE_ETCD_PORT:-23790}
ETCD_PEER_PORT=${KUBE_ETCD_PEER_PORT:-23800}
API_PORT=${KUBE_API_PORT:-16443}
KCM_PORT=${KUBE_KCM_PORT:-20257}
SCHED_PORT=${KUBE_SCHED_PORT:-20259}
KWOK_PORT=${KUBE_KWOK_PORT:-20250}
READY_TIMEOUT=${KUBE_READY_TIMEOUT:-240}
WORKLOADS=${KUBE_WORKLOADS:-0}

log() { echo "up.sh: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

need() { [ -x "$1" ] || die "missing $1 (run scripts/bootstrap-tools.sh $CACHE kube)"; }
need "$ETCD"
need "$BIN/kube-apiserver"
need "$BIN/kubectl"
if [ "$WORKLOADS" = 1 ]; then
  need "$BIN/kube-controller-manager"
  need "$BIN/kube-scheduler"
  need "$BIN/kwok"
  [ -f "$CACHE/kwok-stages.yaml" ] || die "missing $CACHE/kwok-stages.yaml (run scripts/bootstrap-tools.sh $CACHE kwok)"
  [ -f "$CACHE/kwok-crds.yaml" ] || die "missing $CACHE/kwok-crds.yaml (run scripts/bootstrap-tools.sh $CACHE kwok)"
fi
command -v openssl >/dev/null || die "openssl not found"
command -v curl >/dev/null || die "curl not found"

mkdir -p "$STATE"/{pki,logs,pids}
STATE=$(cd "$STATE" && pwd)
PKI=$STATE/pki

running() { # running NAME: its pid file names a live process
  local f=$STATE/pids/$1.pid
  [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}
for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do
  running "$n" && die "$n is already running (pid $(cat "$STATE/pids/$n.pid")); run down.sh $STATE first"
done

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=("$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT")
[ "$WORKLOADS" = 1 ] && ports+=("$KCM_PORT" "$SCHED_PORT" "$KWOK_PORT")
for p in "${ports[@]}"; do
  port_busy "$p" && die "127.0.0.1:$p is already in use (see the KUBE_*_PORT variables)"
done

launch() { # launch NAME CMD...: start in the background; log and pid under STATE
  local name=$1
  shift
  log "starting $name"
  nohup "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$STATE/pids/$name.pid"
}

await() { # await NAME URL [curl args...]: poll URL until it answers 2xx
  local name=$1 url=$2
  shift 2
  local t0=$SECONDS
  until curl -sf -o /dev/null --max-time 5 "$@" "$url"; do
    if ! running "$name"; then
      tail -n 30 "$STATE/logs/$name.log" >&2
      die "$name exited (log: $STATE/logs/$name.log)"
    fi
    if [ $((SECONDS - t0)) -ge "$READY_TIMEOUT" ]; then
      tail -n 30 "$STATE/logs/$name.log" >&2
      die "$name not ready after ${READY_TIMEOUT}s"
    fi
    sleep 1
  done
  log "$name ready in $((SECONDS - t0))s ($url)"
}

# --- certificates and tokens: made once per STATE, reused by later runs --------
if [ ! -f "$PKI/ca.crt" ]; then
  log "creating a CA, the apiserver's serving cert and the service-account key in $PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=apk8s-test-ca" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -sha256 \
    -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" -subj "/CN=kube-apiserver" 2>/dev/null
  cat >"$PKI/apiserver.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  openssl x509 -req -sha256 -days 3650 -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -CAcreateserial -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi
if [ ! -f "$PKI/tokens.csv" ]; then
  # Static token file: token,user,uid,"groups"
  rand() { openssl rand -hex 16; }
  {
    echo "$(rand),admin,admin,\"system:masters\""
    echo "$(rand),system:kube-controller-manager,kcm,"
    echo "$(rand),system:kube-scheduler,scheduler,"
    echo "$(rand),kwok,kwok,\"system:masters\""
  } >"$PKI/tokens.csv"
  chmod 600 "$PKI/tokens.csv"
fi
token() { awk -F, -v u="$1" '$2==u {print $1}' "$PKI/tokens.csv"; }

write_kubeconfig() { # write_kubeconfig FILE USER
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: apk8s-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: $2
  user:
    token: $(token "$2")
contexts:
- name: apk8s-test
  context:
    cluster: apk8s-test
    user: $2
current-context: apk8s-test
EOF
  chmod 600 "$1"
}
write_kubeconfig "$STATE/kubeconfig" admin
write_kubeconfig "$STATE/kcm.kubeconfig" system:kube-controller-manager
write_kubeconfig "$STATE/scheduler.kubeconfig" system:kube-scheduler
write_kubeconfig "$STATE/kwok.kubeconfig" kwok

# --- etcd --------------------------------------------------------------------------
launch etcd "$ETCD" --name apk8s-test --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "apk8s-test=http://127.0.0.1:$ETCD_PEER_PORT" \
  --quota-backend-bytes 2147483648 --logger zap --log-level warn
await etcd "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver -------------------------------------------------------------------
# A loopback advertise address may not be published in the "kubernetes"
# Endpoints object, hence --endpoint-reconciler-type=none. The fake node's
# Hostname does not resolve: port-forwards reach its kubelet (kwok) by its
# InternalIP.
launch kube-apiserver "$BIN/kube-apiserver" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --token-auth-file="$PKI/tokens.csv" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --authorization-mode=RBAC \
  --service-cluster-ip-range=10.96.0.0/16 \
  --endpoint-reconciler-type=none \
  --kubelet-preferred-address-types=InternalIP \
  --allow-privileged=true \
  --profiling=false \
  --cert-dir="$STATE/apiserver-certs"
await kube-apiserver "https://127.0.0.1:$API_PORT/readyz" --cacert "$PKI/ca.crt"

export KUBECONFIG=$STATE/kubeconfig KUBECACHEDIR=$STATE/kube-cache
cat >"$STATE/env" <<EOF
export KUBECONFIG=$STATE/kubeconfig
export KUBECACHEDIR=$STATE/kube-cache
export PATH=$BIN:\$PATH
EOF

if [ "$WORKLOADS" = 1 ]; then
  # --- kube-controller-manager -----------------------------------------------------
  # --flex-volume-plugin-dir keeps it from creating /usr/libexec/kubernetes;
  # --authentication-skip-lookup because there is no front-proxy CA.
  launch kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$STATE/kcm.kubeconfig" \
    --authentication-kubeconfig="$STATE/kcm.kubeconfig" --authorization-kubeconfig="$STATE/kcm.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
    --use-service-account-credentials=true \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --controllers='*' --cert-dir="$STATE/kcm-certs" \
    --authentication-skip-lookup=true --flex-volume-plugin-dir="$STATE/flexvolume"
  # --- kube-scheduler --------------------------------------------------------------
  launch kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --leader-elect=false \
    --cert-dir="$STATE/scheduler-certs" --authentication-skip-lookup=true
  # --- kwok: the kubelet of every node annotated kwok.x-k8s.io/node=fake -------------
  # Its PortForward CRD must exist before kwok starts watching it. --node-port
  # publishes the kubelet port in the node's status, where the API server
  # looks for it.
  "$BIN/kubectl" apply -f "$CACHE/kwok-crds.yaml" >&2
  "$BIN/kubectl" wait --for condition=established --timeout=60s crd/portforwards.kwok.x-k8s.io >&2
  # HOME=STATE so that kwok never picks up a ~/.kwok/kwok.yaml of the user's.
  launch kwok env HOME="$STATE" "$BIN/kwok" \
    --kubeconfig="$STATE/kwok.kubeconfig" --config="$CACHE/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip=127.0.0.1 --cidr=10.244.0.1/16 --node-lease-duration-seconds=40 \
    --server-address="127.0.0.1:$KWOK_PORT" --node-port="$KWOK_PORT" --enable-crds=PortForward
  await kube-controller-manager "https://127.0.0.1:$KCM_PORT/healthz" -k
  await kube-scheduler "https://127.0.0.1:$SCHED_PORT/healthz" -k
  await kwok "http://127.0.0.1:$KWOK_PORT/healthz"
  "$BIN/kubectl" apply -f "$HERE/testdata/kwok-node.yaml" >&2
  t0=$SECONDS
  until [ "$("$BIN/kubectl" get node kwok-node-0 -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; do
    if ! running kwok; then
      tail -n 30 "$STATE/logs/kwok.log" >&2
      die "kwok exited"
    fi
    [ $((SECONDS - t0)) -lt "$READY_TIMEOUT" ] || die "node kwok-node-0 not Ready after ${READY_TIMEOUT}s"
    sleep 1
  done
  log "node kwok-node-0 Ready in $((SECONDS - t0))s"
  KUBECONFIG=$STATE/kubeconfig KUBECTL=$BIN/kubectl "$HERE/wait-ready.sh" "$READY_TIMEOUT"
fi

log "cluster up: source $STATE/env  (KUBECONFIG, KUBECACHEDIR, PATH); stop: $HERE/down.sh $STATE"
echo "$STATE/kubeconfig"
