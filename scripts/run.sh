#!/usr/bin/env bash
# scripts/run.sh — set up, build, and run the main job: train DCGAN on
# Fashion-MNIST on the CPU (2 epochs, a few minutes on a laptop) and write its
# sample grids, checkpoint, loss log and quality metric (after every epoch) under
# runs/dcgan. Extra flags go to `gantry train dcgan` (see ./build/gantry train --help).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
eval_every=(--eval-every 1)
for a in "$@"; do [[ "$a" == --eval-every* ]] && eval_every=(); done
"./${GANTRY_BUILD_DIR:-build}/gantry" train dcgan --out runs/dcgan "${eval_every[@]}" "$@"
