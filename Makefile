# dosed — build, run and test. `make run` and `make test` are all a newcomer needs.
SWIFT ?= swift
CONFIG ?= config
PREFIX ?= /usr/local

.PHONY: all deps build release run test bench clean

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

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Builds, then starts dosed in the foreground on the example config plus a demo dose that
# falls due within a minute. Answer it from a second terminal with the command printed first.
run: build
	@demo=$$(scripts/demo-config.sh); \
	flags="--config $$demo/config --state $$demo/state --socket $$demo/dosed.sock"; \
	echo "dosed is starting on config/ plus a demo dose due in 30 seconds."; \
	echo "In another terminal:  .build/debug/dosectl $$flags take demo"; \
	echo "                      .build/debug/dosectl $$flags watch"; \
	echo; \
	exec .build/debug/dosed $$flags

# Builds everything and runs every test (unit, differential against systemd-analyze, end to end).
test: deps
	$(SWIFT) build --build-tests
	scripts/with-journald.sh $(SWIFT) test --skip-build

# Benchmarks (figures go to README.md); see bench/README.md.
bench: release
	bench/next-vs-systemd.sh

clean:
	rm -rf .build
