#!/usr/bin/env bash
# tests/dist/train_np2.sh GANTRY MPIRUN [ITS FLAGS, no -np]... — data-parallel `gantry train` against one
# process (ctest dist_train): on a small synthetic IDX data set (64 images, written here),
# every variant with --sync-bn on 2 processes x half the batch gives the same losses,
# parameters, optimizer state and metadata as 1 process x the whole batch (after 4 steps,
# within float32 reduction tolerance: compare_runs.py); local batch norm's divergence is
# printed; a run of 1 epoch on 2 processes resumed for a 2nd on 1 process (and 1 on 1, then
# 1 on 2) equals 2 epochs on 1 process; rank 0 alone writes. Faults through gantry: a different flag on rank 1,
# a different --width on rank 1, an error on rank 1 alone, rank 1 killed mid-run: each ends within a bound, naming
# the rank. Exits 77 (skipped) without python3.
set -euo pipefail
gantry="$(realpath "$1")"; shift
mpirun=("$@" --bind-to none -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=passive -x GANTRY_DIST_TIMEOUT)
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive GANTRY_DIST_TIMEOUT="${GANTRY_DIST_TIMEOUT:-20}"
here="$(dirname "$(realpath "$0")")"
command -v python3 >/dev/null || { echo "dist_train: no python3: skipped"; exit 77; }
dir="$(mktemp -d /tmp/gantry_dist_train_XXXXXX)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "dist_train: FAIL: $*"; exit 1; }

# 64 28x28 images of blobs and their labels, as IDX files.
python3 - "$dir/data" <<'EOF'
import os, random, struct, sys
d = sys.argv[1]; os.makedirs(d)
random.seed(5); n = 64
px = bytearray()
for i in range(n):
    cx, cy, r = random.randint(6, 21), random.randint(6, 21), random.randint(3, 8)
    for y in range(28):
        for x in range(28):
            px.append(255 if (x - cx) ** 2 + (y - cy) ** 2 < r * r else random.randint(0, 40))
open(d + "/train-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 28, 28) + px)
open(d + "/train-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + bytes(i % 10 for i in range(n)))
EOF

base=(--data "$dir/data" --batch-size 16 --seed 3 --no-progress)
conv=(--width 4 --z-dim 8)
run1() { "$gantry" train "$@" </dev/null >"$dir/last.txt" 2>&1 || fail "1 process: gantry train $*: $(cat "$dir/last.txt")"; }
run2() { "${mpirun[@]}" -np 2 "$gantry" train "$@" </dev/null >"$dir/last.txt" 2>&1 || fail "2 processes: gantry train $*: $(cat "$dir/last.txt")"; }

# Exactness: every variant, 4 steps (1 epoch of 64 at batch 16), sync batch norm.
while read -r variant extra; do
  args=("${base[@]}" --epochs 1 $extra)
  run1 "$variant" "${args[@]}" --out "$dir/$variant.1"
  run2 "$variant" "${args[@]}" --sync-bn --out "$dir/$variant.2"
  grep -q "data-parallel on 2 processes, 8 images each per step, synchronized batch norm" "$dir/last.txt" ||
    fail "$variant: no data-parallel line: $(cat "$dir/last.txt")"
  [ "$(grep -c '^gantry: trained' "$dir/last.txt")" = 1 ] || fail "$variant: more than rank 0 printed the summary"
  [ -e "$dir/$variant.2/samples_epoch_001.png" ] || fail "$variant: no sample grid"
  echo -n "$variant --sync-bn: "
  python3 "$here/compare_runs.py" "$dir/$variant.1" "$dir/$variant.2" 1e-4 || fail "$variant differs"
done <<EOF
dcgan ${conv[*]}
cgan ${conv[*]}
wgan ${conv[*]} --n-critic 2
wgan-gp ${conv[*]} --n-critic 2
vanilla --z-dim 8
EOF

# Local batch norm (the default): different from one process, and reported.
run2 dcgan "${base[@]}" --epochs 1 "${conv[@]}" --out "$dir/dcgan.local"
echo -n "dcgan, local batch norm: "
python3 "$here/compare_runs.py" "$dir/dcgan.1" "$dir/dcgan.local" --report

# --resume on a different number of processes: 1 epoch on 2, then epoch 2 on 1 = 2 epochs on 1.
run1 dcgan "${base[@]}" "${conv[@]}" --epochs 2 --out "$dir/r.1"
run2 dcgan "${base[@]}" "${conv[@]}" --epochs 1 --sync-bn --out "$dir/r.2"
run1 dcgan "${base[@]}" "${conv[@]}" --epochs 2 --resume "$dir/r.2/checkpoint.safetensors" --out "$dir/r.2"
echo -n "dcgan, 1 epoch on 2 processes + 1 resumed on 1: "
python3 "$here/compare_runs.py" "$dir/r.1" "$dir/r.2" 1e-4 || fail "resumed on another process count differs"
# ... and the other way: 1 epoch on 1, then epoch 2 on 2.
run1 dcgan "${base[@]}" "${conv[@]}" --epochs 1 --out "$dir/r.3"
run2 dcgan "${base[@]}" "${conv[@]}" --epochs 2 --sync-bn --resume "$dir/r.3/checkpoint.safetensors" --out "$dir/r.3"
echo -n "dcgan, 1 epoch on 1 process + 1 resumed on 2: "
python3 "$here/compare_runs.py" "$dir/r.1" "$dir/r.3" 1e-4 || fail "resumed on 2 processes differs"

# Faults. Each must end within `limit` seconds with a message naming the rank.
expect_fault() {
  local what="$1" pattern="$2" limit="$3"; shift 3
  local t0=$SECONDS
  timeout 60 "$@" </dev/null >"$dir/fault.txt" 2>&1 && fail "$what: the run succeeded"
  local took=$((SECONDS - t0))
  grep -Eq "$pattern" "$dir/fault.txt" || fail "$what: no '$pattern' in: $(cat "$dir/fault.txt")"
  [ "$took" -le "$limit" ] || fail "$what: took $took s (limit $limit)"
  echo "fault '$what': stopped in $took s: $(grep -Eo "$pattern" "$dir/fault.txt" | head -1)"
}
f=(train dcgan "${base[@]}" "${conv[@]}" --epochs 1 --out "$dir/fault")
w=(train dcgan "${base[@]}" --z-dim 8 --epochs 1 --out "$dir/fault")
e=(train dcgan --batch-size 16 --seed 3 --no-progress "${conv[@]}" --epochs 1 --out "$dir/fault")
expect_fault "--lr differs on rank 1" "gantry: rank [01]: flags differ across ranks: rank 1 has '--lr=0.001[0-9]*' where rank 0 has '--lr=0.0002[0-9]*'" 30 \
  "${mpirun[@]}" -np 1 "$gantry" "${f[@]}" : -np 1 "$gantry" "${f[@]}" --lr 0.001
expect_fault "--width differs on rank 1" "flags differ across ranks: rank 1 has '--width=8' where rank 0 has '--width=4'" 30 \
  "${mpirun[@]}" -np 1 "$gantry" "${w[@]}" --width 4 : -np 1 "$gantry" "${w[@]}" --width 8
expect_fault "rank 1 raises (its --data is missing)" "gantry: rank 1: .*/nonexistent" 30 \
  "${mpirun[@]}" -np 1 "$gantry" "${e[@]}" --data "$dir/data" : -np 1 "$gantry" "${e[@]}" --data "$dir/nonexistent"
# Rank 1 kills itself (SIGKILL) after 2 s of a long run (every image, 20 epochs).
expect_fault "rank 1 killed" "rank 1 .*exited on signal 9" 40 \
  "${mpirun[@]}" -np 2 sh -c 'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then (sleep 2; kill -9 $$) & fi; exec "$0" "$@"' \
  "$gantry" train dcgan --data "$dir/data" --batch-size 2 --seed 3 --no-progress "${conv[@]}" --epochs 1000 --out "$dir/killed"
echo "dist_train: ok"
