#!/usr/bin/env bash
# scripts/gpu_check.sh — everything that needs a real NVIDIA GPU, in one call of at most
# 8 minutes on a machine with one GPU and a fresh checkout (issue 14):
#   1. builds GANTRY_CUDA=real (nvcc sm_80/sm_90, cuBLAS, cuDNN) in build-gpu;
#   2. runs the cuda test suites (test_cuda, which holds test_cudnn's cases: gantry's
#      kernels and cuDNN against the cpu) with gantry's kernels and (its cuDNN cases) through cuDNN,
#      and the zoo's cuda cases (test_gan -tc='*cuda*');
#   3. runs bench_kernels (the kernel timings);
#   4. trains DCGAN for one epoch with --device cuda;
# and writes one report: $OUT/gpu_report.txt when $OUT is set, else build-gpu/gpu_report.txt.
# Each step's time and result goes in the report; a step that fails is reported and the
# script goes on, then exits 1. Status: it has never run (no GPU has been lent yet); the
# figures in docs/kernels/README.md come from whoever runs it first.
#   GANTRY_GPU_BUDGET_S   the whole run's time limit in seconds (default 470: under 8 min)
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${GANTRY_GPU_BUDGET_S:-470}
start=$SECONDS
build=build-gpu
report="${OUT:-$build}/gpu_report.txt"
mkdir -p "$(dirname "$report")" "$build"
: > "$report"
status=0
say() { echo "$*" | tee -a "$report"; }
left() { echo $(( budget - (SECONDS - start) )); }
# step NAME LIMIT_S CMD...: runs CMD with a time limit (at most what is left), logs its tail.
step() {
  local name=$1 limit=$2; shift 2
  local l=$(left); (( limit > l )) && limit=$l
  if (( limit < 10 )); then say "== $name: SKIPPED (time budget spent)"; status=1; return; fi
  local t0=$SECONDS
  timeout --signal=KILL "$limit" "$@" > "$build/gpu_$name.log" 2>&1
  local rc=$?
  say "== $name: $([ $rc = 0 ] && echo ok || echo "FAILED (rc $rc$([ $rc = 137 ] && echo ", over its ${limit} s limit"))") in $((SECONDS - t0)) s: $*"
  grep -E "SKIPPED|test cases:|assertions:|Status:|ERROR" "$build/gpu_$name.log" | head -20 >> "$report"
  [ $rc = 0 ] || { tail -30 "$build/gpu_$name.log" >> "$report"; status=1; }
}

say "gantry gpu_check: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >> "$report"
[ -x /usr/local/cuda/bin/nvcc ] && /usr/local/cuda/bin/nvcc --version | tail -1 >> "$report"

jobs=$(nproc)
step configure 60 cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGANTRY_CUDA=real -DGANTRY_TESTS=ON -DGANTRY_BENCH=ON
step build 240 cmake --build $build -j"$jobs" --target test_cuda test_gan bench_kernels gantry
step test_cuda 90 ./$build/test_cuda
step test_cuda_cudnn 60 ./$build/test_cuda -tc='*cudnn*'
step test_gan_cuda 60 ./$build/test_gan -tc='*cuda*'
step bench_kernels 60 ./$build/bench_kernels --repeats 5 --csv "$build/bench_kernels.csv"
[ -f "$build/bench_kernels.csv" ] && { echo "-- bench_kernels.csv"; cat "$build/bench_kernels.csv"; } >> "$report"
step train_dcgan_cuda 90 ./$build/gantry train dcgan --epochs 1 --device cuda --out "$build/gpu_dcgan" --seed 1 --no-progress
tail -6 "$build/gpu_train_dcgan_cuda.log" >> "$report"
say "gantry gpu_check: $([ $status = 0 ] && echo PASSED || echo FAILED) in $((SECONDS - start)) s; report $report"
exit $status
