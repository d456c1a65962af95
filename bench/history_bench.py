#!/usr/bin/env python3
"""History benchmarks (figures go to README.md): `dosectl adherence` over a whole history and
`dosectl history --since 30d`, on ten years of five medications (~50,000 doses) and on a stress
history of 1,000,000 doses, each answered dose with its audit trail (one record per answer as dosed
writes it, and a correction with its reason for one dose in 50). Usage: bench/history_bench.py [--runs N]   (after `make release`)."""
import os, random, sqlite3, subprocess, sys, tempfile, time

DOSECTL = os.environ.get("DOSECTL", ".build/release/dosectl")
NOW = int(time.time() * 1e6)
YEAR = 365 * 86400 * 10**6

MEDS = {  # id: (calendar expression or None, interval seconds)
    "interferon": "Mon,Wed,Fri 20:00", "ondansetron": "*-*-* 08:00", "vitamin": "*-*-* 08,20:00",
    "aldesleukin": None, "heparin": "*-*-* 07,15,23:00",
}


def make(doses_total):
    d = tempfile.mkdtemp(prefix="dosed-hist-")
    os.makedirs(f"{d}/config/medications")
    open(f"{d}/config/dosed.toml", "w").write('timezone = "UTC"\n')
    for med, on in MEDS.items():
        timing = f'on = "{on}"' if on else 'every = "8h"\nfirst = 2015-01-01T08:00:00'
        open(f"{d}/config/medications/{med}.toml", "w").write(
            f'name = "{med.title()}"\nsites = ["left", "right"]\n[[schedule]]\nid = "s"\n{timing}\nwindow = "2h"\n')
    flags = ["--config", f"{d}/config", "--state", f"{d}/state", "--socket", f"{d}/none.sock"]
    subprocess.run([DOSECTL, "note", "benchmark history"] + flags, check=True, stdout=subprocess.DEVNULL)
    db = sqlite3.connect(f"{d}/state/history.sqlite")
    start = NOW // 10**6 * 10**6 - 10 * YEAR  # whole seconds, as calendar due times are
    per_med = doses_total // len(MEDS)
    step = 10 * YEAR // per_med // 10**6 * 10**6
    rnd = random.Random(1)
    rows = []
    trail = []
    uid = os.getuid()
    for med in MEDS:
        for i in range(per_med):
            due = start + i * step
            r = rnd.random()
            state = "taken" if r < 0.85 else "skipped" if r < 0.9 else "missed"
            answered = due + rnd.randrange(0, 3 * 3600 * 10**6) if state == "taken" else due if state == "skipped" else due + 7200 * 10**6
            dose_id = f"{med}/s@{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(due // 10**6))}"  # as dosed writes ids
            channel = "daemon" if state == "missed" else "cli"
            trail.append((dose_id, med, "s", due, state, answered if state == "taken" else None,
                          "left" if state == "taken" else None, answered, uid, channel, None, 0))
            corrected = i % 50 == 0
            if corrected:  # a take corrected to skipped, or the others to taken
                state = "skipped" if state == "taken" else "taken"
                trail.append((dose_id, med, "s", due, state, answered if state == "taken" else None, None,
                               answered + 3600 * 10**6, uid, "cli", "corrected by the benchmark", 1))
            rows.append((dose_id, med, "s", due, state, answered, "left", None, due + 7200 * 10**6,
                         "corrected by the benchmark" if corrected else None, int(corrected)))
    db.executemany("INSERT INTO dose (id, medication, schedule, due, state, answeredAt, site, note, closes, reason, corrected) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.executemany("INSERT INTO answer (dose, medication, schedule, due, state, at, site, recorded, uid, channel, reason, correction) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", trail)
    db.execute("UPDATE scheduleSeen SET firstSeen = ?", (start,))
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lastAlive', ?)", (NOW,))
    db.commit()
    db.close()
    return flags


def timed(args, runs):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([DOSECTL] + args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


if __name__ == "__main__":
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    for total in (50_000, 1_000_000):
        flags = make(total)
        a = timed(["adherence", "--since", "2010-01-01", "--json"] + flags, runs)
        h = timed(["history", "--since", "30d", "--json"] + flags, runs)
        print(f"{total:>9,} doses: adherence over all of it {a * 1000:.0f} ms, history --since 30d {h * 1000:.0f} ms (median of {runs})")
