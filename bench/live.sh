#!/usr/bin/env bash
# Live-mode benchmarks of the exporter (docs/performance.md), all on 127.0.0.1:
#   tail   (a) a writer appends a pre-generated workload to a followed file as
#              fast as it can (cat); time until the exporter's counters reach
#              the final values, and lines/s (counters checked exactly)
#   syslog (b) examples/syslog_load over TCP (unpaced) and UDP (paced and
#              unpaced): received/sent, msg/s end to end
#   scrape (c) /metrics with about 10,000 series under wrk (one thread,
#              --wrk-connections connections, back to back), first with
#              nothing arriving, then while a writer appends lines at
#              --ingest-rate lines/s: requests/s, p50, p99
#   idle   (d) CPU time used in 60 s of idleness (file, UDP and TCP sources)
#   ready  (e) time from exec to the first 200 from /-/ready
# Each run starts a fresh exporter and is bounded in time; every process
# started is stopped on exit.
#
# Usage: bench/live.sh [--runs R] [--tail-lines N] [--idle-secs S]
#                      [--wrk-secs S] [--wrk-connections C] [--ingest-rate N]
#                      [--port P] [--keep DIR]
#                      [tail|syslog|scrape|idle|ready]…   (default: all)
# Needs: cargo, curl, and the Debian package wrk (for scrape).
# Builds into $CARGO_TARGET_DIR (default: ./target).
set -euo pipefail

runs=3
tail_lines=2000000
idle_secs=60
wrk_secs=10
wrk_conns=1
ingest_rate=100000
port=19765
keep=
benches=()
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) runs=$2; shift 2 ;;
        --tail-lines) tail_lines=$2; shift 2 ;;
        --idle-secs) idle_secs=$2; shift 2 ;;
        --wrk-secs) wrk_secs=$2; shift 2 ;;
        --wrk-connections) wrk_conns=$2; shift 2 ;;
        --ingest-rate) ingest_rate=$2; shift 2 ;;
        --port) port=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        tail|syslog|scrape|idle|ready) benches+=("$1"); shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "live.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ ${#benches[@]} -gt 0 ] || benches=(tail syslog scrape idle ready)

for tool in cargo curl awk; do
    command -v "$tool" >/dev/null || { echo "live.sh: $tool not found" >&2; exit 2; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
target=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release --quiet --bin ike_exporter --example workload --example syslog_load)
exporter=$target/release/ike_exporter
workload=$target/release/examples/workload
syslog_load=$target/release/examples/syslog_load

make_work_dir "$keep"

web=127.0.0.1:$port
metrics_url=http://$web/metrics
now_ns() { date +%s%N; }

# Starts the exporter with the given arguments; sets $exporter_pid.
start_exporter() {
    "$exporter" --web.listen-address "$web" --log.level warn "$@" 2>>"$work/exporter.stderr" &
    exporter_pid=$!
    pids+=("$exporter_pid")
}

stop_exporter() {
    kill "$exporter_pid" 2>/dev/null || true
    wait "$exporter_pid" 2>/dev/null || true
    local keep_pids=() pid
    for pid in "${pids[@]}"; do
        [ "$pid" = "$exporter_pid" ] || keep_pids+=("$pid")
    done
    pids=("${keep_pids[@]}")
}

# Waits (at most 10 s) for /-/ready to answer 200.
wait_ready() {
    local i
    for ((i = 0; i < 2000; i++)); do
        curl -fs -o /dev/null "http://$web/-/ready" && return 0
        kill -0 "$exporter_pid" 2>/dev/null || { echo "live.sh: the exporter exited" >&2; cat "$work/exporter.stderr" >&2; exit 1; }
        sleep 0.005
    done
    echo "live.sh: not ready after 10 s" >&2
    exit 1
}

# CPU time (user + system) of a process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_s=$(getconf CLK_TCK)
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Sum of the samples of metric $1 whose labels contain $2.
metric_sum() {
    curl -fs "$metrics_url" | awk -v n="$1" -v f="$2" '
        index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") && index($0, f) { s += $NF }
        END { printf "%.0f\n", s }'
}


median() {
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# (a) ----------------------------------------------------------------------
bench_tail() {
    echo "## (a) tailing: $tail_lines lines appended with cat, $runs runs"
    "$workload" --lines "$tail_lines" --expect "$work/tail.expect" >"$work/tail.source"
    LC_ALL=C sort "$work/tail.expect" >"$work/tail.expect.sorted"
    local bytes r
    bytes=$(wc -c <"$work/tail.source")
    : >"$work/tail.results"
    for ((r = 1; r <= runs; r++)); do
        local f=$work/tail.log
        rm -f "$f"
        : >"$f"
        start_exporter --file "$f" --read-from beginning
        wait_ready
        local c0 t0 t1 tw n deadline
        c0=$(cpu_ticks "$exporter_pid")
        t0=$(now_ns)
        cat "$work/tail.source" >>"$f"
        tw=$(now_ns)
        deadline=$((t0 + 120000000000))
        while :; do
            n=$(metric_sum ike_exporter_lines_total "source=\"$f\"")
            [ "$n" -ge "$tail_lines" ] && break
            [ "$(now_ns)" -lt "$deadline" ] || { echo "live.sh: tail: only $n lines after 120 s" >&2; exit 1; }
            sleep 0.01
        done
        t1=$(now_ns)
        local cpu rss
        cpu=$(( $(cpu_ticks "$exporter_pid") - c0 ))
        rss=$(peak_rss_kb "$exporter_pid")
        curl -fs "$metrics_url" | summarise >"$work/tail.got"
        if ! diff -u "$work/tail.expect.sorted" "$work/tail.got" >&2; then
            echo "live.sh: tail: the counters differ from the generator's" >&2
            exit 1
        fi
        stop_exporter
        awk -v t0="$t0" -v tw="$tw" -v t1="$t1" -v n="$tail_lines" -v b="$bytes" -v cpu="$cpu" -v hz="$ticks_per_s" -v rss="$rss" -v r="$r" 'BEGIN {
            s = (t1 - t0) / 1e9
            printf "  run %d: writer %.3f s, counters final after %.3f s: %.0f lines/s, %.0f MB/s; exporter CPU %.2f s, peak RSS %.1f MiB\n", r, (tw - t0) / 1e9, s, n / s, b / s / 1e6, cpu / hz, rss / 1024
            printf "%.4f %.0f %.2f %.1f\n", s, n / s, cpu / hz, rss / 1024 > "/dev/stderr"
        }' 2>>"$work/tail.results"
    done
    echo "  counters equal to the generator's --expect in every run"
    printf '  median: %s s, %s lines/s, exporter CPU %s s, peak RSS %s MiB\n' \
        "$(awk '{ print $1 }' "$work/tail.results" | median)" \
        "$(awk '{ print $2 }' "$work/tail.results" | median)" \
        "$(awk '{ print $3 }' "$work/tail.results" | median)" \
        "$(awk '{ print $4 }' "$work/tail.results" | median)"
    # Catch-up: the whole file is there before the exporter starts, so the
    # writer's speed does not count; timed from exec, start-up included.
    echo "## (a') catch-up: the same $tail_lines lines already in the file at start (--read-from beginning), $runs runs"
    : >"$work/catchup.results"
    for ((r = 1; r <= runs; r++)); do
        local f=$work/tail.log t0 t1 n deadline
        t0=$(now_ns)
        start_exporter --file "$f" --read-from beginning
        deadline=$((t0 + 120000000000))
        while :; do
            n=$(metric_sum ike_exporter_lines_total "source=\"$f\"" 2>/dev/null || echo 0)
            [ "${n:-0}" -ge "$tail_lines" ] && break
            [ "$(now_ns)" -lt "$deadline" ] || { echo "live.sh: catch-up: only $n lines after 120 s" >&2; exit 1; }
            sleep 0.01
        done
        t1=$(now_ns)
        local cpu rss
        cpu=$(cpu_ticks "$exporter_pid")
        rss=$(peak_rss_kb "$exporter_pid")
        curl -fs "$metrics_url" | summarise >"$work/tail.got"
        if ! diff -u "$work/tail.expect.sorted" "$work/tail.got" >&2; then
            echo "live.sh: catch-up: the counters differ from the generator's" >&2
            exit 1
        fi
        stop_exporter
        awk -v t0="$t0" -v t1="$t1" -v n="$tail_lines" -v b="$bytes" -v cpu="$cpu" -v hz="$ticks_per_s" -v rss="$rss" -v r="$r" 'BEGIN {
            s = (t1 - t0) / 1e9
            printf "  run %d: counters final %.3f s after exec: %.0f lines/s, %.0f MB/s; exporter CPU %.2f s, peak RSS %.1f MiB\n", r, s, n / s, b / s / 1e6, cpu / hz, rss / 1024
            printf "%.4f %.0f %.2f %.1f\n", s, n / s, cpu / hz, rss / 1024 > "/dev/stderr"
        }' 2>>"$work/catchup.results"
    done
    echo "  counters equal to the generator's --expect in every run"
    printf '  median: %s s, %s lines/s, exporter CPU %s s, peak RSS %s MiB\n' \
        "$(awk '{ print $1 }' "$work/catchup.results" | median)" \
        "$(awk '{ print $2 }' "$work/catchup.results" | median)" \
        "$(awk '{ print $3 }' "$work/catchup.results" | median)" \
        "$(awk '{ print $4 }' "$work/catchup.results" | median)"
}

# (b) ----------------------------------------------------------------------
bench_syslog() {
    echo "## (b) syslog: examples/syslog_load, $runs runs each"
    local tcp=127.0.0.1:$((port + 1)) udp=127.0.0.1:$((port + 2)) r
    for ((r = 1; r <= runs; r++)); do
        start_exporter --syslog.tcp "$tcp" --syslog.udp "$udp"
        wait_ready
        echo "  run $r TCP, 1,000,000 messages unpaced:"
        timeout 180 "$syslog_load" --tcp "$tcp" --count 1000000 --metrics "$metrics_url" --source syslog_tcp | sed 's/^/    /'
        echo "  run $r UDP, 200,000 messages at 100,000/s:"
        timeout 180 "$syslog_load" --udp "$udp" --count 200000 --rate 100000 --metrics "$metrics_url" --source syslog_udp | sed 's/^/    /'
        echo "  run $r UDP, 200,000 messages unpaced:"
        timeout 180 "$syslog_load" --udp "$udp" --count 200000 --metrics "$metrics_url" --source syslog_udp | sed 's/^/    /'
        stop_exporter
    done
}

# (c) ----------------------------------------------------------------------
bench_scrape() {
    command -v wrk >/dev/null || { echo "live.sh: wrk not found (apt-get install -y wrk)" >&2; exit 2; }
    echo "## (c) /metrics under wrk while ingesting $ingest_rate lines/s, $wrk_secs s, $runs runs"
    local peers=330
    cat >"$work/scrape.yaml" <<EOF
limits: {max_peers: 5000, max_objects: 5000}
EOF
    # Every scenario for every peer: vpn lines only, so that the series exist.
    "$workload" --lines 200000 --vpn-percent 100 --peers "$peers" --seed 2 >"$work/scrape.preload"
    local r
    : >"$work/scrape.results"
    : >"$work/scrape.idle"
    for ((r = 1; r <= runs; r++)); do
        local f=$work/scrape.log
        rm -f "$f"
        cp "$work/scrape.preload" "$f"
        start_exporter --config "$work/scrape.yaml" --file "$f" --read-from beginning
        wait_ready
        local n=0 i
        for ((i = 0; i < 1000 && n < 200000; i++)); do
            n=$(metric_sum ike_exporter_lines_total "source=\"$f\"")
            sleep 0.01
        done
        local series bytes
        series=$(curl -fs "$metrics_url" | grep -vc '^#')
        bytes=$(curl -fs "$metrics_url" | wc -c)
        # Baseline: the same scrapes with nothing arriving.
        wrk -t1 -c"$wrk_conns" -d"${wrk_secs}s" --latency "$metrics_url" >"$work/wrk.idle"
        awk -v r="$r" '
            function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
            $1 == "50%" { p50 = ms($2) }
            $1 == "99%" { p99 = ms($2) }
            $1 == "Requests/sec:" { rps = $2 }
            END {
                printf "  run %d, not ingesting: %.0f req/s, p50 %.2f ms, p99 %.2f ms\n", r, rps, p50, p99
                printf "%.3f %.3f\n", p50, p99 > "/dev/stderr"
            }' "$work/wrk.idle" 2>>"$work/scrape.idle"
        # The writer: the default mix over the same peers, paced, for longer than wrk runs.
        "$workload" --lines $(( ingest_rate * (wrk_secs + 5) )) --rate "$ingest_rate" --peers "$peers" --seed $((r + 10)) >>"$f" &
        local writer=$!
        pids+=("$writer")
        sleep 1
        local l0 c0
        l0=$(metric_sum ike_exporter_lines_total "source=\"$f\"")
        c0=$(cpu_ticks "$exporter_pid")
        wrk -t1 -c"$wrk_conns" -d"${wrk_secs}s" --latency "$metrics_url" >"$work/wrk.out"
        local l1 c1
        l1=$(metric_sum ike_exporter_lines_total "source=\"$f\"")
        c1=$(cpu_ticks "$exporter_pid")
        kill "$writer" 2>/dev/null || true
        wait "$writer" 2>/dev/null || true
        stop_exporter
        awk -v r="$r" -v series="$series" -v bytes="$bytes" -v dl=$((l1 - l0)) -v cpu=$((c1 - c0)) -v hz="$ticks_per_s" -v secs="$wrk_secs" '
            function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
            $1 == "50%" { p50 = ms($2) }
            $1 == "99%" { p99 = ms($2) }
            $1 == "Requests/sec:" { rps = $2 }
            / requests in / { reqs = $1 }
            /Non-2xx/ { bad = $NF }
            END {
                printf "  run %d, ingesting: %d series (%d bytes), %s requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, non-2xx %d; ingested %.0f lines/s meanwhile, exporter CPU %.0f %% of a core\n", r, series, bytes, reqs, rps, p50, p99, bad, dl / secs, 100 * cpu / hz / secs
                printf "%.3f %.3f %.0f %d\n", p50, p99, rps, series > "/dev/stderr"
            }' "$work/wrk.out" 2>>"$work/scrape.results"
    done
    printf '  median not ingesting: p50 %s ms, p99 %s ms\n' \
        "$(awk '{ print $1 }' "$work/scrape.idle" | median)" \
        "$(awk '{ print $2 }' "$work/scrape.idle" | median)"
    printf '  median ingesting: p50 %s ms, p99 %s ms, %s req/s\n' \
        "$(awk '{ print $1 }' "$work/scrape.results" | median)" \
        "$(awk '{ print $2 }' "$work/scrape.results" | median)" \
        "$(awk '{ print $3 }' "$work/scrape.results" | median)"
}

# (d) ----------------------------------------------------------------------
bench_idle() {
    echo "## (d) idle: CPU used in $idle_secs s with a file, a UDP and a TCP source, nothing arriving"
    local f=$work/idle.log
    "$workload" --lines 1000 >"$f"
    start_exporter --file "$f" --read-from beginning \
        --syslog.tcp "127.0.0.1:$((port + 1))" --syslog.udp "127.0.0.1:$((port + 2))"
    wait_ready
    sleep 2
    local c0 c1 v0 v1
    c0=$(cpu_ticks "$exporter_pid")
    v0=$(awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/"$exporter_pid"/task/*/status)
    sleep "$idle_secs"
    c1=$(cpu_ticks "$exporter_pid")
    v1=$(awk '/ctxt_switches/ { s += $2 } END { print s }' /proc/"$exporter_pid"/task/*/status)
    local threads
    threads=$(find /proc/"$exporter_pid"/task -mindepth 1 -maxdepth 1 | wc -l)
    stop_exporter
    awk -v c=$((c1 - c0)) -v hz="$ticks_per_s" -v s="$idle_secs" -v w=$((v1 - v0)) -v t="$threads" 'BEGIN {
        printf "  CPU %.2f s in %d s (%.3f %% of a core); %d context switches (%.1f/s) over %d threads\n", c / hz, s, 100 * c / hz / s, w, w / s, t
    }'
}

# (e) ----------------------------------------------------------------------
bench_ready() {
    echo "## (e) time from exec to /-/ready = 200, $((runs * 2 - 1)) runs"
    local f=$work/ready.log r
    "$workload" --lines 1000 >"$f"
    : >"$work/ready.results"
    for ((r = 1; r <= runs * 2 - 1; r++)); do
        local t0 t1
        t0=$(now_ns)
        start_exporter --file "$f" --read-from end \
            --syslog.tcp "127.0.0.1:$((port + 1))" --syslog.udp "127.0.0.1:$((port + 2))"
        until curl -fs -o /dev/null "http://$web/-/ready"; do
            kill -0 "$exporter_pid" 2>/dev/null || { echo "live.sh: the exporter exited" >&2; exit 1; }
            [ $(( $(now_ns) - t0 )) -lt 10000000000 ] || { echo "live.sh: not ready after 10 s" >&2; exit 1; }
            sleep 0.002
        done
        t1=$(now_ns)
        stop_exporter
        awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f\n", d / 1e6 }' >>"$work/ready.results"
    done
    echo "  runs (ms): $(tr '\n' ' ' <"$work/ready.results")"
    echo "  median: $(median <"$work/ready.results") ms (includes curl's own start, a few ms)"
}

echo "# $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
for b in "${benches[@]}"; do
    "bench_$b"
done
