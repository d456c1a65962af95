#!/usr/bin/env bash
# Runs a command with a systemd journal of its own to write to and read back.
#
# As root, the command runs in a private mount namespace (unshare -m) where tmpfs hides
# /run/systemd/journal and /run/log/journal, and a standalone systemd-journald started here
# serves them: no other journald on the machine (started, stopped or restarted by anyone) can
# touch the tests' journal, and the tests read back only what their own journald stored. The
# journald is stopped when the command ends, so no test leaves a process behind.
#
# Not root, or without unshare: the command runs against the machine's journal if there is one
# (tests that read the journal are skipped otherwise).
set -uo pipefail
journald=/lib/systemd/systemd-journald
socket=/run/systemd/journal/socket

if [ "$(id -u)" = 0 ] && [ -z "${DOSED_PRIVATE_JOURNAL:-}" ] && command -v unshare >/dev/null && [ -x "$journald" ]; then
  exec unshare --mount --propagation private env DOSED_PRIVATE_JOURNAL=1 "$0" "$@"
fi

started=
if [ -n "${DOSED_PRIVATE_JOURNAL:-}" ]; then
  mkdir -p /run/systemd/journal /run/log/journal
  mount -t tmpfs -o mode=0755 dosed-journal /run/systemd/journal
  mount -t tmpfs -o mode=2755 dosed-journal-log /run/log/journal
  # Inside the namespace only: journalctl reads /var/log/journal too, so hide the machine's.
  if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=2755 dosed-journal-var /var/log/journal; fi
  "$journald" >/dev/null 2>&1 &
  started=$!
  for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.05; done
fi
stop() {
  if [ -n "$started" ]; then kill "$started" 2>/dev/null; wait "$started" 2>/dev/null; fi
}
trap stop EXIT
# The tests' own journald, for the test that stalls it (never the machine's).
if [ -n "$started" ]; then export DOSED_TEST_JOURNALD_PID="$started"; fi
[ -S "$socket" ] || echo "note: no systemd journal here; tests that read the journal are skipped" >&2
"$@"
