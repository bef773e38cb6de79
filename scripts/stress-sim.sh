#!/bin/sh
# `npm run stress:sim`: the simulation on fresh random seeds, one worker per core, until
# TROUPE_SIM_SECONDS (default 3600) pass or the workers have run TROUPE_SIM_RUNS schedules
# (default 1,000,000). Each failure prints its seed, its path and the command that replays it.
set -e
cd "$(dirname "$0")/.."
sh scripts/ensure-deps.sh
seconds="${TROUPE_SIM_SECONDS:-3600}"
runs="${TROUPE_SIM_RUNS:-1000000}"
workers="${TROUPE_SIM_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
per=$(( (runs + workers - 1) / workers ))
status=0
pids=""
for w in $(seq 1 "$workers"); do
  node --import tsx test/sim/cli.ts --seconds="$seconds" --runs="$per" > "${TMPDIR:-/tmp}/troupe-sim-$w.log" 2>&1 &
  pids="$pids $!"
done
for p in $pids; do wait "$p" || status=1; done
for w in $(seq 1 "$workers"); do echo "worker $w:"; grep -v "^seed [0-9-]*: [0-9]* schedules$" "${TMPDIR:-/tmp}/troupe-sim-$w.log" || true; done
exit $status
