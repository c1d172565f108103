#!/usr/bin/env bash
# bench/run_speed_table.sh — the README's speed table: every step pair (bench/run_step_pair.sh)
# and the epoch pair (bench/run_epoch_pair.sh) at 1 and 2 threads, R rounds interleaved (round
# 1 of every bench, then round 2, ...) so a disturbance spreads over benches instead of
# landing on one; prints each run's ratio and a markdown table of medians and spreads.
#   bench/run_speed_table.sh [--rounds R] [--threads "1 2"] [--benches "dcgan wgan_gp cyclegan stylegan epoch"]
#   (step flags: --steps 30 for dcgan, 10 for wgan_gp, 20 for cyclegan, 16 for stylegan; the
#   epoch pair its default --limit 6400, 100 steps)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads="1 2" benches="dcgan wgan_gp cyclegan stylegan epoch"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --benches) benches="$2"; shift 2 ;;
    *) echo "run_speed_table.sh: unknown option $1 (--rounds, --threads, --benches)" >&2; exit 2 ;;
  esac
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
steps_of() { case "$1" in dcgan) echo 30 ;; wgan_gp) echo 10 ;; cyclegan) echo 20 ;; stylegan) echo 16 ;; esac; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
for r in $(seq 1 "$rounds"); do
  for b in $benches; do
    for t in $threads; do
      f="$out/$b.$t.$r"
      if [ "$b" = epoch ]; then bench/run_epoch_pair.sh --threads "$t" >"$f" 2>&1
      else bench/run_step_pair.sh "${b}_step" --threads "$t" --steps "$(steps_of "$b")" >"$f" 2>&1; fi
      # One line per run: bench threads round gantry peer wall-ratio cpu-ratio rss-ratio effective%
      if [ "$b" = epoch ]; then
        awk -v b="$b" -v t="$t" -v r="$r" '
          /^wall:/ { g = $3; p = $6; w = $(NF - 4) }
          /^cpu:  gantry/ { c = $NF }
          /^rss:/ { s = $NF }
          END { gsub("x", "", w); gsub("x", "", c); gsub("x", "", s); print b, t, r, g, p, w, c, s, "-" }' "$f"
      else
        awk -v b="$b" -v t="$t" -v r="$r" '
          function ms(line,    f) { match(line, /(median|mean) [0-9.]+ ms\/step/); split(substr(line, RSTART, RLENGTH), f, " "); return f[2] }
          /^gantry .*(median|mean) [0-9.]+ ms\/step/ { g = ms($0) }
          /^pytorch .*(median|mean) [0-9.]+ ms\/step/ { p = ms($0) }
          /^ratio:/ { w = $4 }
          /^cpu-time ratio:/ { for (i = 1; i < NF; i++) if ($i == "=") c = $(i + 1) }
          /^rss ratio:/ { s = $NF }
          /^effective:/ { match($0, /[0-9]+% of the/); e = substr($0, RSTART, RLENGTH); sub("% of the", "", e) }
          END { gsub("x", "", w); gsub("x", "", c); gsub("x", "", s); gsub("%", "", e); print b, t, r, g, p, w, c, s, (e == "" ? "-" : e) }' "$f"
      fi | tee -a "$out/runs"
    done
  done
done
echo
echo "| bench | threads | gantry (median) | PyTorch (median) | wall-time ratio: median (runs) | CPU-time ratio (median) | peak RSS ratio | effective rate (median, % of sgemm probe) |"
echo "|---|---|---|---|---|---|---|---|"
for b in $benches; do
  for t in $threads; do
    unit="ms/step"; [ "$b" = epoch ] && unit="s"
    awk -v b="$b" -v t="$t" -v unit="$unit" '
      function median(a, n,    i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
                                          return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
      $1 == b && $2 == t { n++; g[n] = $4; p[n] = $5; w[n] = $6; c[n] = $7; s[n] = $8; e[n] = $9; runs = runs (n > 1 ? ", " : "") $6 }
      END { if (!n) exit; pe = (e[1] == "-") ? "-" : median(e, n) "%"
            printf "| %s | %s | %.1f %s | %.1f %s | **%.2f** (%s) | %.2f | %.2f | %s |\n", b, t, median(g, n), unit, median(p, n), unit, median(w, n), runs, median(c, n), median(s, n), pe }' "$out/runs"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
