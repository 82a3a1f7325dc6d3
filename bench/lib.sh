#!/usr/bin/env bash
# Shared by bench/compare.sh and bench/live.sh (sourced, not run).

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
