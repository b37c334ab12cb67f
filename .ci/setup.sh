#!/usr/bin/env bash
# Create .venv/ at the repo root and install the project with every extra, pinned by
# .ci/constraints.txt (CPU torch 2.13.0, tensorflow-cpu 2.21, nbgrader 0.9.6).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c .ci/constraints.txt -e ".[dev]"
