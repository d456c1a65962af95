#!/usr/bin/env python3
"""Benchmarks of the running daemon (figures go to README.md, never into tests).

  lateness  due time -> journal entry (__REALTIME_TIMESTAMP) and -> socket notification, p50/p99
  idle      wakeups per minute while idle (voluntary context switches of every thread) and memory
  startup   time from exec to armed (first `status` reply) with 1,000 and 10,000 schedules

Usage: bench/daemon_bench.py [lateness|idle|startup|all] [--desktop]
Run `make release` first; `lateness` needs a systemd journal (scripts/with-journald.sh provides one).
--desktop: dosed talks to a notification server (python-dbusmock, Tests/Tools/notifications.py)
on a private session bus, and idle measures with a notification shown (the bus connected).
"""
import atexit, json, os, socket, subprocess, sys, tempfile, time

DOSED = os.environ.get("DOSED", ".build/release/dosed")
DESKTOP = {}


def desktop_bus():
    """A private dbus-daemon with a notification server; its environment for dosed."""
    root = tempfile.mkdtemp(prefix="dosed-bench-bus-", dir="/tmp")
    address = f"unix:path={root}/bus"
    with open(f"{root}/bus.conf", "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>{address}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/>
<allow own="*"/></policy></busconfig>""")
    env = {"PATH": "/usr/bin:/bin", "DBUS_SESSION_BUS_ADDRESS": address}
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={root}/bus.conf", "--nofork", "--nopidfile"],
                           stderr=subprocess.DEVNULL)
    while not os.path.exists(f"{root}/bus"):
        time.sleep(0.01)
    tool = os.path.join(os.path.dirname(__file__), "..", "Tests", "Tools", "notifications.py")
    server = subprocess.Popen(["/usr/bin/python3", tool, "serve", "body actions"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["/usr/bin/python3", tool, "owner"], env=env, check=True)
    atexit.register(lambda: [p.kill() for p in (server, bus)])
    return {"DBUS_SESSION_BUS_ADDRESS": address}


def start(config, extra_env=None):
    state = tempfile.mkdtemp(prefix="dosed-bench-state-")
    sock = os.path.join(state, "dosed.sock")
    env = {"PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": state}
    env.update(DESKTOP)
    env.update(extra_env or {})
    proc = subprocess.Popen([DOSED, "--config", config, "--state", state, "--socket", sock],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return proc, sock


def connect(sock, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            return s
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.0005)


def call(s, method, params=None, rid=1):
    msg = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params is not None:
        msg["params"] = params
    s.sendall((json.dumps(msg) + "\n").encode())
    buf = b""
    while True:
        buf += s.recv(65536)
        for line in buf.split(b"\n")[:-1]:
            reply = json.loads(line)
            if reply.get("id") == rid:
                return reply


def config_dir(medications, main='timezone = "UTC"\n'):
    d = tempfile.mkdtemp(prefix="dosed-bench-config-")
    os.makedirs(os.path.join(d, "medications"))
    with open(os.path.join(d, "dosed.toml"), "w") as f:
        f.write(main)
    for name, text in medications.items():
        with open(os.path.join(d, "medications", name + ".toml"), "w") as f:
            f.write(text)
    return d


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rfc3339_micros(text):
    from datetime import datetime, timezone
    text = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S.%f" if "." in text else "%Y-%m-%dT%H:%M:%S"
    dt = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    return int(dt.timestamp()) * 1_000_000 + dt.microsecond


def reminder_lateness(sock, seconds):
    """Subscribes to reminders for `seconds`; each one's lateness (received - due) in µs."""
    s = connect(sock)
    call(s, "subscribe", {"events": ["reminder"]})
    s.settimeout(1)
    received, buf, end = [], b"", time.time() + seconds
    while time.time() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        now = time.time_ns() // 1000
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            n = json.loads(line)
            if n.get("method") == "reminder":
                received.append(now - rfc3339_micros(n["params"]["due"]))
    return received


def lateness(seconds=25, schedules=25):
    # `schedules` schedules, each due every second at its own fraction: 25 x 25 s = 625 reminders.
    meds = {}
    for i in range(schedules):
        frac = f"{i * 1000 // schedules:03d}"
        meds[f"m{i:02d}"] = (f'name = "Bench {i}"\n[[schedule]]\nid = "s"\non = "*:*:00.{frac}/1"\n'
                             f'window = "1h"\nrepeat = "0"\nescalate = "1h"\n')
    proc, sock = start(config_dir(meds))
    try:
        received = reminder_lateness(sock, seconds)
        out = subprocess.run(["journalctl", "-o", "json", "--no-pager", f"_PID={proc.pid}", "DOSED_EVENT=reminder"],
                             capture_output=True, text=True).stdout
        journal = [int(e["__REALTIME_TIMESTAMP"]) - rfc3339_micros(e["DOSED_DUE"])
                   for e in map(json.loads, out.splitlines())]
    finally:
        proc.terminate()
        proc.wait()
    for name, values in (("journal", journal), ("socket", received)):
        if values:
            print(f"lateness to {name}: n={len(values)} p50={pct(values, 50) / 1000:.2f} ms "
                  f"p99={pct(values, 99) / 1000:.2f} ms max={max(values) / 1000:.2f} ms")


def threads_switches(pid):
    """Voluntary context switches per thread id."""
    counts = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        counts[t] = int(line.split()[1])
        except FileNotFoundError:
            pass
    return counts


def idle(seconds=60):
    meds = {"interferon": 'name = "Interferon"\n[[schedule]]\nid = "evening"\non = "Mon,Wed,Fri 20:00"\n'}
    if DESKTOP:
        # A dose due now, shown once (no repeat, no escalation within the hour): the bus is connected.
        first = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1))
        meds["now"] = (f'name = "Now"\n[[schedule]]\nid = "s"\nevery = "1d"\nfirst = {first}\n'
                       f'window = "2h"\nrepeat = "0"\nescalate = "2h"\n')
    proc, sock = start(config_dir(meds))
    try:
        call(connect(sock), "status")
        time.sleep(2)
        before = threads_switches(proc.pid)
        time.sleep(seconds)
        after = threads_switches(proc.pid)
        # Threads that came (counted from zero) or went (not counted) during the minute.
        wakeups = sum(n - before.get(t, 0) for t, n in after.items())
        with open(f"/proc/{proc.pid}/status") as f:
            mem = {l.split(":")[0]: l.split(":")[1].strip() for l in f if l.startswith(("VmRSS", "RssAnon", "RssFile"))}
    finally:
        proc.terminate()
        proc.wait()
    print(f"idle wakeups: {wakeups * 60 / seconds:.1f} per minute over {seconds} s ({len(after)} threads)")
    print(f"idle memory: RssAnon {mem['RssAnon']}, VmRSS {mem['VmRSS']} (RssFile {mem['RssFile']})")


def startup(schedules=1000, runs=5):
    meds = {}
    for i in range(schedules // 2):
        meds[f"m{i:03d}"] = (f'name = "Medication {i}"\nsites = ["a", "b"]\n'
                             f'[[schedule]]\nid = "am"\non = "Mon,Wed,Fri {i % 24:02d}:{i % 60:02d}"\nbefore = ["30m"]\n'
                             f'[[schedule]]\nid = "course"\nevery = "8h"\nfirst = 2026-12-01T08:00:00\n'
                             f'cycle = {{ doses = 14, off = "9d" }}\ncount = 28\n')
    config = config_dir(meds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc, sock = start(config)
        try:
            call(connect(sock), "status")
            times.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait()
    print(f"start to armed with {schedules} schedules: median {pct(times, 50) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {runs} runs)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--desktop"]
    if "--desktop" in sys.argv:
        DESKTOP.update(desktop_bus())
    what = args[0] if args else "all"
    for name, fn in (("startup", startup), ("idle", idle), ("lateness", lateness)):
        if what in (name, "all"):
            fn()
    if what == "startup":
        startup(schedules=10_000)
