#!/usr/bin/env bash
# Proves the Renovate config (.github/renovate.json5) with Renovate itself:
#   1. renovate-config-validator --strict accepts it;
#   2. Renovate, run over this work tree in extract-only mode
#      (--platform=local --dry-run=extract, no network needed), extracted every
#      image, chart and k3s release of every stack's graph, and every action and
#      version pin of the workflows, from every file where the pin lives
#      (tests/renovate_test.go, build tag "renovate", reads Renovate's report).
#
#   scripts/renovate-check.sh
#
# Renovate needs Node >= 24.11; both are installed from the npm registry at
# the versions of scripts/tools/renovate/package-lock.json into
# ${APK8S_RENOVATE:-$HOME/.cache/apk8s-platform/renovate}, again only when
# the lock file changes. Renovate reads the files git tracks: `git add` a new
# file before checking it. Logs and Renovate's report go to
# $RENOVATE_CHECK_LOGS (default: a temporary directory, kept on failure).
set -euo pipefail
cd "$(dirname "$0")/.."
PKG=scripts/tools/renovate
CACHE=${APK8S_RENOVATE:-$HOME/.cache/apk8s-platform/renovate}
if [ -n "${RENOVATE_CHECK_LOGS:-}" ]; then
  LOGS=$RENOVATE_CHECK_LOGS
else # a temporary directory, kept only when the check fails
  LOGS=$(mktemp -d)
  trap 'if [ $? -eq 0 ]; then rm -rf "$LOGS"; fi' EXIT
fi
mkdir -p "$(dirname "$CACHE")" "$LOGS"

log() { echo "renovate-check: $*" >&2; }
fail() {
  log "$1; log: $2"
  tail -n 40 "$2" >&2
  exit 1
}

# --- install, once per lock file (one installer at a time) -----------------------
exec 9>"$CACHE.lock"
flock 9
stamp=$(cat "$PKG/package.json" "$PKG/package-lock.json" | sha256sum | cut -c1-16)
NODE=$CACHE/node_modules/node/bin/node
RENOVATE=$CACHE/node_modules/renovate/dist
if [ "$(cat "$CACHE/stamp" 2>/dev/null)" != "$stamp" ] || [ ! -x "$NODE" ]; then
  log "installing $PKG (Node and Renovate) into $CACHE ..."
  t0=$SECONDS
  rm -rf "$CACHE"
  mkdir -p "$CACHE"
  cp "$PKG/package.json" "$PKG/package-lock.json" "$CACHE/"
  (cd "$CACHE" && npm ci --no-audit --no-fund --loglevel=error) >"$LOGS/npm.log" 2>&1 ||
    fail "npm ci failed" "$LOGS/npm.log"
  echo "$stamp" >"$CACHE/stamp"
  log "installed in $((SECONDS - t0))s"
fi
flock -u 9
want=$(sed -n 's/^ *"renovate": "\(.*\)",\{0,1\}$/\1/p' "$PKG/package.json")
got=$("$NODE" "$RENOVATE/renovate.js" --version 2>/dev/null)
[ "$got" = "$want" ] || { log "Renovate $got in $CACHE, want $want"; exit 1; }
log "Renovate $got on Node $("$NODE" --version)"

# Renovate warns once that the optional RE2 engine is missing (it needs a
# native build from downloads CI cannot reach) and uses JavaScript's RegExp.
export LOG_LEVEL=info LOG_FORMAT=json

# --- 1. the validator ---------------------------------------------------------------
"$NODE" "$RENOVATE/config-validator.js" --strict >"$LOGS/validator.log" 2>&1 ||
  fail "renovate-config-validator --strict refused the config" "$LOGS/validator.log"
grep -q '"msg":"Validating .github/renovate.json5"' "$LOGS/validator.log" ||
  fail "the validator did not find .github/renovate.json5" "$LOGS/validator.log"
log "renovate-config-validator --strict: .github/renovate.json5 is valid"

# --- 2. extraction and coverage -------------------------------------------------------
report=$LOGS/report.json
rm -f "$report"
RENOVATE_ONBOARDING=false RENOVATE_REQUIRE_CONFIG=required RENOVATE_BASE_DIR=$LOGS/base \
  "$NODE" "$RENOVATE/renovate.js" --platform=local --dry-run=extract \
  --report-type=file --report-path="$report" >"$LOGS/extract.log" 2>&1 ||
  fail "renovate --dry-run=extract failed" "$LOGS/extract.log"
[ -s "$report" ] || fail "renovate wrote no report" "$LOGS/extract.log"
log "Renovate extracted $(grep -o '"depName"' "$report" | wc -l) dependencies"
RENOVATE_REPORT=$report go test -tags renovate -count=1 -v ./tests/ -run '^TestRenovate' >"$LOGS/test.log" 2>&1 ||
  fail "a pin is not covered" "$LOGS/test.log"
grep -ho "[0-9]* pins in the graphs.*" "$LOGS/test.log" | sed "s/^/renovate-check: /" >&2
log "every pin of the graphs and workflows is extracted where it lives"
