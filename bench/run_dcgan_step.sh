#!/usr/bin/env bash
# bench/run_dcgan_step.sh — gantry's DCGAN step and PyTorch's, same machine, same
# thread count, in one run; prints the CPU, both and the ratio (bench/run_step_pair.sh
# installs the peer and sets its threads fairly).
#   bench/run_dcgan_step.sh [--threads T] [--steps N] [--warmup W] [--width F] [--batch B]
exec "$(dirname "$0")/run_step_pair.sh" dcgan_step "$@"
