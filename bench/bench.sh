#!/bin/bash
# bench.sh - `make bench` and `make bench-compare`: start our daemons (or the Postfix +
# Dovecot peers) on loopback, run the same loads against them with the peers' scripts
# (../shared/peers/bench-*.sh) and our smtpload (SCRAM, delivery latency), then print
# one table (bench/report.py) and write bench/results/*.csv.
#
#   bench/bench.sh ours       our server only           (make bench)
#   bench/bench.sh compare    peers, then ours, ratios  (make bench-compare)
#   bench/bench.sh start|stop our daemons alone on the bench ports, for profiling by hand
# Env: BENCH_QUICK=1 (few messages, 1 repetition), BENCH_REPS, BENCH_MSGS, BENCH_POP_MSGS,
#      BENCH_SESSIONS ("1 20 200"), BENCH_IDLE ("1000 10000"), BENCH_AUTH_SECS, PEERS_DIR,
#      BENCH_ONLY (subset of "smtp auth pop3 idle subm_tls relay pop3_tls idle_tls office mx
#      sign"; mx and sign: bench/bench_mx.sh),
#      BENCH_OFFICE_SECS (300; quick 60), BENCH_OFFICE_REPS (1), BENCH_RELAY_MSGS (20000; quick
#      4000), BENCH_SUBM_MSGS, BENCH_POP3TLS_MSGS, BENCH_IDLE_TLS (10000), BENCH_PORT_OFFSET.
#      The mail clients' loads are in loads_tls.sh.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${PEERS_DIR:-$(cd "$TOP/../shared/peers" 2>/dev/null && pwd)}
[ -n "$PEERS" ] && [ -x "$PEERS/bench-smtp-source.sh" ] || { echo "bench: no peers scripts at ../shared/peers" >&2; exit 2; }
MODE=${1:-ours}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$TOP/build/bench
RUN=$WORK/run-$STAMP
export RESULTS_DIR=$RUN BUILD_DIR=$WORK/tools
# BENCH_PORT_OFFSET moves our side's ports (a functional try of `bench.sh ours` beside a
# running benchmark; the peers' ports are fixed)
o=${BENCH_PORT_OFFSET:-0}
SMTP_PORT=$((2525 + o)) SUBM_PORT=$((2587 + o)) POP3_PORT=$((2110 + o)) POP3S_PORT=$((2995 + o))
SINK_PORT=$((2626 + o)) SILENT_PORT=$((2627 + o))

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    REPS=${BENCH_REPS:-1} NMSG=${BENCH_MSGS:-2000} NPOP=${BENCH_POP_MSGS:-2000} ASECS=${BENCH_AUTH_SECS:-3}
    NLAT=${BENCH_LAT_MSGS:-1000} NSUBM=${BENCH_SUBM_MSGS:-1000} NRELAY=${BENCH_RELAY_MSGS:-4000}
    NPOPTLS=${BENCH_POP3TLS_MSGS:-40} OFFICE_SECS=${BENCH_OFFICE_SECS:-60}
else
    REPS=${BENCH_REPS:-3} NMSG=${BENCH_MSGS:-20000} NPOP=${BENCH_POP_MSGS:-10000} ASECS=${BENCH_AUTH_SECS:-10}
    NLAT=${BENCH_LAT_MSGS:-4000} NSUBM=${BENCH_SUBM_MSGS:-4000} NRELAY=${BENCH_RELAY_MSGS:-20000}
    NPOPTLS=${BENCH_POP3TLS_MSGS:-100} OFFICE_SECS=${BENCH_OFFICE_SECS:-300}
fi
SESSIONS=${BENCH_SESSIONS:-1 20 200}
IDLE_NS=${BENCH_IDLE:-1000 10000}

ONLY=${BENCH_ONLY:-smtp auth pop3 idle subm_tls relay pop3_tls idle_tls office mx sign}
want() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }
log() { printf '\n=== %s  %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

# smtp-source (postfix), postal (peers), swaks: Debian packages, installed without starting anything
need_packages() {
    local need=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    [ "$(id -u)" = 0 ] || die "missing packages ${need[*]}: run as root"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; }
    (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
}

ports_free() {
    local p
    for p in $SMTP_PORT $SUBM_PORT $POP3_PORT $POP3S_PORT $SINK_PORT $SILENT_PORT; do
        ss -Hltn "sport = :$p" | grep -q . && return 1
    done
    return 0
}

wait_port() {
    local i
    for i in $(seq 100); do
        ss -Hltn "sport = :$1" | grep -q . && return 0
        sleep 0.1
    done
    return 1
}

build_clients() {
    mkdir -p "$BUILD_DIR"
    . "$PEERS/lib.sh"          # build_tools: mailload, fsyncbench into $BUILD_DIR
    build_tools || die "cannot build the peers' mailload"
    local f stale=0
    for f in "$TOP"/bench/*.c "$TOP"/bench/*.h; do [ "$f" -nt "$BUILD_DIR/smtpload" ] && stale=1; done
    if [ ! -x "$BUILD_DIR/smtpload" ] || [ $stale = 1 ]; then
        gcc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$BUILD_DIR/smtpload" "$TOP/bench/smtpload.c" \
            "$TOP"/bench/load*.c -lssl -lcrypto ||
            die "cannot build bench/smtpload.c"
    fi
}

median() { sort -g | awk '{a[NR]=$1} END{ if(NR==0){print "nan"; exit} if(NR%2) print a[(NR+1)/2]; else printf "%.3f\n",(a[NR/2]+a[NR/2+1])/2 }'; }
kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# ---- our server ---------------------------------------------------------------------
OURS=$WORK/ours${BENCH_PORT_OFFSET:+-$BENCH_PORT_OFFSET}
OURS_MD=$OURS/data/mail/example.test/alice
BENCH_USERS="alice bob $(seq -f 'load%02g' 1 50 | tr '\n' ' ')"

ours_config() {
    cat > "$OURS/mailserver.conf" <<EOF
# written by bench/bench.sh: loopback only, durable delivery as in production
[server]
hostname = bench.example.test
domain = example.test
data_dir = $OURS/data
run_as_user = mail
auth_fail_limit = 1000
tls_cert = $OURS/tls/cert.pem
tls_key = $OURS/tls/key.pem

[routes]
# the relay loads: the loopback smtp-sink (as the peers' Postfix relays) and a silent hop
relay.test = 127.0.0.1:$SINK_PORT
slow.test = 127.0.0.1:$SILENT_PORT

[smtp lan]
listen = 127.0.0.1:$SMTP_PORT
tls = starttls
max_connections = 20000
max_connections_per_ip = 20000

[smtp submission]
listen = 127.0.0.1:$SUBM_PORT
tls = starttls
plaintext_auth = always
require_auth = yes
max_connections = 2000
max_connections_per_ip = 2000

[pop3 main]
listen = 127.0.0.1:$POP3_PORT
tls = stls
plaintext_auth = always
max_connections = 2000
max_connections_per_ip = 2000

[pop3 pop3s]
listen = 127.0.0.1:$POP3S_PORT
tls = implicit
max_connections = 2000
max_connections_per_ip = 2000
EOF
}

ours_start() {
    local u d
    ports_free || die "ports $SMTP_PORT/$SUBM_PORT/$POP3_PORT busy (peers or make run still up?)"
    rm -rf "$OURS"; mkdir -p "$OURS/data" "$OURS/log" "$OURS/tls" "$OURS/sink"
    ours_config
    # the same kind of pair as the peers' TLS=1: self-signed RSA-2048
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=bench.example.test" \
        -keyout "$OURS/tls/key.pem" -out "$OURS/tls/cert.pem" >/dev/null 2>&1 || die "openssl req failed"
    chown -R mail:mail "$OURS/tls"; chmod 600 "$OURS/tls/key.pem"; chown nobody:nogroup "$OURS/sink"
    # the Maildirs exist before the loads (fill_maildir.py would otherwise make root-owned parents)
    for u in $BENCH_USERS; do
        mkdir -p "$OURS/data/mail/example.test/$u/new" "$OURS/data/mail/example.test/$u/cur" \
                 "$OURS/data/mail/example.test/$u/tmp"
    done
    chown -R mail:mail "$OURS/data"; chmod -R u=rwX,go= "$OURS/data"
    for u in $BENCH_USERS; do
        echo "secret-$u" | "$TOP/bin/userdb" -c "$OURS/mailserver.conf" add "$u@example.test" --relay --password-stdin \
            >/dev/null || die "userdb add $u failed"
    done
    "$TOP/bin/smtpd" -c "$OURS/mailserver.conf" --check-config > "$OURS/log/check-config.txt" || die "config refused"
    for d in smtpd pop3d; do
        nohup "$TOP/bin/$d" -c "$OURS/mailserver.conf" -f >> "$OURS/log/$d.log" 2>&1 &
        echo $! > "$OURS/$d.pid"
    done
    # the relay target: the same smtp-sink as the peers', dumping each message to a file
    setsid /usr/sbin/smtp-sink -u nobody -h sink.example.test -d "$OURS/sink/%Y%m%d%H/%M." \
        127.0.0.1:$SINK_PORT 128 > "$OURS/log/smtp-sink.log" 2>&1 < /dev/null &
    echo $! > "$OURS/sink.pid"
    wait_port $SMTP_PORT && wait_port $SUBM_PORT && wait_port $POP3_PORT && wait_port $POP3S_PORT &&
        wait_port $SINK_PORT || { ours_stop; die "our daemons did not listen; see $OURS/log"; }
}

ours_stop() {
    local d pid i
    for d in smtpd pop3d; do
        [ -f "$OURS/$d.pid" ] || continue
        pid=$(cat "$OURS/$d.pid")
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && { echo "bench: $d (pid $pid) ignored SIGTERM for 12 s; killing it" >&2; kill -KILL "$pid"; }
        rm -f "$OURS/$d.pid"
    done
    [ -f "$OURS/sink.pid" ] && { kill -TERM "$(cat "$OURS/sink.pid")" 2>/dev/null; rm -f "$OURS/sink.pid"; }
}

# both daemons restarted on the same data (a fresh heap for a memory figure after other
# loads; smtpd alone is not restarted under a running pop3d: see the report of issue 18)
ours_restart() {
    local d pid i
    for d in smtpd pop3d; do
        pid=$(cat "$OURS/$d.pid")
        kill -TERM "$pid" 2>/dev/null
        for i in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    done
    for i in $(seq 50); do ss -Hltn "sport = :$SMTP_PORT" | grep -q . || break; sleep 0.1; done
    for d in smtpd pop3d; do
        nohup "$TOP/bin/$d" -c "$OURS/mailserver.conf" -f >> "$OURS/log/$d.log" 2>&1 &
        echo $! > "$OURS/$d.pid"
    done
    wait_port $SMTP_PORT && wait_port $SUBM_PORT && wait_port $POP3_PORT || die "the daemons did not come back"
}

# ---- the loads (same for us and the peers) ---------------------------------------------
# $1 label, $2 Maildir of alice, $3 owner of the Maildir files, $4 smtp pidfiles, $5 pop3 pidfiles
# (empty pidfiles: the peers' scripts default to the Postfix / Dovecot masters)
mem_idle() {
    local label=$1; shift
    sleep 2
    echo "label=$label what=idle $(python3 "$PEERS/tools/procmem.py" "$@")" | tee -a "$RUN/mem-$label.summary"
}

load_smtp() {
    local label=$1 md=$2 pf=$3 s r out lat
    log "$label: SMTP local delivery, $NMSG x 4 KB at sessions $SESSIONS, $REPS rep(s)"
    SERVER_PIDFILES=$pf "$PEERS/bench-smtp-source.sh" 127.0.0.1:$SMTP_PORT -d "$md" -s "$SESSIONS" -m "$NMSG" \
        -l 4096 -t alice@example.test -r "$REPS" -o "$label" -T 900 || echo "bench: smtp-source run failed" >&2
    log "$label: SMTP latency (end of DATA -> 250), $NLAT messages per run, smtpload deliver"
    for s in $SESSIONS; do
        out=$RUN/deliver-$label-s$s.txt; : > "$out"
        for r in $(seq 1 "$REPS"); do
            "$BUILD_DIR/smtpload" deliver 127.0.0.1 $SMTP_PORT -t alice@example.test -s "$s" -m "$NLAT" -l 4096 \
                | tee -a "$out" || true
        done
        lat="label=$label sessions=$s reps=$REPS"
        lat="$lat median_rate_per_s=$(sed -n 's/.*rate_per_s=\([0-9.]*\).*/\1/p' "$out" | median)"
        lat="$lat median_p50_ms=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$out" | median)"
        lat="$lat median_p99_ms=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$out" | median)"
        lat="$lat median_fail=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' "$out" | median)"
        echo "$lat" | tee -a "$RUN/deliver-$label.summary"
    done
}

load_idle() {
    local label=$1 pf=$2
    log "$label: idle SMTP connections $IDLE_NS"
    SERVER_PIDFILES=$pf "$PEERS/bench-idle-conns.sh" 127.0.0.1:$SMTP_PORT -n "$IDLE_NS" -H 5 -T 120 -P 200 \
        -r "$REPS" -o "$label" || echo "bench: idle-conns run failed" >&2
}

load_auth() {
    local label=$1 pf=$2 mechs=$3 r out
    log "$label: AUTH $mechs at concurrency 10, $ASECS s, $REPS rep(s)"
    SERVER_PIDFILES=$pf "$PEERS/bench-auth.sh" 127.0.0.1:$SUBM_PORT -m "$mechs" -c 10 -d "$ASECS" \
        -u alice -p secret-alice -b 127.0.0.9 -r "$REPS" -o "$label" || echo "bench: auth run failed" >&2
}

load_scram() {
    local label=$1 r out
    out=$RUN/scram-$label.txt
    log "$label: AUTH SCRAM-SHA-256 at concurrency 10 (smtpload scram), $ASECS s, $REPS rep(s)"
    : > "$out"
    for r in $(seq 1 "$REPS"); do
        sleep 2
        "$BUILD_DIR/smtpload" scram 127.0.0.1 $SUBM_PORT -u alice -p secret-alice -c 10 -d "$ASECS" -b 127.0.0.9 \
            | tee -a "$out" || true
    done
    echo "label=$label mech=SCRAM-SHA-256 conc=10 reps=$REPS" \
        "median_auth_per_s=$(sed -n 's/.*rate_per_s=\([0-9.]*\).*/\1/p' "$out" | median)" \
        "median_p50_ms=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$out" | median)" \
        "median_p99_ms=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$out" | median)" \
        "median_fail=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' "$out" | median)" | tee -a "$RUN/auth-$label.summary"
}

load_pop3() {
    local label=$1 md=$2 owner=$3 pf=$4
    log "$label: POP3 bulk ($NPOP x 4 KB, one session) and logins at concurrency 10"
    SERVER_PIDFILES=$pf "$PEERS/bench-pop3.sh" 127.0.0.1:$POP3_PORT -d "$md" -n "$NPOP" -l 4096 -u alice \
        -p secret-alice -O "$owner" -c 10 -D "$ASECS" -r "$REPS" -o "$label" || echo "bench: pop3 run failed" >&2
}

run_ours() {
    log "ours: start smtpd + pop3d (bin/, release build) on 127.0.0.1:$SMTP_PORT/$SUBM_PORT/$POP3_PORT, data in $OURS"
    ours_start
    trap 'ours_stop' EXIT
    local both="$OURS/smtpd.pid $OURS/pop3d.pid"
    mem_idle ours $both
    want smtp && load_smtp ours "$OURS_MD" "$OURS/smtpd.pid"
    want auth && load_auth ours "$OURS/smtpd.pid" "CRAM-MD5 PLAIN"
    want auth && load_scram ours
    want pop3 && load_pop3 ours "$OURS_MD" mail:mail "$OURS/pop3d.pid"
    side_ours
    want subm_tls && load_subm_tls ours
    want relay && load_relay ours
    want pop3_tls && load_pop3_tls ours
    want office && load_office ours
    want idle && load_idle ours "$OURS/smtpd.pid"   # last: glibc keeps the freed heap afterwards
    want idle_tls && { ours_restart; load_idle_tls ours; }
    ours_stop
    trap - EXIT
    grep -h 'warning\|error\|fatal' "$OURS/log/smtpd.log" "$OURS/log/pop3d.log" 2>/dev/null | sort | uniq -c | sort -rn | head -5
}

peer_start() {
    ports_free || die "ports $SMTP_PORT/$SUBM_PORT/$POP3_PORT busy: stop our daemons / make run first"
    log "peer: start.sh $*"
    env "$@" "$PEERS/start.sh" > "$RUN/peer-start.log" 2>&1 || { tail -20 "$RUN/peer-start.log"; die "peer start.sh failed"; }
    trap '"$PEERS/stop.sh" >/dev/null 2>&1' EXIT
}

peer_stop() {
    "$PEERS/stop.sh" >> "$RUN/peer-start.log" 2>&1 || echo "bench: peer stop.sh complained" >&2
    trap - EXIT
}

run_peer() {
    local md=/var/tmp/peer-mail/alice/Maildir pf=/var/tmp/peer-run/spool/pid/master.pid
    local dv=/var/tmp/peer-run/dovecot/run/master.pid
    # Postfix with its smtpd process limit raised to 500 (stock 100 collapses at 200 sessions),
    # Dovecot with process reuse (the fair login comparison), passwords in plaintext (CRAM-MD5)
    # TLS=1: STARTTLS on 2525/2587, STLS and POP3S 2995 (self-signed RSA-2048); NUSERS=50: the office
    peer_start SMTPD_MAXPROC=500 DOVECOT_PERF=1 TLS=1 NUSERS=50
    mem_idle peer "$pf" "$dv"
    want smtp && load_smtp peer "$md" "$pf"
    want auth && load_auth peer "$pf $dv" "CRAM-MD5 PLAIN"
    want pop3 && load_pop3 peer "$md" vmail:vmail "$dv"
    side_peer
    want subm_tls && load_subm_tls peer
    if want relay; then
        # relay_slow: slow.test's next hop is the silent listener, as in our [routes]
        local pfc=/var/tmp/peer-run/postfix
        echo "slow.test smtp:[127.0.0.1]:$SILENT_PORT" > "$pfc/transport"
        postmap -c "$pfc" "hash:$pfc/transport" && postconf -c "$pfc" -e "transport_maps = hash:$pfc/transport" &&
            postfix -c "$pfc" reload >> "$RUN/peer-start.log" 2>&1 || die "postfix transport_maps"
        load_relay peer
    fi
    want pop3_tls && load_pop3_tls peer
    want office && load_office peer
    peer_stop
    want auth || return 0
    # equal hashing cost for PLAIN: Dovecot storing SHA512-CRYPT
    peer_start DOVECOT_SCHEME=SHA512-CRYPT DOVECOT_PERF=1
    load_auth peersha "$pf $dv" "PLAIN"
    peer_stop
}

. "$TOP/bench/loads_tls.sh"
. "$TOP/bench/bench_mx.sh"    # run_mx, run_sign: the anti-spam and DKIM-signing rows

# ---- main ------------------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (the daemons drop to run_as_user; the peers need root)"
case $MODE in
ours|compare) ;;
start) ulimit -n "$(ulimit -Hn)"; ours_start; echo "ours running: pids $(cat "$OURS"/*.pid | tr '\n' ' ')"; exit 0;;
stop) ours_stop; exit 0;;
*) die "usage: bench.sh ours|compare|start|stop";;
esac
need_packages postfix swaks
[ "$MODE" = compare ] && need_packages dovecot-core dovecot-pop3d postal
mkdir -p "$RUN" "$TOP/bench/results"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # 10,000 idle connections need > 10,000 fds
build_clients
{ want mx || want sign; } && mx_build
echo "bench: mode=$MODE quick=${BENCH_QUICK:-0} reps=$REPS msgs=$NMSG pop3=$NPOP sessions='$SESSIONS' idle='$IDLE_NS' auth=${ASECS}s raw=$RUN"
[ "$MODE" = compare ] && run_peer
run_ours
want mx && { need_packages nsd python3-dkim; run_mx; }
want sign && run_sign
python3 "$TOP/bench/report.py" "$RUN" --out "$TOP/bench/results" --stamp "$STAMP" \
    --meta "mode=$MODE reps=$REPS msgs=$NMSG pop3_msgs=$NPOP auth_secs=$ASECS quick=${BENCH_QUICK:-0}"
