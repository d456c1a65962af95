#!/usr/bin/env python3
"""Abuse of a running daemon, and what it costs the reminders (figures go to README.md).

While reminders fall due every 100 ms, clients send malformed and oversized lines, batches of
100 `upcoming {count: 1000}`, hold 500 idle connections, subscribe and never read, and pipeline
2,000 takes that they read only 3 s later. Measured: reminder lateness (due -> journal entry, and
due -> notification to a well-behaved subscriber) during the abuse, memory before and after, and
whether every acknowledged take is in the history exactly once.

Usage: bench/abuse.py [--seconds 30] [--nice]   (run `make release` first, under scripts/with-journald.sh)

On a 2-core machine the abuse itself saturates both cores, so the lateness then also measures how
long journald and dosed wait for a core. With --nice the abusing clients run at nice 19 (dosed and
journald at 0), which shows what the abuse costs dosed's own engine.
"""
import json, os, random, shutil, socket, sqlite3, subprocess, sys, threading, time

sys.path.insert(0, os.path.dirname(__file__))
from daemon_bench import DOSED, call, config_dir, connect, pct, rfc3339_micros  # noqa: E402


def rss_anon(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1])  # kB
    return 0


def send_lines(sock, lines):
    s = connect(sock)
    s.settimeout(5)
    for line in lines:
        try:
            s.sendall(line + b"\n")
        except OSError:
            break
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


def malformed(sock, stop, counts):
    junk = [b"[1,2,]", b"{", b"nul", b'{"jsonrpc":"2.0","id":1,"method":"status",}', b"[" * 70 + b"]" * 70,
            b'{"jsonrpc":"2.0","id":1e999,"method":"status"}', b'{"jsonrpc":"2.0","id":1,"method":"snooze","params":{"medication":"interferon","for":"1000000000w"}}',
            b'{"jsonrpc":"2.0","id":1,"method":"stock","params":{"medication":"interferon","add":8999999999999999}}',
            b'{"jsonrpc":"2.0","id":1,"method":"upcoming","params":{"count":100000000}}', bytes(random.getrandbits(8) for _ in range(200))]
    while not stop.is_set():
        send_lines(sock, junk)
        counts["malformed"] += len(junk)
        send_lines(sock, [b"x" * (70 * 1024)])  # over 64 KiB: -32600, then closed
        counts["oversized"] += 1


def batches(sock, stop, counts):
    batch = b"[" + b",".join([b'{"jsonrpc":"2.0","id":%d,"method":"upcoming","params":{"count":1000}}' % i for i in range(100)]) + b"]"
    s = connect(sock)
    buf = b""
    while not stop.is_set():
        s.sendall(batch + b"\n")
        while b"\n" not in buf:
            buf += s.recv(1 << 20)
        _, buf = buf.split(b"\n", 1)
        counts["batches"] += 1
    s.close()


def pipelined_takes(sock, n=2000):
    s = connect(sock)
    payload = b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"take","params":{"medication":"interferon"}}\n' % i
                       for i in range(1, n + 1))
    writer = threading.Thread(target=s.sendall, args=(payload,))
    writer.start()
    time.sleep(3)  # read late
    acked, buf = set(), b""
    s.settimeout(60)
    while len(acked) < n:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            reply = json.loads(line)
            if "result" in reply:
                acked.add(reply["id"])
    writer.join()
    s.close()
    return acked


class Rounds:
    """A stop signal for the abusers that is set after `n` rounds."""
    def __init__(self, n):
        self.left = n

    def is_set(self):
        self.left -= 1
        return self.left < 0


def warm_up(sock):
    """Each kind of request the abuse sends, once and small: what dosed keeps from a first use
    (runtime metadata, prepared statements, buffers sized once) is then in the idle figure the
    memory after the abuse is compared with. Returns the takes acknowledged."""
    counts = {"malformed": 0, "oversized": 0, "batches": 0}
    malformed(sock, Rounds(1), counts)
    batches(sock, Rounds(1), counts)
    conns = [connect(sock) for _ in range(5)]
    s = connect(sock)
    s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"subscribe"}\n')
    acked = pipelined_takes(sock, 20)
    for c in conns + [s]:
        c.close()
    return len(acked)


WATCHER = """
import json, sys
sys.path.insert(0, "bench")
from daemon_bench import reminder_lateness
print(json.dumps(reminder_lateness(sys.argv[1], float(sys.argv[2]))))
"""


def main():
    seconds = int(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 30
    meds = {f"r{i}": (f'name = "Reminder {i}"\n[[schedule]]\nid = "s"\non = "*:*:00.{i}/1"\n'
                      f'window = "1h"\nrepeat = "0"\nescalate = "1h"\n') for i in range(10)}
    meds["interferon"] = 'name = "Interferon"\nstock = 100000\nsites = ["left", "right"]\n'
    config = config_dir(meds)
    state = config + "-state"
    sock = os.path.join(state, "dosed.sock")
    proc = subprocess.Popen([DOSED, "--config", config, "--state", state, "--socket", sock],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={"PATH": "/usr/bin:/bin", "TZ": "UTC", "HOME": state})
    if "--nice" in sys.argv:
        os.nice(19)  # this process only: dosed was started at the normal priority
    try:
        call(connect(sock), "status")
        time.sleep(3)
        idle_kb = rss_anon(proc.pid)
        warm_takes = warm_up(sock)
        time.sleep(5)
        warm_kb = rss_anon(proc.pid)
        start_us = time.time_ns() // 1000
        received, stop = [], threading.Event()
        # The well-behaved subscriber is a process of its own, so the abusers' threads never
        # delay its reading (Python runs one thread at a time).
        watcher_proc = subprocess.Popen([sys.executable, "-c", WATCHER, sock, str(seconds)], stdout=subprocess.PIPE, text=True)

        def watch():
            received.extend(json.loads(watcher_proc.communicate()[0] or "[]"))

        counts = {"malformed": 0, "oversized": 0, "batches": 0}
        kinds = os.environ.get("ABUSE", "malformed,batches,idle,stuck,takes").split(",")
        threads = [threading.Thread(target=watch)]
        if "malformed" in kinds:
            threads += [threading.Thread(target=malformed, args=(sock, stop, counts)) for _ in range(2)]
        if "batches" in kinds:
            threads += [threading.Thread(target=batches, args=(sock, stop, counts))]
        for t in threads:
            t.start()
        idle_conns = [connect(sock) for _ in range(500 if "idle" in kinds else 0)]
        stuck = []
        for _ in range(20 if "stuck" in kinds else 0):
            s = connect(sock)
            s.sendall(b'{"jsonrpc":"2.0","id":1,"method":"subscribe"}\n')
            stuck.append(s)  # never read
        acked = pipelined_takes(sock) if "takes" in kinds else set(range(2000))
        peak_kb = rss_anon(proc.pid)
        time.sleep(max(0, seconds - (time.time_ns() // 1000 - start_us) / 1e6))
        stop.set()
        for t in threads:
            t.join()
        end_us = time.time_ns() // 1000
        for s in idle_conns + stuck:
            s.close()
        time.sleep(5)
        after_kb = rss_anon(proc.pid)
        alive = call(connect(sock), "status").get("result") is not None
        out = subprocess.run(["journalctl", "-o", "json", "--no-pager", f"_PID={proc.pid}", "DOSED_EVENT=reminder"],
                             capture_output=True, text=True).stdout
        journal = [int(e["__REALTIME_TIMESTAMP"]) - rfc3339_micros(e["DOSED_DUE"])
                   for e in map(json.loads, out.splitlines())
                   if start_us <= rfc3339_micros(e["DOSED_DUE"]) <= end_us]
        db = sqlite3.connect(os.path.join(state, "history.sqlite"))
        taken = db.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM dose WHERE medication = 'interferon' AND state = 'taken'").fetchone()
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(config, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
    print(f"abuse for {seconds} s: {counts['malformed']} malformed lines, {counts['oversized']} lines over 64 KiB, "
          f"{counts['batches']} batches of 100 upcoming(1000), 500 idle connections, 20 stuck subscribers, "
          f"2000 pipelined takes read 3 s late")
    for name, values in (("journal", journal), ("socket", received)):
        if values:
            print(f"reminder lateness to {name}: n={len(values)} p50={pct(values, 50) / 1000:.2f} ms "
                  f"p99={pct(values, 99) / 1000:.2f} ms max={max(values) / 1000:.2f} ms")
    print(f"memory (RssAnon): idle {idle_kb / 1024:.1f} MB, after one request of each kind {warm_kb / 1024:.1f} MB, "
          f"peak {peak_kb / 1024:.1f} MB, 5 s after {after_kb / 1024:.1f} MB")
    print(f"takes: {len(acked)} acknowledged (and {warm_takes} before), {taken[0]} in the history ({taken[1]} distinct); daemon alive: {alive}")
    recorded = taken[0] - warm_takes == len(acked) and taken[0] == taken[1]
    ok = len(acked) == 2000 and warm_takes == 20 and (recorded or "takes" not in os.environ.get("ABUSE", "takes")) and alive
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
