# fuzz.mk: `make fuzz` builds every libFuzzer harness tests/fuzz/fuzz_*.c with clang
# (-fsanitize=fuzzer,address,undefined) against the real parser sources and runs each for
# FUZZ_SECONDS (default 60) on its seed corpus tests/fuzz/corpus/NAME/ plus the
# regression inputs tests/fuzz/regress/NAME/. New inputs go to $(B)/fuzz/work/NAME/
# (the seed corpus is not touched); a crash is saved as $(B)/fuzz/crash-NAME-* and fails.
#   make fuzz                       all harnesses, 60 s each
#   make fuzz FUZZ_SECONDS=10 FUZZ_ONLY="fuzz_addr fuzz_mx"
# The same harnesses are replayed without libFuzzer by `make test`
# (tests/unit/test_fuzz_regress.c).

FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_MAXLEN  ?= 8192
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_ONLY    ?= $(FUZZ_NAMES)
# The untrusted-input parsers under test (pure code: no store, no network).
FUZZ_SRC     := common/util.c common/log.c common/addr.c common/config.c common/config_kinds.c \
                common/confval.c common/mechs.c common/ipmatch.c smtpd/smtp_parse.c smtpd/data.c \
                smtpd/received.c smtpd/mx.c smtpd/dkim_hdr.c smtpd/dkim_canon.c \
                pop3d/pop3_parse.c common/dns.c smtpd/dnsbl_cache.c smtpd/rspamd_reply.c \
                smtpd/spf_dns.c smtpd/authres_hdr.c smtpd/dane_tlsa.c smtpd/mtasts_parse.c \
                smtpd/check_dkim_lib.c smtpd/check_dmarc_lib.c smtpd/dkim_sign.c smtpd/dkim_feed.c \
                common/dkim_keys.c common/fsutil.c common/cluster_conf.c common/cluster_req.c common/bytebuf.c \
                common/dns_acache.c smtpd/dkim_keycache.c common/dns_wire.c
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP \
                -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_OBJS    := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(FUZZ_SRC))
FUZZ_BINS    := $(patsubst %,$(B)/fuzz/bin/%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-build

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	  $(call incs,$<) -c $< -o $@

$(FUZZ_BINS): $(B)/fuzz/bin/%: $(B)/fuzz/obj/tests/fuzz/%.o $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ -lsasl2 -lspf2 -lresolv -lunbound -levent -ljansson \
	  -lopendkim -lopendmarc -lpsl -lssl -lcrypto

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@fail=""; for h in $(FUZZ_ONLY); do \
	  mkdir -p $(B)/fuzz/work/$$h; \
	  dirs="$(B)/fuzz/work/$$h tests/fuzz/corpus/$$h"; \
	  [ -d tests/fuzz/regress/$$h ] && dirs="$$dirs tests/fuzz/regress/$$h"; \
	  echo "=== fuzz: $$h ($(FUZZ_SECONDS) s)"; \
	  if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	     $(B)/fuzz/bin/$$h -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAXLEN) \
	       -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	       -artifact_prefix=$(B)/fuzz/crash-$$h- $$dirs > $(B)/fuzz/$$h.log 2>&1; then \
	    grep -E '^Done [0-9]+ runs' $(B)/fuzz/$$h.log | tail -n 1; \
	  else \
	    fail="$$fail $$h"; tail -n 40 $(B)/fuzz/$$h.log; \
	  fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: FAILED:$$fail (inputs: $(B)/fuzz/crash-*)"; exit 1; fi; \
	echo "fuzz: all clean"
