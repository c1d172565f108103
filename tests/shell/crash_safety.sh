#!/usr/bin/env bash
# tests/shell/crash_safety.sh GANTRY — SIGKILLs a tiny `gantry train dcgan` at several
# moments (while training, and while the checkpoint is being written: the moment its
# temp file exists), and after each kill checks that the last checkpoint loads
# (`gantry sample`) and that `--resume` continues to the end. Exits 77 (ctest: skipped)
# when the default data set (Fashion-MNIST) is not installed.
set -euo pipefail
gantry="$(realpath "${1:-./build/gantry}")"
data="${GANTRY_DATA:-/usr/share/datasets/fashion-mnist}"
[ -e "$data/train-images-idx3-ubyte.gz" ] || [ -e "$data/train-images-idx3-ubyte" ] ||
  { echo "crash_safety: no Fashion-MNIST in $data: skipped"; exit 77; }
dir="$(mktemp -d /tmp/gantry_crash_XXXXXX)"
trap 'rm -rf "$dir"' EXIT
out="$dir/run" ckpt="$dir/run/checkpoint.safetensors"
args=(train dcgan --limit 128 --width 4 --seed 7 --out "$out" --no-progress)
fail() { echo "crash_safety: FAIL: $*"; exit 1; }

# The checkpoint loads: gantry sample reads every tensor and the metadata.
check_loads() {
  "$gantry" sample --checkpoint "$ckpt" --n 4 --out "$dir/s.png" >/dev/null 2>"$dir/err" ||
    fail "after $1 the checkpoint does not load: $(cat "$dir/err")"
}
# epoch N in the checkpoint's metadata (the header is plain JSON).
epoch_of() { head -c 20000 "$ckpt" | grep -a -o '"epoch":"[0-9]*"' | grep -o '[0-9]*'; }

# Starts a run in the background; kills it with SIGKILL when `until` (a shell test) holds.
kill_when() {
  local what="$1" until="$2"; shift 2
  "$gantry" "$@" >"$dir/train.log" 2>&1 &
  local pid=$! t0=$SECONDS
  while ! eval "$until"; do
    kill -0 $pid 2>/dev/null || { wait $pid || true; fail "$what: the run ended before the kill ($(tail -2 "$dir/train.log"))"; }
    (( SECONDS - t0 < 60 )) || { kill -9 $pid; fail "$what: timed out"; }
  done
  kill -9 $pid
  wait $pid 2>/dev/null || true
  echo "crash_safety: killed $what"
}
tmp_exists() { compgen -G "$ckpt.tmp.*" >/dev/null; }
mid_writes=0
# After a kill: the checkpoint loads, and holds the epoch it should. Epoch N's sample grid
# is written just before epoch N's checkpoint, so with N the newest grid: while the temp
# file exists (the kill beat the rename) the checkpoint is epoch N-1's, whole; without it,
# N-1's (killed before the write began) or N's (the rename won the race).
check_after_kill() {
  check_loads "$1"
  local n e
  n=$(ls "$out" | grep -o 'samples_epoch_[0-9]*' | grep -o '[0-9]*$' | sort -n | tail -1 | sed 's/^0*//')
  e=$(epoch_of)
  if tmp_exists; then
    mid_writes=$((mid_writes + 1))
    [ "$e" = $((n - 1)) ] || fail "after $1 (temp file present) the checkpoint is at epoch $e, expected $((n - 1))"
  else
    [ "$e" = $((n - 1)) ] || [ "$e" = "$n" ] || fail "after $1 the checkpoint is at epoch $e, expected $((n - 1)) or $n"
  fi
  rm -f "$ckpt".tmp.*
}

# Killed runs ask for many epochs (each takes well under a second), so the poll below sees
# a checkpoint's temp file at one of many writes however loaded the machine is, and the
# run is never over before its kill.
many=(--epochs 200)

# 1. While a checkpoint is written, one being on disk already: the old one stays whole
#    (or, if the rename won the race with the kill, the new one is whole).
kill_when "while writing a checkpoint (one already on disk)" '[ -e "$ckpt" ] && tmp_exists' "${args[@]}" "${many[@]}"
check_after_kill "a kill mid-write"

# 2. 0.3 s into a resumed run (loading data or training): the checkpoint loads.
kill_when "0.3 s after a --resume started" '[ -e "$out/log.csv" ] && sleep 0.3' "${args[@]}" "${many[@]}" --resume "$ckpt"
check_loads "a kill during training"
rm -f "$ckpt".tmp.*

# 3. Resume again, killed while writing its next checkpoint.
kill_when "while writing a resumed run's checkpoint" 'tmp_exists' "${args[@]}" "${many[@]}" --resume "$ckpt"
check_after_kill "a kill mid-write after resume"

# 4. --resume runs to the end (two epochs past the last checkpoint), and its final checkpoint loads.
last=$(( $(epoch_of) + 2 ))
"$gantry" "${args[@]}" --epochs "$last" --resume "$ckpt" >"$dir/train.log" 2>&1 || fail "resume did not finish: $(tail -3 "$dir/train.log")"
check_loads "the final resume"
[ "$(epoch_of)" = "$last" ] || fail "the final checkpoint is at epoch $(epoch_of), expected $last"
echo "crash_safety: ok (3 kills, $mid_writes of them while a checkpoint temp file existed; every checkpoint loaded, resume finished at epoch $last) in ${SECONDS} s"
