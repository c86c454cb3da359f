#!/usr/bin/env bash
# Long fuzz run: every target (or the TARGETS named) in turn for SECONDS each (default 600), one process, one
# thread.  With FUZZ_RUNS=N a target stops after N executions (or SECONDS, whichever comes first).
#   nice -n 10 fuzz/campaign.sh 600 [TARGET...]
#   FUZZ_RUNS=1010000 nice -n 10 fuzz/campaign.sh 3600          # >= 1 M executions per target
# Results: fuzz/out/TARGET.json (executions, escapes, slowest input, peak RSS), escapes in fuzz/out/escapes.jsonl.
set -u
cd "$(dirname "$0")"
secs="${1:-600}"
shift || true
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=1
mkdir -p out
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="$FUZZ_RUNS")
targets="$*"
[ -n "$targets" ] || targets="$(python run_atheris.py --list 2>/dev/null)"
for t in $targets; do
  python run_atheris.py "$t" --collect out/escapes.jsonl -max_total_time="$secs" "${runs[@]}" -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -print_final_stats=1 > "out/$t.log" 2>&1
  echo "$t rc=$? $(cat "out/$t.json" 2>/dev/null)"
done
