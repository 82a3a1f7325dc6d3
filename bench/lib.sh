#!/usr/bin/env bash
# Shared by bench/compare.sh, bench/live.sh and bench/soak.sh (sourced, not run).

# Processes to stop on exit: scripts add the PIDs of what they start.
pids=()

# Sets $work: DIR made absolute when given (kept), else a temporary
# directory removed on exit. On exit every process in $pids is stopped
# (after before_cleanup, when the script defines one).
make_work_dir() { # DIR or ""
    bench_keep=$1
    if [ -n "$bench_keep" ]; then
        mkdir -p "$bench_keep"
        work=$(cd "$bench_keep" && pwd)
    else
        work=$(mktemp -d)
    fi
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local pid
    if declare -F before_cleanup >/dev/null; then
        before_cleanup
    fi
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    [ -n "$bench_keep" ] || rm -rf "$work"
}

# The counters of an exposition (stdin), summed over every label but
# `pattern`, in the generator's --expect form.
summarise() {
    awk '
        /^#/ { next }
        {
            name = $1; sub(/\{.*/, "", name); key = ""
            if (name ~ /^ike_phase[12]_failures_total$/) {
                if (match($1, /pattern="[^"]*"/)) key = name "{" substr($1, RSTART, RLENGTH) "}"
            } else if (name ~ /^(ike_events_total|ike_exporter_lines_total|ike_exporter_bytes_total|ike_phase[12]_successes_total)$/) {
                key = name
            }
            if (key != "") sum[key] += $NF
        }
        END { for (k in sum) printf "%s %.0f\n", k, sum[k] }
    ' | LC_ALL=C sort
}
