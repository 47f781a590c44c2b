#!/usr/bin/env bash
# Lint the GitHub Actions workflows with actionlint, installing it on first use.
#
#   scripts/lint-workflows.sh [ACTIONLINT-FLAG...]
#
# actionlint is built from the Go module proxy into the tool cache
# ${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}/bin, once per version.
# It runs shellcheck over every `run:` script when shellcheck is on PATH
# (apt-get install shellcheck), and skips that part when it is not.
set -euo pipefail

# renovate: datasource=go depName=github.com/rhysd/actionlint
ACTIONLINT_VERSION=v1.7.12
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${APK8S_TOOLS:-$HOME/.cache/apk8s-platform/tools}
BIN=$CACHE/bin
ACTIONLINT=$BIN/actionlint

installed() {
  [ -x "$ACTIONLINT" ] && [ "$("$ACTIONLINT" -version 2>/dev/null | head -n 1)" = "$ACTIONLINT_VERSION" ]
}

if ! installed; then
  echo "lint-workflows: installing actionlint $ACTIONLINT_VERSION into $BIN" >&2
  mkdir -p "$BIN"
  # Built outside this module (GOWORK/GOFLAGS must not reach it), single-threaded
  # and niced: the machine may be busy with other builds.
  (cd "$CACHE" && GOBIN=$BIN GOWORK=off GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
    nice -n "${LINT_NICE:-10}" go install -p 1 "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION")
  installed || { echo "lint-workflows: $ACTIONLINT is not actionlint $ACTIONLINT_VERSION" >&2; exit 1; }
fi

cd "$ROOT"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "lint-workflows: no workflow in $ROOT/.github/workflows" >&2
  exit 1
fi
if ! command -v shellcheck >/dev/null; then
  echo "lint-workflows: shellcheck not found; run: scripts are not checked" >&2
fi
"$ACTIONLINT" "$@" "${workflows[@]}"
echo "lint-workflows: ${#workflows[@]} workflows pass actionlint $ACTIONLINT_VERSION"
