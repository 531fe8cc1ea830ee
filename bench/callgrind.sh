#!/usr/bin/env bash
# Instructions per execution of the reference workflow, counted by callgrind
# (valgrind) on bench/cgprobe with the GC off: unlike timings, the count
# does not depend on what else the machine is doing. "engine" runs the
# workflow on a parsed input; "record" parses the reading, runs the workflow
# and writes the output, as the daemon's worker does. Needs valgrind and
# ../shared/bench beside the repository. Usage: bench/callgrind.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
go build -o "$out/probe" ./bench/cgprobe
count() {
  GOGC=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$2.$1" "$out/probe" "$1" "$2" 2>&1 |
    awk '/Collected/ {print $4}'
}
for mode in engine record; do
  a=$(count 2000 $mode)
  b=$(count 12000 $mode)
  echo "$mode: instructions/execution: $(( (b - a) / 10000 ))   profile: callgrind_annotate $out/cg.$mode.12000"
done
