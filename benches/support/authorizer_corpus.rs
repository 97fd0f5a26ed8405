//! The authorizer-line corpus shared by `benches/authorizer_parse.rs` and
//! `examples/authorizer_lines.rs`: real-format Kafka 4.4 `StandardAuthorizer` denials, 245 bytes
//! on average.

const USERS: [&str; 4] = [
    "User:alice",
    "User:bob",
    "User:svc-orders",
    "User:CN=app1,OU=eng,O=Acme",
];
const TOPICS: [&str; 4] = ["orders", "payments", "customers", "audit-trail"];

/// `n` lines in the default layout, `[%d] %p %m (%c)`, without trailing newlines.
pub fn corpus(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let user = USERS[i % USERS.len()];
            let topic = TOPICS[(i / 3) % TOPICS.len()];
            let (op, api) = if i % 2 == 0 { ("WRITE", "Produce") } else { ("READ", "Fetch") };
            format!(
                "[2026-11-26 14:06:{:02},{:03}] INFO Principal = {user} is Denied operation = {op} from host = 127.0.0.{} on resource = Topic:LITERAL:{topic} for request = {api} with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)",
                i % 60,
                i % 1000,
                i % 250
            )
        })
        .collect()
}

/// `n` allowed lines whose rule is a `MatchingAcl(…)`, as Kafka 4.4 writes an ACL-granted access
/// at DEBUG (the parser must search for their tail: the rule's text can hold anything).
pub fn corpus_matching_acl(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let user = USERS[i % USERS.len()];
            let topic = TOPICS[(i / 3) % TOPICS.len()];
            let (op, api) = if i % 2 == 0 { ("WRITE", "Produce") } else { ("READ", "Fetch") };
            format!(
                "[2026-11-26 14:06:{:02},{:03}] DEBUG Principal = {user} is Allowed operation = {op} from host = 127.0.0.{} on resource = Topic:LITERAL:{topic} for request = {api} with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName={topic}, patternType=LITERAL, principal={user}, host=*, operation={op}, permissionType=ALLOW]) (kafka.authorizer.logger)",
                i % 60,
                i % 1000,
                i % 250
            )
        })
        .collect()
}
