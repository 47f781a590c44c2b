#!/usr/bin/env bash
# Measures what every `pulumi preview` and `pulumi up` pays before the engine
# starts: the `go build` of this program. It copies the work tree (git ls-files) to a
# scratch directory, builds once to warm the cache, then three times makes a
# one-line change in a component (components/kafka) and rebuilds. It reports
# each rebuild's wall time and the fastest (the least disturbed by whatever
# else the machine does), the peak memory of the builds (GNU time's %M: the
# largest process, the linker) and the binary size. The work tree is not
# touched.
#
#   scripts/bench-build.sh            # budget: <= 8 s, <= 1.2 GB, <= 64 MB
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "bench-build: needs GNU time (apt-get install -y time)" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d "" f; do if [ -f "$f" ]; then cp --parents -t "$scratch" "$f"; fi; done
cd "$scratch"

go build -o bin/program .                      # warm the build cache
# An exported declaration changes the package's export data, so its importers
# (stacks, main) recompile and the binary relinks, as after a real edit.
for run in 1 2 3; do
  echo "var BenchBuildStamp$run = \"$(date +%s%N)\"" >> components/kafka/kafka.go
  /usr/bin/time -f '%e %M' -a -o time.txt go build -o bin/program .
done
size=$(stat -c %s bin/program)
awk -v b="$size" '
  { printf "rebuild %d: %.1f s, %.0f MB\n", NR, $1, $2 / 1024
    if (NR == 1 || $1 < s) s = $1
    if ($2 > kb) kb = $2 }
  END {
    printf "warm rebuild after a one-line change: %.1f s, fastest of %d (budget 8 s)\n", s, NR
    printf "peak build memory:                    %.0f MB (budget 1200 MB)\n", kb / 1024
    printf "binary size:                          %.1f MB (budget 64 MB)\n", b / 1048576
    exit (s > 8 || kb / 1024 > 1200 || b / 1048576 > 64) ? 1 : 0
  }' time.txt
