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
# BENCH_TLS_RESUME=1: subm_tls, pop3_tls and pop3s clients resume their TLS sessions (smtpload
# -R, each thread its last ticket), as mail clients with a session cache do; default: full
# handshakes.
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
            -t bob@example.test -c 50 -m "$NSUBM" -l 20480 ${BENCH_TLS_RESUME:+-R}
        w=$(python3 "$PEERS/tools/maildir_wait.py" "$md" $((base + NSUBM)) 120)
        got=$(( $(kv count "$w") - base ))
        echo " $LINE srv_cpu_s=$(sub "$(srv_cpu $PIDS_SMTP)" "$c0") srv_peak_pss_kb=$(kv peak_pss_kb "$(mem_stop)") delivered=$got missing=$((NSUBM - got))" | tee -a "$out"
    done
    summarize "$out" "$label" subm_tls
}

# relay_run LABEL 0|1: one run of relay (0) or relay_slow (1: 100 more messages for
# slow.test's silent hop meanwhile), its line appended to $RUN/NAME-LABEL.txt
relay_run() {
    local label=$1 slow=$2 name=relay base c0 t0 w secs lp=
    [ "$slow" = 1 ] && name=relay_slow
    find "$SINK" -mindepth 1 -delete   # an empty sink each run: counting 40,000 files costs
    sleep "${RELAY_PAUSE:-2}"
    RELAY_PAUSE=${BENCH_RELAY_PAUSE:-10}
    base=$(files_in "$SINK") c0=$(srv_cpu $PIDS_SMTP) t0=$(date +%s.%N)
    [ "$slow" = 1 ] && { "$BUILD_DIR/smtpload" deliver 127.0.0.1 $SMTP_PORT -t stuck@slow.test -s 2 -m 100 \
        >> "$RUN/$name-$label.slow.txt" 2>&1 & lp=$!; }
    timed "$BUILD_DIR/smtpload" deliver 127.0.0.1 $SMTP_PORT -t sink@relay.test -s 20 -m "$NRELAY"
    w=$(python3 "$TOP/bench/sinkwait.py" "$SINK" $((base + NRELAY)) 900)
    secs=$(sub "$(kv last_mtime "$w")" "$t0")
    [ -n "$lp" ] && wait "$lp"
    LINE=${LINE/ seconds=/ accept_seconds=}
    echo " $name $LINE srv_cpu_s=$(sub "$(srv_cpu $PIDS_SMTP)" "$c0") seconds=$secs at_sink=$(( $(kv count "$w") - base )) missing=$((base + NRELAY - $(kv count "$w")))" | tee -a "$RUN/$name-$label.txt"
}

# relay and relay_slow, interleaved and in alternating order, BENCH_RELAY_PAUSE (10) s
# apart: a run right after another on the same queue directories is slower (perf: ext4's
# inode allocator, which skips recently deleted inodes, and each message creates and
# deletes a few: 20,000 messages 20.6 s, the next 32.1 s; relay_slow run first 7.8 s,
# plain relay 40 s later 12.0 s), so neither variant may always come second
load_relay() {
    local label=$1 r sp RELAY_PAUSE=2
    : > "$RUN/relay-$label.txt"; : > "$RUN/relay_slow-$label.txt"
    log "$label: relay and relay_slow: $NRELAY x 4 KB for relay.test, 20 sessions, until at the smtp-sink, $REPS rep(s) each"
    python3 "$TOP/bench/silent.py" $SILENT_PORT & sp=$!
    wait_port $SILENT_PORT || die "silent.py did not listen"
    for r in $(seq 1 "$REPS"); do
        if [ $((r % 2)) = 1 ]; then relay_run "$label" 0; relay_run "$label" 1
        else relay_run "$label" 1; relay_run "$label" 0; fi
    done
    kill "$sp"; wait "$sp" 2>/dev/null
    summarize "$RUN/relay-$label.txt" "$label" relay
    summarize "$RUN/relay_slow-$label.txt" "$label" relay_slow
}

# the 20 POP3 users' mailboxes: NPOPTLS fresh 20 KB messages each, nothing else
fill_pop3_users() {
    local u md
    for u in $(seq -f 'load%02g' 1 20); do
        md=$(printf "$MD_FMT" "$u")
        reset_dir "$md/new"; reset_dir "$md/cur"; reset_dir "$md/tmp"
        find "$md" -maxdepth 1 -type f -delete 2>/dev/null
        python3 "$PEERS/tools/fill_maildir.py" "$md" "$NPOPTLS" 20480 "$OWNER" > /dev/null || die "fill_maildir.py $md"
    done
    sync
}

left_pop3_users() {
    local u md n=0
    for u in $(seq -f 'load%02g' 1 20); do
        md=$(printf "$MD_FMT" "$u")
        n=$((n + $(files_in "$md/new") + $(files_in "$md/cur")))
    done
    echo $n
}

load_pop3_tls() {
    local label=$1 kind port name out uf=$RUN/pop3tls-users.txt r c0 left want=$((20 * NPOPTLS))
    seq -f 'load%02g' 1 20 | awk '{print $1 " secret-" $1}' > "$uf"
    for kind in stls implicit; do
        name=pop3_tls port=$POP3_PORT
        [ $kind = implicit ] && name=pop3s port=$POP3S_PORT
        out=$RUN/$name-$label.txt; : > "$out"
        log "$label: $name: 20 users, sessions of $kind, UIDL, RETR+DELE of 20 x 20 KB, until $NPOPTLS each, $REPS rep(s)"
        for r in $(seq 1 "$REPS"); do
            fill_pop3_users; sleep 2
            c0=$(srv_cpu $PIDS_POP3)
            mem_start $PIDS_POP3
            timed "$BUILD_DIR/smtpload" pop3 127.0.0.1 $port -U "$uf" -m "$NPOPTLS" -n 20 -k $kind ${BENCH_TLS_RESUME:+-R}
            left=$(left_pop3_users)
            echo " $LINE srv_cpu_s=$(sub "$(srv_cpu $PIDS_POP3)" "$c0") srv_peak_pss_kb=$(kv peak_pss_kb "$(mem_stop)") left=$left missing=$((want - $(kv items "$LINE") + left))" | tee -a "$out"
        done
        summarize "$out" "$label" "$name"
    done
}

# 10,000 SMTP sessions held after STARTTLS on the LAN port: the SMTP daemon's PSS (our
# side only: the peers' one process per session is measured in their README)
load_idle_tls() {
    local label=$1 n=${BENCH_IDLE_TLS:-10000} out r lp held mem
    out=$RUN/idle_tls-$label.txt; : > "$out"
    log "$label: idle_tls: $n SMTP sessions held after STARTTLS, $REPS rep(s)"
    for r in $(seq 1 "$REPS"); do
        sleep 3
        "$BUILD_DIR/smtpload" idle 127.0.0.1 $SMTP_PORT "$n" -c 50 -H 5 > "$RUN/idle_tls-$label.raw" 2>&1 & lp=$!
        for _ in $(seq 3000); do grep -q '^READY' "$RUN/idle_tls-$label.raw" && break; kill -0 $lp 2>/dev/null || break; sleep 0.1; done
        sleep 1
        mem=$(python3 "$PEERS/tools/procmem.py" $PIDS_SMTP)
        wait $lp
        held=$(grep '^READY' "$RUN/idle_tls-$label.raw" || echo "READY held=0")
        echo " $held $(grep '^DONE' "$RUN/idle_tls-$label.raw") srv_pss_kb=$(kv pss_kb "$mem") missing=$((n - $(kv held "$held")))" | tee -a "$out"
    done
    local line="label=$label load=idle_tls n=$n reps=$REPS"
    line="$line median_srv_pss_kb=$(sed -n 's/.* srv_pss_kb=\([0-9]*\).*/\1/p' "$out" | median)"
    line="$line median_held=$(sed -n 's/.* held=\([0-9]*\).*/\1/p' "$out" | median)"
    line="$line median_missing=$(sed -n 's/.* missing=\([0-9]*\).*/\1/p' "$out" | median)"
    echo "$line" | tee -a "$RUN/tls-$label.summary"
}

# office: OFFICE_SECS of 50 users (POP3 STLS poll and one submission a minute each, every
# 10th message relayed to the sink) and 20 outside sessions at the LAN port from 127.0.0.9
# (STARTTLS, a message every 5 s each). Figures: CPU seconds and peak PSS of both daemons'
# trees for the same work, errors (must be 0), every message found (POP3 + Maildir, sink).
load_office() {
    local label=$1 out=$RUN/office-$1.txt uf=$RUN/office-users.txt r c0 base left w i miss loc rel got
    local all="$PIDS_SMTP $PIDS_POP3"
    seq -f 'load%02g' 1 50 | awk '{print $1 "@example.test secret-" $1}' > "$uf"
    : > "$out"
    local reps=${BENCH_OFFICE_REPS:-1}    # 5 minutes a run: one run per side unless asked
    log "$label: office: 50 users + 20 outside sessions for $OFFICE_SECS s, $reps rep(s)"
    for r in $(seq 1 "$reps"); do
        for i in $(seq -f 'load%02g' 1 50); do
            reset_dir "$(printf "$MD_FMT" "$i")/new"; reset_dir "$(printf "$MD_FMT" "$i")/cur"
        done
        sleep 2
        base=$(files_in "$SINK") c0=$(srv_cpu $all)
        mem_start $all
        timed "$BUILD_DIR/smtpload" office 127.0.0.1 $SMTP_PORT -U "$uf" -S $SUBM_PORT -P $POP3_PORT \
            -d "$OFFICE_SECS" -i 20 -r 5 -b 127.0.0.9
        loc=$(kv local_sent "$LINE") rel=$(kv relay_sent "$LINE") got=$(kv retrieved "$LINE")
        for i in $(seq 30); do          # what was accepted last may still be on its way
            left=0
            for u in $(seq -f 'load%02g' 1 50); do
                left=$((left + $(files_in "$(printf "$MD_FMT" "$u")/new") + $(files_in "$(printf "$MD_FMT" "$u")/cur")))
            done
            [ $((got + left)) -ge "$loc" ] && break
            sleep 1
        done
        w=$(python3 "$TOP/bench/sinkwait.py" "$SINK" $((base + rel)) 60)
        miss=$(( loc - got - left + base + rel - $(kv count "$w") ))
        echo " $LINE srv_cpu_s=$(sub "$(srv_cpu $all)" "$c0") srv_peak_pss_kb=$(kv peak_pss_kb "$(mem_stop)") left=$left missing=$miss" | tee -a "$out"
    done
    local line="label=$label load=office secs=$OFFICE_SECS reps=$reps" k
    for k in errors local_sent relay_sent retrieved p99_ms client_cpu_s srv_cpu_s srv_peak_pss_kb missing; do
        line="$line median_$k=$(sed -n "s/.* $k=\([0-9.]*\).*/\1/p" "$out" | median)"
    done
    echo "$line" | tee -a "$RUN/tls-$label.summary"
}
