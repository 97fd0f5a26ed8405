#!/usr/bin/env python3
"""Start the exporter, wait until its /metrics counts N records, report the time and CPU it took.

Usage: until_counted.py BIN CONFIG N TIMEOUT_SECS [steady RATE_WINDOW_SECS WARMUP_SECS]

Prints one line `wall_s=<s> cpu_s=<s> counted=<n> peak_rss_mib=<MiB>`: wall time from process start until the sum of
`kafka_security_events_total` and `kafka_security_parse_errors_total` (or of the metrics named in
the environment variable UNTIL_COUNTED, comma-separated) reaches N (polled every
10 ms over one kept-alive connection), and the CPU seconds (user + system, from /proc) the
exporter had used at that moment. The exporter is then stopped with SIGTERM.

With `steady`, instead waits WARMUP_SECS after the first record, then reports the exporter's CPU
over the next WINDOW seconds (`cores=<cpu s / wall s> events=<counted in the window>`): the cost of
a stream at a fixed rate, produced by someone else.
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
# UNTIL_COUNTED (comma-separated metric names) replaces what is counted, e.g.
# kafka_security_output_events_total: events the output topic acknowledged.
COUNTED = tuple(
    os.environ.get("UNTIL_COUNTED", "kafka_security_events_total,kafka_security_parse_errors_total")
    .split(","))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def counted(conn):
    conn.request("GET", "/metrics")
    body = conn.getresponse().read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(COUNTED):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def main():
    bin_, config, n, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    steady = len(sys.argv) > 5 and sys.argv[5] == "steady"
    port = free_port()
    start = time.monotonic()
    proc = subprocess.Popen(
        [bin_, "--web.listen-address", f"127.0.0.1:{port}", "run", "--config", config],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(config + ".log", "w"))
    conn = None
    result = None
    try:
        seen = 0
        first = None
        while time.monotonic() - start < timeout:
            if proc.poll() is not None:
                sys.exit(f"until_counted: the exporter exited with {proc.returncode}; see {config}.log")
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                seen = counted(conn)
            except OSError:
                conn = None
                time.sleep(0.01)
                continue
            if steady:
                if seen > 0 and first is None:
                    first = time.monotonic()
                if first is not None and time.monotonic() - first >= float(sys.argv[7]):
                    window = float(sys.argv[6])
                    c0, e0, t0 = cpu_secs(proc.pid), seen, time.monotonic()
                    conn.close()  # the server closes idle connections
                    time.sleep(window)
                    c1, t1 = cpu_secs(proc.pid), time.monotonic()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    e1 = counted(conn)
                    result = f"cores={(c1 - c0) / (t1 - t0):.4f} events={e1 - e0} window_s={t1 - t0:.2f}"
                    break
            elif seen >= n:
                result = (f"wall_s={time.monotonic() - start:.3f} cpu_s={cpu_secs(proc.pid):.3f} "
                          f"counted={seen} peak_rss_mib={peak_rss_mib(proc.pid):.0f}")
                break
            time.sleep(0.01)
    finally:
        if conn:
            conn.close()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    if result is None:
        sys.exit(f"until_counted: only {seen} of {n} records counted within {timeout} s; see {config}.log")
    print(result)


if __name__ == "__main__":
    main()
