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
# Async preemption is off: its signals trip callgrind's signal handling
# now and then (an assertion in vgCallgrind_post_signal, or a SIGILL after
# which the count covers only the start-up); such runs are repeated. Each
# count is the lower of two good runs: the runtime's background work makes
# counts vary by a few dozen instructions per execution.
count() {
  best=""
  good=0
  for _ in 1 2 3 4 5 6 7 8; do
    log=$(GOGC=off GOMAXPROCS=1 GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$out/cg.$2.$1.try" "$out/probe" "$1" "$2" 2>&1)
    if grep -q "SIGILL\|Assertion" <<<"$log"; then
      continue
    fi
    n=$(awk '/Collected/ {print $4}' <<<"$log")
    [ -n "$n" ] || continue
    if [ -z "$best" ] || [ "$n" -lt "$best" ]; then
      best=$n
      mv "$out/cg.$2.$1.try" "$out/cg.$2.$1"
    fi
    good=$((good + 1))
    [ $good -lt 2 ] || break
  done
  if [ -z "$best" ]; then
    echo "callgrind failed 8 times on $2 $1" >&2
    exit 1
  fi
  echo "$best"
}
for mode in engine record; do
  a=$(count 2000 $mode)
  b=$(count 12000 $mode)
  echo "$mode: instructions/execution: $(( (b - a) / 10000 ))   profile: callgrind_annotate $out/cg.$mode.12000"
done
