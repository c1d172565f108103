#!/usr/bin/env bash
# scripts/sanitize.sh — one clang-14 build under AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer on; a UBSan finding aborts: -fno-sanitize-recover) in build-asan that holds
# both the emu build's test suites and the libFuzzer targets (fuzz/, GANTRY_FUZZ=ON; unless
# GANTRY_FUZZ_SECONDS=0), and runs the test suites under ASan, the emulator's threads in
# forward and in random order. fuzz/run.sh then runs the fuzzers from the same folder.
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
#   test_cuda, the cases in $cuda_cases below      forward and random thread order: the cuda kernel
#                                                  families on the emulator against the cpu (all but
#                                                  image.cu's; ~45 s a order, docs/reliability.md);
#                                                  GANTRY_ASAN_CUDA=1 runs all of test_cuda instead
#                                                  (its parity case alone runs over 4 min under ASan)
#   test_cli                                       the gantry command line's parse and checks
#   test_gan_readers                               tests/gan's file readers and writers only
#                                                  (IDX, image folder, PNG grid, checked writes)
# which covers every op's cpu forward, gradient and gradgradcheck and every reader of
# outside bytes.
#   GANTRY_SANITIZERS=0        skip (scripts/test.sh honours it)
#   GANTRY_SANITIZE_CXX        the compiler: clang++-14 (default) builds the suites and the
#                              fuzzers in one folder; g++ builds the suites with g++ and the
#                              fuzzers (libFuzzer is clang's) in a second clang-14 build,
#                              build-fuzz: two instrumented builds instead of one
#   GANTRY_ASAN_BUILD_DIR      the tests' build folder (default build-asan)
#   GANTRY_FUZZ_BUILD_DIR      the fuzzers' build folder (default build-asan; build-fuzz with g++)
#   GANTRY_ASAN_FULL=1         test_gan in full instead (slow: hours on 2 cores; its
#                              test_cyclegan_parts.cpp captures structured bindings in
#                              lambdas, which clang-14 rejects: use it with GANTRY_SANITIZE_CXX=g++)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${GANTRY_SANITIZERS:-1}" = 0 ]; then echo "gantry: sanitizers skipped (GANTRY_SANITIZERS=0)"; exit 0; fi
cxx="${GANTRY_SANITIZE_CXX:-clang++-14}"
fuzz=1
[ "${GANTRY_FUZZ_SECONDS:-30}" = 0 ] && fuzz=0
if [ "$cxx" = g++ ]; then
  build="${GANTRY_ASAN_BUILD_DIR:-build-asan-gcc}"
  fuzz_build="${GANTRY_FUZZ_BUILD_DIR:-build-fuzz}"
else
  build="${GANTRY_ASAN_BUILD_DIR:-build-asan}"
  fuzz_build="${GANTRY_FUZZ_BUILD_DIR:-$build}"
fi
for c in "$cxx" $([ "$fuzz" = 1 ] && echo clang++-14); do
  command -v "$c" >/dev/null ||
    { echo "gantry: the sanitizer build needs $c (scripts/setup.sh installs clang-14; GANTRY_SANITIZE_CXX=g++ builds the suites with g++)" >&2; exit 1; }
done
start=$(date +%s)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
gan_target=test_gan_readers  # tests/gan's readers and writers (CMakeLists.txt, GANTRY_SANITIZE)
[ "${GANTRY_ASAN_FULL:-0}" = 1 ] && gan_target=test_gan
tests=(test_core test_kernels test_nn test_cli $gan_target test_emu test_cuda)
fuzzers=(fuzz_idx fuzz_safetensors fuzz_image_folder fuzz_cli fuzz_make_seeds)
# One build for both (the default): clang-14 compiles every test file of this subset (the
# two that captured structured bindings in lambdas, tests/kernels/test_embedding_cpu.cpp
# and test_image_cpu.cpp, copy them to plain locals; clang has that C++20 feature from 16
# on), and the tests run with the fuzzers' coverage instrumentation in, which costs them
# little (docs/reliability.md has the times).
fuzz_flags=(-DGANTRY_FUZZ=OFF)
targets=("${tests[@]}")
if [ "$fuzz" = 1 ] && [ "$fuzz_build" = "$build" ]; then fuzz_flags=(-DGANTRY_FUZZ=ON); targets+=("${fuzzers[@]}"); fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANTRY_CUDA=emu -DGANTRY_SANITIZE=ON \
  "${fuzz_flags[@]}" -DGANTRY_BENCH=OFF -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"
# The fuzzers in a build of their own (GANTRY_SANITIZE_CXX=g++): clang-14's libFuzzer,
# ASan + UBSan, the library instrumented for coverage.
if [ "$fuzz" = 1 ] && [ "$fuzz_build" != "$build" ]; then
  cmake -S . -B "$fuzz_build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGANTRY_CUDA=emu -DGANTRY_SANITIZE=ON \
    -DGANTRY_FUZZ=ON -DGANTRY_BENCH=OFF -DGANTRY_TESTS=OFF -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
  cmake --build "$fuzz_build" -j"$(nproc)" --target "${fuzzers[@]}"
fi
built=$(date +%s)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp"
# test_cuda's subset (doctest -tc patterns; ASan times in docs/reliability.md): fill/copy,
# Philox and the caching allocator (test_device); gemm, conv forward / backward input /
# backward weight (split-K) and batch norm in every kept kernel version (kernel versions);
# batch norm's fused backward and eval kernels; upfirdn2d; the optimizers; the fused
# modulated conv forward and its split-K weight gradient; a WGAN-GP critic step (the
# elementwise and reduction kernels, leaky_relu's backward, gradient_penalty's fused kernel,
# a double backward). Left out for time: the parity case (every registry op, the only one
# that reaches image.cu's pad2d / upsample / embedding / one_hot kernels), the training steps.
cuda_cases='tensors move to the cuda device*,factories on the device*,the caching allocator reuses*'
cuda_cases+=',gradients flow back across devices,ops on the cuda device refuse*'
cuda_cases+=',kernel versions: the ops match the cpu with every kept version,batch_norm op on cuda*'
cuda_cases+=',upfirdn2d?s cuda kernel*,Adam*SGD steps on the device*,modconv2d_forward (fused)*'
cuda_cases+=',modconv2d_backward_weight (fused*,WGAN-GP critic step on cuda*'
cuda_filter=(-tc="$cuda_cases")
[ "${GANTRY_ASAN_CUDA:-0}" = 1 ] && cuda_filter=()
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
  run "test_cuda_$o" "$build/test_cuda" "${cuda_filter[@]}"
  unset GANTRY_EMU_ORDER
done
echo "gantry: sanitize: build $(( built - start )) s, tests $(( $(date +%s) - built )) s"
