#!/usr/bin/env bash
# scripts/sanitize.sh — builds the emu build under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer on; a UBSan finding aborts: -fno-sanitize-recover) in build-asan with g++,
# and the libFuzzer targets (fuzz/, GANTRY_FUZZ=ON) in build-fuzz with clang-14 (unless
# GANTRY_FUZZ_SECONDS=0), and runs the test suites under ASan, the emulator's threads in
# forward and in random order. fuzz/run.sh then runs the fuzzers.
#
# The subset (measured on the 2-core CI machine, see docs/reliability.md): the full suites
# under ASan take far too long there (test_gan alone is ~5 min without sanitizers, and the
# zoo's training steps dominate it), so this runs
#   test_core, test_kernels, test_nn               in full (every op's forward, gradient and
#                                                  gradgradcheck; every cpu kernel; checkpoints)
#   test_emu                                       in full, forward and random thread order (the
#                                                  emulator itself: barriers, warps, shared memory,
#                                                  deadlock reports, on Boost.Context ucontext fibers
#                                                  that tell ASan of every stack switch)
#   test_cuda                                      only with GANTRY_ASAN_CUDA=1 (every cuda op on the
#                                                  emulator against the cpu; its time under ASan on
#                                                  the 2-core CI machine is in docs/reliability.md)
#   test_cli                                       the gantry command line's parse and checks
#   test_gan_readers                               tests/gan's file readers and writers only
#                                                  (IDX, image folder, PNG grid, checked writes)
# which covers every op's cpu forward, gradient and gradgradcheck and every reader of
# outside bytes.
#   GANTRY_SANITIZERS=0        skip (scripts/test.sh honours it)
#   GANTRY_ASAN_BUILD_DIR      the tests' build folder (default build-asan)
#   GANTRY_FUZZ_BUILD_DIR      the fuzzers' build folder (default build-fuzz)
#   GANTRY_ASAN_FULL=1         test_gan in full instead (slow: hours on 2 cores; its
#                              test_cyclegan_parts.cpp captures structured bindings in
#                              lambdas, which clang-14 rejects)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${GANTRY_SANITIZERS:-1}" = 0 ]; then echo "gantry: sanitizers skipped (GANTRY_SANITIZERS=0)"; exit 0; fi
build="${GANTRY_ASAN_BUILD_DIR:-build-asan}"
fuzz_build="${GANTRY_FUZZ_BUILD_DIR:-build-fuzz}"
start=$(date +%s)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# The test suites: g++ (the project's compiler; clang-14 rejects the structured bindings
# some tests capture in lambdas, a C++20 feature clang has from 16 on). Checked with
# clang++-14 -fsyntax-only over this subset's 28 test files (2 December 2026): all but
# tests/kernels/test_embedding_cpu.cpp and test_image_cpu.cpp compile (doctest's INFO names
# a structured binding inside its capturing lambda); outside the subset,
# tests/gan/test_cyclegan_parts.cpp. One clang build for both the suites and the fuzzers
# (saving one of the two instrumented builds, most of CI's "sanitize: build") needs those
# two files to copy their bindings to plain locals first.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANTRY_CUDA=emu -DGANTRY_SANITIZE=ON \
  -DGANTRY_BENCH=OFF -DCMAKE_CXX_COMPILER=g++ "${launcher[@]}" >/dev/null
gan_target=test_gan_readers  # tests/gan's readers and writers (CMakeLists.txt, GANTRY_SANITIZE)
[ "${GANTRY_ASAN_FULL:-0}" = 1 ] && gan_target=test_gan
emu_targets=(test_emu)
[ "${GANTRY_ASAN_CUDA:-0}" = 1 ] && emu_targets+=(test_cuda)
cmake --build "$build" -j"$(nproc)" --target test_core test_kernels test_nn test_cli $gan_target "${emu_targets[@]}"
# The fuzzers: clang-14's libFuzzer, ASan + UBSan, the library instrumented for coverage.
if [ "${GANTRY_FUZZ_SECONDS:-30}" != 0 ]; then
  command -v clang++-14 >/dev/null || { echo "gantry: the fuzzers need clang-14 (scripts/setup.sh installs it)" >&2; exit 1; }
  cmake -S . -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANTRY_CUDA=emu -DGANTRY_SANITIZE=ON \
    -DGANTRY_FUZZ=ON -DGANTRY_BENCH=OFF -DGANTRY_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
  cmake --build "$fuzz_build" -j"$(nproc)" --target fuzz_idx fuzz_safetensors fuzz_image_folder fuzz_cli fuzz_make_seeds
fi
built=$(date +%s)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
run() {  # run LABEL CMD...: runs CMD, its output in $build/sanitize_LABEL.log, and prints its time
  local label=$1 t0=$(date +%s); shift
  echo "gantry: sanitize: $label: $*"
  "$@" > "$build/sanitize_$label.log" 2>&1 ||
    { tail -40 "$build/sanitize_$label.log"; echo "gantry: sanitize: $label FAILED"; exit 1; }
  echo "gantry: sanitize:   ok in $(( $(date +%s) - t0 )) s ($(grep -m1 -o 'test cases:.*' "$build/sanitize_$label.log" | tr -s ' '))"
}
for order in forward "random:20261124"; do
  export GANTRY_EMU_ORDER=$order
  o=${order%%:*}
  if [ "$order" = forward ]; then  # no emulated threads in these: once is enough
    run test_core "$build/test_core"
    run test_kernels "$build/test_kernels"
    run test_nn "$build/test_nn"
    run test_cli "$build/test_cli"
    run $gan_target "$build/$gan_target"
  fi
  run "test_emu_$o" "$build/test_emu"
  if [ "${GANTRY_ASAN_CUDA:-0}" = 1 ]; then run "test_cuda_$o" "$build/test_cuda"; fi
  unset GANTRY_EMU_ORDER
done
echo "gantry: sanitize: build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
