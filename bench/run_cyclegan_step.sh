#!/usr/bin/env bash
# bench/run_cyclegan_step.sh — gantry's CycleGAN step (bench/cyclegan_step.cpp) and PyTorch's
# (bench/peers/cyclegan_step.py), same model, sizes and threads, in one run; prints the CPU,
# both times and the ratio (bench/run_step_pair.sh sets the peer up fairly).
#   bench/run_cyclegan_step.sh [--threads T] [--steps N] [--warmup W] [--batch B] [--size S]
#                              [--ngf F] [--blocks R] [--ndf F] [--n-layers L]
exec "$(dirname "$0")/run_step_pair.sh" cyclegan_step "$@"
