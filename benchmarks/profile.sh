#!/usr/bin/env bash
# Profile the router under a steady Poisson load with py-spy (pip install py-spy).
#
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... benchmarks/profile.sh [rate] [seconds]
#
# Runs the bench's latency phase only (it starts its own `omniroute serve`) at RATE arrivals/s for
# SECONDS while py-spy samples the server, then prints the functions with the most inclusive and
# own time. Output: benchmarks/results/profile-<rate>.{txt,json,out}
set -euo pipefail
rate=${1:-200}
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
out="$here/results"
mkdir -p "$out"
: "${DATABASE_URL:?set DATABASE_URL (a database of its own: the bench adds agents and queues)}"
: "${REDIS_URL:?set REDIS_URL}"
cd "$(dirname "$here")"
python3 benchmarks/tool.py bench --rate "$rate" --seconds "$seconds" --skip ramp,baseline,sockets \
    --profile "$out/profile-$rate.txt" --json "$out/profile-$rate.json" | tee "$out/profile-$rate.out"
python3 "$here/stacks.py" "$out/profile-$rate.txt" | tee -a "$out/profile-$rate.out"
