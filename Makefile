# mailserver: smtpd, pop3d and userdb over one Berkeley DB store.
#
#   make            build bin/smtpd bin/pop3d bin/userdb (release flags)
#   make run        install what is missing, build, start both daemons on loopback
#   make stop       stop what `make run` started
#   make test       the whole suite (CUnit + end to end), under ASan and UBSan
#   make deps       install the Debian packages we need (prints the apt-get line if not root)
#   make install PREFIX=/usr/local

CC      ?= cc
PREFIX  ?= /usr/local
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -D_GNU_SOURCE -Icommon -Ismtpd -Ipop3d -Iuserdb
LIBS    := -levent -levent_openssl -levent_pthreads -lssl -lcrypto -ldb -lsasl2 -lcrypt -lresolv -lpthread
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

# Debian packages: build dependencies and what the tests talk to the daemons with.
DEB_PKGS := build-essential libdb-dev libsasl2-dev libsasl2-modules libssl-dev libcunit1-dev \
            libevent-dev libcrypt-dev python3 python3-aiosmtpd swaks curl openssl

COMMON_SRC := $(wildcard common/*.c)
SMTPD_SRC  := $(filter-out smtpd/main.c,$(wildcard smtpd/*.c))
POP3D_SRC  := $(filter-out pop3d/main.c,$(wildcard pop3d/*.c))
USERDB_SRC := $(filter-out userdb/main.c,$(wildcard userdb/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
HEADERS    := $(wildcard common/*.h smtpd/*.h pop3d/*.h userdb/*.h)

# $(call objs,VARIANT,SOURCES)
objs = $(patsubst %.c,build/$(1)/%.o,$(2))

REL_FLAGS  := $(CFLAGS_BASE) -O2
ASAN_FLAGS := $(CFLAGS_BASE) -O1 $(SANFLAGS)

.PHONY: all deps run stop test unit e2e clean install asan check-deps

all: bin/smtpd bin/pop3d bin/userdb

# ---- object rules -------------------------------------------------------
build/rel/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(REL_FLAGS) -c $< -o $@

build/asan/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -c $< -o $@

# ---- libraries per variant ----------------------------------------------
define variant
build/$(1)/libcommon.a: $(call objs,$(1),$(COMMON_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
build/$(1)/libsmtpd.a: $(call objs,$(1),$(SMTPD_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
build/$(1)/libpop3d.a: $(call objs,$(1),$(POP3D_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
build/$(1)/libuserdb.a: $(call objs,$(1),$(USERDB_SRC))
	@mkdir -p $$(dir $$@); rm -f $$@; ar rcs $$@ $$^
$(2)/smtpd: build/$(1)/smtpd/main.o build/$(1)/libsmtpd.a build/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
$(2)/pop3d: build/$(1)/pop3d/main.o build/$(1)/libpop3d.a build/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
$(2)/userdb: build/$(1)/userdb/main.o build/$(1)/libuserdb.a build/$(1)/libcommon.a
	@mkdir -p $$(dir $$@)
	$$(CC) $(3) -o $$@ $$^ $$(LIBS)
endef
$(eval $(call variant,rel,bin,$(REL_FLAGS)))
$(eval $(call variant,asan,build/asan/bin,$(ASAN_FLAGS)))

# ---- unit tests (CUnit), one binary per tests/unit/test_*.c --------------
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))
build/asan/tests/%: build/asan/tests/unit/%.o build/asan/libsmtpd.a build/asan/libpop3d.a build/asan/libuserdb.a build/asan/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ build/asan/libcommon.a $(LIBS) -lcunit

asan: build/asan/bin/smtpd build/asan/bin/pop3d build/asan/bin/userdb $(UNIT_BINS)

# ---- dependencies --------------------------------------------------------
check-deps deps:
	@missing=""; for p in $(DEB_PKGS); do \
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
	@sh tests/run-all.sh

unit: deps
	$(MAKE) asan
	@sh tests/run-all.sh unit

e2e: deps
	$(MAKE) asan all
	@sh tests/run-all.sh e2e

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 bin/smtpd bin/pop3d bin/userdb $(DESTDIR)$(PREFIX)/sbin/

clean:
	rm -rf build bin
