#!/usr/bin/env python3
"""Kafka 4.x authorizer log of DefaultDeny lines for the memory-under-attack benchmark.

Usage: gen_attack_log.py calm|attack LINES > FILE

calm:   50 principals from 50 client hosts.
attack: every line a new principal from a new client host (what an attacker who controls
        usernames and addresses can send).
1,000 lines a second of event time, on 20 topics, in Kafka 4.x's authorizer line.
"""
import sys
import time


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("calm", "attack"):
        sys.exit(__doc__)
    mode, n = sys.argv[1], int(sys.argv[2])
    base = 1764800000
    w = sys.stdout.write
    for i in range(n):
        if mode == "calm":
            user, host = f"svc{i % 50}", f"10.0.0.{i % 50}"
        else:
            user, host = f"attacker{i}", f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        t = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(base + i // 1000))
        w(f"[{t},{i % 1000:03d}] INFO Principal = User:{user} is Denied operation = WRITE "
          f"from host = {host} on resource = Topic:LITERAL:orders-{i % 20} for request = "
          f"Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n")


if __name__ == "__main__":
    main()
