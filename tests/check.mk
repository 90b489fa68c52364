# check.mk: `make check` = static analysis (cppcheck, clang-tidy with the repository's
# .clang-tidy), the whole test suite under ASan+UBSan (`make test`), and a valgrind
# memcheck run of the real daemons through a small end-to-end scenario
# (tests/valgrind_e2e.py, on a -O1 -g build without sanitizers in $(B)/vg/bin).
#   make check-static | check-cppcheck | check-tidy | check-valgrind   one part only
#   make check-tsan: the daemons built with ThreadSanitizer ($(B)/tsan/bin) through the
#   end-to-end files that run sessions in parallel; a TSan report fails the test.
#   make check-package: build the Debian package (make deb), lintian, and install,
#   upgrade, remove and purge it on this machine (tests/e2e/pkg_deb.py; as root).

TIDY_SRC  := $(wildcard common/*.c smtpd/*.c pop3d/*.c userdb/*.c)
VG_FLAGS  := $(CFLAGS_BASE) -O1
TSAN_FLAGS := $(CFLAGS_BASE) -O1 -fsanitize=thread -fno-omit-frame-pointer
TSAN_E2E  := test_concurrency test_smtp_auth test_pop3 test_daemon test_smtp_proto \
             test_outbound_parallel test_lockout

.PHONY: check check-static check-cppcheck check-tidy check-valgrind check-tsan check-package

$(B)/vg/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(VG_FLAGS) -c $< -o $@
$(eval $(call variant,vg,$(B)/vg/bin,$(VG_FLAGS)))

$(B)/tsan/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(TSAN_FLAGS) -c $< -o $@
$(eval $(call variant,tsan,$(B)/tsan/bin,$(TSAN_FLAGS)))

check-cppcheck:
	cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr \
	  --std=c11 -D_GNU_SOURCE -Icommon -Ismtpd -Ipop3d -Iuserdb --quiet -j2 \
	  common smtpd pop3d userdb

check-tidy:
	@echo "clang-tidy on $(words $(TIDY_SRC)) files"
	@printf '%s\n' $(TIDY_SRC) | xargs -P2 -I{} clang-tidy --quiet {} -- \
	  -std=gnu11 -D_GNU_SOURCE -Icommon -Ismtpd -Ipop3d -Iuserdb

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
