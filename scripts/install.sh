#!/usr/bin/env bash
# Creates ./.venv (once) and installs the project with the pinned versions of constraints.txt.
# torch is installed first: its CPU wheel (see ../shared/reference/environment.md); a bare `torch`
# requirement on an empty environment would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
echo "installed into $(pwd)/.venv"
