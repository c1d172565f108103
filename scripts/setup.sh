#!/usr/bin/env bash
# scripts/setup.sh — install what gantry needs from Debian's archive (only what is
# missing), then configure and build into ./build. Safe to run again.
#   GANTRY_BUILD_DIR   build folder (default: build)
#   GANTRY_CUDA        off (default), emu or real — see docs/architecture.md
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ cmake ninja-build libeigen3-dev doctest-dev zlib1g-dev nlohmann-json3-dev libstb-dev libcli11-dev
          dataset-fashion-mnist)

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

build="${GANTRY_BUILD_DIR:-build}"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGANTRY_CUDA="${GANTRY_CUDA:-off}" >/dev/null
cmake --build "$build" -j"$(nproc)"
