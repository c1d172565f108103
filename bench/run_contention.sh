#!/usr/bin/env bash
# bench/run_contention.sh — a step bench alone and beside another busy process, under each
# OpenMP wait policy: does the step stay sane when someone else takes a core? Prints ms/step
# (median) for every (policy, alone | beside `yes`) pair, one process per CPU minus one busy.
#   bench/run_contention.sh [--bench dcgan_step] [--threads T] [--steps N] [--policies "default passive 300000"]
#   a policy is `default` (no variable set: gantry's own GOMP_SPINCOUNT=3000000, see
#   core/threads.hpp), `passive` (OMP_WAIT_POLICY=passive), `active`, or a number
#   (GOMP_SPINCOUNT=N; 300000 is libgomp's own default)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=dcgan_step threads=$(nproc) steps=10 policies="default passive 1000 300000"
while [ $# -gt 0 ]; do
  case "$1" in
    --bench) bench="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --policies) policies="$2"; shift 2 ;;
    *) echo "run_contention.sh: unknown option $1 (--bench, --threads, --steps, --policies)" >&2; exit 2 ;;
  esac
done
build="${GANTRY_BUILD_DIR:-build}"
[ -f "$build/build.ninja" ] || GANTRY_BUILD_DIR="$build" ./scripts/setup.sh >/dev/null
cmake --build "$build" --target "bench_$bench" >/dev/null
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, bench_$bench --threads $threads --steps $steps, load $(cut -d' ' -f1-3 /proc/loadavg)"
busy_pid=""
stop_busy() {
  if [ -n "$busy_pid" ]; then kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; fi
  busy_pid=""
}
trap stop_busy EXIT
run() {  # run POLICY: the median ms/step
  local policy="$1" env_args=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT)
  case "$policy" in
    default) ;;
    passive | active) env_args+=(OMP_WAIT_POLICY="$policy") ;;
    *) env_args+=(GOMP_SPINCOUNT="$policy") ;;
  esac
  "${env_args[@]}" "./$build/bench_$bench" --threads "$threads" --steps "$steps" --warmup 2 |
    awk '/^RESULT/ {printf "%.1f", $3}'
}
printf "%-10s %14s %18s\n" policy "alone ms/step" "beside yes ms/step"
for policy in $policies; do
  alone=$(run "$policy")
  yes >/dev/null &
  busy_pid=$!
  beside=$(run "$policy")
  stop_busy
  printf "%-10s %14s %18s\n" "$policy" "$alone" "$beside"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
