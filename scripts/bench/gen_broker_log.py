#!/usr/bin/env python3
"""Write a mixed Kafka broker log (one file, as a broker's stdout or a shipped stream holds it):
55% authorizer denials (INFO, `DefaultDeny`), 10% allowed decisions (DEBUG, `MatchingAcl(...)`),
20% failed logins (`Selector`), 10% noise from other loggers, 5% lines of stack traces (an ERROR
entry followed by its `at ...` frames). Deterministic (seeded).

Line formats are Kafka 4.x's own: the authorizer line from
https://github.com/apache/kafka/blob/4.0/metadata/src/main/java/org/apache/kafka/metadata/authorizer/StandardAuthorizerData.java
(`logAuditMessage`), the failed login from
https://github.com/apache/kafka/blob/4.0/clients/src/main/java/org/apache/kafka/common/network/Selector.java
and the log4j layout `[%d] %p %m (%c)%n` of
https://github.com/apache/kafka/blob/4.0/config/log4j2.yaml

Usage: gen_broker_log.py FILE LINES
"""
import random
import sys

path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(14)
users = ["alice", "bob", "carol", "svc-orders", "svc-billing", "CN=app1,OU=eng,O=Acme"]
topics = ["orders", "payments", "customers", "audit-trail", "inventory"]
ops = [("WRITE", "Produce"), ("READ", "Fetch"), ("DESCRIBE", "Metadata")]
noise = [
    "[LocalLog partition={t}-0, dir=/var/lib/kafka/data] Rolled new log segment at offset {i} in 2 ms. (kafka.log.LocalLog)",
    "[GroupCoordinator id=1] Dynamic member with unknown member id joins group {t}-consumers in Empty state. Created a new member id {u}-client-{i}. (org.apache.kafka.coordinator.group.GroupMetadataManager)",
    "[ProducerStateManager partition={t}-1] Wrote producer snapshot at offset {i} with 0 producer ids in 1 ms. (org.apache.kafka.storage.internals.log.ProducerStateManager)",
]
trace = [
    "ERROR [ReplicaFetcher replicaId=1, leaderId=2, fetcherId=0] Error for partition {t}-2 at offset {i} (kafka.server.ReplicaFetcherThread)",
    "org.apache.kafka.common.errors.NotLeaderOrFollowerException: For requests intended only for the leader, this error indicates that the broker is not the current leader.",
    "\tat org.apache.kafka.common.requests.FetchResponse.partitionData(FetchResponse.java:142)",
    "\tat kafka.server.AbstractFetcherThread.processFetchRequest(AbstractFetcherThread.scala:331)",
    "\tat kafka.server.AbstractFetcherThread.maybeFetch(AbstractFetcherThread.scala:151)",
]
written = 0
with open(path, "w") as out:
    i = 0
    while written < n:
        i += 1
        t = f"2026-11-26 {(i // 3600000) % 24:02d}:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d},{i % 1000:03d}"
        u, top, h = rng.choice(users), rng.choice(topics), f"10.0.{i % 7}.{i % 250}"
        op, api = rng.choice(ops)
        r = rng.randrange(100)
        if r < 55:
            out.write(f"[{t}] INFO Principal = User:{u} is Denied operation = {op} from host = {h} on resource = Topic:LITERAL:{top} for request = {api} with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n")
            written += 1
        elif r < 65:
            out.write(f"[{t}] DEBUG Principal = User:{u} is Allowed operation = {op} from host = {h} on resource = Topic:LITERAL:{top} for request = {api} with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName={top}, patternType=LITERAL, principal=User:{u}, host=*, operation={op}, permissionType=ALLOW]) (kafka.authorizer.logger)\n")
            written += 1
        elif r < 85:
            out.write(f"[{t}] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{h} (channelId=10.0.0.1:9092-{h}:{30000 + i % 30000}-0-{i}) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512) (org.apache.kafka.common.network.Selector)\n")
            written += 1
        elif r < 95:
            out.write(f"[{t}] INFO " + rng.choice(noise).format(t=top, i=i, u=u) + "\n")
            written += 1
        elif written + len(trace) <= n:
            out.write(f"[{t}] " + "\n".join(trace).format(t=top, i=i) + "\n")
            written += len(trace)
