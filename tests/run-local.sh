#!/bin/sh
# make run / make stop: start both daemons on loopback high ports with the sample
# config and data under ./var, and print how to add a user and connect.
cd "$(dirname "$0")/.." || exit 2
top=$PWD
conf=$top/mailserver.conf
logdir=$top/var/log

stop_daemons() {
    for d in smtpd pop3d; do
        pidf=$top/var/run-$d.pid
        [ -f "$pidf" ] || continue
        pid=$(cat "$pidf")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            i=0
            while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
            echo "stopped $d (pid $pid)"
        fi
        rm -f "$pidf"
    done
}

case "${1:-start}" in
stop)
    stop_daemons
    exit 0
    ;;
start) ;;
*) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

stop_daemons
if [ ! -f "$conf" ]; then
    cp mailserver.conf.sample "$conf"
    echo "created $conf from mailserver.conf.sample"
fi
mkdir -p "$top/var/tls" "$logdir"
if [ ! -f "$top/var/tls/cert.pem" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -keyout "$top/var/tls/key.pem" -out "$top/var/tls/cert.pem" >/dev/null 2>&1 ||
        { echo "openssl could not make a self-signed certificate" >&2; exit 1; }
    chmod 600 "$top/var/tls/key.pem"
    echo "made a self-signed certificate in var/tls/"
fi
if [ "$(id -u)" = 0 ]; then
    runas=$(sed -n 's/^[[:space:]]*run_as_user[[:space:]]*=[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$conf" | tail -n 1)
    runas=${runas:-mail}
    # the key stays root's: started as root, the daemons' certificate keeper reads it
    chown -R "$runas" "$logdir"
fi

bin/smtpd -c "$conf" --check-config || { echo "the config has errors (above)" >&2; exit 1; }
for d in smtpd pop3d; do
    nohup "bin/$d" -c "$conf" -f >>"$logdir/$d.log" 2>&1 &
    echo $! >"$top/var/run-$d.pid"
done
sleep 1
for d in smtpd pop3d; do
    pid=$(cat "$top/var/run-$d.pid")
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "$d did not start; its log (var/log/$d.log) says:" >&2
        tail -n 20 "$logdir/$d.log" >&2
        exit 1
    fi
done

cat <<EOF

mailserver is running (logs in var/log/, stop with: make stop)
  SMTP (LAN)        127.0.0.1:2525   relays for the LAN (127.0.0.1)
  SMTP submission   127.0.0.1:2587   STARTTLS, AUTH required to relay
  POP3              127.0.0.1:2110   STLS

Add a user (asks for the password twice; --relay lets him relay beyond this server):
  bin/userdb add alice@example.test --relay
  bin/userdb list

Send her a message from the LAN and look at her Maildir:
  swaks --server 127.0.0.1:2525 --from bob@example.test --to alice@example.test
  ls var/mail/example.test/alice/new/

Send from "the road" (127.0.0.9) through submission with AUTH:
  swaks --server 127.0.0.1:2587 --local-interface 127.0.0.9 --tls --auth CRAM-MD5 \\
        --auth-user alice@example.test --from alice@example.test --to friend@example.net

Collect her mail:
  curl -v pop3://127.0.0.1:2110/ --ssl-reqd -k -u alice@example.test
EOF
