#!/usr/bin/env bash
# bench/run_cyclegan_step.sh — gantry's CycleGAN step and PyTorch's, same machine, same
# thread count, same model and sizes, in one run; prints the CPU, both times and the
# ratio. The peer is set up exactly as bench/run_dcgan_step.sh sets up DCGAN's (Debian's
# python3-torch with OpenBLAS, torch.set_num_threads(T), OpenBLAS single-threaded under it,
# no OPENBLAS_CORETYPE override).
#   bench/run_cyclegan_step.sh [--threads T] [--steps N] [--warmup W] [--batch B] [--size S]
#                              [--ngf F] [--blocks R] [--ndf F] [--n-layers L]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--threads" ] && threads="${args[$((i + 1))]}"
done
[ -n "$threads" ] || { threads=$(nproc); args+=(--threads "$threads"); }
if ! /usr/bin/python3 -c "import torch" 2>/dev/null || ! dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch libopenblas0-openmp
fi
./scripts/setup.sh >/dev/null
build="${GANTRY_BUILD_DIR:-build}"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores visible, load $(cut -d' ' -f1-3 /proc/loadavg)"
g=$("./$build/bench_cyclegan_step" "${args[@]}")
p=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$threads" \
    /usr/bin/python3 bench/peers/cyclegan_step.py "${args[@]}")
echo "$g" | grep -v '^RESULT'
echo "$p" | grep -v '^RESULT'
gm=$(echo "$g" | awk '/^RESULT/ {print $3}')
pm=$(echo "$p" | awk '/^RESULT/ {print $3}')
awk -v g="$gm" -v p="$pm" 'BEGIN { printf "ratio: gantry takes %.2fx the time of pytorch per step (%s)\n", g / p, (g < p ? "gantry faster" : "pytorch faster") }'
