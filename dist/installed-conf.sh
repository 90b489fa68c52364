#!/bin/sh
# The installed /etc/mailserver/mailserver.conf, made from mailserver.conf.sample (one
# source): the same keys and comments, with a server's paths and ports instead of
# make run's: data_dir /var/lib/mailserver (LOCALSTATEDIR), the dedicated system user
# mailserver, the certificate in SYSCONFDIR/mailserver/tls, and the standard ports
# 25, 587 and 110 on every IPv4 address.
# Usage: dist/installed-conf.sh SAMPLE SYSCONFDIR LOCALSTATEDIR > OUT
# Fails if the sample no longer has a line it rewrites.
set -eu
sample=$1 etc=$2 var=$3
out=$(sed -e "s|^# This sample is also what \`make run\` uses.*|# Installed by make install or the Debian package: a server's paths and ports.|" \
    -e "s|^# ports and keeps its data under ./var. Copy it to .*|# Set domain (and lan) below, then: systemctl restart mailserver-smtpd mailserver-pop3d|" \
    -e "s|^# (or ./mailserver.conf) and adapt it for a real server.|# (man mailserver.conf explains every key).|" \
    -e "s|^data_dir = ./var\$|data_dir = $var/lib/mailserver|" \
    -e "s|^run_as_user = mail\$|run_as_user = mailserver|" \
    -e "s|^tls_cert = ./var/tls/cert.pem\$|tls_cert = $etc/mailserver/tls/cert.pem|" \
    -e "s|^tls_key = ./var/tls/key.pem\$|tls_key = $etc/mailserver/tls/key.pem|" \
    -e "s|^# TLS certificate chain and private key (PEM). Required by .*|# TLS certificate chain and private key (PEM; the key may be readable by root only).|" \
    -e "s|^# tls other than off. \`make run\` makes a self-signed pair here. Default: empty.|# Required by any instance with tls other than off. Default: empty.|" \
    -e "s|^listen = 127.0.0.1:2525\$|listen = 0.0.0.0:25|" \
    -e "s|^listen = 127.0.0.1:2587\$|listen = 0.0.0.0:587|" \
    -e "s|^listen = 127.0.0.1:2110\$|listen = 0.0.0.0:110|" \
    -e "s|^# Check a file with: smtpd |# Check a file with: mailserver-smtpd |" "$sample")
for want in "^data_dir = $var/lib/mailserver\$" '^run_as_user = mailserver$' \
            "^tls_cert = $etc/mailserver/tls/cert.pem\$" "^tls_key = $etc/mailserver/tls/key.pem\$" \
            '^listen = 0.0.0.0:25$' '^listen = 0.0.0.0:587$' '^listen = 0.0.0.0:110$' \
            '^# Installed by make install'; do
    printf '%s\n' "$out" | grep -q "$want" || { echo "$0: $sample: no line for $want" >&2; exit 1; }
done
if printf '%s\n' "$out" | grep -qE '\./var|^listen = 127|make run'; then
    echo "$0: $sample: make run paths or ports left over:" >&2
    printf '%s\n' "$out" | grep -nE '\./var|^listen = 127|make run' >&2
    exit 1
fi
printf '%s\n' "$out"
