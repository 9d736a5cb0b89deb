#!/usr/bin/env bash
# Refresh the screenshots shown in the README and docs/ from the last browser test run.
# The tests write their screenshots under artifacts/screenshots/ only; this copies the ones the
# documentation shows, on purpose, so a test run never changes tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
src=artifacts/screenshots
if [ ! -f "$src/wallboard.png" ]; then
    echo "no screenshots in $src: run 'bash scripts/test.sh tests/browser' first" >&2
    exit 1
fi
for name in wallboard.png desktop-agent-b.png desktop-wrapup.png desktop-offer.png reports-forecast.png; do
    cp "$src/$name" "docs/screenshots/$name"
done
echo "copied into docs/screenshots/"
