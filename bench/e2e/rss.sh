#!/bin/sh
# rss.sh PID OUT.csv: samples the resident set size (kB) and CPU time
# (clock ticks, user+system) of process PID every 5 seconds until it exits.
pid=$1; out=$2; t0=$(date +%s)
echo "seconds,rss_kb,cpu_ticks" > "$out"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' /proc/"$pid"/status)
  cpu=$(awk '{print $14+$15}' /proc/"$pid"/stat)
  echo "$(( $(date +%s) - t0 )),$rss,$cpu" >> "$out"
  sleep 5
done
