#!/usr/bin/env bash
# fuzz/run.sh [SECONDS] — runs each libFuzzer target (fuzz/, built by scripts/sanitize.sh
# in build-asan under ASan + UBSan, beside the sanitizer test suites) for SECONDS (default 30) from a seed corpus made
# from valid files (fuzz_make_seeds), and fails on the first crash, leak, sanitizer report
# or 60 s timeout. A finding is saved as build-asan/fuzz/<target>/crash-*; rerun it with
#   build-asan/fuzz/fuzz_<target> build-asan/fuzz/<target>/crash-...
#   GANTRY_FUZZ_SECONDS=0     skip (scripts/test.sh honours it; SECONDS overrides it)
#   GANTRY_FUZZ_BUILD_DIR     the build (default build-asan; build-fuzz when
#                             GANTRY_SANITIZE_CXX=g++, as scripts/sanitize.sh builds them)
#   GANTRY_FUZZ_TARGETS       which (default: idx safetensors image_folder cli)
#   GANTRY_FUZZ_RUNS          stop each after this many inputs instead (e.g. 1000000)
#   GANTRY_FUZZ_SEED          libFuzzer's -seed (default 1: CI's runs draw the same inputs
#                             every time, so a red CI names an input that reproduces; 0 =
#                             a fresh random seed per run, for exploratory runs)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-${GANTRY_FUZZ_SECONDS:-30}}"
if [ "$seconds" = 0 ] && [ -z "${GANTRY_FUZZ_RUNS:-}" ]; then echo "gantry: fuzzing skipped (0 seconds)"; exit 0; fi
default_build=build-asan
[ "${GANTRY_SANITIZE_CXX:-}" = g++ ] && default_build=build-fuzz
build="${GANTRY_FUZZ_BUILD_DIR:-$default_build}"
for t in fuzz_make_seeds ${GANTRY_FUZZ_TARGETS:-idx safetensors image_folder cli}; do
  [ "$t" = fuzz_make_seeds ] && t=make_seeds
  [ -x "$build/fuzz/fuzz_$t" ] || { echo "gantry: $build/fuzz/fuzz_$t is missing: run scripts/sanitize.sh first" >&2; exit 1; }
done
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
seeds="$build/fuzz/seeds"
"$build/fuzz/fuzz_make_seeds" "$seeds" >/dev/null
for t in ${GANTRY_FUZZ_TARGETS:-idx safetensors image_folder cli}; do
  work="$build/fuzz/$t"
  mkdir -p "$work/corpus"
  limit=(-max_total_time="$seconds")
  [ -n "${GANTRY_FUZZ_RUNS:-}" ] && limit=(-runs="$GANTRY_FUZZ_RUNS")
  # A target's dictionary (cli: its subcommand and flag names), written with the seeds.
  dict=()
  [ -f "$seeds/$t.dict" ] && dict=(-dict="$seeds/$t.dict")
  max_len=65536
  [ "$t" = cli ] && max_len=4096  # fuzz_cli skips longer inputs
  [ "$t" = image_folder ] && max_len=8192  # keeps inputs small (the reader itself now bounds a PNG's inflated size)
  t0=$SECONDS
  # -timeout: an input that takes over 60 s is a finding (stb_image took ~2 s on
  # fuzz/findings/image_folder_slow_png_221b.png under ASan before the reader's chunk walk
  # refused it); -rss_limit_mb: so is 2 GB of memory.
  if ! "$build/fuzz/fuzz_$t" "${limit[@]}" -seed="${GANTRY_FUZZ_SEED:-1}" "${dict[@]}" -timeout=60 -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
       -artifact_prefix="$work/" "$work/corpus" "$seeds/$t" > "$work/run.log" 2>&1; then
    tail -50 "$work/run.log"
    echo "gantry: fuzz_$t FAILED after $((SECONDS - t0)) s (log: $work/run.log)"
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/run.log" | grep -o '[0-9]*$' || echo '?')
  echo "gantry: fuzz_$t: $runs inputs in $((SECONDS - t0)) s, no crash (corpus: $(ls "$work/corpus" | wc -l) files)"
done
