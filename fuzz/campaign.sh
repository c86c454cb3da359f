#!/usr/bin/env bash
# Long fuzz run: every target (or the TARGETS named) in turn for SECONDS each (default 600), one process, one
# thread.
#   nice -n 10 fuzz/campaign.sh 600 [TARGET...]
# Results: fuzz/out/TARGET.json (executions, escapes, slowest input, peak RSS), escapes in fuzz/out/escapes.jsonl.
set -u
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
mkdir -p out
targets="$*"
[ -n "$targets" ] || targets="$(python run_atheris.py --list 2>/dev/null)"
for t in $targets; do
  python run_atheris.py "$t" --collect out/escapes.jsonl -max_total_time="$secs" -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -print_final_stats=1 > "out/$t.log" 2>&1
  echo "$t rc=$? $(cat "out/$t.json" 2>/dev/null)"
done
