# SPDX-License-Identifier: GPL-2.0
#
# passthru: the one entry point.
#
#   make                 the module (for KVER/KDIR) and the userspace tools
#   make check           every test: VM suites on Debian's 6.1 kernel, DKMS
#   make demo            boot a VM and tell the story: hidden at boot, lent to a QEMU, refused, back reset
#                        (INTERACTIVE=1: then a shell in that VM)
#   make bench           passthrud against a bare sysfs floor, in two VMs (not in check)
#   make style           checkpatch and sparse on the kernel code
#   make fuzz            every parser's libFuzzer target, FUZZ_SECONDS (600) each, and nlfuzz with 10^6 messages on
#                        the debug kernel; make check gives each target 30 s and nlfuzz 10^5 messages
#   make deps            install the Debian packages all of this needs
#   make deb             the Debian packages passthru-dkms and passthrud, in build/deb/ (lintian-checked)
#   make install / dkms-install / uninstall   (a developer's install; hosts use the packages)

# The one version: VERSION, written into dkms.conf, the module and the daemon.
VERSION := $(shell cat $(dir $(lastword $(MAKEFILE_LIST)))VERSION)

# The kernel to build for: the running one when its headers are here,
# else the newest kernel whose headers are installed.
KVER ?= $(shell if [ -d /lib/modules/$$(uname -r)/build ]; then uname -r; \
	else ls -1d /lib/modules/*/build 2>/dev/null | sort -V | tail -n 1 | cut -d/ -f4; fi)
KDIR ?= /lib/modules/$(KVER)/build

CC ?= gcc
CFLAGS ?= -O2 -g
BUILD := build
PKGS := libsystemd libudev libpci libnl-genl-3.0 inih json-c libgcrypt
WARN := -std=gnu11 -Wall -Wextra -Werror
USER_CPPFLAGS := -D_GNU_SOURCE= -DPT_VERSION='"$(VERSION)"' -Iinclude -Iinclude/uapi -Idaemon \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
USER_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer

# daemon/: everything but the mains is a library that the tests link.
DAEMON_MAINS := daemon/passthrud.c
DAEMON_SRCS := $(filter-out $(DAEMON_MAINS),$(wildcard daemon/*.c))
DAEMON_HDRS := $(wildcard daemon/*.h) include/passthru-names.h include/passthru-direct.h include/uapi/linux/passthru.h
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test-*.c))

PREFIX ?= /usr/local
DESTDIR ?=

.PHONY: all module tools daemon unit check demo bench style deps clean \
	install dkms-source dkms-install dkms-uninstall uninstall deb

all: module tools daemon

module:
	@test -d "$(KDIR)" || { echo "No kernel headers in $(KDIR): run 'make deps' or set KVER/KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

tools: $(BUILD)/ptnl $(BUILD)/ptnl-fuzz $(BUILD)/vfio-check $(BUILD)/pt-hold $(BUILD)/pt-flood $(BUILD)/pt-stash $(BUILD)/direct-acquire $(BUILD)/pt-reuse $(BUILD)/pt-bench $(BUILD)/pt-bench-floor \
	$(BUILD)/passthrud-faults

# -MMD: each object also depends on the headers it really includes.
$(BUILD)/obj/%.o: daemon/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/asan/%.o: daemon/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANITIZE) $(USER_CPPFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/asan/*.d)

$(BUILD)/libpassthrud.a: $(DAEMON_SRCS:daemon/%.c=$(BUILD)/obj/%.o)
	$(AR) rcs $@ $^

$(BUILD)/libpassthrud-asan.a: $(DAEMON_SRCS:daemon/%.c=$(BUILD)/asan/%.o)
	$(AR) rcs $@ $^

daemon: $(BUILD)/passthrud $(BUILD)/passthructl

$(BUILD)/passthrud: daemon/passthrud.c $(BUILD)/libpassthrud.a
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpassthrud.a $(USER_LIBS)

# The daemon-faults VM suite's passthrud, its FAULT_POINT()s armed (daemon/faultpoint.h): a test tool, never installed.
$(BUILD)/faults/%.o: daemon/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) -DPT_FAULT_POINTS -MMD -MP -c -o $@ $<

-include $(wildcard $(BUILD)/faults/*.d)

$(BUILD)/passthrud-faults: $(BUILD)/faults/passthrud.o $(DAEMON_SRCS:daemon/%.c=$(BUILD)/faults/%.o)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $^ $(USER_LIBS)

# passthructl: each cli/*.c its own object, linked with the daemon's library (strv);
# libxml2 reads libvirt's domain XML (cli/domxml.c) for the libvirt hook.
CLI_OBJS := $(patsubst cli/%.c,$(BUILD)/cli/%.o,$(wildcard cli/*.c))
XML_CPPFLAGS := $(shell pkg-config --cflags libxml-2.0 2>/dev/null)
XML_LIBS := $(shell pkg-config --libs libxml-2.0 2>/dev/null)

$(BUILD)/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(XML_CPPFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard $(BUILD)/cli/*.d)

$(BUILD)/passthructl: $(CLI_OBJS) $(BUILD)/libpassthrud.a
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libpassthrud.a $(USER_LIBS) $(shell pkg-config --libs json-c) \
		$(XML_LIBS)

$(BUILD)/ptnl: tests/tools/ptnl.c $(BUILD)/libpassthrud.a
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libpassthrud.a $(USER_LIBS)

# The debug kernel's nlfuzz suite: raw netlink sockets, no library.
$(BUILD)/ptnl-fuzz: tests/tools/ptnl-fuzz.c include/uapi/linux/passthru.h
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -D_GNU_SOURCE= -Iinclude/uapi $(LDFLAGS) -o $@ $<

$(BUILD)/pt-hold: tests/tools/pt-hold.c $(DAEMON_HDRS)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(USER_LIBS)

# A stand-in passthrud on a private bus, for the libvirt hook's host-side test.
$(BUILD)/pt-standin: tests/tools/pt-standin.c $(DAEMON_HDRS)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(USER_LIBS)

# docs/direct.md's minimal client, built as its readers would (the daemon suite runs it).
$(BUILD)/direct-acquire: docs/examples/direct-acquire.c
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --cflags --libs libsystemd)

# A client of the direct socket that never reads (test-direct, the daemon suite).
$(BUILD)/pt-flood: tests/tools/pt-flood.c
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -D_GNU_SOURCE= $(LDFLAGS) -o $@ $<

# A holder that hands its group fd to dbus-daemon's queue (the daemon suite's revocation case).
$(BUILD)/pt-stash: tests/tools/pt-stash.c
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --cflags --libs libsystemd)

$(BUILD)/pt-reuse: tests/tools/pt-reuse.c $(DAEMON_HDRS)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(USER_LIBS)

# make bench's programs: a D-Bus client of passthrud and the bare floor.
$(BUILD)/pt-bench: tests/bench/client.c $(DAEMON_HDRS)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(USER_CPPFLAGS) $(LDFLAGS) -o $@ $< $(USER_LIBS)

$(BUILD)/pt-bench-floor: tests/bench/floor.c
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) -D_GNU_SOURCE= $(LDFLAGS) -o $@ $<

# Unit tests: cmocka, ASan and UBSan; each prints TAP.
$(BUILD)/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libpassthrud-asan.a
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O1 -g $(SANITIZE) $(USER_CPPFLAGS) -Itests/unit -o $@ $< $(UNIT_EXTRA) \
		$(BUILD)/libpassthrud-asan.a $(USER_LIBS) $(shell pkg-config --libs cmocka)

# test-lease: its pthread_create() fails on demand (a worker without threads).
$(BUILD)/unit/test-lease: UNIT_EXTRA := -Wl,--wrap=pthread_create -Wl,--wrap=clone -Wl,--wrap=ioctl
# test-names: the names tables, as the daemon and passthructl (its output.c) use them.
$(BUILD)/unit/test-names: cli/output.c cli/output.h
$(BUILD)/unit/test-names: UNIT_EXTRA := -Icli cli/output.c
# test-domxml: passthructl's reader of libvirt's domain XML, with libxml2.
$(BUILD)/unit/test-domxml: cli/domxml.c cli/domxml.h
$(BUILD)/unit/test-domxml: UNIT_EXTRA := $(XML_CPPFLAGS) $(XML_LIBS)

unit: $(UNIT_TESTS) $(BUILD)/passthructl $(BUILD)/passthrud $(BUILD)/pt-standin $(BUILD)/pt-hold $(BUILD)/pt-flood $(BUILD)/direct-acquire
	@rc=0; tests/unit/run.sh $(UNIT_TESTS) || rc=1; tests/unit/completion.sh || rc=1; \
		tests/unit/refresh-initramfs.sh || rc=1; tests/unit/install.sh || rc=1; \
		python3 tests/unit/deps.py || rc=1; python3 tests/unit/docs.py || rc=1; \
		python3 tests/unit/includes.py || rc=1; python3 tests/unit/vmrun-watch.py || rc=1; \
		python3 tests/unit/cockpit-page.py || rc=1; \
		tests/unit/cli.sh || rc=1; \
		tests/unit/libvirt-hook.sh || rc=1; exit $$rc

$(BUILD)/vfio-check: tests/tools/vfio-check.c
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@tests/deps.sh

check: deps
	@tests/check.sh

demo: deps
	@INTERACTIVE=$(INTERACTIVE) tests/vm/demo.sh

bench: deps
	@tests/bench/run.sh

style:
	@tests/style.sh "$(KDIR)"

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null
	rm -rf $(BUILD)

install: daemon
	@PREFIX=$(PREFIX) ROOTLIBDIR=$(ROOTLIBDIR) DESTDIR=$(DESTDIR) BUILD=$(BUILD) data/install.sh install

uninstall:
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) BUILD=$(BUILD) data/install.sh uninstall

# make deb: dpkg-buildpackage in a copy of the tree (build/deb/passthru-VERSION),
# so that its products land in build/deb/, not beside the checkout.
deb: deps
	@tests/deb.sh

$(BUILD)/dkms.conf: dkms.conf.in VERSION
	@mkdir -p $(BUILD)
	sed 's/@VERSION@/$(VERSION)/' $< >$@

# The module's source as DKMS wants it in /usr/src (also debian/rules').
dkms-source: $(BUILD)/dkms.conf
	rm -rf $(DESTDIR)/usr/src/passthru-$(VERSION)
	mkdir -p $(DESTDIR)/usr/src/passthru-$(VERSION)
	cp -r Kbuild Makefile VERSION kmod include $(DESTDIR)/usr/src/passthru-$(VERSION)/
	cp $(BUILD)/dkms.conf $(DESTDIR)/usr/src/passthru-$(VERSION)/

dkms-install: dkms-source
	dkms add passthru/$(VERSION)
	@# every installed kernel with headers; AUTOINSTALL covers the next ones
	for k in $$(ls /lib/modules); do \
		if [ -d /lib/modules/$$k/build ]; then dkms install passthru/$(VERSION) -k $$k || exit 1; fi; \
	done

dkms-uninstall:
	-dkms remove passthru/$(VERSION) --all
	rm -rf $(DESTDIR)/usr/src/passthru-$(VERSION)

# ---------------------------------------------------------------------------
# make fuzz: libFuzzer targets (tests/fuzz/fuzz-*.c), built with clang, ASan
# and UBSan against the daemon's library and kmod/hide.c, run by
# tests/fuzz/run.sh for FUZZ_SECONDS each (make check: 30 s).

FUZZ_CC := clang
FUZZ_SECONDS ?= 600
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz-*.c))
# kmod/hide.c as it is, over a few userspace stand-ins for kernel headers;
# -Wno-sign-compare as Kbuild has it.
FUZZ_KSHIM := -Itests/fuzz/kshim -Iinclude -Ikmod

.PHONY: fuzz fuzz-build

$(BUILD)/fuzz/obj/%.o: daemon/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) $(USER_CPPFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/obj/kmod-hide.o: kmod/hide.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) -Wno-sign-compare $(FUZZ_CFLAGS) -D_GNU_SOURCE= $(FUZZ_KSHIM) -MMD -MP -c -o $@ $<

-include $(wildcard $(BUILD)/fuzz/obj/*.d $(BUILD)/fuzz/*.d)

$(BUILD)/fuzz/libpassthrud-fuzz.a: $(DAEMON_SRCS:daemon/%.c=$(BUILD)/fuzz/obj/%.o)
	$(AR) rcs $@ $^

# fuzz-hide, and fuzz-cmdline that holds the daemon's reading up to the module's.
FUZZ_WITH_HIDE := $(BUILD)/fuzz/fuzz-hide $(BUILD)/fuzz/fuzz-cmdline
$(FUZZ_WITH_HIDE): FUZZ_EXTRA_CPPFLAGS := $(FUZZ_KSHIM)
$(FUZZ_WITH_HIDE): FUZZ_EXTRA_OBJS := $(BUILD)/fuzz/obj/kmod-hide.o
$(FUZZ_WITH_HIDE): $(BUILD)/fuzz/obj/kmod-hide.o

# fuzz-cli: passthructl's client and printing (not its main) against a stand-in server.
FUZZ_CLI_OBJS := $(BUILD)/fuzz/cli/client.o $(BUILD)/fuzz/cli/options.o $(BUILD)/fuzz/cli/output.o $(BUILD)/fuzz/cli/verbs.o
$(BUILD)/fuzz/cli/%.o: cli/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(WARN) $(FUZZ_CFLAGS) $(USER_CPPFLAGS) -MMD -MP -c -o $@ $<

-include $(wildcard $(BUILD)/fuzz/cli/*.d)

# fuzz-bus: the daemon's vtables on tests/unit/fake-sysfs.h's tree (its helpers use cmocka's asserts).
$(BUILD)/fuzz/fuzz-bus: FUZZ_EXTRA_CPPFLAGS := -Itests/unit
$(BUILD)/fuzz/fuzz-bus: FUZZ_EXTRA_OBJS := -lcmocka

$(BUILD)/fuzz/fuzz-cli: FUZZ_EXTRA_CPPFLAGS := -Icli
$(BUILD)/fuzz/fuzz-cli: FUZZ_EXTRA_OBJS := $(FUZZ_CLI_OBJS)
$(BUILD)/fuzz/fuzz-cli: $(FUZZ_CLI_OBJS)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(BUILD)/fuzz/libpassthrud-fuzz.a
	$(FUZZ_CC) $(WARN) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer $(USER_CPPFLAGS) $(FUZZ_EXTRA_CPPFLAGS) -Itests/fuzz \
		-MMD -MP -o $@ $< $(FUZZ_EXTRA_OBJS) $(BUILD)/fuzz/libpassthrud-fuzz.a $(USER_LIBS)

fuzz-build: $(FUZZ_TARGETS)

# ... and the kernel's netlink family on the debug kernel: NLFUZZ_MESSAGES
# (10^6) as root, a fifth of that for each other run, no time cap, in
# NLFUZZ_BOOTS (5) boots (tests/fuzz/nlfuzz-long.sh says why; ~680
# messages/s under TCG here: ~40 min in all).
NLFUZZ_MESSAGES ?= 1000000
NLFUZZ_BOOTS ?= 5
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh
	@tests/kernel/build.sh >/dev/null
	@NLFUZZ_MESSAGES=$(NLFUZZ_MESSAGES) NLFUZZ_BOOTS=$(NLFUZZ_BOOTS) tests/fuzz/nlfuzz-long.sh
