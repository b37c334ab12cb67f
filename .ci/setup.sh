#!/usr/bin/env bash
# Create .venv/ at the repo root and install the project with every extra, pinned by
# .ci/constraints.txt (CPU torch 2.13.0, tensorflow-cpu 2.21, nbgrader 0.9.6).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[dev]"
# The class report's browser test (tests/test_report.py) runs Debian's chromium headless: installed
# here when it is missing and we are root (otherwise that one test is skipped and says why).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 \
        || echo "setup: could not install chromium; the report's browser test will be skipped" >&2
fi
