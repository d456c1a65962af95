#!/usr/bin/env bash
# Runs a command with a systemd journal to write to. When there is none (a container or CI machine
# without systemd as PID 1) and we are root, starts a standalone systemd-journald for the command's
# duration and stops it afterwards, so no test leaves a process behind.
set -uo pipefail
socket=/run/systemd/journal/socket
journald=/lib/systemd/systemd-journald
started=
# A socket left by a journald that is gone counts as none.
if [ -S "$socket" ] && ! pgrep -x systemd-journal >/dev/null; then
  [ "$(id -u)" = 0 ] && rm -f "$socket"
fi
if [ ! -S "$socket" ] && [ "$(id -u)" = 0 ] && [ -x "$journald" ]; then
  "$journald" >/dev/null 2>&1 &
  started=$!
  for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
fi
stop() {
  if [ -n "$started" ]; then
    kill "$started" 2>/dev/null; wait "$started" 2>/dev/null
    rm -f /run/systemd/journal/socket /run/systemd/journal/stdout /run/systemd/journal/dev-log \
      /run/systemd/journal/io.systemd.journal
  fi
}
trap stop EXIT
[ -S "$socket" ] || echo "note: no systemd journal here; tests that read the journal are skipped" >&2
"$@"
