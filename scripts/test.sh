#!/usr/bin/env bash
# scripts/test.sh — set up, build, and run every test suite (doctest binaries under ctest).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
ctest --test-dir "${GANTRY_BUILD_DIR:-build}" --output-on-failure "$@"
