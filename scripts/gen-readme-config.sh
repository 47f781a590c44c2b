#!/usr/bin/env bash
# Refreshes the config reference in README.md (between the config markers)
# from stacks.Keys, and Pulumi.yaml with it.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/genproject > Pulumi.yaml
table=$(go run ./cmd/genproject -markdown)
awk -v table="$table" '
  /<!-- config:begin -->/ { print; print table; skip = 1; next }
  /<!-- config:end -->/ { skip = 0 }
  !skip { print }
' README.md > README.md.tmp && mv README.md.tmp README.md
