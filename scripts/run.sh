#!/usr/bin/env bash
# scripts/run.sh — set up, build, and run the main job: for now the engine demo
# (an MLP fitted with gantry's autograd, its loss printed as it falls).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
"./${GANTRY_BUILD_DIR:-build}/demo_mlp" "$@"
