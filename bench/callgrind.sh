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
# Async preemption is off: its signals now and then trip callgrind's
# signal handling (an assertion in vgCallgrind_post_signal, or SIGILL); a
# run that still fails is repeated.
count() {
  for _ in 1 2 3 4 5; do
    n=$(GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$2.$1" "$out/probe" "$1" "$2" 2>&1 |
      awk '/Collected/ {print $4}')
    if [ -n "$n" ]; then
      echo "$n"
      return
    fi
  done
  echo "callgrind failed 5 times on $2 $1" >&2
  exit 1
}
for mode in engine record; do
  a=$(count 2000 $mode)
  b=$(count 12000 $mode)
  echo "$mode: instructions/execution: $(( (b - a) / 10000 ))   profile: callgrind_annotate $out/cg.$mode.12000"
done
