#!/bin/sh
# run.sh OUTDIR [express load flags...]: one end-to-end measurement in three
# processes on this machine, as BENCHMARKS.md describes: a broker-only
# `express serve` (broker.yaml, embedded broker on 127.0.0.1:19093), the
# daemon under test in its own process (its RSS and CPU sampled every 5 s by
# rss.sh), and `express load` with the given flags. Everything it starts is
# stopped when it ends. OUTDIR receives load.txt (the report), load.csv,
# load.svg, rss-daemon.csv, rss-broker.csv and the two servers' logs.
#
#   go build -o /tmp/express ./cmd/express
#   bench/e2e/run.sh /tmp/run-42500 --rate 42500 --duration 60s --warmup 5s
#
# EXPRESS (default /tmp/express) is the binary; DAEMON_FLAGS adds flags to
# the daemon's serve command, DAEMON_ENV environment variables (GOGC=100);
# BROKER_FLAGS adds flags to the broker's (e.g. --metrics-addr
# 127.0.0.1:19100 --pprof, to profile it); RETENTION_BYTES is the broker's
# retention per partition (default 64 MiB). PASSTHROUGH=BIN runs that
# bench/passthrough binary (-records 0 -source-headers) in the daemon's
# place: the bare franz-go client's peak in the same three-process setup,
# the machine's limit for any consumer that produces a result per record.
# The broker (an express serve) applies it every 5 s. What it retains is
# in its heap, which GOGC=200 lets grow to three times that: at the default
# 64 MiB a ten-minute run takes the broker to ~7 GB and most of a core,
# which shows in the latency. Runs below the peak need little (the daemon
# reads within milliseconds): RETENTION_BYTES=16777216 for latency runs;
# runs beyond the peak build backlogs, which need the default or more.
set -eu
out=$1; shift
bin=${EXPRESS:-/tmp/express}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"

pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# 64 MiB per partition: runs beyond the peak build backlogs of millions of
# records, which the default retention (8 MiB) would drop unconsumed.
"$bin" serve --config broker.yaml --embedded-port 19093 --embedded-retention-bytes "${RETENTION_BYTES:-67108864}" --progress 0 ${BROKER_FLAGS:-} >"$out/broker.log" 2>&1 &
broker=$!; pids="$broker"
sleep 3 # the broker creates its topics

if [ -n "${PASSTHROUGH:-}" ]; then
  "$PASSTHROUGH" -brokers 127.0.0.1:19093 -topic readings -output-topic readings-out -group passthrough \
    -records 0 -source-headers -timeout 24h >"$out/daemon.log" 2>&1 &
else
  # shellcheck disable=SC2086
  env ${DAEMON_ENV:-} "$bin" serve --brokers 127.0.0.1:19093 --definition ../../../shared/bench/iot-reference.asl.json \
    --topic readings --output-topic readings-out --metrics-addr "" --progress 0 ${DAEMON_FLAGS:-} \
    --resource 'arn:aws:lambda:eu-west-1:123456789012:function:enrich-device=static:{"site":"plant-1","threshold":30}' \
    >"$out/daemon.log" 2>&1 &
fi
daemon=$!; pids="$daemon $pids"
./rss.sh "$daemon" "$out/rss-daemon.csv" &
pids="$! $pids"
./rss.sh "$broker" "$out/rss-broker.csv" &
pids="$! $pids"
sleep 2

"$bin" load --brokers 127.0.0.1:19093 --csv "$out/load.csv" --chart "$out/load.svg" "$@" 2>&1 | tee "$out/load.txt"
