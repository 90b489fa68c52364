# mailserver: smtpd, pop3d and userdb over one Berkeley DB store.
#
#   make            build bin/smtpd bin/pop3d bin/userdb (release flags)
#   make run        install what is missing, build, start both daemons on loopback
#   make stop       stop what `make run` started
#   make test       the whole suite (CUnit + end to end), under ASan and UBSan
#   make deps       install the Debian packages we need (prints the apt-get line if not root)
#   make install    PREFIX (/usr/local), DESTDIR: binaries, man pages, units, config
#   make deb        the Debian package (../mailserver_*.deb; needs DEB_PKG_PKGS)

CC      ?= cc
B       ?= build
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/mailserver
DOCDIR  ?= $(PREFIX)/share/doc/mailserver
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
# systemd units: the local admin's place for a /usr/local install; the package uses
# /lib/systemd/system (debian/rules)
UNITDIR ?= /etc/systemd/system
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -D_GNU_SOURCE -MMD -MP
LIBS    := -lcurl -ljansson -levent -levent_openssl -levent_pthreads -lopendkim -lopendmarc -lpsl -lspf2 -lssl -lcrypto -ldb -lunbound -lsasl2 -lcrypt -lpam -lresolv -lpthread
# Include paths per directory: each daemon sees common/ and its own headers, never the
# other's; tests/ (unit tests, fuzz harnesses) see all, so no header name may be in two
# directories (make check-names). $(call incs,FILE.c) gives FILE's.
INC_common := -Icommon
INC_smtpd  := -Icommon -Ismtpd
INC_pop3d  := -Icommon -Ipop3d
INC_userdb := -Icommon -Iuserdb
INC_tests  := -Icommon -Ismtpd -Ipop3d -Iuserdb
incs = $(INC_$(firstword $(subst /, ,$(1))))
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Debian packages: build dependencies and what the tests talk to the daemons with.
DEB_PKGS := build-essential libdb-dev libsasl2-dev libsasl2-modules libssl-dev libcunit1-dev \
            libevent-dev libcrypt-dev libopendkim-dev libspf2-dev libunbound-dev libjansson-dev libopendmarc-dev libpsl-dev publicsuffix libcurl4-openssl-dev nsd rspamd python3 python3-aiosmtpd swaks curl openssl fetchmail \
            python3-dkim python3-nacl libpam0g-dev libpam-modules db5.3-util ldnsutils \
            man-db groff-base systemd
DEB_PKGS += iproute2   # ip netns, veth and bridge links: test_cluster_ops's partition
# ... and for the package checks only (make deb, make check-package)
DEB_PKG_PKGS := debhelper lintian adduser

COMMON_SRC := $(wildcard common/*.c)
SMTPD_SRC  := $(filter-out smtpd/main.c,$(wildcard smtpd/*.c))
POP3D_SRC  := $(filter-out pop3d/main.c,$(wildcard pop3d/*.c))
USERDB_SRC := $(filter-out userdb/main.c,$(wildcard userdb/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

# $(call objs,VARIANT,SOURCES)
objs = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

# REL_EXTRA: the distribution's hardening flags (debian/rules passes dpkg-buildflags)
REL_FLAGS  := $(CFLAGS_BASE) -O2 $(REL_EXTRA)
ASAN_FLAGS := $(CFLAGS_BASE) -O1 $(SANFLAGS)

.PHONY: all deps run stop test unit e2e clean install asan check-deps dist-files deb deps-package
.SECONDARY:

all: bin/smtpd bin/pop3d bin/userdb

# ---- object rules -------------------------------------------------------
$(B)/rel/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(REL_FLAGS) $(call incs,$<) -c $< -o $@

$(B)/asan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) $(call incs,$<) -c $< -o $@

# ---- libraries per variant ----------------------------------------------
define variant
$(B)/$(1)/libcommon.a: $(call objs,$(1),$(COMMON_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libsmtpd.a: $(call objs,$(1),$(SMTPD_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libpop3d.a: $(call objs,$(1),$(POP3D_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libuserdb.a: $(call objs,$(1),$(USERDB_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
$(2)/smtpd: $(B)/$(1)/smtpd/main.o $(B)/$(1)/libsmtpd.a $(B)/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
$(2)/pop3d: $(B)/$(1)/pop3d/main.o $(B)/$(1)/libpop3d.a $(B)/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
$(2)/userdb: $(B)/$(1)/userdb/main.o $(B)/$(1)/libuserdb.a $(B)/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
endef
$(eval $(call variant,rel,bin,$(REL_FLAGS)))
$(eval $(call variant,asan,$(B)/asan/bin,$(ASAN_FLAGS)))

# ---- unit tests (CUnit), one binary per tests/unit/test_*.c --------------
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT_SRC))
$(B)/asan/tests/%: $(B)/asan/tests/unit/%.o $(B)/asan/libsmtpd.a $(B)/asan/libpop3d.a $(B)/asan/libuserdb.a $(B)/asan/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(B)/asan/libcommon.a $(LIBS) -lcunit

asan: $(B)/asan/bin/smtpd $(B)/asan/bin/pop3d $(B)/asan/bin/userdb $(UNIT_BINS)

# ---- dependencies --------------------------------------------------------
deps-package: PKGS = $(DEB_PKGS) $(DEB_PKG_PKGS)
check-deps deps: PKGS = $(DEB_PKGS)
check-deps deps deps-package:
	@missing=""; for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
	  echo "missing Debian packages; run as root:"; \
	  echo "  sudo apt-get install -y$$missing"; exit 1; \
	fi

# ---- run and test --------------------------------------------------------
run: deps all
	@sh tests/run-local.sh start

stop:
	@sh tests/run-local.sh stop

test: deps
	$(MAKE) asan all
	$(MAKE) check-names
	@sh tests/run-all.sh

unit: deps
	$(MAKE) asan
	@sh tests/run-all.sh unit

e2e: deps
	$(MAKE) asan all
	@sh tests/run-all.sh e2e

# ---- installing ------------------------------------------------------------
# Installed names carry a mailserver- prefix: OpenSMTPD ships /usr/sbin/smtpd and
# courier-authlib-userdb /usr/sbin/userdb (the build tree keeps bin/smtpd etc.).
# The config, its man page and the units are made from one source each
# (dist/installed-conf.sh, man/conf2man.awk, dist/*.service.in).
DIST := $(B)/dist
UNITS := $(DIST)/mailserver-smtpd.service $(DIST)/mailserver-pop3d.service
MAN8 := $(wildcard man/*.8)
# man page date: SOURCE_DATE_EPOCH (reproducible builds), else the sample's mtime
MANDATE = $(shell date -u -d @$${SOURCE_DATE_EPOCH:-$$(stat -c %Y mailserver.conf.sample)} +%F)

$(DIST)/mailserver.conf: mailserver.conf.sample dist/installed-conf.sh
	@mkdir -p $(dir $@)
	sh dist/installed-conf.sh $< $(SYSCONFDIR) $(LOCALSTATEDIR) > $@.tmp && mv $@.tmp $@
$(DIST)/mailserver.conf.5: $(DIST)/mailserver.conf man/conf2man.awk
	awk -v date=$(MANDATE) -f man/conf2man.awk $< > $@.tmp && mv $@.tmp $@
$(DIST)/%.service: dist/%.service.in
	@mkdir -p $(dir $@)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@LOCALSTATEDIR@|$(LOCALSTATEDIR)|g' $< > $@.tmp && mv $@.tmp $@
# the paths are baked in: rebuild when they change
$(DIST)/.paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SBINDIR) $(SYSCONFDIR) $(LOCALSTATEDIR)' | cmp -s - $@ || \
	  echo '$(SBINDIR) $(SYSCONFDIR) $(LOCALSTATEDIR)' > $@
$(DIST)/mailserver.conf $(UNITS): $(DIST)/.paths
# phony: .SECONDARY (every target) would otherwise let a missing FORCE count as made
.PHONY: FORCE
FORCE:

dist-files: $(DIST)/mailserver.conf $(DIST)/mailserver.conf.5 $(UNITS)

install: all dist-files
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(UNITDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(DATADIR) \
	  $(DESTDIR)$(SYSCONFDIR)/mailserver $(DESTDIR)$(SYSCONFDIR)/pam.d
	install -m 0755 bin/smtpd $(DESTDIR)$(SBINDIR)/mailserver-smtpd
	install -m 0755 bin/pop3d $(DESTDIR)$(SBINDIR)/mailserver-pop3d
	install -m 0755 bin/userdb $(DESTDIR)$(SBINDIR)/mailserver-userdb
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(DIST)/mailserver.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 0644 mailserver.conf.sample $(DESTDIR)$(DOCDIR)/
	install -m 0755 dist/mailserver-setup.sh $(DESTDIR)$(DATADIR)/mailserver-setup
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/mailserver/mailserver.conf ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/mailserver/mailserver.conf (the new one: $(DIST)/mailserver.conf)"; \
	else \
	  install -m 0644 $(DIST)/mailserver.conf $(DESTDIR)$(SYSCONFDIR)/mailserver/mailserver.conf; \
	fi
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/pam.d/mailserver ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/pam.d/mailserver"; \
	else \
	  install -m 0644 dist/pam.d-mailserver $(DESTDIR)$(SYSCONFDIR)/pam.d/mailserver; \
	fi
	install -d -m 0700 $(DESTDIR)$(LOCALSTATEDIR)/lib/mailserver
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  sh dist/mailserver-setup.sh $(SYSCONFDIR) $(LOCALSTATEDIR) && \
	  { ! [ -d /run/systemd/system ] || systemctl daemon-reload; }; \
	fi

# The Debian package (debian/), built in a copy of the tree under $(B)/deb so that
# dpkg-buildpackage writes nothing beside the source: $(B)/deb/mailserver_*.deb.
deb: deps-package
	rm -rf $(B)/deb && mkdir -p $(B)/deb/mailserver
	tar --exclude=./build --exclude=./bin --exclude=./var --exclude=./.git \
	  --exclude=./mailserver.conf -cf - . | tar -C $(B)/deb/mailserver -xf -
	cd $(B)/deb/mailserver && dpkg-buildpackage -us -uc -b
	@ls -l $(B)/deb/*.deb

clean:
	rm -rf build bin

# Each object's header dependencies, written by -MMD -MP beside it: a changed header
# rebuilds what includes it and nothing else.
-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
# A build tree from before -MMD has objects without .d files: start it afresh once.
ifeq ($(wildcard $(B)/.mmd),)
$(shell rm -rf $(B)/rel $(B)/asan $(B)/vg $(B)/tsan $(B)/fuzz; mkdir -p $(B); touch $(B)/.mmd)
endif

# ---- more targets, each in its own fragment -------------------------------
-include bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/check.mk
