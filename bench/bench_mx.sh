# bench_mx.sh - the anti-spam and DKIM-signing rows of the bench, sourced by bench/bench.sh
# (BENCH_ONLY "mx" and "sign"); uses its WORK, RUN, REPS, BUILD_DIR, log, die, median.
#
# mx:   one smtpd with two MX instances (relay = no, lan is 127.0.0.1 only) that differ only in
#       their checks: mx_plain has none, mx_checks has dnsbl (a zone in NSD, the client not
#       listed), spf = tag (the sender domain's record passes the client), and dkim_verify = yes +
#       dmarc = tag when this build's --check-config accepts them (the messages are signed
#       beforehand by dkimpy with a key published in NSD, DMARC p=reject). A "remote" client:
#       this machine's own non-loopback address when it has one (libspf2 passes loopback clients
#       without any lookup, which would measure no SPF at all), else 127.0.0.9. 20 sessions, one
#       message per connection, to a local user; a warm-up run first fills the DNS caches.
#       Figures: msgs/s and p50/p99 of end of DATA -> 250 (smtpload deliver).
# sign: one smtpd with a LAN instance; From: domains without keys (nokey.example), with an
#       RSA-2048 key (rsa.example) and with RSA + Ed25519 (ed.example), all local (domain_aliases).
#       sign_*: LAN client -> queue -> smtpsink on loopback ([routes]), msgs/s counted at the
#       sink from the client's start to the last message's final dot; signl_*: the same
#       messages delivered locally (signing happens before storing), msgs/s at the client.
# Env: BENCH_MX_MSGS, BENCH_SIGN_MSGS (messages per run), BENCH_MX_SESSIONS (20),
#      BENCH_MX_CLIENT (source address), BENCH_MX_PORTS ("2725 2726 2727 2728 2753", moved
#      by BENCH_PORT_OFFSET: MX plain, MX checks, sign LAN, sink, NSD).

if [ "${BENCH_QUICK:-0}" = 1 ]; then
    MX_N=${BENCH_MX_MSGS:-1000} SIGN_N=${BENCH_SIGN_MSGS:-1000}
else
    MX_N=${BENCH_MX_MSGS:-5000} SIGN_N=${BENCH_SIGN_MSGS:-5000}
fi
MX_S=${BENCH_MX_SESSIONS:-20}
mxo=${BENCH_PORT_OFFSET:-0}
read -r MX_PLAIN_PORT MX_CHECKS_PORT MX_SIGN_PORT MX_SINK_PORT MX_NSD_PORT <<< \
    "${BENCH_MX_PORTS:-$((2725 + mxo)) $((2726 + mxo)) $((2727 + mxo)) $((2728 + mxo)) $((2753 + mxo))}"
MXW=$WORK/mx
SGW=$WORK/sign
MX_SENDER_DOMAIN=mxbench.example

# this machine's address towards its default route, if not loopback; else 127.0.0.9
mx_client_ip() {
    local ip
    [ -n "${BENCH_MX_CLIENT:-}" ] && { echo "$BENCH_MX_CLIENT"; return; }
    ip=$(ip -4 route get 198.51.100.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p' | head -1)
    case $ip in ''|127.*) echo 127.0.0.9;; *) echo "$ip";; esac
}

mx_build() {
    if [ ! -x "$BUILD_DIR/smtpsink" ] || [ "$TOP/bench/smtpsink.c" -nt "$BUILD_DIR/smtpsink" ]; then
        gcc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread -o "$BUILD_DIR/smtpsink" "$TOP/bench/smtpsink.c" ||
            die "cannot build bench/smtpsink.c"
    fi
}

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

# $1 dir; zone files $1/*.zone already written: NSD in the foreground on 127.0.0.1:$MX_NSD_PORT
mx_nsd_start() {
    local dir=$1 z
    port_busy "$MX_NSD_PORT" && die "port $MX_NSD_PORT busy (BENCH_MX_PORTS)"
    {
        printf 'server:\n    ip-address: 127.0.0.1\n    port: %s\n    username: ""\n    chroot: ""\n' "$MX_NSD_PORT"
        printf '    zonesdir: "%s"\n    database: ""\n    pidfile: "%s/nsd.pid"\n' "$dir" "$dir"
        printf '    xfrdfile: "%s/xfrd.state"\n    zonelistfile: "%s/zone.list"\n' "$dir" "$dir"
        printf '    server-count: 1\n    do-ip6: no\n    verbosity: 1\nremote-control:\n    control-enable: no\n'
        for z in "$dir"/*.zone; do
            z=$(basename "$z" .zone)
            printf 'zone:\n    name: %s\n    zonefile: %s.zone\n' "$z" "$z"
        done
    } > "$dir/nsd.conf"
    /usr/sbin/nsd -d -c "$dir/nsd.conf" > "$dir/nsd.log" 2>&1 &
    echo $! > "$dir/nsd.run.pid"
    for _ in $(seq 100); do
        grep -q "nsd started" "$dir/nsd.log" 2>/dev/null && return 0
        sleep 0.05
    done
    cat "$dir/nsd.log" >&2
    die "nsd did not start"
}

# $1 zone name, $2 file; records on stdin (owner TYPE data)
mx_zone() {
    { printf '$TTL 3600\n@ IN SOA ns.%s. admin.%s. 1 3600 600 86400 3600\n@ IN NS ns.%s.\nns IN A 127.0.0.1\n' "$1" "$1" "$1"
      cat; } > "$2"
}

# $1 dir, $2 config text: a data dir owned by run_as_user, alice added, the config checked
mx_daemon_prepare() {
    local dir=$1
    rm -rf "$dir/data" "$dir/log"; mkdir -p "$dir/data/mail/example.test/alice"/{new,cur,tmp} "$dir/log"
    printf '%s\n' "$2" > "$dir/mailserver.conf"
    chown -R mail:mail "$dir/data"; chmod -R u=rwX,go= "$dir/data"
    echo "secret-alice" | "$TOP/bin/userdb" -c "$dir/mailserver.conf" add alice@example.test --password-stdin \
        >/dev/null || die "userdb add alice failed ($dir)"
}

# $1 dir, $2... ports to wait for
mx_daemon_start() {
    local dir=$1 p; shift
    "$TOP/bin/smtpd" -c "$dir/mailserver.conf" --check-config > "$dir/log/check-config.txt" 2>&1 ||
        { cat "$dir/log/check-config.txt" >&2; die "config refused ($dir)"; }
    nohup "$TOP/bin/smtpd" -c "$dir/mailserver.conf" -f >> "$dir/log/smtpd.log" 2>&1 &
    echo $! > "$dir/smtpd.pid"
    for p in "$@"; do wait_port "$p" || { mx_daemon_stop "$dir"; die "smtpd did not listen on $p; see $dir/log"; }; done
}

mx_daemon_stop() {
    local pid
    [ -f "$1/smtpd.pid" ] || return 0
    pid=$(cat "$1/smtpd.pid")
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$1/smtpd.pid"
}

mx_nsd_stop() {
    [ -f "$1/nsd.run.pid" ] || return 0
    kill -TERM "$(cat "$1/nsd.run.pid")" 2>/dev/null
    wait "$(cat "$1/nsd.run.pid")" 2>/dev/null
    rm -f "$1/nsd.run.pid"
}

# $1 out file, $2 summary file, $3 row, $4 extra "k=v" for the summary: medians of smtpload lines
mx_summary() {
    echo "label=ours row=$3 sessions=$MX_S reps=$REPS $4" \
        "median_rate_per_s=$(sed -n 's/.*rate_per_s=\([0-9.]*\).*/\1/p' "$1" | median)" \
        "median_p50_ms=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' "$1" | median)" \
        "median_p99_ms=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' "$1" | median)" \
        "median_fail=$(sed -n 's/.*fail=\([0-9]*\).*/\1/p' "$1" | median)" | tee -a "$2"
}

# The message of the mx rows, DKIM-signed by dkimpy: $1 key file, $2 out file
mx_message() {
    /usr/bin/python3 - "$1" "$2" "$MX_SENDER_DOMAIN" <<'EOF' || die "cannot sign the mx message (python3-dkim)"
import sys, dkim
key, out, dom = open(sys.argv[1], "rb").read(), sys.argv[2], sys.argv[3]
line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmnopqrst\r\n"
msg = (b"From: Load Sender <loadsender@" + dom.encode() + b">\r\nTo: <alice@example.test>\r\n"
       b"Subject: mx bench\r\nDate: Mon, 07 Dec 2026 00:00:00 +0000\r\n"
       b"Message-ID: <mxbench@" + dom.encode() + b">\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + line * 50)
sig = dkim.sign(msg, b"mxb", dom.encode(), key, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
open(out, "wb").write(sig + msg)
EOF
}

mx_config() {
    local extra=$1
    cat <<EOF
# written by bench/bench_mx.sh: two MX instances, the same but for their checks
[server]
hostname = mx.example.test
domain = example.test
data_dir = $MXW/data
run_as_user = mail
lan = 127.0.0.1
dns_servers = 127.0.0.1:$MX_NSD_PORT
dns_timeout = 2s

[smtp mxplain]
listen = 127.0.0.1:$MX_PLAIN_PORT
relay = no
max_connections = 2000
max_connections_per_ip = 2000

[smtp mxchecks]
listen = 127.0.0.1:$MX_CHECKS_PORT
relay = no
max_connections = 2000
max_connections_per_ip = 2000
dnsbl = bl.example
spf = tag
greylist = no
$extra
EOF
}

# $1 port, $2 count, $3 source address, $4 message file: one smtpload deliver line
mx_load() {
    "$BUILD_DIR/smtpload" deliver 127.0.0.1 "$1" -b "$3" -t alice@example.test -f "loadsender@$MX_SENDER_DOMAIN" \
        -s "$MX_S" -m "$2" -F "$4"
}

# $1 daemon dir: its smtpd's CPU so far (user + system), ms
mx_cpu_ms() {
    awk '{ sub(/.*\) /, ""); split($0, f, " "); print int((f[12] + f[13]) * 1000 / '"$(getconf CLK_TCK)"') }' \
        "/proc/$(cat "$1/smtpd.pid")/stat"
}

run_mx() {
    local client pub checks=dnsbl,spf extra="" row port first cpu0
    client=$(mx_client_ip)
    log "mx: MX instance, remote client $client, $MX_S sessions, $MX_N messages per run, $REPS rep(s): no checks vs checks"
    for port in $MX_PLAIN_PORT $MX_CHECKS_PORT; do port_busy "$port" && die "port $port busy (BENCH_MX_PORTS)"; done
    rm -rf "$MXW"; mkdir -p "$MXW/nsd"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$MXW/dkim.key" 2>/dev/null || die "openssl genpkey"
    pub=$(openssl pkey -in "$MXW/dkim.key" -pubout -outform DER 2>/dev/null | base64 -w0)
    mx_message "$MXW/dkim.key" "$MXW/message.eml"
    mx_zone $MX_SENDER_DOMAIN "$MXW/nsd/$MX_SENDER_DOMAIN.zone" <<EOF
@ TXT "v=spf1 ip4:$client -all"
@ MX 10 mx.$MX_SENDER_DOMAIN.
mx A 198.51.100.25
mxb._domainkey TXT "v=DKIM1; k=rsa; p=${pub:0:200}" "${pub:200}"
_dmarc TXT "v=DMARC1; p=reject; adkim=r; aspf=r"
EOF
    mx_zone bl.example "$MXW/nsd/bl.example.zone" <<EOF
2.0.0.127 A 127.0.0.2
2.0.0.127 TXT "listed for the bench"
EOF
    mx_nsd_start "$MXW/nsd"
    trap 'mx_daemon_stop "$MXW"; mx_nsd_stop "$MXW/nsd"' EXIT
    # dkim_verify and dmarc where this build has them
    mkdir -p "$MXW/data"
    mx_config "dkim_verify = yes
dmarc = tag" > "$MXW/probe.conf"
    if "$TOP/bin/smtpd" -c "$MXW/probe.conf" --check-config > "$MXW/probe.txt" 2>&1; then
        extra="dkim_verify = yes
dmarc = tag"
        checks=dnsbl,spf,dkim_verify,dmarc
    else
        echo "mx: this build has no dkim_verify/dmarc ($(grep -m1 -o "key '[a-z_]*'[^;]*" "$MXW/probe.txt")): measuring dnsbl + spf"
    fi
    mx_daemon_prepare "$MXW" "$(mx_config "$extra")"
    mx_daemon_start "$MXW" "$MX_PLAIN_PORT" "$MX_CHECKS_PORT"
    # the checks must really run: one message, its Authentication-Results read back
    mx_load "$MX_CHECKS_PORT" 1 "$client" "$MXW/message.eml" > /dev/null || echo "mx: the probe message failed" >&2
    first=$(find "$MXW/data/mail/example.test/alice/new" -type f | head -1)
    grep -m1 '^Authentication-Results:' "$first" 2>/dev/null |
        tee "$MXW/authres.txt" | sed 's/^/mx: probe: /'
    grep -q 'spf=pass' "$MXW/authres.txt" || echo "mx: WARNING: the probe message has no spf=pass: the checks row measures less" >&2
    [ "$checks" = dnsbl,spf ] || grep -q 'dkim=pass.*dmarc=pass' "$MXW/authres.txt" ||
        echo "mx: WARNING: the probe message has no dkim=pass and dmarc=pass" >&2
    log "mx: warm-up (DNS caches), checks = $checks"
    mx_load "$MX_PLAIN_PORT" 200 "$client" "$MXW/message.eml" > /dev/null
    mx_load "$MX_CHECKS_PORT" 200 "$client" "$MXW/message.eml" > /dev/null
    : > "$RUN/mx-plain.txt"; : > "$RUN/mx-checks.txt"
    for _ in $(seq 1 "$REPS"); do
        for row in plain checks; do
            [ $row = plain ] && port=$MX_PLAIN_PORT || port=$MX_CHECKS_PORT
            sleep 1
            echo -n "mx_$row: "
            cpu0=$(mx_cpu_ms "$MXW")
            mx_load "$port" "$MX_N" "$client" "$MXW/message.eml" | tee -a "$RUN/mx-$row.txt" || true
            # smtpd's CPU per message: steadier than msgs/s on a shared machine
            echo "mx_$row: smtpd_cpu_us_per_msg=$(( ($(mx_cpu_ms "$MXW") - cpu0) * 1000 / MX_N ))" |
                tee -a "$RUN/mx-cpu.txt"
        done
        find "$MXW/data/mail/example.test/alice/new" -type f -delete   # keep the Maildir small
    done
    mx_summary "$RUN/mx-plain.txt" "$RUN/mx-ours.summary" mx_plain "client=$client"
    mx_summary "$RUN/mx-checks.txt" "$RUN/mx-ours.summary" mx_checks "client=$client checks=$checks"
    mx_daemon_stop "$MXW"
    mx_nsd_stop "$MXW/nsd"
    trap - EXIT
    grep -h 'warning\|error\|fatal' "$MXW/log/smtpd.log" 2>/dev/null | sort | uniq -c | sort -rn | head -5
}

sign_config() {
    cat <<EOF
# written by bench/bench_mx.sh: a LAN instance relaying to a loopback sink, local keys
[server]
hostname = sign.example.test
domain = example.test
domain_aliases = nokey.example, rsa.example, ed.example
data_dir = $SGW/data
run_as_user = mail

[routes]
remote.example = 127.0.0.1:$MX_SINK_PORT

[smtp lan]
listen = 127.0.0.1:$MX_SIGN_PORT
max_connections = 2000
max_connections_per_ip = 2000
EOF
}

# $1 row (none|rsa|ed25519), $2 out: relay run, counted at the sink
sign_relay_run() {
    local dom=$2 t0 sink
    "$BUILD_DIR/smtpsink" "$MX_SINK_PORT" -n "$SIGN_N" -T 300 > "$SGW/sink.out" &
    sink=$! SINK_PID=$!
    wait_port "$MX_SINK_PORT" || die "smtpsink did not listen"
    t0=$(date +%s.%N)
    "$BUILD_DIR/smtpload" deliver 127.0.0.1 "$MX_SIGN_PORT" -t bob@remote.example -f "load@$dom" -s "$MX_S" \
        -m "$SIGN_N" -l 4096 > "$SGW/client.out" || echo "sign: client failures: $(cat "$SGW/client.out")" >&2
    wait "$sink"
    SINK_PID=
    awk -v t0="$t0" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } }
        END { s = v["last_epoch"] - t0; printf "ok=%d fail=%d seconds=%.3f rate_per_s=%.1f\n", v["ok"], (v["timeout"] ? 1 : 0), s, (s > 0 ? v["ok"] / s : 0) }' \
        "$SGW/sink.out"
}

run_sign() {
    local row dom n port
    log "sign: LAN -> queue -> sink and LAN -> local delivery, $MX_S sessions, $SIGN_N messages per run, $REPS rep(s)"
    for port in $MX_SIGN_PORT $MX_SINK_PORT; do port_busy "$port" && die "port $port busy (BENCH_MX_PORTS)"; done
    rm -rf "$SGW"; mkdir -p "$SGW"
    trap 'mx_daemon_stop "$SGW"; [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null' EXIT
    mx_daemon_prepare "$SGW" "$(sign_config)"
    "$TOP/bin/userdb" -c "$SGW/mailserver.conf" dkim add rsa.example --selector r1 > /dev/null &&
        "$TOP/bin/userdb" -c "$SGW/mailserver.conf" dkim add ed.example --selector r1 > /dev/null &&
        "$TOP/bin/userdb" -c "$SGW/mailserver.conf" dkim add ed.example --selector e1 --algorithm ed25519 > /dev/null ||
        die "userdb dkim add failed"
    chown -R mail:mail "$SGW/data"
    mx_daemon_start "$SGW" "$MX_SIGN_PORT"
    # each domain really gets 0, 1, 2 signatures: one local message each, read back
    local want d
    for row in none:nokey.example:0 rsa:rsa.example:1 ed25519:ed.example:2; do
        d=$(echo "$row" | cut -d: -f2); want=${row##*:}
        "$BUILD_DIR/smtpload" deliver 127.0.0.1 "$MX_SIGN_PORT" -t alice@example.test -f "probe@$d" -s 1 -m 1 > /dev/null
        n=$(grep -l "probe@$d" "$SGW/data/mail/example.test/alice/new"/* 2>/dev/null | head -1 |
            xargs -r grep -c '^DKIM-Signature:')
        echo "sign: probe ${row%%:*}: ${n:-0} DKIM-Signature field(s)"
        [ "${n:-0}" = "$want" ] || echo "sign: WARNING: expected $want signature(s) for ${row%%:*}" >&2
    done
    log "sign: warm-up"
    SIGN_N=200 sign_relay_run none nokey.example > /dev/null
    for row in none rsa ed25519; do : > "$RUN/sign-$row.txt"; : > "$RUN/signl-$row.txt"; done
    for _ in $(seq 1 "$REPS"); do
        for row in none rsa ed25519; do
            case $row in none) dom=nokey.example;; rsa) dom=rsa.example;; *) dom=ed.example;; esac
            sleep 1
            echo -n "sign_$row (relay): "
            sign_relay_run "$row" "$dom" | tee -a "$RUN/sign-$row.txt"
            sleep 1
            echo -n "signl_$row (local): "
            "$BUILD_DIR/smtpload" deliver 127.0.0.1 "$MX_SIGN_PORT" -t alice@example.test -f "load@$dom" -s "$MX_S" \
                -m "$SIGN_N" -l 4096 | tee -a "$RUN/signl-$row.txt" || true
        done
        find "$SGW/data/mail/example.test/alice/new" -type f -delete
    done
    for row in none rsa ed25519; do
        mx_summary "$RUN/sign-$row.txt" "$RUN/sign-ours.summary" "sign_$row" "path=relay"
        mx_summary "$RUN/signl-$row.txt" "$RUN/sign-ours.summary" "signl_$row" "path=local"
    done
    mx_daemon_stop "$SGW"
    trap - EXIT
    grep -h 'warning\|error\|fatal' "$SGW/log/smtpd.log" 2>/dev/null | sort | uniq -c | sort -rn | head -5
}
