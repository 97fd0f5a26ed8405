//! The authorizer-line corpus shared by `benches/authorizer_parse.rs` and
//! `examples/authorizer_lines.rs`: real-format Kafka 4.4 `StandardAuthorizer` denials, 245 bytes
//! on average, and the per-line parse both time.

use std::time::SystemTime;

use kafka_security_exporter::event::SecurityEvent;
use kafka_security_exporter::parse::authorizer;
use kafka_security_exporter::parse::log4j::{parse_header, split_logger};

const USERS: [&str; 4] = [
    "User:alice",
    "User:bob",
    "User:svc-orders",
    "User:CN=app1,OU=eng,O=Acme",
];
const TOPICS: [&str; 4] = ["orders", "payments", "customers", "audit-trail"];

/// What varies from one corpus line to the next.
struct Access {
    /// `yyyy-MM-dd HH:mm:ss,SSS`
    time: String,
    user: &'static str,
    op: &'static str,
    host: String,
    topic: &'static str,
    api: &'static str,
}

/// `n` lines, the `i`-th written by `line` from the `i`-th access of a fixed rotation.
fn lines(n: usize, line: impl Fn(&Access) -> String) -> Vec<String> {
    (0..n)
        .map(|i| {
            let (op, api) = if i % 2 == 0 {
                ("WRITE", "Produce")
            } else {
                ("READ", "Fetch")
            };
            line(&Access {
                time: format!("2026-11-26 14:06:{:02},{:03}", i % 60, i % 1000),
                user: USERS[i % USERS.len()],
                op,
                host: format!("127.0.0.{}", i % 250),
                topic: TOPICS[(i / 3) % TOPICS.len()],
                api,
            })
        })
        .collect()
}

impl Access {
    /// The line KRaft's `StandardAuthorizer` writes to `kafka.authorizer.logger` for this
    /// access, with the level, verdict and rule given.
    fn line(&self, level: &str, verdict: &str, rule: &str) -> String {
        let Access {
            time,
            user,
            op,
            host,
            topic,
            api,
        } = self;
        format!("[{time}] {level} Principal = {user} is {verdict} operation = {op} from host = {host} on resource = Topic:LITERAL:{topic} for request = {api} with resourceRefCount = 1 based on rule {rule} (kafka.authorizer.logger)")
    }
}

/// `n` lines in the default layout, `[%d] %p %m (%c)`, without trailing newlines.
pub fn corpus(n: usize) -> Vec<String> {
    lines(n, |a| a.line("INFO", "Denied", "DefaultDeny"))
}

/// `n` allowed lines whose rule is a `MatchingAcl(…)`, as Kafka 4.4 writes an ACL-granted access
/// at DEBUG (the parser must search for their tail: the rule's text can hold anything).
pub fn corpus_matching_acl(n: usize) -> Vec<String> {
    lines(n, |a| {
        let acl = format!(
            "StandardAcl[resourceType=TOPIC, resourceName={}, patternType=LITERAL, principal={}, host=*, operation={}, permissionType=ALLOW]",
            a.topic, a.user, a.op
        );
        a.line("DEBUG", "Allowed", &format!("MatchingAcl(acl={acl})"))
    })
}

/// The per-line cost without framing: the header split (`parse_header` + `split_logger`), then
/// `authorizer::parse_message`. `None` for a line that is not an authorization decision.
pub fn parse_line(line: &str, now: SystemTime) -> Option<SecurityEvent<'_>> {
    // The corpus is generated in the exact layout, so these cannot fail.
    let h = parse_header(line.as_bytes(), 0).expect("header");
    let (msg, _logger) = split_logger(h.rest);
    let msg = std::str::from_utf8(msg).expect("utf-8");
    authorizer::parse_message(msg, Some(h.timestamp), now)
        .ok()
        .flatten()
}
