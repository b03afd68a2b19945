#!/usr/bin/env bash
# One entry point for every set-up: creates .venv and installs the project (with its test and
# dev tools) on first use, or again when pyproject.toml changes, then runs what you ask.
#
#   ./dev.sh run ARGS...   the pepperpy-core command line (the main job), e.g. ./dev.sh run demo
#   ./dev.sh test [ARGS]   the whole test suite (pytest), warnings as errors
#   ./dev.sh lint          ruff and mypy --strict
#   ./dev.sh bench         every benchmark, writes docs/benchmarks.md
#   ./dev.sh docs          build the documentation site (warnings as errors)
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)

setup() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$STAMP" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
    rm -f "$VENV"/.installed-*
    touch "$STAMP"
  fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  run)   setup; exec "$VENV/bin/pepperpy-core" "$@" ;;
  test)  setup; exec "$VENV/bin/python" -m pytest "$@" ;;
  lint)  setup
         "$VENV/bin/ruff" check .
         "$VENV/bin/mypy" --strict pepperpy_core ;;
  bench) setup
         "$VENV/bin/python" -m pip install --quiet -e ".[dev,benchmark]"
         exec "$VENV/bin/python" benchmarks/run_all.py "$@" ;;
  docs)  setup
         "$VENV/bin/python" -m pip install --quiet -e ".[dev,docs]"
         exec "$VENV/bin/mkdocs" build --strict ;;
  *)     sed -n '2,12p' "$0"; exit 2 ;;
esac
