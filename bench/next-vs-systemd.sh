#!/usr/bin/env bash
# `dosectl next -n 10000 --from T` against `systemd-analyze calendar --iterations=10000 --base-time=T`
# on the same expressions and zone, side by side with hyperfine. Goal: ratio <= 1.0.
# Usage: bench/next-vs-systemd.sh   (after `make release`; installs hyperfine with apt when root)
set -euo pipefail
cd "$(dirname "$0")/.."
DOSECTL=${DOSECTL:-.build/release/dosectl}
[ -x "$DOSECTL" ] || { echo "build first: make release" >&2; exit 1; }
if ! command -v hyperfine >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq hyperfine >/dev/null; else echo "needs hyperfine (apt install hyperfine)" >&2; exit 1; fi
fi
ZONE=Europe/London
BASE="2026-11-28 12:00:00"
N=10000
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/medications"
printf 'timezone = "%s"\n' "$ZONE" > "$dir/dosed.toml"
expressions=("Mon,Wed,Fri 20:00" "*-*-* 08:00" "*:0/15" "*-*~01 18:00" "Sun *-*-1..7 02:30")
i=0
for e in "${expressions[@]}"; do
  printf 'name = "Bench %d"\n[[schedule]]\nid = "s"\non = "%s"\n' "$i" "$e" > "$dir/medications/m$i.toml"
  i=$((i + 1))
done
mkdir -p bench/results
i=0
for e in "${expressions[@]}"; do
  echo "== $e"
  TZ=$ZONE hyperfine --warmup 2 --runs 10 -N --export-json "bench/results/next-$i.json" \
    -n dosectl "$DOSECTL next m$i/s -n $N --from '$BASE' --config $dir" \
    -n systemd-analyze "systemd-analyze calendar --iterations=$N --base-time='$BASE' '$e'" 2>&1 \
    | grep -E "Time|±|faster" || true
  python3 - "bench/results/next-$i.json" "$e" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"   {sys.argv[2]!r}: dosectl {r['dosectl']*1000:.1f} ms, systemd-analyze {r['systemd-analyze']*1000:.1f} ms, ratio {r['dosectl']/r['systemd-analyze']:.2f}")
PY
  i=$((i + 1))
done
