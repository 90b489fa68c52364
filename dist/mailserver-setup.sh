#!/bin/sh
# mailserver-setup: what an installation needs on the host besides files, run as root
# by `make install` (without DESTDIR) and by the Debian package's postinst. Safe to run
# again: it only adds what is missing.
#   - the system user and group "mailserver" (run_as_user of the installed config);
#   - /var/lib/mailserver (data_dir) owned by it, mode 0700;
#   - a self-signed certificate in /etc/mailserver/tls when there is none yet (replace
#     it with a real one: README "Installing on a server"), key root:root 0600 like
#     certbot's: the daemons' root certificate keeper reads it on reload.
# Usage: mailserver-setup [SYSCONFDIR [LOCALSTATEDIR]]   (defaults /etc and /var)
set -eu
etc=${1:-/etc}/mailserver
data=${2:-/var}/lib/mailserver
user=mailserver

if [ "$(id -u)" != 0 ]; then
    echo "mailserver-setup: run as root" >&2
    exit 1
fi
if ! getent passwd "$user" >/dev/null; then
    if command -v adduser >/dev/null 2>&1; then
        adduser --system --group --quiet --home "$data" --no-create-home \
            --gecos "mailserver daemons" "$user"
    else
        useradd --system --user-group --home-dir "$data" --no-create-home \
            --shell /usr/sbin/nologin --comment "mailserver daemons" "$user"
    fi
    echo "mailserver-setup: created the system user $user"
fi
group=$(id -gn "$user")
install -d -m 0700 "$data"
# hand over only the top directory, and only when it belongs to root (never follow
# what the user may have put there)
if [ "$(stat -c %u "$data")" = 0 ]; then
    chown "$user:$group" "$data"
fi
if [ ! -e "$etc/tls/cert.pem" ] && [ ! -e "$etc/tls/key.pem" ]; then
    install -d -m 0755 "$etc/tls"
    name=$(hostname -f 2>/dev/null || hostname)
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$name" \
        -keyout "$etc/tls/key.pem" -out "$etc/tls/cert.pem" >/dev/null 2>&1
    chmod 0600 "$etc/tls/key.pem"
    chmod 0644 "$etc/tls/cert.pem"
    echo "mailserver-setup: made a self-signed certificate for $name in $etc/tls"
fi
