#!/usr/bin/env bash
# bench/run_stylegan_step.sh — gantry's StyleGAN2 step (Gmain, Dmain, lazy R1, EMA; the
# figure is the mean over a whole R1 cycle) and PyTorch's, same machine, same thread
# count, in one run; prints the CPU, both, and the time and RSS ratios
# (bench/run_step_pair.sh installs the peer and sets its threads fairly).
#   bench/run_stylegan_step.sh [--threads T] [--steps N] [--warmup W] [--batch B] [--width F]
#                              [--r1-interval I] [--pl-weight P]
exec "$(dirname "$0")/run_step_pair.sh" stylegan_step "$@"
