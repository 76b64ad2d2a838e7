# SPDX-License-Identifier: MIT
# agentbox - a command tree whose only network path is a relay to a proxy.
#
#   make            build ./agentbox
#   make deps       install every build and test dependency (Debian, as root)
#   make check      unit tests, then integration tests (as root: also as an
#                   unprivileged user), under the sanitizer build
#   make install    PREFIX=/usr/local DESTDIR=
#   make asan       build ./agentbox-asan (ASan + UBSan)
#   make cppcheck / clang-tidy / bench

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DESTDIR   ?=

CC        ?= cc
SYSCONFDIR ?= /etc
DATADIR   ?= $(PREFIX)/share
MAN5DIR   ?= $(MANDIR)/man5
PKGS      := libnl-3.0 libnl-route-3.0 libseccomp libcap-ng inih jansson libcares \
             libnftnl openssl
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
# libnl and libcap-ng are linked statically by default: their shared
# objects cost a third of a millisecond at every start (symbol binding and
# libnl-route's constructors for every link type).  STATIC_DEPS=0 links
# them dynamically.  libseccomp is needed at build time only (gen-seccomp).
STATIC_DEPS ?= 1
ifeq ($(STATIC_DEPS),1)
RUN_LIBS   = -Wl,-Bstatic -lnl-route-3 -lnl-3 -lcap-ng -linih -ljansson -lcares \
             -lnftnl -Wl,-Bdynamic -lmnl -lm
else
RUN_LIBS   = $(shell pkg-config --libs libnl-3.0 libnl-route-3.0 libcap-ng inih \
             jansson libcares libnftnl)
endif
GEN_LIBS   = $(shell pkg-config --libs libseccomp)

WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wformat-truncation=1 \
             -Wmissing-prototypes -Wstrict-prototypes -Wpointer-arith \
             -Wcast-qual -Wwrite-strings -Wvla -Wno-unused-parameter
HARDEN    := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE \
             -fstack-clash-protection -fcf-protection
CFLAGS    ?= -O2 -g
ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) \
             -iquote include -iquote build $(PKG_CFLAGS) \
             -DAB_VERSION='"$(VERSION)"' -DAB_SYSCONFDIR='"$(SYSCONFDIR)"' \
             -DAB_DATADIR='"$(DATADIR)"'
LDFLAGS   ?=
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now,-z,noexecstack $(LDFLAGS)

# src/ holds one folder per subsystem: cli/ (the commands), claude/ (Claude
# Code: prefix mode, hook), sandbox/ (namespaces, mounts, seccomp, init),
# policy/ (profiles, egress policy), relay/ (the relay and its HTTP),
# audit/ (the audit log), common/ (errors, helpers).
# src/sandbox/seccomp.c holds the filter's rules and runs at build time only
SRCS      := $(filter-out src/sandbox/seccomp.c,$(wildcard src/*/*.c))
GEN_SRCS  := tools/gen-seccomp.c src/sandbox/seccomp.c src/common/err.c
PURE_SRCS := src/policy/egress.c src/claude/hook.c src/relay/http.c \
             src/sandbox/pem.c src/cli/options.c src/sandbox/env.c \
             src/common/err.c src/common/util.c src/relay/dns.c \
             src/relay/tls.c src/common/sha256.c src/relay/ws.c
HDRS      := $(wildcard include/*.h src/*/*.h)

OBJS      := $(SRCS:src/%.c=build/%.o)
ASAN_OBJS := $(SRCS:src/%.c=build/asan/%.o)
# The sanitizer build is the one the tests run: it also reads
# AGENTBOX_TEST_SYSCONF and AGENTBOX_TEST_VENDOR (never the release build)
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined -DAB_TEST_PATHS

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/tests/%)
HELPERS   := build/tests/try-syscall

.PHONY: all deps check unit integration install uninstall asan clean demo \
        cppcheck clang-tidy lint bench fuzz

all: agentbox

agentbox: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(RUN_LIBS)

build/%.o: src/%.c $(HDRS) | build
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/gen-seccomp: $(GEN_SRCS) $(HDRS) | build
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(GEN_SRCS) $(GEN_LIBS)

build/seccomp-filter.h: build/gen-seccomp
	$< >$@.tmp && mv $@.tmp $@

build/sandbox/seccomp-load.o build/asan/sandbox/seccomp-load.o: build/seccomp-filter.h

# the built-in copy of the default profile (.incbin)
build/policy/profile.o build/asan/policy/profile.o: profiles/default.conf

asan: agentbox-asan

agentbox-asan: $(ASAN_OBJS)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) $(ALL_LDFLAGS) -o $@ $^ $(RUN_LIBS)

build/asan/%.o: src/%.c $(HDRS) | build
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -U_FORTIFY_SOURCE -c -o $@ $<

build:
	mkdir -p build/asan build/tests

build/tests/test_%: tests/unit/test_%.c $(PURE_SRCS) $(HDRS) \
                    build/seccomp-filter.h | build
	$(CC) $(ALL_CFLAGS) -Wno-write-strings -Wno-discarded-qualifiers \
	    $(ASAN_FLAGS) -U_FORTIFY_SOURCE $(ALL_LDFLAGS) \
	    -o $@ $< $(PURE_SRCS) src/sandbox/seccomp-load.c -lcmocka

# The audit log's JSON writer, checked against jansson
build/tests/test_jsonw: tests/unit/test_jsonw.c src/audit/jsonw.c $(HDRS) | build
	$(CC) $(ALL_CFLAGS) $(ASAN_FLAGS) -U_FORTIFY_SOURCE $(ALL_LDFLAGS) \
	    -o $@ $< src/audit/jsonw.c -lcmocka -ljansson

# The profile grammar, on text in memory (libinih)
PROFILE_SRCS := src/policy/profile_keys.c src/policy/profile.c \
                src/policy/profile_apply.c
build/tests/test_profile: tests/unit/test_profile.c $(PURE_SRCS) \
                          $(PROFILE_SRCS) profiles/default.conf $(HDRS) | build
	$(CC) $(ALL_CFLAGS) -Wno-write-strings -Wno-discarded-qualifiers \
	    $(ASAN_FLAGS) -U_FORTIFY_SOURCE $(ALL_LDFLAGS) \
	    -o $@ $< $(PURE_SRCS) $(PROFILE_SRCS) -lcmocka -linih

build/tests/try-syscall: tests/helpers/try-syscall.c | build
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -o $@ $<

# Everything the build, the tests and the benchmarks need, from Debian.
DEB_BUILD := build-essential pkg-config libnl-3-dev libnl-route-3-dev \
             libseccomp-dev libcap-ng-dev libinih-dev libjansson-dev \
             libc-ares-dev libnftnl-dev libmnl-dev libssl-dev libkrb5-dev \
             libwslay-dev clang
DEB_TEST  := libcmocka-dev bats squid-openssl curl wget openssl python3 python3-pip git iproute2 chromium libnss3-tools xvfb xauth x11-utils default-jdk-headless \
             procps util-linux passwd strace python3-venv nodejs make python3-xlib xdotool x11-xserver-utils \
             nftables openssh-server openssh-client netcat-openbsd python3-aiohttp bind9-dnsutils \
             krb5-kdc krb5-user nginx websockify python3-numpy
DEB_BENCH := hyperfine bubblewrap
CLAUDE_CODE_VERSION := 2.1.332
deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root"; exit 1; fi
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST) $(DEB_BENCH); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	        grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends $$missing; \
	else echo "make deps: everything is installed"; fi
	@# Debian's nodejs comes without npm (NodeSource's has it)
	@command -v npm >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        --no-install-recommends npm; }
	@# Claude Code, the version the tests were checked against (its
	@# package's install script fetches nothing: it links the native
	@# binary the package carries).  Never started here: it contacts
	@# its vendor when it starts (tests run it in claude-net only)
	@grep -qs '"version": "$(CLAUDE_CODE_VERSION)"' \
	    "$$(npm root -g)/@anthropic-ai/claude-code/package.json" || \
	    npm install -g --no-fund --no-audit \
	        --allow-scripts=@anthropic-ai/claude-code \
	        @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)

check: agentbox agentbox-asan $(UNIT_BINS) $(HELPERS)
	@tests/run-all

unit: $(UNIT_BINS)
	@for t in $(UNIT_BINS); do $$t || exit 1; done

integration: agentbox-asan $(HELPERS)
	@AGENTBOX=$(CURDIR)/agentbox-asan bats tests/integration

bench: agentbox
	@tests/bench/run

PROFILES  := $(wildcard profiles/*.conf)
# The AppArmor profile that lets agentbox make user namespaces under
# Ubuntu's restriction: installed where AppArmor is (APPARMOR=0/1 to force)
APPARMOR  ?= $(shell [ -d /etc/apparmor.d ] && echo 1 || echo 0)

install: agentbox
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MAN5DIR) $(DESTDIR)$(DATADIR)/agentbox/profiles
	install -m 0755 agentbox $(DESTDIR)$(BINDIR)/agentbox
	@# prefix mode: Claude Code's CLAUDE_CODE_SHELL_PREFIX (one path)
	ln -sf agentbox $(DESTDIR)$(BINDIR)/agentbox-claude-shell
	install -m 0644 man/agentbox.1 $(DESTDIR)$(MANDIR)/man1/agentbox.1
	install -m 0644 man/agentbox.profile.5 \
	    $(DESTDIR)$(MAN5DIR)/agentbox.profile.5
	install -m 0644 $(PROFILES) $(DESTDIR)$(DATADIR)/agentbox/profiles/
	install -m 0644 contrib/squid-agentbox.conf contrib/squid-https-port.conf \
	    contrib/nginx-agentbox-websocket.conf \
	    $(DESTDIR)$(DATADIR)/agentbox/
	@if [ "$(APPARMOR)" = 1 ]; then \
	    install -d $(DESTDIR)$(SYSCONFDIR)/apparmor.d && \
	    sed 's|@BINDIR@|$(BINDIR)|' contrib/apparmor/agentbox.in \
	        >$(DESTDIR)$(SYSCONFDIR)/apparmor.d/agentbox && \
	    chmod 0644 $(DESTDIR)$(SYSCONFDIR)/apparmor.d/agentbox && \
	    echo "installed $(DESTDIR)$(SYSCONFDIR)/apparmor.d/agentbox"; \
	    if [ -z "$(DESTDIR)" ] && command -v apparmor_parser >/dev/null && \
	       [ -d /sys/kernel/security/apparmor ]; then \
	        apparmor_parser -r $(SYSCONFDIR)/apparmor.d/agentbox; fi; \
	fi

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/agentbox $(DESTDIR)$(BINDIR)/agentbox-claude-shell \
	    $(DESTDIR)$(MANDIR)/man1/agentbox.1 \
	    $(DESTDIR)$(MAN5DIR)/agentbox.profile.5
	rm -f $(addprefix $(DESTDIR)$(DATADIR)/agentbox/,$(PROFILES))
	rm -f $(DESTDIR)$(DATADIR)/agentbox/squid-agentbox.conf \
	    $(DESTDIR)$(DATADIR)/agentbox/squid-https-port.conf
	rm -f $(DESTDIR)$(SYSCONFDIR)/apparmor.d/agentbox
	-rmdir $(DESTDIR)$(DATADIR)/agentbox/profiles $(DESTDIR)$(DATADIR)/agentbox

# libFuzzer on the HTTP parsers, the hook's JSON and the profile grammar
# (clang); FUZZ_TIME seconds each, from the corpus
FUZZ_TIME ?= 60
build/fuzz_http: tests/fuzz/fuzz_http.c src/relay/http.c include/http.h | build
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -iquote include \
	    -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_http.c \
	    src/relay/http.c

build/fuzz_hook: tests/fuzz/fuzz_hook.c src/claude/hook.c src/cli/options.c \
                 src/relay/http.c src/common/err.c include/hook.h | build
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -iquote include \
	    -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_hook.c \
	    src/claude/hook.c src/cli/options.c src/relay/http.c \
	    src/common/err.c

build/fuzz_profile: tests/fuzz/fuzz_profile.c $(PROFILE_SRCS) $(PURE_SRCS) \
                    profiles/default.conf $(HDRS) | build
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -iquote include \
	    -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_profile.c \
	    $(PROFILE_SRCS) $(PURE_SRCS) -linih

build/fuzz_tls: tests/fuzz/fuzz_tls.c src/relay/tls.c include/tls.h | build
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -iquote include \
	    -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_tls.c \
	    src/relay/tls.c

build/fuzz_dns: tests/fuzz/fuzz_dns.c src/relay/dns.c include/dns.h | build
	clang -std=gnu11 -D_GNU_SOURCE -g -O1 -iquote include \
	    -fsanitize=fuzzer,address,undefined -o $@ tests/fuzz/fuzz_dns.c \
	    src/relay/dns.c

fuzz: build/fuzz_http build/fuzz_hook build/fuzz_profile build/fuzz_tls \
      build/fuzz_dns
	@mkdir -p build/fuzz-corpus build/fuzz-hook-corpus
	build/fuzz_http -max_total_time=$(FUZZ_TIME) -max_len=20000 \
	    build/fuzz-corpus tests/fuzz/corpus
	build/fuzz_hook -max_total_time=$(FUZZ_TIME) -max_len=4096 \
	    build/fuzz-hook-corpus tests/fuzz/hook-corpus
	@mkdir -p build/fuzz-profile-corpus
	build/fuzz_profile -max_total_time=$(FUZZ_TIME) -max_len=8192 \
	    build/fuzz-profile-corpus tests/fuzz/profile-corpus
	@mkdir -p build/fuzz-tls-corpus build/fuzz-dns-corpus
	build/fuzz_tls -max_total_time=$(FUZZ_TIME) -max_len=20000 \
	    build/fuzz-tls-corpus tests/fuzz/tls-corpus
	build/fuzz_dns -max_total_time=$(FUZZ_TIME) -max_len=1024 \
	    build/fuzz-dns-corpus tests/fuzz/dns-corpus

cppcheck:
	cppcheck --error-exitcode=1 --enable=warning,performance,portability \
	    --inline-suppr --std=c11 -q -Iinclude -D_GNU_SOURCE \
	    --suppress=missingIncludeSystem src tools tests/unit

# Bug-finding checks.  Left out as noise here: C11 Annex K "_s" advice,
# struct padding, "!strcmp()" (the house idiom), va_list and cleanup-
# attribute false positives, and vfork (deliberate: init.c)
TIDY_CHECKS := -*,clang-analyzer-*,bugprone-*,-bugprone-easily-swappable-parameters,\
  -bugprone-reserved-identifier,-bugprone-assignment-in-if-condition,\
  -bugprone-narrowing-conversions,-bugprone-sizeof-expression,\
  -bugprone-suspicious-string-compare,\
  -clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling,\
  -clang-analyzer-security.insecureAPI.strcpy,\
  -clang-analyzer-optin.performance.Padding,-clang-analyzer-valist.Uninitialized,\
  -clang-analyzer-deadcode.DeadStores,\
  -clang-analyzer-security.insecureAPI.vfork,-clang-analyzer-unix.Vfork
clang-tidy: build/seccomp-filter.h
	clang-tidy --quiet --checks='$(TIDY_CHECKS)' $(SRCS) $(GEN_SRCS) -- \
	    -std=gnu11 -D_GNU_SOURCE -DAB_VERSION='"$(VERSION)"' -iquote include -iquote build \
	    $(PKG_CFLAGS)

lint: cppcheck clang-tidy

clean:
	rm -rf build agentbox agentbox-asan

demo: agentbox
	@tests/demo
