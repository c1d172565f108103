#!/bin/sh
# scripts/source_files.sh — lists the project's C++ and CUDA source files, sorted, relative
# to the repository root (the one list check_file_headers.sh and check_format.sh walk).
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
find core kernels nn gan tests bench examples fuzz -type f \
  \( -name '*.cpp' -o -name '*.hpp' -o -name '*.cu' -o -name '*.cuh' -o -name '*.h' \) | sort
