#!/usr/bin/env bash
# bench/run_step_pair.sh — a training-step benchmark and its PyTorch peer, same machine,
# same thread count, in one run: ./build/bench_NAME and bench/peers/NAME.py with the same
# arguments; prints the CPU, both lines and the ratio. Installs Debian's python3-torch if
# it is missing, and OpenBLAS: without it Debian's torch falls back to the reference BLAS
# and is several times slower, which would flatter us. A fair peer: torch.set_num_threads(T)
# inside, OpenBLAS single-threaded under it, and no OPENBLAS_CORETYPE override (Haswell
# kernels halve OpenBLAS on newer CPUs).
#   bench/run_step_pair.sh NAME [--threads T] [the benchmark's own flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: bench/run_step_pair.sh NAME [flags]}"
shift
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
build="${GANTRY_BUILD_DIR:-build}"
# A configured build folder only rebuilds this bench (the peers share the cores with it);
# a fresh clone gets the whole setup.
if [ -f "$build/build.ninja" ]; then cmake --build "$build" --target "bench_$name" >/dev/null
else GANTRY_BUILD_DIR="$build" ./scripts/setup.sh >/dev/null; fi
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores visible, load $(cut -d' ' -f1-3 /proc/loadavg)"
g=$("./$build/bench_$name" "${args[@]}")
# The peer, set up fairly (see the header).
p=$(env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$threads" \
    /usr/bin/python3 "bench/peers/$name.py" "${args[@]}")
echo "$g" | grep -v '^RESULT'
echo "$p" | grep -v '^RESULT'
gm=$(echo "$g" | awk '/^RESULT/ {print $3}')
pm=$(echo "$p" | awk '/^RESULT/ {print $3}')
gr=$(echo "$g" | awk '/^RESULT/ {print $4}')
pr=$(echo "$p" | awk '/^RESULT/ {print $4}')
awk -v g="$gm" -v p="$pm" 'BEGIN { printf "ratio: gantry takes %.2fx the time of pytorch per step (%s)\n", g / p, (g < p ? "gantry faster" : "pytorch faster") }'
gc=$(echo "$g" | awk '/^RESULT/ {print $5}')
pc=$(echo "$p" | awk '/^RESULT/ {print $5}')
awk -v g="$gc" -v p="$pc" 'BEGIN { printf "cpu-time ratio: gantry %.2f / pytorch %.2f ms of CPU per step = %.2fx (steadier than wall time on shared cores)\n", g, p, g / p }'
awk -v g="$gr" -v p="$pr" 'BEGIN { printf "rss ratio: gantry peak RSS %.0f MiB / pytorch %.0f MiB = %.2fx\n", g, p, g / p }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
