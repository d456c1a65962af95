#!/usr/bin/env bash
# Makes the config `make run` uses: the example config/ plus a demo medication whose first dose
# falls due within a minute, so a newcomer sees a reminder and can answer it. Prints the dir.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
demo="$root/.build/demo"
rm -rf "$demo/config"
mkdir -p "$demo/config" "$demo/state"
cp -R "$root/config/." "$demo/config/"
# The first demo dose: 30 seconds from now (an exact instant, whatever the zone), then every 2 minutes.
first=$(date -d '+30 seconds' --iso-8601=seconds)
cat > "$demo/config/medications/demo.toml" <<TOML
# Added by 'make run': a demo dose 30 seconds after start, then every 2 minutes.
name = "Demo vitamin"
dose = "1 tablet"
route = "by mouth"
stock = 5
refill_at = 2

[[schedule]]
id = "every2m"
every = "2m"
first = $first
window = "90s"
repeat = "20s"
escalate = "40s"
TOML
echo "$demo"
