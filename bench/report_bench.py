#!/usr/bin/env python3
"""The care-team report's benchmark (figures go to README.md): `dosectl report` over 90 days of three
medications with a symptom diary (SPEC 11 asks for under 1 MB, written in under a second), and the
time of `export --format fhir` and `next --ics` on the same history.
Usage: bench/report_bench.py [--runs N] [--keep DIR]   (after `make release`; --keep leaves the
history and the report in DIR, e.g. for a screenshot)."""
import os, random, shutil, sqlite3, subprocess, sys, tempfile, time

from history_bench import timed  # the median of N runs of a whole dosectl command

DOSECTL = os.environ.get("DOSECTL", ".build/release/dosectl")
DAY = 86400 * 10**6
NOW = int(time.time()) * 10**6
START = (NOW // DAY - 90) * DAY

CONFIG = {
    "dosed.toml": 'timezone = "UTC"\n[report]\npatient = "Ann Example"\n',
    "medications/interferon.toml": 'name = "Interferon alfa (Intron A)"\ndose = "3 million units"\nroute = "subcutaneous"\n'
    'sites = ["abdomen left", "abdomen right", "thigh left", "thigh right"]\nstock = 40\nrefill_at = 3\n'
    '[[schedule]]\nid = "evening"\non = "Mon,Wed,Fri 20:00"\nbefore = ["30m"]\nwindow = "2h"\n',
    "medications/ondansetron.toml": 'name = "Ondansetron"\ndose = "8 mg tablet"\nroute = "by mouth"\nstock = 60\n'
    '[[schedule]]\nid = "morning"\non = "*-*-* 08:00"\nwindow = "90m"\n',
    "medications/paracetamol.toml": 'name = "Paracetamol"\ndose = "1 g"\nstock = 100\n'
    '[as_needed]\nmin_interval = "4h"\nmax = { doses = 4, per = "24h" }\nreason = "fever after the injection"\n',
}


def make(directory):
    for name, text in CONFIG.items():
        os.makedirs(os.path.dirname(f"{directory}/config/{name}"), exist_ok=True)
        open(f"{directory}/config/{name}", "w").write(text)
    flags = ["--config", f"{directory}/config", "--state", f"{directory}/state", "--socket", f"{directory}/none.sock"]
    subprocess.run([DOSECTL, "note", "start of the course"] + flags, check=True, stdout=subprocess.DEVNULL)
    db = sqlite3.connect(f"{directory}/state/history.sqlite")
    rnd = random.Random(7)
    uid = os.getuid()
    doses, trail, notes = [], [], []

    def answer(med, sched, due, window, state, at, site=None, reason=None):
        dose_id = f"{med}/{sched}@{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(due // 10**6))}"
        closes = due + window if window else None
        doses.append((dose_id, med, sched, due, state, at, site, closes, reason))
        trail.append((dose_id, med, sched, due, state, at if state == "taken" else None, site, at,
                      uid, "daemon" if state == "missed" else "cli", reason, 0))

    sites = ["abdomen left", "abdomen right", "thigh left", "thigh right"]
    injection = 0
    for day in range(90):
        midnight = START + day * DAY
        morning = midnight + 8 * 3600 * 10**6
        r = rnd.random()
        if r < 0.04:
            answer("ondansetron", "morning", morning, 90 * 60 * 10**6, "missed", morning + 90 * 60 * 10**6)
        elif r < 0.07:
            answer("ondansetron", "morning", morning, 90 * 60 * 10**6, "skipped", morning + 60 * 10**6, reason="vomiting")
        else:
            late = rnd.random() < 0.08
            answer("ondansetron", "morning", morning, 90 * 60 * 10**6, "taken",
                   morning + (2 * 3600 if late else rnd.randrange(0, 1800)) * 10**6)
        weekday = time.gmtime(midnight // 10**6).tm_wday
        if weekday not in (0, 2, 4):
            continue
        evening = midnight + 20 * 3600 * 10**6
        r = rnd.random()
        if r < 0.05:
            answer("interferon", "evening", evening, 2 * 3600 * 10**6, "held", evening - 3600 * 10**6, reason="low blood count")
            continue
        if r < 0.09:
            answer("interferon", "evening", evening, 2 * 3600 * 10**6, "missed", evening + 2 * 3600 * 10**6)
            continue
        answer("interferon", "evening", evening, 2 * 3600 * 10**6, "taken", evening + rnd.randrange(0, 2400) * 10**6,
               site=sites[injection % 4])
        injection += 1
        fever = rnd.randint(1, 5)
        notes.append((evening + 5 * 3600 * 10**6, "fever after the injection", None, "fever", fever))
        notes.append((evening + 14 * 3600 * 10**6, "tired", None, "fatigue", rnd.randint(1, 4)))
        if fever >= 3:
            take = evening + 5 * 3600 * 10**6 + 600 * 10**6
            answer("paracetamol", "as-needed", take, None, "taken", take)
    db.executemany("INSERT INTO dose (id, medication, schedule, due, state, answeredAt, site, closes, reason) VALUES (?,?,?,?,?,?,?,?,?)", doses)
    db.executemany("INSERT INTO answer (dose, medication, schedule, due, state, at, site, recorded, uid, channel, reason, correction) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", trail)
    db.executemany("INSERT INTO note (at, text, dose, symptom, severity) VALUES (?,?,?,?,?)", notes)
    db.execute("UPDATE scheduleSeen SET firstSeen = ?", (START,))
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lastAlive', ?)", (NOW,))
    db.commit()
    db.close()
    return flags, len(doses), len(notes)


if __name__ == "__main__":
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    keep = sys.argv[sys.argv.index("--keep") + 1] if "--keep" in sys.argv else None
    directory = keep or tempfile.mkdtemp(prefix="dosed-report-")
    os.makedirs(directory, exist_ok=True)
    flags, dose_count, note_count = make(directory)
    out = f"{directory}/report.html"
    t = timed(["report", "--since", "90d", "--output", out] + flags, runs)
    size = os.path.getsize(out)
    fhir = timed(["export", "--format", "fhir", "--since", "90d"] + flags, runs)
    ics = timed(["next", "-n", "1000", "--ics"] + flags, runs)
    print(f"90 days, 3 medications ({dose_count} doses, {note_count} notes): report {size / 1024:.0f} KB in {t * 1000:.0f} ms; "
          f"export --format fhir {fhir * 1000:.0f} ms; next -n 1000 --ics {ics * 1000:.0f} ms (median of {runs})")
    if not keep:
        shutil.rmtree(directory)
