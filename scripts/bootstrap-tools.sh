#!/usr/bin/env bash
# Build the tools the end-to-end tests run against, from the Go module proxy
# only: the Pulumi CLI, the Kubernetes provider plugin, and a loopback
# Kubernetes control plane (etcd, kube-apiserver, kubectl, controller-manager,
# scheduler, kwok). Versions are pinned by the go.mod/go.sum files under
# scripts/tools/; see scripts/tools/README.md.
#
#   scripts/bootstrap-tools.sh [CACHE] [TOOL...]
#
#   CACHE  output directory (default ${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools});
#          a path with a "/" or an existing directory
#   TOOL   any of: pulumi plugin kube all (default all), or one kube component:
#          etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok
#          ("kube" = all six).
#
# Layout of CACHE:
#   bin/pulumi bin/etcd bin/kube-apiserver bin/kubectl bin/kube-controller-manager
#   bin/kube-scheduler bin/kwok
#   pulumi-home/plugins/resource-kubernetes-vX.Y.Z/pulumi-resource-kubernetes (+ .lock)
#   kwok-stages.yaml    kwok's node/pod lifecycle stages (read by tools/kube/up.sh)
#   kwok-crds.yaml      kwok's PortForward CRD (installed by tools/kube/up.sh)
#   stamps/NAME         "version source-hash" of each binary; a binary whose stamp
#                       matches is skipped, so re-running is cheap
#   build/              scratch copy of the plugin module (with its embedded JSON)
#   env                 `source CACHE/env`: PATH, PULUMI_HOME, APK8S_TOOLS
#
# Heavy compiles run under `nice -n 15` (override with BOOTSTRAP_NICE=0).
set -euo pipefail

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOLS=$SCRIPTS/tools
NICE=${BOOTSTRAP_NICE:-15}

# The provider module is only published under a pseudo-version; this is the
# release it corresponds to, stamped into the plugin and used for its install dir.
# renovate: datasource=go depName=github.com/pulumi/pulumi-kubernetes/sdk/v4 extractVersion=^v(?<version>.+)$
PLUGIN_VERSION=4.32.0

KUBE_PARTS=(etcd kube-apiserver kubectl kube-controller-manager kube-scheduler kwok)
ORDER=(pulumi "${KUBE_PARTS[@]}" plugin)

is_tool() {
  case $1 in
    all | pulumi | plugin | kube | etcd | kube-apiserver | kubectl | kube-controller-manager | kube-scheduler | kwok) return 0 ;;
    *) return 1 ;;
  esac
}

CACHE=${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}
# The first argument is CACHE when it is not a tool name; it must look like a
# path (contain a "/" or name an existing directory) so that a mistyped tool
# name fails instead of becoming a new cache directory.
if [ $# -gt 0 ] && ! is_tool "$1"; then
  case $1 in
    */*) ;;
    *) [ -d "$1" ] || { echo "bootstrap-tools.sh: unknown tool '$1' (a CACHE argument needs a '/', e.g. ./$1)" >&2; exit 2; } ;;
  esac
  CACHE=$1
  shift
fi
declare -A WANT=()
[ $# -eq 0 ] && set -- all
for t in "$@"; do
  case $t in
    all) for n in "${ORDER[@]}"; do WANT[$n]=1; done ;;
    kube) for n in "${KUBE_PARTS[@]}"; do WANT[$n]=1; done ;;
    *)
      is_tool "$t" || { echo "bootstrap-tools.sh: unknown tool '$t' (want: pulumi plugin kube all ${KUBE_PARTS[*]})" >&2; exit 2; }
      WANT[$t]=1 ;;
  esac
done

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
BIN=$CACHE/bin
STAMPS=$CACHE/stamps
PULUMI_HOME_DIR=$CACHE/pulumi-home
mkdir -p "$BIN" "$STAMPS" "$PULUMI_HOME_DIR/plugins"

# One bootstrap at a time per CACHE (a second one waits instead of racing).
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.bootstrap.lock"
  flock 9
fi

# Each tools module is self-contained: never let a go.work above it, or
# GOFLAGS=-mod=mod, change what gets built.
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0

log() { echo "bootstrap: $*" >&2; }

modver() { # modver DIR MODULE: the version DIR/go.mod selects for MODULE
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}
moddir() { # moddir DIR MODULE: MODULE's source directory in GOMODCACHE (downloads it)
  (cd "$1" && go mod download "$2" && go list -m -f '{{.Dir}}' "$2")
}
srchash() { # srchash DIR: digest of the module files that decide what is built
  cat "$1"/go.mod "$1"/go.sum "$1"/*.go | sha256sum | cut -c1-16
}
size_mib() { echo $(( $(stat -c %s "$1") / 1048576 )); }

SUMMARY=()
record() { # record NAME STATUS SECONDS PATH
  SUMMARY+=("$(printf '%-26s %-8s %5ss %5s MiB  %s' "$1" "$2" "$3" "$(size_mib "$4")" "$4")")
}

# build NAME STAMP DEST MODDIR PKG LDFLAGS: go build PKG in MODDIR to DEST
# unless DEST exists and stamps/NAME equals STAMP.
build() {
  local name=$1 stamp=$2 dest=$3 dir=$4 pkg=$5 ldflags=$6
  if [ -x "$dest" ] && [ "$(cat "$STAMPS/$name" 2>/dev/null)" = "$stamp" ]; then
    log "$name: up to date ($stamp), skipped"
    record "$name" skipped 0 "$dest"
    return
  fi
  log "$name: building $pkg ($stamp) ..."
  local t0=$SECONDS
  mkdir -p "$(dirname "$dest")"
  rm -f "$STAMPS/$name"
  (cd "$dir" && nice -n "$NICE" go build -trimpath -ldflags "$ldflags" -o "$dest.tmp" "$pkg")
  mv -f "$dest.tmp" "$dest"
  echo "$stamp" >"$STAMPS/$name"
  local secs=$((SECONDS - t0))
  log "$name: built in ${secs}s, $(size_mib "$dest") MiB -> $dest"
  record "$name" built "$secs" "$dest"
}

T_START=$SECONDS

# --- Pulumi CLI ------------------------------------------------------------------
if [ -n "${WANT[pulumi]:-}" ]; then
  dir=$TOOLS/pulumi
  v=$(modver "$dir" github.com/pulumi/pulumi/pkg/v3)
  sv=$(modver "$dir" github.com/pulumi/pulumi/sdk/v3)
  [ "$v" = "$sv" ] || { log "pulumi: pkg/v3 $v and sdk/v3 $sv differ in $dir/go.mod"; exit 1; }
  build pulumi "$v $(srchash "$dir")" "$BIN/pulumi" "$dir" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$v"
fi

# --- Kubernetes control plane ------------------------------------------------------
KDIR=$TOOLS/kube
if [ -n "${WANT[etcd]:-}" ]; then
  v=$(modver "$KDIR/etcd" go.etcd.io/etcd/server/v3)
  build etcd "$v $(srchash "$KDIR/etcd")" "$BIN/etcd" "$KDIR/etcd" . "-s -w"
fi

k8s_parts=()
for n in kube-apiserver kubectl kube-controller-manager kube-scheduler; do
  [ -n "${WANT[$n]:-}" ] && k8s_parts+=("$n")
done
if [ ${#k8s_parts[@]} -gt 0 ]; then
  kv=$(modver "$KDIR/build" k8s.io/kubernetes)    # e.g. v1.37.2
  kminor=$(echo "$kv" | cut -d. -f2)
  # What kubernetes' hack/lib/version.sh stamps; without it /version and
  # `kubectl version` report v0.0.0.
  kflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kflags+=" -X $p.gitVersion=$kv -X $p.gitMajor=1 -X $p.gitMinor=$kminor"
    kflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  khash=$(srchash "$KDIR/build")
  for n in "${k8s_parts[@]}"; do
    build "$n" "$kv $khash" "$BIN/$n" "$KDIR/build" "k8s.io/kubernetes/cmd/$n" "$kflags"
  done
fi

if [ -n "${WANT[kwok]:-}" ]; then
  v=$(modver "$KDIR/kwok" sigs.k8s.io/kwok)
  build kwok "$v $(srchash "$KDIR/kwok")" "$BIN/kwok" "$KDIR/kwok" sigs.k8s.io/kwok/cmd/kwok "-s -w"
  # kwok acts only through Stage objects given in its config: take the "fast"
  # node/pod stages and the lease heartbeat shipped in the same module.
  src=$(moddir "$KDIR/kwok" sigs.k8s.io/kwok)/kustomize/stage
  {
    echo "# kwok stages copied from sigs.k8s.io/kwok@$v by bootstrap-tools.sh"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"
      cat "$src/$f"
    done
  } >"$CACHE/kwok-stages.yaml.tmp"
  mv -f "$CACHE/kwok-stages.yaml.tmp" "$CACHE/kwok-stages.yaml"
  # The PortForward resource: tests point a fake pod's port at a real
  # process (up.sh installs it and starts kwok with --enable-crds=PortForward).
  crd=$(moddir "$KDIR/kwok" sigs.k8s.io/kwok)/kustomize/crd/bases/kwok.x-k8s.io_portforwards.yaml
  { echo "# copied from sigs.k8s.io/kwok@$v by bootstrap-tools.sh"; cat "$crd"; } >"$CACHE/kwok-crds.yaml.tmp"
  mv -f "$CACHE/kwok-crds.yaml.tmp" "$CACHE/kwok-crds.yaml"
fi

# --- Kubernetes provider plugin ---------------------------------------------------
if [ -n "${WANT[plugin]:-}" ]; then
  dir=$TOOLS/kubernetes-plugin
  mod=github.com/pulumi/pulumi-kubernetes/provider/v4
  pv=$(modver "$dir" "$mod")
  pdir=$(moddir "$dir" "$mod")/cmd/pulumi-resource-kubernetes
  # Our main embeds the module's schema.json and terraform-mapping.json; build
  # from a scratch copy so that those 8 MB never land in the work tree.
  scratch=$CACHE/build/kubernetes-plugin
  rm -rf "$scratch"
  mkdir -p "$scratch"
  cp "$dir"/go.mod "$dir"/go.sum "$dir"/*.go "$scratch"/
  cp "$pdir/schema.json" "$pdir/terraform-mapping.json" "$scratch"/
  chmod -R u+w "$scratch"
  pdest=$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$PLUGIN_VERSION
  build pulumi-resource-kubernetes "$PLUGIN_VERSION $pv $(srchash "$dir")" \
    "$pdest/pulumi-resource-kubernetes" "$scratch" . \
    "-s -w -X $mod/pkg/version.Version=$PLUGIN_VERSION"
  # The engine treats a plugin dir with its .lock file as installed, so it
  # never tries to download this one.
  touch "$pdest.lock"
fi

cat >"$CACHE/env" <<EOF
# source this file: the tools built by scripts/bootstrap-tools.sh
export APK8S_TOOLS=$CACHE
export PATH=$BIN:\$PATH
export PULUMI_HOME=$PULUMI_HOME_DIR
export PULUMI_SKIP_UPDATE_CHECK=true
EOF

echo "bootstrap: summary (cache $CACHE, total $((SECONDS - T_START))s)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
