#!/usr/bin/env python3
"""The soak run of scripts/soak.sh: the exporter under a steady load for minutes, watched.

Usage: soak.py BIN CONFIG MINUTES RATE LINE_RATE TOPIC LOG_DIR PAYLOADS BROKER_SH OUT [ROTATE_SECS]

Starts the exporter (`BIN run --config CONFIG`), then for MINUTES: Kafka's ProducerPerformance
produces RATE audit events a second (from PAYLOADS) to TOPIC, and a writer appends LINE_RATE
authorizer decisions a second to LOG_DIR/kafka-authorizer.log, rotated every ROTATE_SECS
(default 60) as log4j's
RollingFileAppender does (.log -> .log.1 -> .log.2 -> .log.3, the oldest deleted). Every second
it scrapes /metrics (timing the scrape) and reads the exporter's RSS. Then it waits until the
exporter has counted exactly what was produced (the topic's end offsets) and written, checks for
10 s more that nothing is counted twice, stops the exporter with SIGTERM, and prints a table per
minute (events/s, RSS, scrape latency) and the verdict. Exit 1 when a count is off or the
exporter does not stop cleanly.
"""
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

AUDIT = "audit"
FILES = "files"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def counts(body):
    """Events counted per source (events + parse errors: every record is one or the other)."""
    out = {AUDIT: 0.0, FILES: 0.0}
    for line in body.splitlines():
        if not line.startswith(("kafka_security_events_total{", "kafka_security_parse_errors_total{")):
            continue
        for source in out:
            if f'source="{source}"' in line:
                out[source] += float(line.rsplit(" ", 1)[1])
    return out


class Writer(threading.Thread):
    """Appends authorizer decisions at a steady rate, rotating the file every minute."""

    def __init__(self, log_dir, rate, rotate_secs):
        super().__init__(daemon=True)
        self.rotate_secs = rotate_secs
        self.path = os.path.join(log_dir, "kafka-authorizer.log")
        self.rate = rate
        self.stop = threading.Event()
        self.lines = 0
        self.rotations = 0

    def rotate(self, f):
        f.close()
        for i in (3, 2, 1):
            src = self.path + (f".{i - 1}" if i > 1 else "")
            if os.path.exists(src):
                os.replace(src, f"{self.path}.{i}")
        self.rotations += 1
        return open(self.path, "a")

    def run(self):
        f = open(self.path, "a")
        start = time.monotonic()
        rotated_at = start
        while not self.stop.is_set():
            now = time.monotonic()
            if now - rotated_at >= self.rotate_secs:
                f = self.rotate(f)
                rotated_at = now
            due = int((now - start) * self.rate) - self.lines
            if due > 0:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
                batch = []
                for k in range(due):
                    n = self.lines + k
                    batch.append(
                        f"[{stamp},{n % 1000:03d}] INFO Principal = User:user-{n % 50} is Denied "
                        f"operation = READ from host = 10.0.{n % 7}.{n % 250} on resource = "
                        f"Topic:LITERAL:orders-{n % 5} for request = Fetch with resourceRefCount = 1 "
                        f"based on rule DefaultDeny (kafka.authorizer.logger)\n")
                f.write("".join(batch))
                f.flush()
                self.lines += due
            time.sleep(0.05)
        f.close()


def end_offsets(broker_sh, topic):
    out = subprocess.run(
        [broker_sh, "admin", "org.apache.kafka.tools.GetOffsetShell", "--topic", topic, "--time", "-1"],
        capture_output=True, text=True, check=True).stdout
    return sum(int(line.rsplit(":", 1)[1]) for line in out.splitlines() if line.count(":") >= 2)


def main():
    (bin_, config, minutes, rate, line_rate, topic, log_dir, payloads, broker_sh,
     out_file) = sys.argv[1:11]
    rotate_secs = int(sys.argv[11]) if len(sys.argv) > 11 else 60
    minutes, rate, line_rate = int(minutes), int(rate), int(line_rate)
    port = free_port()
    log = open(config + ".log", "w")
    proc = subprocess.Popen(
        [bin_, "--web.listen-address", f"127.0.0.1:{port}", "run", "--config", config],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def scrape():
        """The exposition and how long it took, in ms; a kept-alive connection the server closed
        while idle (after the 10 s of the final check) is opened again, once."""
        nonlocal conn
        for attempt in (1, 2):
            t0 = time.monotonic()
            try:
                conn.request("GET", "/metrics")
                body = conn.getresponse().read().decode()
                return body, (time.monotonic() - t0) * 1000
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    for _ in range(300):
        try:
            scrape()
            break
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    else:
        sys.exit(f"soak: /metrics never answered; see {config}.log")

    producer = subprocess.Popen(
        [broker_sh, "admin", "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
         "--num-records", str(rate * 60 * minutes), "--throughput", str(rate),
         "--payload-file", payloads, "--command-property", "acks=all",
         "--command-property", "linger.ms=10"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    writer = Writer(log_dir, line_rate, rotate_secs)
    writer.start()

    samples = []  # (seconds, rss MiB, scrape ms, audit count, files count)
    start = time.monotonic()
    while time.monotonic() - start < minutes * 60:
        if proc.poll() is not None:
            sys.exit(f"soak: the exporter exited with {proc.returncode}; see {config}.log")
        body, ms = scrape()
        c = counts(body)
        samples.append((time.monotonic() - start, rss_mib(proc.pid), ms, c[AUDIT], c[FILES]))
        time.sleep(max(0.0, 1.0 - ms / 1000))
    writer.stop.set()
    writer.join()
    produced_out = producer.communicate(timeout=600)[0]
    if producer.returncode != 0:
        sys.exit(f"soak: ProducerPerformance failed: {produced_out[-2000:]}")
    expected = {AUDIT: end_offsets(broker_sh, topic), FILES: writer.lines}

    # Everything counted, then 10 s more of nothing counted twice.
    deadline = time.monotonic() + 180
    c = {}
    while time.monotonic() < deadline:
        c = counts(scrape()[0])
        if all(c[s] >= expected[s] for s in expected):
            break
        time.sleep(0.5)
    caught_up = time.monotonic() - start - minutes * 60
    time.sleep(10)
    final = counts(scrape()[0])
    final_rss = rss_mib(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = "killed after 60 s"

    lines = [f"Soak: {minutes} min, {rate} audit events/s from Kafka (topic {topic}) and "
             f"{line_rate} authorizer lines/s tailed, rotated every {rotate_secs} s ({writer.rotations} "
             f"rotations).", "",
             "| minute | audit events/s | tailed lines/s | RSS MiB (min–max) | scrape ms p50 / p99 / max |",
             "|---|---|---|---|---|"]
    for m in range(minutes):
        in_m = [s for s in samples if m * 60 <= s[0] < (m + 1) * 60]
        if len(in_m) < 2:
            continue
        span = in_m[-1][0] - in_m[0][0]
        ms = sorted(s[2] for s in in_m)
        p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
        lines.append(
            f"| {m + 1} | {(in_m[-1][3] - in_m[0][3]) / span:,.0f} | {(in_m[-1][4] - in_m[0][4]) / span:,.0f} "
            f"| {min(s[1] for s in in_m):.1f}–{max(s[1] for s in in_m):.1f} "
            f"| {statistics.median(ms):.1f} / {p99:.1f} / {ms[-1]:.1f} |")
    warm = [s[1] for s in samples if 60 <= s[0] < 120]
    last = [s[1] for s in samples if s[0] >= (minutes - 1) * 60]
    growth = (max(last) / max(warm) - 1) * 100 if warm and last else float("nan")
    ok = all(final[s] == expected[s] for s in expected) and code == 0
    lines += ["",
              f"Counted: audit {final[AUDIT]:,.0f} of {expected[AUDIT]:,} produced (the topic's end "
              f"offsets); tailed {final[FILES]:,.0f} of {expected[FILES]:,} written; caught up "
              f"{caught_up:.1f} s after the load stopped, unchanged 10 s later.",
              f"RSS: {max(warm) if warm else float('nan'):.1f} MiB at most in minute 2, "
              f"{max(last) if last else float('nan'):.1f} MiB at most in the last minute "
              f"({growth:+.1f}%), {final_rss:.1f} MiB at the end. Exit code {code}.",
              f"Verdict: {'PASS' if ok else 'FAIL'} (exact counts, clean stop)."]
    text = "\n".join(lines)
    print(text)
    with open(out_file, "w") as f:
        f.write(text + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
