#!/usr/bin/env bash
# bench/run_epoch_pair.sh — whole-epoch wall time: `gantry train dcgan` against the same
# model trained by bench/peers/dcgan_epoch.py on the same Fashion-MNIST IDX files, same
# batch, same number of steps, same threads, one after the other in one run. Both
# include data loading, the per-step loss log, the per-epoch sample grid and checkpoint.
# Times are whole-process wall clock from this script (the peer's includes starting
# Python and importing torch; its own time from main is printed too), and /usr/bin/time's
# CPU seconds and peak RSS of each process, with their ratios. A fair peer:
# torch.set_num_threads(T), OpenBLAS single-threaded, OPENBLAS_CORETYPE unset.
#   bench/run_epoch_pair.sh [--threads T] [--limit N] [--epochs E] [--batch-size B]
#   --limit N trains on the first N images (0 or absent: all 60000; default 6400 = 100 steps)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=$(nproc) limit=6400 epochs=1 batch=64
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --limit) limit="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    *) echo "run_epoch_pair.sh: unknown option $1 (--threads, --limit, --epochs, --batch-size)" >&2; exit 2 ;;
  esac
done
build="${GANTRY_BUILD_DIR:-build}"
data="${GANTRY_DATA:-/usr/share/datasets/fashion-mnist}"
[ -f "$build/build.ninja" ] || GANTRY_BUILD_DIR="$build" ./scripts/setup.sh >/dev/null
cmake --build "$build" --target gantry >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
now() { date +%s.%N; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores visible, threads $threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: $data, --limit $limit, --epochs $epochs, --batch-size $batch"
# /usr/bin/time gives each process's wall, user + system CPU seconds and peak RSS (KiB).
tm=(/usr/bin/time -f "%e %U %S %M" -o)
t0=$(now)
"${tm[@]}" "$out/gantry.time" "./$build/gantry" train dcgan --epochs "$epochs" --limit "$limit" --batch-size "$batch" --threads "$threads" \
  --data "$data" --out "$out/gantry" --no-progress >"$out/gantry.txt"
t1=$(now)
"${tm[@]}" "$out/pytorch.time" env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS="$threads" /usr/bin/python3 bench/peers/dcgan_epoch.py \
  --threads "$threads" --epochs "$epochs" --limit "$limit" --batch-size "$batch" --data "$data" --out "$out/pytorch" \
  >"$out/pytorch.txt"
t2=$(now)
sed 's/^/gantry: /' "$out/gantry.txt" | tail -3
grep -v '^RESULT' "$out/pytorch.txt"
echo "gantry steps logged: $(($(wc -l <"$out/gantry/log.csv") - 1)), pytorch: $(($(wc -l <"$out/pytorch/log.csv") - 1))"
ls "$out/gantry" "$out/pytorch" | tr '\n' ' '; echo
pm=$(awk '/^RESULT/ {print $3}' "$out/pytorch.txt")
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v pm="$pm" 'BEGIN { g = t1 - t0; p = t2 - t1
  printf "wall: gantry %.2f s, pytorch %.2f s (whole processes); gantry takes %.2fx the time of pytorch\n", g, p, g / p
  printf "      against pytorch from main (%.2f s, no interpreter start or import torch): %.2fx\n", pm, g / pm }'
read -r _ gu gs grss <"$out/gantry.time"
read -r _ pu ps prss <"$out/pytorch.time"
awk -v gu="$gu" -v gs="$gs" -v pu="$pu" -v ps="$ps" -v gr="$grss" -v pr="$prss" 'BEGIN {
  printf "cpu:  gantry %.2f s, pytorch %.2f s of CPU (user + system; steadier than wall on shared cores): %.2fx\n", gu + gs, pu + ps, (gu + gs) / (pu + ps)
  printf "rss:  gantry %.0f MiB, pytorch %.0f MiB peak: %.2fx\n", gr / 1024, pr / 1024, gr / pr }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
