#!/usr/bin/env bash
# One-shot comparison (docs/performance.md): generates a deterministic PAN-OS
# log with examples/workload.rs, checks that `ike_exporter diagnose --format
# prometheus` (and bench/ike.mtail) count exactly what the generator wrote,
# then times, alternating the tools run by run:
#   (a) ike_exporter diagnose --format prometheus FILE
#   (b) grep -c ',SYSTEM,vpn,' FILE
#   (c) mtail --one_shot with bench/ike.mtail
# and prints the medians of wall time, CPU time (user + system) and peak RSS
# (/usr/bin/time -v), with the ratios ike_exporter/grep and mtail/ike_exporter.
#
# Usage: bench/compare.sh [--lines N] [--runs R] [--envelope none|bsd|ietf]
#                         [--vpn-percent P] [--peers K] [--seed S] [--keep DIR]
# Needs: cargo, and the Debian packages mtail and time
#   (apt-get install -y --no-install-recommends mtail time).
# Builds into $CARGO_TARGET_DIR (default: ./target). Exit status: 0, or 1 when
# a count differs from the generator's (nothing is timed then), 2 on usage.
set -euo pipefail

lines=500000
runs=5
envelope=none
vpn_percent=2
peers=50
seed=1
keep=
while [ $# -gt 0 ]; do
    case "$1" in
        --lines) lines=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --envelope) envelope=$2; shift 2 ;;
        --vpn-percent) vpn_percent=$2; shift 2 ;;
        --peers) peers=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

for tool in cargo mtail /usr/bin/time grep awk; do
    if ! command -v "$tool" >/dev/null; then
        echo "compare.sh: $tool not found (apt-get install -y --no-install-recommends mtail time)" >&2
        exit 2
    fi
done

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
target=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release --quiet --bin ike_exporter --example workload)
exporter=$target/release/ike_exporter
workload=$target/release/examples/workload

make_work_dir "$keep"
mkdir -p "$work/progs"
cp "$repo/bench/ike.mtail" "$work/progs/"
log=$work/workload.log

"$workload" --lines "$lines" --vpn-percent "$vpn_percent" --peers "$peers" \
    --envelope "$envelope" --seed "$seed" --expect "$work/expect" >"$log"
echo "# workload: $lines lines, $(wc -c <"$log") bytes, vpn $vpn_percent %, $peers peers," \
    "envelope $envelope, seed $seed"


mtail_cmd=(mtail --progs "$work/progs" --logs "$log" --one_shot --one_shot_format=prometheus --logtostderr)

LC_ALL=C sort "$work/expect" >"$work/expect.sorted"
"$exporter" diagnose --format prometheus "$log" | summarise >"$work/got.exporter"
if ! diff -u "$work/expect.sorted" "$work/got.exporter"; then
    echo "compare.sh: ike_exporter diagnose does not count what the generator wrote" >&2
    exit 1
fi
echo "# ike_exporter diagnose counts exactly what the generator wrote ($(wc -l <"$work/expect") sums checked)"
"${mtail_cmd[@]}" 2>/dev/null | summarise >"$work/got.mtail"
grep -v '^ike_exporter_bytes_total ' "$work/expect.sorted" >"$work/expect.mtail"
if ! diff -u "$work/expect.mtail" "$work/got.mtail"; then
    echo "compare.sh: bench/ike.mtail does not count what the generator wrote" >&2
    exit 1
fi
echo "# bench/ike.mtail counts the same (bytes aside)"
vpn_lines=$(grep -c ',SYSTEM,vpn,' "$log" || true)
echo "# grep -c finds $vpn_lines vpn lines"

# One timed run: appends "wall_s cpu_s maxrss_kb" to $work/times.$1.
measure() {
    local name=$1
    shift
    local t0 t1
    t0=$(date +%s%N)
    # Not >/dev/null: GNU grep stops at the first match when its output is /dev/null.
    /usr/bin/time -v -o "$work/time.out" "$@" >"$work/stdout.$name" 2>"$work/stderr.$name" || {
        echo "compare.sh: $name failed:" >&2
        cat "$work/stderr.$name" "$work/time.out" >&2
        exit 1
    }
    t1=$(date +%s%N)
    awk -v wall="$(( t1 - t0 ))" '
        /User time \(seconds\)/ { cpu += $NF }
        /System time \(seconds\)/ { cpu += $NF }
        /Maximum resident set size/ { rss = $NF }
        END { printf "%.4f %.2f %d\n", wall / 1e9, cpu, rss }
    ' "$work/time.out" >>"$work/times.$name"
}

tools=(ike_exporter grep mtail)
run_tool() {
    case "$1" in
        ike_exporter) measure ike_exporter "$exporter" diagnose --format prometheus "$log" ;;
        grep) measure grep grep -c ',SYSTEM,vpn,' "$log" ;;
        mtail) measure mtail "${mtail_cmd[@]}" ;;
    esac
}

# Warm-up (page cache, binaries), not counted.
for tool in "${tools[@]}"; do run_tool "$tool"; rm -f "$work/times.$tool"; done
for ((r = 1; r <= runs; r++)); do
    for tool in "${tools[@]}"; do run_tool "$tool"; done
done

# Median of column $2 of file $1.
median() {
    awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
        { v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A wall cpu rss
for tool in "${tools[@]}"; do
    wall[$tool]=$(median "$work/times.$tool" 1)
    cpu[$tool]=$(median "$work/times.$tool" 2)
    rss[$tool]=$(median "$work/times.$tool" 3)
done

echo
echo "Medians of $runs alternating runs each ($(nproc) CPUs):"
echo
echo "| tool | wall (s) | CPU user+sys (s) | peak RSS (MiB) | lines/s (wall) |"
echo "|---|---:|---:|---:|---:|"
for tool in "${tools[@]}"; do
    awk -v t="$tool" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v m="${rss[$tool]}" -v n="$lines" \
        'BEGIN { printf "| %s | %.3f | %.2f | %.1f | %.0f |\n", t, w, c, m / 1024, n / w }'
done
echo
awk -v ie="${wall[ike_exporter]}" -v g="${wall[grep]}" -v m="${wall[mtail]}" \
    -v ic="${cpu[ike_exporter]}" -v mc="${cpu[mtail]}" \
    -v ir="${rss[ike_exporter]}" -v mr="${rss[mtail]}" 'BEGIN {
    printf "ike_exporter/grep wall: %.2f (target <= 2)\n", ie / g
    printf "mtail/ike_exporter wall: %.1f (target >= 30), CPU: %.1f\n", m / ie, mc / (ic > 0 ? ic : 0.01)
    printf "ike_exporter/mtail peak RSS: %.2f (target <= 1)\n", ir / mr
}'
echo
echo "Raw runs (wall_s cpu_s maxrss_kb):"
for tool in "${tools[@]}"; do
    printf '  %-12s' "$tool"
    awk '{ printf " [%s %s %s]", $1, $2, $3 }' "$work/times.$tool"
    echo
done
