#!/usr/bin/env bash
# Profile the router under a steady Poisson load with py-spy (pip install py-spy).
#
#   DATABASE_URL=postgresql://... REDIS_URL=redis://... benchmarks/profile.sh [rate] [seconds]
#
# Starts `python -m router serve` on a free port with a fresh routing namespace, drives it with
# `bench --skip ramp,baseline,sockets` at RATE arrivals/s for SECONDS, samples the server with
# py-spy meanwhile, and prints the functions with the most inclusive and own time.
# Output: benchmarks/results/profile-<rate>.{txt,svg,json}
set -euo pipefail
rate=${1:-200}
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out="$here/results"
mkdir -p "$out"
: "${DATABASE_URL:?set DATABASE_URL (a database of its own: the bench adds agents and queues)}"
: "${REDIS_URL:?set REDIS_URL}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="or_profile_$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')"
work=$(mktemp -d)
printf '[routing]\nnamespace = "profile-%s"\n' "$port" > "$work/profile.toml"
cd "$repo"
OMNIROUTE_ADMIN_TOKEN=$token python3 -m router serve --host 127.0.0.1 --port "$port" \
    --config "$work/profile.toml" > "$work/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break
    sleep 0.2
done
py-spy record --pid "$server" --duration "$((seconds + 8))" --rate 200 --format raw \
    -o "$out/profile-$rate.txt" > /dev/null 2>&1 &
spy=$!
python3 benchmarks/tool.py bench --url "http://127.0.0.1:$port" --admin-token "$token" \
    --server-pid "$server" --rate "$rate" --seconds "$seconds" --skip ramp,baseline,sockets \
    --json "$out/profile-$rate.json"
wait "$spy" || true
python3 "$here/stacks.py" "$out/profile-$rate.txt"
