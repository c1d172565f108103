#!/usr/bin/env bash
# scripts/setup.sh — install what gantry needs from Debian's archive (only what is
# missing), then configure and build into ./build. Safe to run again.
#   GANTRY_BUILD_DIR   build folder (default: build)
#   GANTRY_CUDA        what the cuda device is: emu (default when the CUDA toolkit's
#                      headers are at /usr/local/cuda: kernels/cuda runs on the CPU
#                      emulator), off, or real (nvcc, a GPU) — see docs/emulator.md
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libeigen3-dev doctest-dev zlib1g-dev nlohmann-json3-dev libstb-dev libcli11-dev
          libboost-context-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin clang-format-14)
# scripts/sanitize.sh and fuzz/ build with clang-14 (ASan, UBSan, libFuzzer, OpenMP).
if [ "${GANTRY_SANITIZERS:-1}" != 0 ]; then packages+=(clang-14 libclang-rt-14-dev libomp-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "gantry: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "gantry: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cuda="${GANTRY_CUDA:-}"
if [ -z "$cuda" ]; then
  if [ -f /usr/local/cuda/include/cuda_runtime_api.h ]; then
    cuda=emu
  else
    cuda=off
    echo "gantry: no CUDA toolkit at /usr/local/cuda: building without the cuda device (its tests are skipped)"
  fi
fi
build="${GANTRY_BUILD_DIR:-build}"
# ccache when present (CI's machine keeps ~/.ccache between runs); scripts/test.sh and
# scripts/sanitize.sh do the same for their builds.
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGANTRY_CUDA="$cuda" "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$(nproc)"
