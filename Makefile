# dosed — build, run and test. `make run` and `make test` are all a newcomer needs.
SWIFT ?= swift
CONFIG ?= config
PREFIX ?= /usr/local

.PHONY: all deps test-deps build release run test fuzz bench clean install uninstall

# make install [PREFIX=/usr/local] [DESTDIR=] [CONFIGURATION=release]
CONFIGURATION ?= release
# Release binaries carry the Swift runtime and Foundation inside: they run without the toolchain's
# libraries and start in about half the time (README, Benchmarks). Test them with
# DOSED_PRODUCTS=.build/release (the end-to-end tests then run those binaries).
RELEASE_FLAGS = --static-swift-stdlib
BUILD_FLAGS = $(if $(filter release,$(CONFIGURATION)),$(RELEASE_FLAGS))
BINDIR = $(PREFIX)/bin
UNITDIR = $(PREFIX)/lib/systemd/system
USERUNITDIR = $(PREFIX)/lib/systemd/user
CATALOGDIR = $(PREFIX)/lib/systemd/catalog
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
DATADIR = $(PREFIX)/share
INSTALLED = $(BINDIR)/dosed $(BINDIR)/dosectl $(UNITDIR)/dosed-system.service \
	$(USERUNITDIR)/dosed.service $(USERUNITDIR)/dosed.socket $(CATALOGDIR)/dosed.catalog \
	$(SYSUSERSDIR)/dosed.conf $(DATADIR)/doc/dosed/examples \
	$(DATADIR)/bash-completion/completions/dosectl $(DATADIR)/zsh/site-functions/_dosectl \
	$(DATADIR)/fish/vendor_completions.d/dosectl.fish $(DATADIR)/man/man1/dosectl.1 \
	$(DATADIR)/man/man8/dosed.8 $(DATADIR)/man/man5/dosed.toml.5 \
	$(DATADIR)/applications/dosed.desktop $(DATADIR)/icons/hicolor/scalable/apps/dosed.svg

all: build

# libsystemd-dev: the journal and sd_notify C API. Installed with apt when missing and root.
deps:
	@if ! pkg-config --exists libsystemd 2>/dev/null && [ ! -f /usr/include/systemd/sd-journal.h ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing libsystemd-dev and pkg-config with apt..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libsystemd-dev pkg-config >/dev/null; \
	  else \
	    echo "dosed needs libsystemd-dev: run 'sudo apt-get install libsystemd-dev pkg-config' and try again." >&2; exit 1; \
	  fi; \
	fi

# What the tests use beside the build: socat (the README's socket examples, run as printed), a
# session bus with a notification server (dbus, python3-dbusmock) and a real desktop one (dunst
# under Xvfb, screenshots with ImageMagick's import), a headless browser and PDF text for the
# report (chromium, poppler-utils), and venv for the PyPI parsers of TEST_PYPI. Each is checked by
# a file it installs.
TEST_PACKAGES = /usr/bin/socat:socat /usr/bin/dbus-daemon:dbus /usr/bin/dbus-send:dbus \
	/usr/lib/python3/dist-packages/dbusmock:python3-dbusmock /usr/bin/dunst:dunst /usr/bin/dunstctl:dunst \
	/usr/bin/Xvfb:xvfb /usr/bin/import:imagemagick /usr/bin/desktop-file-validate:desktop-file-utils \
	/usr/bin/chromium:chromium /usr/bin/pdftotext:poppler-utils /usr/share/doc/python3-venv:python3-venv
# Independent parsers of what dosectl makes for the care team (SPEC 11), in .build/venv.
TEST_PYPI = icalendar==7.3.2 fhir.resources==8.3.0 html5lib==1.1
VENV = .build/venv
test-deps:
	@missing=$$(for entry in $(TEST_PACKAGES); do [ -e "$${entry%%:*}" ] || echo "$${entry#*:}"; done | sort -u | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing what the tests use with apt: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "make test needs: $$missing; run 'sudo apt-get install $$missing' and try again." >&2; exit 1; \
	  fi; \
	fi
	@if ! $(VENV)/bin/python -c 'import icalendar, fhir.resources, html5lib' 2>/dev/null; then \
	  echo "Preparing $(VENV) with $(TEST_PYPI)..."; \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q $(TEST_PYPI); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release $(RELEASE_FLAGS)

# Builds, then starts dosed in the foreground on the example config plus a demo dose that
# falls due within a minute. Answer it from a second terminal with the command printed first.
run: build
	@demo=$$(scripts/demo-config.sh); \
	flags="--config $$demo/config --state $$demo/state --socket $$demo/dosed.sock"; \
	echo "dosed is starting on config/ plus a demo dose due in 30 seconds."; \
	echo "In another terminal:  .build/debug/dosectl $$flags take demo"; \
	echo "                      .build/debug/dosectl $$flags watch"; \
	echo "In a desktop session the reminder also shows as a notification with Take, Snooze and Skip."; \
	echo; \
	exec .build/debug/dosed $$flags

# Builds everything and runs every test (unit, differential against systemd-analyze, end to end).
# SwiftPM (through Foundation) leaves empty /tmp/TemporaryDirectory.* folders behind on every
# run: they, and every temporary file of the tests, go to .build/tmp, emptied each time.
TEST_TMP = $(CURDIR)/.build/tmp
test: deps test-deps
	rm -rf "$(TEST_TMP)" && mkdir -p "$(TEST_TMP)"
	TMPDIR="$(TEST_TMP)" $(SWIFT) build --build-tests
	TMPDIR="$(TEST_TMP)" scripts/check-install.sh
	TMPDIR="$(TEST_TMP)" DOSED_REQUIRE_DESKTOP=1 DOSED_REQUIRE_TEST_TOOLS=1 scripts/with-journald.sh $(SWIFT) test --skip-build

# Fuzzing with libFuzzer and AddressSanitizer (FuzzTesting/): every target for FUZZ_TIME seconds.
# Findings land in FuzzTesting/FailCases/, which `make test` replays. MERGE=1 keeps new inputs.
FUZZ_TIME ?= 60
fuzz: deps
	# SwiftPM does not notice new source files of a path dependency in an existing build plan.
	rm -f FuzzTesting/.build/*/debug/description.json
	cd FuzzTesting && $(SWIFT) build --sanitize=fuzzer --sanitize=address --disable-dead-strip \
	  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
	scripts/fuzz.sh $(FUZZ_TIME)

# Benchmarks (figures go to README.md); see bench/README.md.
bench: release
	bench/next-vs-systemd.sh

# Binaries, units (ExecStart pointing at BINDIR), catalog, sysusers, example config,
# completions and man pages. With DESTDIR empty, also refreshes the journal's catalog.
install: deps
	$(SWIFT) build -c $(CONFIGURATION) $(BUILD_FLAGS)
	@bin=$$($(SWIFT) build -c $(CONFIGURATION) $(BUILD_FLAGS) --show-bin-path); set -e; \
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(UNITDIR)" "$(DESTDIR)$(USERUNITDIR)" "$(DESTDIR)$(CATALOGDIR)" \
	  "$(DESTDIR)$(SYSUSERSDIR)" "$(DESTDIR)$(DATADIR)/doc/dosed/examples/medications" \
	  "$(DESTDIR)$(DATADIR)/bash-completion/completions" "$(DESTDIR)$(DATADIR)/zsh/site-functions" \
	  "$(DESTDIR)$(DATADIR)/fish/vendor_completions.d" "$(DESTDIR)$(DATADIR)/man/man1" "$(DESTDIR)$(DATADIR)/man/man5" "$(DESTDIR)$(DATADIR)/man/man8" \
	  "$(DESTDIR)$(DATADIR)/applications" "$(DESTDIR)$(DATADIR)/icons/hicolor/scalable/apps"; \
	install -s -m 0755 "$$bin/dosed" "$$bin/dosectl" "$(DESTDIR)$(BINDIR)/"; \
	sed 's|/usr/local/bin/dosed|$(BINDIR)/dosed|' systemd/dosed-system.service > "$(DESTDIR)$(UNITDIR)/dosed-system.service"; \
	sed 's|/usr/local/bin/dosed|$(BINDIR)/dosed|' systemd/dosed.service > "$(DESTDIR)$(USERUNITDIR)/dosed.service"; \
	install -m 0644 systemd/dosed.socket "$(DESTDIR)$(USERUNITDIR)/"; \
	install -m 0644 systemd/dosed.catalog "$(DESTDIR)$(CATALOGDIR)/"; \
	install -m 0644 systemd/dosed.sysusers "$(DESTDIR)$(SYSUSERSDIR)/dosed.conf"; \
	install -m 0644 config/dosed.toml "$(DESTDIR)$(DATADIR)/doc/dosed/examples/"; \
	install -m 0644 config/medications/*.toml "$(DESTDIR)$(DATADIR)/doc/dosed/examples/medications/"; \
	"$$bin/dosectl" --generate-completion-script bash > "$(DESTDIR)$(DATADIR)/bash-completion/completions/dosectl"; \
	"$$bin/dosectl" --generate-completion-script zsh > "$(DESTDIR)$(DATADIR)/zsh/site-functions/_dosectl"; \
	"$$bin/dosectl" --generate-completion-script fish > "$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/dosectl.fish"; \
	man=$$(mktemp -d); \
	$(SWIFT) package --allow-writing-to-directory "$$man" generate-manual --output-directory "$$man" >/dev/null; \
	install -m 0644 "$$man/dosectl.1" "$(DESTDIR)$(DATADIR)/man/man1/"; rm -rf "$$man"; \
	install -m 0644 doc/dosed.8 "$(DESTDIR)$(DATADIR)/man/man8/"; \
	install -m 0644 doc/dosed.toml.5 "$(DESTDIR)$(DATADIR)/man/man5/"; \
	install -m 0644 data/dosed.desktop "$(DESTDIR)$(DATADIR)/applications/"; \
	install -m 0644 data/dosed.svg "$(DESTDIR)$(DATADIR)/icons/hicolor/scalable/apps/"
	@if [ -z "$(DESTDIR)" ]; then journalctl --update-catalog 2>/dev/null || true; \
	  gtk-update-icon-cache -q -t "$(DATADIR)/icons/hicolor" 2>/dev/null || true; \
	  systemd-sysusers 2>/dev/null || true; systemctl daemon-reload 2>/dev/null || true; fi
	@echo "Installed under $(DESTDIR)$(PREFIX). Start it: systemctl --user enable --now dosed"

uninstall:
	rm -rf $(addprefix "$(DESTDIR)",$(INSTALLED))
	@if [ -z "$(DESTDIR)" ]; then journalctl --update-catalog 2>/dev/null || true; fi

clean:
	rm -rf .build FuzzTesting/.build
