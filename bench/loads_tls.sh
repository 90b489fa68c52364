# loads_tls.sh - the loads of issue 18 for bench.sh (sourced): what mail clients and a whole
# office put on the servers. The same client (build/bench/tools/smtpload) drives both sides;
# each run records the client's CPU seconds (/usr/bin/time) and the server trees' CPU
# (proccpu.py) and checks that every message arrived (Maildir or smtp-sink count).
#   subm_tls   submission: STARTTLS, AUTH PLAIN, one 20 KB message, QUIT; 50 clients
#   relay      NRELAY x 4 KB for relay.test on the LAN port, 20 sessions, until all are at
#              the loopback smtp-sink; relay_slow: the same while slow.test's hop is silent
#   pop3_tls   20 users load01..load20, sessions of STLS, USER/PASS, UIDL, RETR + DELE of 20,
#              QUIT until each mailbox (filled with fill_maildir.py) is empty; pop3s: the same
#              over implicit TLS on 2995
#   idle_tls   10,000 SMTP sessions held after STARTTLS (our side: the PSS target)
#   office     a mixed load for OFFICE_SECS (loadoffice.c)
# The side's paths: MD_FMT (printf format of a user's Maildir), OWNER, SINK, PIDS_SMTP,
# PIDS_POP3 (set by side_ours / side_peer).

side_ours() {
    MD_FMT="$OURS/data/mail/example.test/%s" OWNER=mail:mail SINK=$OURS/sink
    PIDS_SMTP="$OURS/smtpd.pid" PIDS_POP3="$OURS/pop3d.pid"
}

side_peer() {
    MD_FMT="/var/tmp/peer-mail/%s/Maildir" OWNER=vmail:vmail SINK=/var/tmp/peer-run/sink
    PIDS_SMTP="/var/tmp/peer-run/spool/pid/master.pid /var/tmp/peer-run/dovecot/run/master.pid"
    PIDS_POP3="/var/tmp/peer-run/dovecot/run/master.pid"
}

srv_cpu() { python3 "$TOP/bench/proccpu.py" "$@" | sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p'; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
files_in() { find "$1" -type f 2>/dev/null | wc -l; }

# timed CMD...: run a load client under /usr/bin/time; LINE = its last output line plus
# client_cpu_s=
timed() {
    local tv
    tv=$(mktemp)
    LINE=$(/usr/bin/time -f '%U %S' -o "$tv" "$@" 2>&1 | tail -1)
    LINE="$LINE client_cpu_s=$(tail -1 "$tv" | awk '{printf "%.2f", $1 + $2}')"
    rm -f "$tv"
}

# summarize FILE LABEL LOAD: the medians of the per-run lines of FILE, one summary line
summarize() {
    local f=$1 k line="label=$2 load=$3 reps=$REPS"
    for k in rate_per_s p50_ms p99_ms fail seconds client_cpu_s srv_cpu_s srv_peak_pss_kb missing; do
        grep -q " $k=" "$f" && line="$line median_$k=$(sed -n "s/.* $k=\([0-9.]*\).*/\1/p" "$f" | median)"
    done
    echo "$line" | tee -a "$RUN/tls-$2.summary"
}

load_subm_tls() {
    local label=$1 out=$RUN/subm_tls-$1.txt md base c0 w got r
    md=$(printf "$MD_FMT" bob)/new
    log "$label: submission STARTTLS + AUTH PLAIN + 20 KB, $NSUBM sessions by 50 clients, $REPS rep(s)"
    : > "$out"
    for r in $(seq 1 "$REPS"); do
        sleep 2
        base=$(files_in "$md") c0=$(srv_cpu $PIDS_SMTP)
        mem_start $PIDS_SMTP
        timed "$BUILD_DIR/smtpload" subm 127.0.0.1 $SUBM_PORT -u alice@example.test -p secret-alice \
            -t bob@example.test -c 50 -m "$NSUBM" -l 20480
        w=$(python3 "$PEERS/tools/maildir_wait.py" "$md" $((base + NSUBM)) 120)
        got=$(( $(kv count "$w") - base ))
        echo " $LINE srv_cpu_s=$(sub "$(srv_cpu $PIDS_SMTP)" "$c0") srv_peak_pss_kb=$(kv peak_pss_kb "$(mem_stop)") delivered=$got missing=$((NSUBM - got))" | tee -a "$out"
    done
    summarize "$out" "$label" subm_tls
}

# load_relay LABEL 0|1 (1: relay_slow, 100 more messages for slow.test's silent hop meanwhile)
load_relay() {
    local label=$1 slow=$2 name=relay out base c0 t0 w secs r sp= lp=
    [ "$slow" = 1 ] && name=relay_slow
    out=$RUN/$name-$label.txt; : > "$out"
    log "$label: $name: $NRELAY x 4 KB for relay.test, 20 sessions, until at the smtp-sink, $REPS rep(s)"
    if [ "$slow" = 1 ]; then
        python3 "$TOP/bench/silent.py" $SILENT_PORT & sp=$!
        wait_port $SILENT_PORT || die "silent.py did not listen"
    fi
    for r in $(seq 1 "$REPS"); do
        sleep 2
        base=$(files_in "$SINK") c0=$(srv_cpu $PIDS_SMTP) t0=$(date +%s.%N)
        [ "$slow" = 1 ] && { "$BUILD_DIR/smtpload" deliver 127.0.0.1 $SMTP_PORT -t stuck@slow.test -s 2 -m 100 \
            >> "$RUN/$name-$label.slow.txt" 2>&1 & lp=$!; }
        timed "$BUILD_DIR/smtpload" deliver 127.0.0.1 $SMTP_PORT -t sink@relay.test -s 20 -m "$NRELAY"
        w=$(python3 "$TOP/bench/sinkwait.py" "$SINK" $((base + NRELAY)) 900)
        secs=$(sub "$(kv last_mtime "$w")" "$t0")
        [ -n "$lp" ] && wait "$lp"
        echo " $LINE srv_cpu_s=$(sub "$(srv_cpu $PIDS_SMTP)" "$c0") relay_seconds=$secs at_sink=$(( $(kv count "$w") - base )) missing=$((base + NRELAY - $(kv count "$w")))" | tee -a "$out"
    done
    [ -n "$sp" ] && { kill "$sp"; wait "$sp" 2>/dev/null; }
    sed -i 's/ seconds=/ accept_seconds=/; s/ relay_seconds=/ seconds=/' "$out"
    summarize "$out" "$label" "$name"
}
