#!/usr/bin/env bash
# Refreshes the config reference in docs/configuration.md (between the config markers)
# from stacks.Keys, and Pulumi.yaml with it.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./cmd/genproject > Pulumi.yaml
table=$(go run ./cmd/genproject -markdown)
awk -v table="$table" '
  /<!-- config:begin -->/ { print; print table; skip = 1; next }
  /<!-- config:end -->/ { skip = 0 }
  !skip { print }
' docs/configuration.md >docs/configuration.md.tmp && mv docs/configuration.md.tmp docs/configuration.md
