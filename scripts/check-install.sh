#!/usr/bin/env bash
# `make install DESTDIR=…` lays out every file, units point at the installed binary, the catalog
# compiles, and `make uninstall` removes it all. Run by `make test` (before the Swift tests).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make --no-print-directory install DESTDIR="$dest" PREFIX=/usr CONFIGURATION=debug >/dev/null
failed=0
expect() { if ! eval "$2"; then echo "install check failed: $1" >&2; failed=$((failed + 1)); fi; }
for f in bin/dosed bin/dosectl lib/systemd/system/dosed-system.service lib/systemd/user/dosed.service \
         lib/systemd/user/dosed.socket lib/systemd/catalog/dosed.catalog lib/sysusers.d/dosed.conf \
         share/doc/dosed/examples/dosed.toml share/doc/dosed/examples/medications/interferon.toml \
         share/bash-completion/completions/dosectl share/zsh/site-functions/_dosectl \
         share/fish/vendor_completions.d/dosectl.fish share/man/man1/dosectl.1 share/man/man8/dosed.8 share/man/man5/dosed.toml.5 \
         share/applications/dosed.desktop share/icons/hicolor/scalable/apps/dosed.svg; do
  expect "$f installed" "[ -s '$dest/usr/$f' ]"
done
expect "binaries run" "'$dest/usr/bin/dosectl' check --config '$dest/usr/share/doc/dosed/examples' >/dev/null"
expect "ExecStart names the installed dosed" "grep -q '^ExecStart=/usr/bin/dosed --system$' '$dest/usr/lib/systemd/system/dosed-system.service'"
expect "user unit ExecStart" "grep -q '^ExecStart=/usr/bin/dosed$' '$dest/usr/lib/systemd/user/dosed.service'"
expect "completion mentions take" "grep -q take '$dest/usr/share/bash-completion/completions/dosectl'"
expect "man page of dosectl" "grep -q 'Dt DOSECTL 1' '$dest/usr/share/man/man1/dosectl.1'"
expect "dosectl(1) lists the exit codes" "grep -q 'daemon is needed but not reachable' '$dest/usr/share/man/man1/dosectl.1'"
expect "dosed(8) points at the config reference" "grep -q 'dosed.toml 5' '$dest/usr/share/man/man8/dosed.8'"
expect "binaries are stripped" "! readelf -S '$dest/usr/bin/dosed' | grep -q '\.symtab' && ! readelf -S '$dest/usr/bin/dosectl' | grep -q '\.symtab'"
if command -v desktop-file-validate >/dev/null; then expect "dosed.desktop is valid" "desktop-file-validate '$dest/usr/share/applications/dosed.desktop'"; fi
expect "the icon is SVG" "grep -q '<svg' '$dest/usr/share/icons/hicolor/scalable/apps/dosed.svg'"
if command -v mandoc >/dev/null; then expect "dosed.toml(5) formats" "mandoc -Tlint -Wwarning '$dest/usr/share/man/man5/dosed.toml.5' >/dev/null"; fi
if command -v journalctl >/dev/null; then
  journalctl --root="$dest" --update-catalog
  expect "catalog lists 13 dosed entries (one per MESSAGE_ID)" "[ \$(journalctl --root='$dest' --list-catalog | grep -c ' dosed: ') = 13 ]"
  rm -rf "$dest/var"
fi
make --no-print-directory uninstall DESTDIR="$dest" PREFIX=/usr >/dev/null
expect "uninstall leaves no file" "[ -z \"\$(find '$dest' -type f)\" ]"
if [ "$failed" -gt 0 ]; then exit 1; fi
echo "install layout: every file in place, uninstall clean"
