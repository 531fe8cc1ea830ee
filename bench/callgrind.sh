#!/usr/bin/env bash
# Instructions per execution of the reference workflow, counted by callgrind
# (valgrind) on internal/cgprobe with the GC off: unlike timings, the count
# does not depend on what else the machine is doing. Needs valgrind and
# ../shared/bench beside the repository. Usage: bench/callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
go build -o "$out/probe" ./internal/cgprobe
count() {
  GOGC=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" "$out/probe" "$1" 2>&1 |
    awk '/Collected/ {print $4}'
}
a=$(count 2000)
b=$(count 12000)
echo "instructions/execution: $(( (b - a) / 10000 ))"
echo "profile: callgrind_annotate $out/cg.12000"
