#!/usr/bin/env bash
# Soak test of the live exporter (docs/performance.md, "Soak test"): one
# exporter, all on 127.0.0.1, with a file source and UDP, TCP and TLS syslog
# listeners under mixed load at once for --duration seconds:
#   - a writer appends examples/workload chunks (--file-rate lines/s) to the
#     followed file; every --rotate-every s the file is rotated as logrotate
#     does it (real logrotate when installed), alternately `create` (rename
#     while the writer still writes to it, new file, writer reopens) and
#     `copytruncate` (writer paused and read to its end first, as copytruncate
#     loses what is written between its copy and its truncation);
#   - examples/syslog_load over UDP, TCP and TLS (--syslog-rate msg/s each,
#     a new connection every 5 s);
#   - hostile clients in a loop: absurd octet counts, over-long frames,
#     frames cut short, silent connections, plain text to the TLS port and an
#     over-long datagram on the listeners above (none of them can add a line,
#     and each is counted exactly under its reason), random garbage to a
#     dedicated `hostile` TCP listener;
#   - a scrape of /metrics every second (HTTP 200 and a well-formed
#     exposition), a SIGHUP every --reload-every s (config touched, unchanged),
#   - RSS, fds, threads and connections every --sample-every s, as a table.
# Then the load stops and, once the exporter has caught up, the counts must
# be exact: the file source's lines and IKE sums equal the generator's
# --expect summed over every chunk, each syslog source's lines equal the
# messages sent, UDP drops none, every hostile attempt is counted under its
# reason; RSS after warm-up (the first 20 % of the run) may not grow by more
# than max(--rss-tolerance-pct %, --rss-tolerance-mib MiB), and the fd count
# once every connection is closed may not exceed the count after warm-up.
# Prints "SOAK PASS" or "SOAK FAIL" with the figures; exits 1 on failure.
#
# Usage: bench/soak.sh [--duration SECS] [--rotate-every SECS] [--reload-every SECS]
#                      [--sample-every SECS] [--hostile-every SECS]
#                      [--file-rate LINES_PER_S] [--syslog-rate MSG_PER_S]
#                      [--rss-tolerance-mib MIB] [--rss-tolerance-pct PCT]
#                      [--port-base P] [--keep DIR] [--ci]
#                      [--binary PATH] [--workload PATH] [--syslog-load PATH]
#   defaults: 600 s, rotation every 30 s, SIGHUP every 60 s, sample every
#   10 s, hostile round every 2 s, 3000 lines/s, 300 msg/s per transport,
#   RSS tolerance max(10 %, 8 MiB), ports from 19865, a temporary work dir
#   --ci           short run for CI: --duration 40 --rotate-every 8
#                  --reload-every 15 --sample-every 4 --hostile-every 1
#                  (later options override it)
#   --port-base P  ports P (HTTP), P+1 (UDP), P+2 (TCP), P+3 (TLS), P+4 (hostile)
#   --binary PATH  the exporter to test (default: cargo build --release);
#                  the examples are then taken from PATH's directory's
#                  examples/ when present, else built with --release
# Needs: cargo (unless every binary is given), curl, openssl, awk, timeout;
# logrotate is used when installed (else mv/cp and truncation by hand).
set -euo pipefail
export LC_ALL=C

duration=600
rotate_every=30
reload_every=60
sample_every=10
hostile_every=2
file_rate=3000
syslog_rate=300
rss_tol_mib=8
rss_tol_pct=10
port_base=19865
keep=
binary=
workload=
syslog_load=
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration=$2; shift 2 ;;
        --rotate-every) rotate_every=$2; shift 2 ;;
        --reload-every) reload_every=$2; shift 2 ;;
        --sample-every) sample_every=$2; shift 2 ;;
        --hostile-every) hostile_every=$2; shift 2 ;;
        --file-rate) file_rate=$2; shift 2 ;;
        --syslog-rate) syslog_rate=$2; shift 2 ;;
        --rss-tolerance-mib) rss_tol_mib=$2; shift 2 ;;
        --rss-tolerance-pct) rss_tol_pct=$2; shift 2 ;;
        --port-base) port_base=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        --binary) binary=$2; shift 2 ;;
        --workload) workload=$2; shift 2 ;;
        --syslog-load) syslog_load=$2; shift 2 ;;
        --ci) duration=40; rotate_every=8; reload_every=15; sample_every=4; hostile_every=1; shift ;;
        -h|--help) sed -n '2,47p' "$0"; exit 0 ;;
        *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
for v in duration rotate_every reload_every sample_every hostile_every file_rate syslog_rate rss_tol_mib rss_tol_pct port_base; do
    if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -eq 0 ]; then
        echo "soak.sh: --${v//_/-} must be a positive integer" >&2
        exit 2
    fi
done
[ "$duration" -ge 10 ] || { echo "soak.sh: --duration must be at least 10" >&2; exit 2; }
[ "$port_base" -le 65530 ] || { echo "soak.sh: --port-base too high" >&2; exit 2; }

for tool in curl openssl awk timeout dd; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool not found" >&2; exit 2; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
target=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "$binary" ]; then
    (cd "$repo" && cargo build --release --quiet --bin ike_exporter --example workload --example syslog_load)
    binary=$target/release/ike_exporter
    workload=${workload:-$target/release/examples/workload}
    syslog_load=${syslog_load:-$target/release/examples/syslog_load}
else
    examples=$(dirname "$binary")/examples
    [ -n "$workload" ] || [ ! -x "$examples/workload" ] || workload=$examples/workload
    [ -n "$syslog_load" ] || [ ! -x "$examples/syslog_load" ] || syslog_load=$examples/syslog_load
    if [ -z "$workload" ] || [ -z "$syslog_load" ]; then
        (cd "$repo" && cargo build --release --quiet --example workload --example syslog_load)
        workload=${workload:-$target/release/examples/workload}
        syslog_load=${syslog_load:-$target/release/examples/syslog_load}
    fi
fi
for b in "$binary" "$workload" "$syslog_load"; do
    [ -x "$b" ] || { echo "soak.sh: $b is not an executable" >&2; exit 2; }
done

# The background loops watch for $work/stop.
before_cleanup() { touch "$work/stop" 2>/dev/null || true; }
make_work_dir "$keep"

web_port=$port_base
udp_port=$((port_base + 1))
tcp_port=$((port_base + 2))
tls_port=$((port_base + 3))
hostile_port=$((port_base + 4))
metrics_url=http://127.0.0.1:$web_port/metrics
log=$work/soak.log
vpn_every=50

# Microseconds since the epoch, without a fork.
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
elapsed_s() { echo $(( ($(now_us) - load_start) / 1000000 )); }

# Sum of the samples of metric $1 in exposition $2 (a file, or - for a fresh
# scrape) whose line contains every further argument.
msum() {
    local name=$1 src=$2
    shift 2
    if [ "$src" = - ]; then
        curl -fs --max-time 10 "$metrics_url" || true
    else
        cat "$src"
    fi | awk -v n="$name" -v f="$*" '
        BEGIN { k = split(f, want, " ") }
        index($0, n) == 1 && (substr($0, length(n) + 1, 1) == "{" || substr($0, length(n) + 1, 1) == " ") {
            for (i = 1; i <= k; i++) if (!index($0, want[i])) next
            s += $NF
        }
        END { printf "%.0f\n", s }'
}

# Polls (every 0.1 s, at most $1 seconds) until metric $3 (filters: the
# further arguments) equals $2.
wait_metric() {
    local limit=$1 want=$2 name=$3 until got
    shift 3
    until=$(( $(now_us) + limit * 1000000 ))
    while :; do
        got=$(msum "$name" - "$@")
        [ "$got" = "$want" ] && return 0
        [ "$(now_us)" -lt "$until" ] && kill -0 "$exporter_pid" 2>/dev/null || return 1
        sleep 0.1
    done
}

# --- set-up ----------------------------------------------------------------
rm -rf "$work/expect" "$work/state" "$work/count" "$work/stop" "$work/errors" "$work/hups" "$log" "$log".*
mkdir -p "$work/expect" "$work/state" "$work/count"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -addext basicConstraints=critical,CA:FALSE \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>"$work/openssl.err" \
    || { cat "$work/openssl.err" >&2; exit 1; }
: >"$log"
config=$work/soak.yaml
cat >"$config" <<EOF
sources:
  - {name: file, type: file, paths: ['$log'], read_from: beginning}
  - {name: udp, type: syslog_udp, listen_address: '127.0.0.1:$udp_port', max_message_bytes: 8192}
  - {name: tcp, type: syslog_tcp, listen_address: '127.0.0.1:$tcp_port', idle_timeout_secs: 5}
  - name: tls
    type: syslog_tls
    listen_address: '127.0.0.1:$tls_port'
    idle_timeout_secs: 5
    tls: {cert_file: '$work/cert.pem', key_file: '$work/key.pem'}
  - {name: hostile, type: syslog_tcp, listen_address: '127.0.0.1:$hostile_port', max_message_bytes: 4096, idle_timeout_secs: 3}
files: {rotate_wait_secs: 5, poll_interval_ms: 1000, checkpoint_interval_secs: 10}
state_dir: '$work/state'
web: {listen_address: '127.0.0.1:$web_port'}
log: {level: info, format: text}
EOF
for mode in create copytruncate; do
    printf '%s {\n    rotate 2\n    missingok\n    nocompress\n    %s\n}\n' "$log" "$mode" >"$work/logrotate-$mode.conf"
done
logrotate_bin=$(command -v logrotate || command -v /usr/sbin/logrotate || true)

# Hostile payloads. None can become a line on the listeners they are sent to.
printf '99999999999 <14>x' >"$work/absurd.bin"
{ printf '70000 <14>1 2024-03-12T10:15:02Z fw - - - - '; head -c 70000 /dev/zero | tr '\0' x; } >"$work/overlong.bin"
printf '100 <14>1 2024-03-12T10:15:02Z fw-cut - - - - 1,2024/03/12 10:15:02,0131' >"$work/half.bin"
printf '<14>Mar 12 10:15:02 fw-plain plain text to a TLS port\n' >"$work/plain.txt"
head -c 9000 /dev/zero | tr '\0' y >"$work/big.dgram"
{ printf '<14>'; head -c 5000 /dev/zero | tr '\0' z; printf '\n'; } >"$work/overlong-lf.bin"

echo "# soak: $(nproc) CPUs, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; exporter $binary"
echo "# duration ${duration} s, rotation every ${rotate_every} s ($([ -n "$logrotate_bin" ] && echo "logrotate" || echo "mv/cp by hand"), create and copytruncate in turn), SIGHUP every ${reload_every} s, sample every ${sample_every} s"
echo "# load: file ${file_rate} lines/s; syslog UDP, TCP, TLS ${syslog_rate} msg/s each; hostile round every ${hostile_every} s; work dir $work"

"$binary" --config "$config" 2>"$work/exporter.stderr" &
exporter_pid=$!
pids+=("$exporter_pid")
ready=0
for ((i = 0; i < 200; i++)); do
    curl -fs -o /dev/null "http://127.0.0.1:$web_port/-/ready" && { ready=1; break; }
    kill -0 "$exporter_pid" 2>/dev/null || break
    sleep 0.05
done
if [ "$ready" != 1 ]; then
    echo "soak.sh: the exporter did not become ready" >&2
    cat "$work/exporter.stderr" >&2
    exit 1
fi

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$exporter_pid/status"; }
fd_count() { local f n=0; for f in /proc/"$exporter_pid"/fd/*; do n=$((n + 1)); done; echo "$n"; }
thread_count() { awk '/^Threads:/ { print $2 }' "/proc/$exporter_pid/status"; }
start_rss=$(rss_kb)
start_fds=$(fd_count)

load_start=$(now_us)
load_end=$((load_start + duration * 1000000))
running() { [ "$(now_us)" -lt "$load_end" ] && [ ! -e "$work/stop" ]; }
# Adds $2 to the counter file $1 (one writer per file).
bump() { local f=$work/count/$1 v=0; [ -f "$f" ] && v=$(<"$f"); echo $((v + ${2:-1})) >"$f"; }
count() { local f=$work/count/$1; if [ -f "$f" ]; then cat "$f"; else echo 0; fi; }
# A loop's children, killed with it.
loop_trap() { trap 'kill $(jobs -p) 2>/dev/null; exit 143' TERM; }

# --- the file writer and rotations -----------------------------------------
rotate() { # create|copytruncate
    if [ -n "$logrotate_bin" ]; then
        "$logrotate_bin" -f -s "$work/logrotate.state" "$work/logrotate-$1.conf" 2>>"$work/logrotate.err"
    elif [ "$1" = create ]; then
        [ ! -e "$log.1" ] || mv -f "$log.1" "$log.2"
        mv "$log" "$log.1" && : >"$log"
    else
        [ ! -e "$log.1" ] || mv -f "$log.1" "$log.2"
        cp "$log" "$log.1" && : >"$log"
    fi
}
writer_loop() {
    loop_trap
    local chunk=0 written=0 next_rotate=$((load_start + rotate_every * 1000000)) mode=create w rc
    exec 3>>"$log"
    while running; do
        chunk=$((chunk + 1))
        "$workload" --lines "$file_rate" --rate "$file_rate" --seed "$chunk" --expect "$work/expect/$chunk" >&3 &
        w=$!
        if [ "$(now_us)" -ge "$next_rotate" ]; then
            if [ "$mode" = create ]; then
                # Rename while the chunk is being written (it goes on into the
                # renamed file), then reopen like a daemon after its HUP. The
                # sleep only places the rename inside the chunk.
                sleep 0.3
                rotate create || bump writer_errors
                wait "$w" && rc=0 || rc=$?
                exec 3>>"$log"
                bump rotations_create
                mode=copytruncate
            else
                # copytruncate loses what is written between its copy and its
                # truncation, and what the reader had not read yet: pause the
                # writer and let the exporter reach the end first.
                wait "$w" && rc=0 || rc=$?
                if ! wait_metric 60 $((written + file_rate)) ike_exporter_lines_total 'source="file"'; then
                    echo "soak.sh: the file source did not reach $((written + file_rate)) lines before copytruncate" >>"$work/errors"
                fi
                rotate copytruncate || bump writer_errors
                bump rotations_copytruncate
                mode=create
            fi
            next_rotate=$((next_rotate + rotate_every * 1000000))
        else
            wait "$w" && rc=0 || rc=$?
        fi
        if [ "$rc" != 0 ]; then
            echo "soak.sh: workload chunk $chunk exited $rc" >>"$work/errors"
        fi
        written=$((written + file_rate))
        echo "$written" >"$work/count/file_lines"
        echo "$chunk" >"$work/count/file_chunks"
    done
    exec 3>&-
}

# --- syslog senders ----------------------------------------------------------
syslog_loop() { # name transport-args…
    loop_trap
    local name=$1 chunk_secs=5 n left s rc last=0
    shift
    local sent=0 vpn=0 chunks=0
    while running && [ "$last" = 0 ]; do
        # 5 s per connection; the last one ends with the load.
        left=$(( (load_end - $(now_us)) / 1000 ))
        n=$(( syslog_rate * chunk_secs ))
        if [ "$left" -lt $((chunk_secs * 1000 + 500)) ]; then
            n=$(( syslog_rate * left / 1000 ))
            last=1
        fi
        [ "$n" -gt 0 ] || break
        timeout 120 "$syslog_load" "$@" --count "$n" --rate "$syslog_rate" --batch $(( (syslog_rate + 9) / 10 )) \
            --device "fw-soak-$name" >"$work/$name.out" 2>"$work/$name.err" &
        wait $! && rc=0 || rc=$?
        s=$(awk '$1 == "sent" { print $2 }' "$work/$name.out")
        if [ "$rc" != 0 ] || [ "$s" != "$n" ]; then
            echo "soak.sh: syslog_load $name exited $rc after sending '${s}' of $n: $(tr '\n' ' ' <"$work/$name.err")" >>"$work/errors"
            sleep 1
            continue
        fi
        sent=$((sent + n))
        vpn=$((vpn + (n + vpn_every - 1) / vpn_every))
        chunks=$((chunks + 1))
        echo "$sent $vpn $chunks" >"$work/count/sent_$name"
    done
}

# --- hostile clients -----------------------------------------------------------
# Sends file $2 over a new TCP connection to port $1 and closes it; fails only
# when the connection could not be made (the server may close first).
tcp_send() {
    ( trap '' PIPE; exec 3>"/dev/tcp/127.0.0.1/$1" || exit 99; cat "$2" >&3; exit 0 ) 2>/dev/null
    [ $? != 99 ]
}
# Sends file $1 inside a TLS connection (openssl s_client): 0 when the
# handshake completed, 1 when not.
tls_send() {
    timeout 20 openssl s_client -quiet -no_ign_eof -connect "127.0.0.1:$tls_port" -servername localhost \
        <"$1" >/dev/null 2>"$work/s_client.err" || true
    grep -q 'verify return:1' "$work/s_client.err"
}
# A connection to port $1 that says nothing, held until the server closes it
# (at most 15 s); counted in counter $2 once connected.
silent() {
    ( exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 99; [ -z "${2:-}" ] || bump "$2"; read -r -t 15 -u 3 _; exit 0 ) 2>/dev/null
}
hostile_loop() {
    loop_trap
    local next silent_tcp='' silent_tls='' silent_hostile=''
    next=$(now_us)
    while running; do
        # Garbage (random bytes, which often look like LF framing) and the
        # rest, to the dedicated listener, whose counts are not checked.
        head -c 4096 /dev/urandom >"$work/garbage.bin"
        tcp_send "$hostile_port" "$work/garbage.bin" && bump h_garbage
        tcp_send "$hostile_port" "$work/absurd.bin" || true
        tcp_send "$hostile_port" "$work/overlong-lf.bin" || true
        tcp_send "$hostile_port" "$work/half.bin" || true
        # The TCP listener of the good traffic: framing, too_large, framing.
        tcp_send "$tcp_port" "$work/absurd.bin" && bump h_tcp_framing
        tcp_send "$tcp_port" "$work/overlong.bin" && bump h_tcp_too_large
        tcp_send "$tcp_port" "$work/half.bin" && bump h_tcp_framing
        # The TLS listener: plain text (a failed handshake), a cut frame and
        # an absurd count inside TLS (framing).
        tcp_send "$tls_port" "$work/plain.txt" && bump h_tls_handshake
        if tls_send "$work/half.bin"; then bump h_tls_framing; else bump h_tls_handshake; fi
        if tls_send "$work/absurd.bin"; then bump h_tls_framing; else bump h_tls_handshake; fi
        # The UDP listener: a datagram over max_message_bytes (8192).
        dd if="$work/big.dgram" bs=9000 count=1 status=none 2>/dev/null >"/dev/udp/127.0.0.1/$udp_port" && bump h_udp_too_large
        # Silent connections, one at a time per listener, none started in the
        # last 12 s: closed by the idle timeout (5 s, 3 s) or, for TLS, the
        # handshake timeout (10 s, a tls_handshake drop).
        if [ $(( load_end - $(now_us) )) -gt 12000000 ]; then
            if [ -z "$silent_tcp" ] || ! kill -0 "$silent_tcp" 2>/dev/null; then
                silent "$tcp_port" h_silent_tcp &
                silent_tcp=$!
            fi
            if [ -z "$silent_tls" ] || ! kill -0 "$silent_tls" 2>/dev/null; then
                silent "$tls_port" h_silent_tls &
                silent_tls=$!
            fi
            if [ -z "$silent_hostile" ] || ! kill -0 "$silent_hostile" 2>/dev/null; then
                silent "$hostile_port" &
                silent_hostile=$!
            fi
        fi
        bump h_rounds
        next=$((next + hostile_every * 1000000))
        while running && [ "$(now_us)" -lt "$next" ]; do sleep 0.1; done
    done
    wait
}

writer_loop &
pids+=("$!"); writer_pid=$!
syslog_loop udp --udp "127.0.0.1:$udp_port" &
pids+=("$!"); udp_pid=$!
syslog_loop tcp --tcp "127.0.0.1:$tcp_port" &
pids+=("$!"); tcp_pid=$!
syslog_loop tls --tls "127.0.0.1:$tls_port" --ca "$work/cert.pem" &
pids+=("$!"); tls_pid=$!
hostile_loop &
pids+=("$!"); hostile_pid=$!

# --- scrapes, reloads, samples (this shell) -----------------------------------
scrapes=0
scrape_failures=0
hups=0
reload_failures=0
warmup_at=$((duration / 5))
: >"$work/samples"
: >"$work/errors.scrape"
: >"$work/scrape_times"
# Checks one exposition: every line a comment or `name{labels} value`, no
# duplicate series, the exporter's own counters present.
well_formed() {
    awk '
        /^#/ || /^$/ { next }
        {
            n++
            if ($0 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|NaN|Inf)$/) { bad++; print "malformed: " $0; next }
            key = substr($0, 1, length($0) - length($NF) - 1)
            if (seen[key]++) { bad++; print "duplicate: " key }
            if (index($0, "ike_exporter_lines_total{") == 1) lines++
        }
        END { if (n == 0 || lines == 0) { print "empty or no ike_exporter_lines_total"; bad++ } exit bad > 0 }
    ' "$1"
}
sample() {
    local t=$1 rss fds threads conns lines
    rss=$(rss_kb)
    fds=$(fd_count)
    threads=$(thread_count)
    conns=$(msum ike_exporter_syslog_connections "$work/scrape.txt")
    lines=$(msum ike_exporter_lines_total "$work/scrape.txt")
    echo "$t $rss $fds $threads $conns $lines" >>"$work/samples"
    awk -v t="$t" -v r="$rss" -v f="$fds" -v th="$threads" -v c="$conns" -v l="$lines" -v w="$warmup_at" \
        'BEGIN { printf "%7d %9.1f %5d %8d %6d %12d%s\n", t, r / 1024, f, th, c, l, (t == w ? "  <- warm-up" : "") }'
}
printf '%7s %9s %5s %8s %6s %12s\n' "t(s)" "RSS(MiB)" "fds" "threads" "conns" "lines_total"
awk -v r="$start_rss" -v f="$start_fds" 'BEGIN { printf "%7s %9.1f %5d %8s %6s %12s  (idle, before the load)\n", "-", r / 1024, f, "", "", "" }'
tick=$load_start
next_sample=0
next_reload=$reload_every
exporter_died=0
while running; do
    t=$(( (tick - load_start) / 1000000 ))
    out=$(curl -s --max-time 5 -o "$work/scrape.txt" -w '%{http_code} %{time_starttransfer} %{time_total}' "$metrics_url" || true)
    scrapes=$((scrapes + 1))
    code=${out%% *}
    if [ "$code" != 200 ] || ! well_formed "$work/scrape.txt" >>"$work/errors.scrape"; then
        scrape_failures=$((scrape_failures + 1))
        echo "t=$t: HTTP '$code'" >>"$work/errors.scrape"
    else
        echo "$t ${out#* }" | awk '{ printf "%d %.1f %.1f\n", $1, $2 * 1000, $3 * 1000 }' >>"$work/scrape_times"
    fi
    if ! kill -0 "$exporter_pid" 2>/dev/null; then
        exporter_died=1
        touch "$work/stop"
        break
    fi
    if [ "$t" -ge "$next_sample" ]; then
        sample "$t"
        next_sample=$((next_sample + sample_every))
        # Land a sample on the warm-up mark.
        if [ "$t" -lt "$warmup_at" ] && [ "$next_sample" -gt "$warmup_at" ]; then next_sample=$warmup_at; fi
    fi
    if [ "$t" -ge "$next_reload" ]; then
        before=$(grep -c 'Configuration reloaded' "$work/exporter.stderr" || true)
        touch "$config"
        kill -HUP "$exporter_pid"
        hups=$((hups + 1))
        echo "$t" >>"$work/hups"
        ok=0
        for ((i = 0; i < 100; i++)); do
            [ "$(grep -c 'Configuration reloaded' "$work/exporter.stderr" || true)" -gt "$before" ] && { ok=1; break; }
            sleep 0.05
        done
        [ "$(msum ike_exporter_config_last_reload_successful -)" = 1 ] || ok=0
        if [ "$ok" != 1 ]; then
            reload_failures=$((reload_failures + 1))
            echo "soak.sh: t=$t: the reload was not logged within 5 s or ike_exporter_config_last_reload_successful is not 1" >>"$work/errors"
        fi
        next_reload=$((next_reload + reload_every))
    fi
    tick=$((tick + 1000000))
    while running && [ "$(now_us)" -lt "$tick" ]; do
        sleep 0.05
    done
done
load_stop=$(now_us)
if [ "$exporter_died" = 0 ]; then
    curl -s --max-time 5 -o "$work/scrape.txt" "$metrics_url" || true
    sample "$(( (load_stop - load_start) / 1000000 ))"
fi
end_load_sample=$(tail -n 1 "$work/samples")

# --- the end: stop the load, catch up, check -----------------------------------
stop_loops_by=$(( $(now_us) + 60000000 ))
for pid in "$writer_pid" "$udp_pid" "$tcp_pid" "$tls_pid" "$hostile_pid"; do
    while kill -0 "$pid" 2>/dev/null && [ "$(now_us)" -lt "$stop_loops_by" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        echo "soak.sh: a load loop (pid $pid) did not finish within 60 s of the end; killed" >>"$work/errors"
        kill "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
done
echo "# load stopped after $(( (load_stop - load_start) / 1000000 )) s; the senders finished $(awk -v d=$(( $(now_us) - load_stop )) 'BEGIN { printf "%.1f", d / 1e6 }') s later"

failures=()
fail() { failures+=("$1"); echo "FAIL: $1"; }
pass() { echo "ok:   $1"; }

if [ "$exporter_died" = 1 ] || ! kill -0 "$exporter_pid" 2>/dev/null; then
    fail "the exporter exited during the run"
    tail -n 30 "$work/exporter.stderr"
fi

file_lines=$(count file_lines)
file_chunks=$(count file_chunks)
sent() { local f=$work/count/sent_$1; if [ -f "$f" ]; then cat "$f"; else echo 0 0 0; fi; }
read -r udp_sent udp_vpn udp_chunks <<<"$(sent udp)"
read -r tcp_sent tcp_vpn tcp_chunks <<<"$(sent tcp)"
read -r tls_sent tls_vpn tls_chunks <<<"$(sent tls)"

# Catch-up: every good count reached (bounded), then every hostile drop.
catch_up() { # source want
    wait_metric 60 "$2" ike_exporter_lines_total "source=\"$1\"" || true
}
catch_up file "$file_lines"
catch_up udp "$udp_sent"
catch_up tcp "$tcp_sent"
catch_up tls "$tls_sent"
wait_metric 30 $(( $(count h_tls_handshake) + $(count h_silent_tls) )) ike_exporter_syslog_dropped_total 'reason="tls_handshake"' 'source="tls"' || true
wait_metric 30 0 ike_exporter_syslog_connections || true
curl -fs --max-time 10 -o "$work/final.txt" "$metrics_url" || : >"$work/final.txt"
echo "# counts final $(awk -v d=$(( $(now_us) - load_stop )) 'BEGIN { printf "%.1f", d / 1e6 }') s after the end of the load"
final=$work/final.txt

# The file source: lines, and the IKE sums of the generator's two firewalls.
cat "$work"/expect/* 2>/dev/null | awk '{ s[$1] += $2 } END { for (k in s) printf "%s %.0f\n", k, s[k] }' | sort >"$work/file.expect"
grep -E 'device="fw-(hq|dc)"|source="file"' "$final" | summarise >"$work/file.got" || true
got=$(msum ike_exporter_lines_total "$final" 'source="file"')
if [ "$got" = "$file_lines" ] && [ "$file_lines" -gt 0 ]; then
    pass "file: ike_exporter_lines_total $got = lines written ($file_chunks chunks)"
else
    fail "file: ike_exporter_lines_total $got, lines written $file_lines"
fi
if diff -u "$work/file.expect" "$work/file.got" >"$work/file.diff"; then
    pass "file: IKE sums equal the generator's --expect summed over $file_chunks chunks ($(awk '$1 ~ /failures_total/ { f += $2 } $1 ~ /successes_total/ { s += $2 } $1 == "ike_events_total" { e = $2 } END { printf "%d events, %d failures, %d successes", e, f, s }' "$work/file.expect"))"
else
    fail "file: IKE sums differ from the generator's --expect"
    sed 's/^/      /' "$work/file.diff"
fi
rot=$(msum ike_exporter_file_rotations_total "$final" 'source="file"')
trunc=$(msum ike_exporter_file_truncations_total "$final" 'source="file"')
if [ "$rot" = "$(count rotations_create)" ] && [ "$trunc" = "$(count rotations_copytruncate)" ]; then
    pass "file: rotations $rot (create), truncations $trunc (copytruncate), as done"
else
    fail "file: rotations_total $rot for $(count rotations_create) create rotations, truncations_total $trunc for $(count rotations_copytruncate) copytruncates"
fi

# The syslog sources: lines = messages sent; vpn events of each one's device.
check_syslog() { # name sent vpn chunks
    local lines f e
    lines=$(msum ike_exporter_lines_total "$final" "source=\"$1\"")
    f=$(msum ike_phase1_failures_total "$final" "device=\"fw-soak-$1\"")
    e=$(msum ike_events_total "$final" "device=\"fw-soak-$1\"")
    if [ "$lines" = "$2" ] && [ "$2" -gt 0 ] && [ "$f" = "$3" ] && [ "$e" = "$3" ]; then
        pass "$1: ike_exporter_lines_total $lines = messages sent ($4 runs of syslog_load); phase 1 failures $f, events $e = vpn messages sent"
    else
        fail "$1: lines_total $lines for $2 sent; phase 1 failures $f and events $e for $3 vpn messages"
    fi
}
check_syslog udp "$udp_sent" "$udp_vpn" "$udp_chunks"
check_syslog tcp "$tcp_sent" "$tcp_vpn" "$tcp_chunks"
check_syslog tls "$tls_sent" "$tls_vpn" "$tls_chunks"

# Drops: none of the good traffic; every hostile attempt under its reason.
drops() { msum ike_exporter_syslog_dropped_total "$final" "source=\"$1\"" "reason=\"$2\""; }
all_drops() { msum ike_exporter_syslog_dropped_total "$final" "source=\"$1\""; }
check_drops() { # label source reason want
    local got
    got=$(drops "$2" "$3")
    if [ "$got" = "$4" ]; then pass "$1: dropped{reason=\"$3\"} $got = hostile attempts"; else fail "$1: dropped{reason=\"$3\"} $got, hostile attempts $4"; fi
}
qf=$(drops udp queue_full)
if [ "$qf" = 0 ]; then pass "udp: dropped{reason=\"queue_full\"} 0 (no loss at ${syslog_rate} msg/s)"; else fail "udp: dropped{reason=\"queue_full\"} $qf at ${syslog_rate} msg/s"; fi
check_drops udp udp too_large "$(count h_udp_too_large)"
check_drops tcp tcp framing "$(count h_tcp_framing)"
check_drops tcp tcp too_large "$(count h_tcp_too_large)"
check_drops tls tls framing "$(count h_tls_framing)"
check_drops tls tls tls_handshake $(( $(count h_tls_handshake) + $(count h_silent_tls) ))
for s in udp tcp tls; do
    want=0
    case $s in
        udp) want=$(count h_udp_too_large) ;;
        tcp) want=$(( $(count h_tcp_framing) + $(count h_tcp_too_large) )) ;;
        tls) want=$(( $(count h_tls_framing) + $(count h_tls_handshake) + $(count h_silent_tls) )) ;;
    esac
    got=$(all_drops "$s")
    [ "$got" = "$want" ] || fail "$s: dropped (all reasons) $got, hostile attempts $want"
done
echo "      hostile: $(count h_rounds) rounds; hostile listener: $(count h_garbage) garbage connections, lines $(msum ike_exporter_lines_total "$final" 'source="hostile"'), parse errors $(msum ike_exporter_parse_errors_total "$final" 'source="hostile"'), dropped $(awk '/^ike_exporter_syslog_dropped_total\{.*source="hostile"/ { match($0, /reason="[^"]*"/); printf "%s%s %s", sep, substr($0, RSTART + 8, RLENGTH - 9), $NF; sep = ", " }' "$final"); silent connections on tcp: $(count h_silent_tcp)"
conns=$(msum ike_exporter_syslog_connections "$final")
if [ "$conns" = 0 ]; then pass "syslog connections open at the end: 0"; else fail "syslog connections open at the end: $conns"; fi

# Scrapes and reloads. Percentiles of column $1 of the scrape times.
percentiles() {
    sort -k"$1" -g "$work/scrape_times" | awk -v c="$1" '{ t[NR] = $1; v[NR] = $c } END {
        i = int(NR * 0.99 + 0.5); if (i < 1) i = 1
        printf "p50 %s ms, p99 %s ms, max %s ms (t=%s s)", v[int((NR + 1) / 2)], v[i], v[NR], t[NR] }'
}
if [ "$scrape_failures" = 0 ] && [ "$scrapes" -gt 0 ]; then
    pass "scrapes: $scrapes, all HTTP 200 and well-formed; time to first byte $(percentiles 2), whole scrape (curl writing the body to the work dir) $(percentiles 3)"
else
    fail "scrapes: $scrape_failures of $scrapes failed"
    head -n 20 "$work/errors.scrape" | sed 's/^/      /'
fi
reloaded=$(grep -c 'Configuration reloaded' "$work/exporter.stderr" || true)
if [ "$reload_failures" = 0 ] && [ "$reloaded" = "$hups" ] && [ "$(msum ike_exporter_config_last_reload_successful "$final")" = 1 ]; then
    pass "reloads: $hups SIGHUPs, $reloaded reloads logged, ike_exporter_config_last_reload_successful 1"
else
    fail "reloads: $hups SIGHUPs, $reloaded logged, $reload_failures not confirmed"
fi

alive=1
kill -0 "$exporter_pid" 2>/dev/null || alive=0
# Memory and fds. The fd count is taken once every connection is closed and
# the rotated file has been let go (rotate_wait_secs): polled, at most 20 s.
warm=$(awk -v w="$warmup_at" '$1 >= w { print; exit }' "$work/samples")
read -r warm_t warm_rss warm_fds _ <<<"$warm"
max_rss=$(awk -v w="$warm_t" '$1 >= w && $2 > m { m = $2 } END { print m + 0 }' "$work/samples")
read -r _ end_rss _ <<<"$end_load_sample"
tol_kb=$(awk -v r="$warm_rss" -v p="$rss_tol_pct" -v m="$rss_tol_mib" 'BEGIN { t = r * p / 100; if (t < m * 1024) t = m * 1024; printf "%.0f", t }')
growth=$((max_rss - warm_rss))
rss_line=$(awk -v s="$start_rss" -v w="$warm_rss" -v wt="$warm_t" -v m="$max_rss" -v e="$end_rss" -v t="$tol_kb" -v g="$growth" 'BEGIN {
    printf "RSS: idle %.1f MiB, after warm-up (t=%d s) %.1f MiB, max after warm-up %.1f MiB, at the end of the load %.1f MiB: growth %+.1f MiB, tolerance %.1f MiB", s / 1024, wt, w / 1024, m / 1024, e / 1024, g / 1024, t / 1024 }')
if [ "$alive" = 1 ] && [ -n "$warm_rss" ] && [ "$growth" -le "$tol_kb" ]; then pass "$rss_line"; else fail "$rss_line"; fi
end_fds=$(fd_count 2>/dev/null || echo 0)
for ((i = 0; i < 200 && alive && end_fds > start_fds; i++)); do
    sleep 0.1
    end_fds=$(fd_count 2>/dev/null || echo 0)
done
fd_line="fds: idle $start_fds, after warm-up $warm_fds, max $(awk '$3 > m { m = $3 } END { print m + 0 }' "$work/samples"), at the end with every connection closed $end_fds"
if [ "$alive" = 1 ] && [ -n "$warm_fds" ] && [ "$end_fds" -le "$warm_fds" ]; then pass "$fd_line"; else fail "$fd_line"; fi

if [ -s "$work/errors" ]; then
    fail "errors during the run:"
    sed 's/^/      /' "$work/errors"
fi
errors_logged=$(grep -c ' ERROR ' "$work/exporter.stderr" || true)
[ "$errors_logged" = 0 ] || { fail "the exporter logged $errors_logged errors"; grep ' ERROR ' "$work/exporter.stderr" | head -n 10 | sed 's/^/      /'; }

# A clean stop: SIGTERM, exit 0 within 20 s.
kill -TERM "$exporter_pid" 2>/dev/null || true
for ((i = 0; i < 200; i++)); do kill -0 "$exporter_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$exporter_pid" 2>/dev/null; then
    fail "the exporter did not exit within 20 s of SIGTERM"
else
    wait "$exporter_pid" && rc=0 || rc=$?
    if [ "$rc" = 0 ]; then pass "SIGTERM: exit 0"; else fail "SIGTERM: exit $rc"; fi
fi

summary="file $file_lines lines; udp $udp_sent, tcp $tcp_sent, tls $tls_sent messages; RSS $(awk -v w="$warm_rss" -v m="$max_rss" 'BEGIN { printf "%.1f -> max %.1f MiB", w / 1024, m / 1024 }') after warm-up; fds $warm_fds after warm-up, $end_fds at the end"
if [ ${#failures[@]} -eq 0 ]; then
    echo "SOAK PASS: ${duration} s: $summary"
else
    echo "SOAK FAIL (${#failures[@]} checks): ${duration} s: $summary"
    [ -n "$keep" ] || echo "(run again with --keep DIR to keep the work directory)"
    exit 1
fi
