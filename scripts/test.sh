#!/usr/bin/env bash
# scripts/test.sh — set up, build, and run every test suite (doctest binaries under
# ctest). Where the CUDA toolkit is installed, the cuda device's tests run on the
# emulator, and the real GPU build is compiled and linked as well.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh

# The real GPU build must keep compiling and linking (nvcc for sm_80 and sm_90 +
# PTX, cudart, cuBLAS, cuDNN): the cuda tests and the kernel benchmark. Without a GPU
# the cuda tests say they were skipped.
if [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "gantry: building GANTRY_CUDA=real (compile and link only) in build-real"
  launcher=()  # ccache when present, for g++ and nvcc (ccache >= 4 caches nvcc)
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  cmake -S . -B build-real -G Ninja -DCMAKE_BUILD_TYPE=Release -DGANTRY_CUDA=real "${launcher[@]}" >/dev/null
  cmake --build build-real --target test_cuda bench_kernels
  ./build-real/test_cuda | grep -m1 -E "SKIPPED|Status" || true
else
  echo "gantry: no nvcc at /usr/local/cuda/bin: the GANTRY_CUDA=real build was not checked"
fi

ctest --test-dir "${GANTRY_BUILD_DIR:-build}" --output-on-failure "$@"

# ASan + UBSan (+ LeakSanitizer) over the suites' subset that covers every op and every
# file reader, then each fuzzer for a bounded time (docs/reliability.md has the times).
#   GANTRY_SANITIZERS=0 skips both; GANTRY_FUZZ_SECONDS=0 skips only the fuzzers (default 30 s each).
if [ "${GANTRY_SANITIZERS:-1}" != 0 ]; then
  ./scripts/sanitize.sh
  ./fuzz/run.sh "${GANTRY_FUZZ_SECONDS:-30}"
fi
