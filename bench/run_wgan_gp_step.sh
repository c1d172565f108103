#!/usr/bin/env bash
# bench/run_wgan_gp_step.sh — gantry's WGAN-GP step (critic step with the gradient
# penalty's double backward, then the G step) and PyTorch's, same machine, same thread
# count, in one run; prints the CPU, both, and the time and RSS ratios
# (bench/run_step_pair.sh installs the peer and sets its threads fairly).
#   bench/run_wgan_gp_step.sh [--threads T] [--steps N] [--warmup W] [--width F] [--batch B] [--n-critic K]
exec "$(dirname "$0")/run_step_pair.sh" wgan_gp_step "$@"
