# check.mk: `make check` = static analysis (cppcheck, clang-tidy with the repository's
# .clang-tidy), the whole test suite under ASan+UBSan (`make test`), and a valgrind
# memcheck run of the real daemons through a small end-to-end scenario
# (tests/valgrind_e2e.py, on a -O1 -g build without sanitizers in $(B)/vg/bin).
#   make check-static | check-cppcheck | check-tidy | check-valgrind   one part only
#   make check-names: no global symbol in two libraries, no header name in two directories
#   (also run by `make test`).
#   make check-tsan: the daemons built with ThreadSanitizer ($(B)/tsan/bin) through the
#   end-to-end files that run sessions in parallel; a TSan report fails the test.
#   make check-package: build the Debian package (make deb), lintian, and install,
#   upgrade, remove and purge it on this machine (tests/e2e/pkg_deb.py; as root).

TIDY_SRC  := $(wildcard common/*.c smtpd/*.c pop3d/*.c userdb/*.c)
VG_FLAGS  := $(CFLAGS_BASE) -O1
TSAN_FLAGS := $(CFLAGS_BASE) -O1 -fsanitize=thread -fno-omit-frame-pointer
TSAN_E2E  := test_concurrency test_smtp_auth test_pop3 test_daemon test_smtp_proto \
             test_outbound_parallel test_lockout

.PHONY: check check-static check-cppcheck check-tidy check-valgrind check-tsan check-package \
        check-names

$(B)/vg/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(VG_FLAGS) $(call incs,$<) -c $< -o $@
$(eval $(call variant,vg,$(B)/vg/bin,$(VG_FLAGS)))

$(B)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_FLAGS) $(call incs,$<) -c $< -o $@
$(eval $(call variant,tsan,$(B)/tsan/bin,$(TSAN_FLAGS)))

# Each directory with its own include path, as the build has it (Makefile: INC_*).
check-cppcheck:
	@set -e; for d in common smtpd pop3d userdb; do \
	  case $$d in common) inc="$(INC_common)";; smtpd) inc="$(INC_smtpd)";; \
	    pop3d) inc="$(INC_pop3d)";; *) inc="$(INC_userdb)";; esac; \
	  echo "cppcheck $$d/ ($$inc)"; \
	  cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	    --std=c11 -D_GNU_SOURCE $$inc --quiet -j2 $$d; \
	done

check-tidy:
	@echo "clang-tidy on $(words $(TIDY_SRC)) files"
	@printf '%s\n' $(TIDY_SRC) | xargs -P2 -I{} sh -c \
	  'clang-tidy --quiet "$$1" -- -std=gnu11 -D_GNU_SOURCE -Icommon -I"$${1%%/*}"' sh {}

# No global symbol defined in two of the libraries (an archive member is pulled only
# when needed, so the linker would not say), no header name in two directories (the
# unit tests see every directory's headers). Needs the asan libraries; runs in a second.
NAMES_LIBS := $(patsubst %,$(B)/asan/lib%.a,common smtpd pop3d userdb)
check-names: $(NAMES_LIBS)
	@for l in $(NAMES_LIBS); do \
	  nm -g --defined-only "$$l" | awk -v l="$$(basename $$l)" 'NF == 3 { print $$3, l }' | sort -u; \
	done | awk '{ n[$$1]++; w[$$1] = w[$$1] " " $$2 } \
	  END { for (s in n) if (n[s] > 1) { print "check-names: " s " defined in" w[s]; bad = 1 } \
	        exit bad }'
	@ls common smtpd pop3d userdb tests/unit tests/fuzz | grep '\.h$$' | sort | uniq -d | \
	  awk '{ print "check-names: header " $$0 " in two directories"; bad = 1 } END { exit bad }'
	@echo "check-names: ok"

check-static: check-cppcheck check-tidy

check-valgrind: $(B)/vg/bin/smtpd $(B)/vg/bin/pop3d $(B)/vg/bin/userdb
	MS_BIN=$(CURDIR)/$(B)/vg/bin /usr/bin/python3 tests/valgrind_e2e.py

check-tsan: $(B)/tsan/bin/smtpd $(B)/tsan/bin/pop3d $(B)/tsan/bin/userdb
	@fail=0; for t in $(TSAN_E2E); do \
	  echo "=== tsan: $$t"; \
	  MS_BIN=$(CURDIR)/$(B)/tsan/bin TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp" \
	    /usr/bin/python3 tests/e2e/runner.py $$t > $(B)/test-logs/tsan-$$t.out 2>&1 || fail=1; \
	  tail -n 1 $(B)/test-logs/tsan-$$t.out; \
	done; exit $$fail

check-package: deb
	@mkdir -p $(B)/test-logs
	/usr/bin/python3 tests/e2e/runner.py pkg_deb 2>&1 | tee $(B)/test-logs/pkg_deb.out; \
	  grep -q '^E2E_RESULT [0-9]* 0$$' $(B)/test-logs/pkg_deb.out

check: deps
	$(MAKE) check-static
	$(MAKE) test
	$(MAKE) check-valgrind
	$(MAKE) check-tsan
	$(MAKE) check-package
