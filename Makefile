# mailserver: smtpd, pop3d and userdb over one Berkeley DB store.
#
#   make            build bin/smtpd bin/pop3d bin/userdb (release flags)
#   make run        install what is missing, build, start both daemons on loopback
#   make stop       stop what `make run` started
#   make test       the whole suite (CUnit + end to end), under ASan and UBSan
#   make deps       install the Debian packages we need (prints the apt-get line if not root)
#   make install PREFIX=/usr/local

CC      ?= cc
B       ?= build
PREFIX  ?= /usr/local
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -D_GNU_SOURCE -MMD -MP
LIBS    := -levent -levent_openssl -levent_pthreads -lssl -lcrypto -ldb -lsasl2 -lcrypt -lresolv -lpthread
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
            libevent-dev libcrypt-dev python3 python3-aiosmtpd swaks curl openssl fetchmail

COMMON_SRC := $(wildcard common/*.c)
SMTPD_SRC  := $(filter-out smtpd/main.c,$(wildcard smtpd/*.c))
POP3D_SRC  := $(filter-out pop3d/main.c,$(wildcard pop3d/*.c))
USERDB_SRC := $(filter-out userdb/main.c,$(wildcard userdb/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

# $(call objs,VARIANT,SOURCES)
objs = $(patsubst %.c,$(B)/$(1)/%.o,$(2))

REL_FLAGS  := $(CFLAGS_BASE) -O2
ASAN_FLAGS := $(CFLAGS_BASE) -O1 $(SANFLAGS)

.PHONY: all deps run stop test unit e2e clean install asan check-deps
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
	$(MAKE) check-names
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

# Each object's header dependencies, written by -MMD -MP beside it: a changed header
# rebuilds what includes it and nothing else.
-include $(shell find $(B) -name '*.d' 2>/dev/null)
# A build tree from before -MMD has objects without .d files: start it afresh once.
ifeq ($(wildcard $(B)/.mmd),)
$(shell rm -rf $(B)/rel $(B)/asan $(B)/vg $(B)/tsan $(B)/fuzz; mkdir -p $(B); touch $(B)/.mmd)
endif

# ---- more targets, each in its own fragment -------------------------------
-include bench/bench.mk
-include tests/fuzz/fuzz.mk
-include tests/check.mk
