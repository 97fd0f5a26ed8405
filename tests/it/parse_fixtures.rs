//! Runs every fixture under `tests/fixtures/` (see its README for the file formats and sources)
//! through [`Parsers`], with auto-detection and with the directory's fixed format, and compares
//! every event field with the exact expectations below. Also: no parser panics on arbitrary bytes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_security_exporter::event::SecurityEvent;
use kafka_security_exporter::parse::log4j::FramerConfig;
use kafka_security_exporter::parse::{Input as Choice, Parsed, Parsers, ParsersConfig, Record};
use proptest::prelude::*;

/// The Kafka timestamp every fixture record carries: 2024-01-01T00:00:00Z.
const RECORD_SECS: u64 = 1_704_067_200;
const RECORD_TIME: &str = "2024-01-01T00:00:00.000000Z";

// === Expectations ===

/// What one case parses to: every field of the event (absent fields are absent here too), or
/// the format tried and the error's `reason()`.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Event(BTreeMap<String, String>),
    Error {
        format: Option<&'static str>,
        reason: &'static str,
    },
}

struct Case {
    id: String,
    /// With the directory's fixed format.
    fixed: Expected,
    /// With auto-detection, when it differs from `fixed` (another format is detected).
    auto: Option<Expected>,
}

/// An event expectation: the five fields every event has, then the optional ones.
fn ev(
    format: &str,
    category: &str,
    outcome: &str,
    event_type: &str,
    time: &str,
    rest: &[(&str, &str)],
) -> Expected {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("format", format),
        ("category", category),
        ("outcome", outcome),
        ("event_type", event_type),
        ("event_time", time),
    ]
    .iter()
    .chain(rest)
    {
        let v = if *k == "event_time" {
            full_precision(v)
        } else {
            v.to_string()
        };
        m.insert(k.to_string(), v);
    }
    Expected::Event(m)
}

fn err(format: Option<&'static str>, reason: &'static str) -> Expected {
    Expected::Error { format, reason }
}

fn case(id: &str, fixed: Expected) -> Case {
    Case {
        id: id.to_string(),
        fixed,
        auto: None,
    }
}

fn case_auto(id: &str, fixed: Expected, auto: Expected) -> Case {
    Case {
        id: id.to_string(),
        fixed,
        auto: Some(auto),
    }
}

const AUDIT: &str = "confluent_audit";
const AUTHZ: &str = "io.confluent.kafka.server/authorization";
const AUTHN: &str = "io.confluent.kafka.server/authentication";

fn audit_cases() -> Vec<Case> {
    let a = |id: &str| format!("confluent_audit/{id}");
    let authz = |outcome: &str, time: &str, rest: &[(&str, &str)]| {
        ev(AUDIT, "authorization", outcome, AUTHZ, time, rest)
    };
    let authn = |outcome: &str, time: &str, rest: &[(&str, &str)]| {
        ev(AUDIT, "authentication", outcome, AUTHN, time, rest)
    };
    let playbook = |line: usize, time: &str, api: &str, op: &str, client: &str, host: &str| {
        case(
            &a(&format!("cp55_playbook.jsonl:{line}")),
            authz(
                "allowed",
                time,
                &[
                    ("principal", "User:producer"),
                    ("api", api),
                    ("operation", op),
                    ("resource_type", "Topic"),
                    ("resource_name", "bar"),
                    ("pattern_type", "LITERAL"),
                    ("client_id", client),
                    ("client_host", host),
                    ("cluster_id", "STOiZ_jWTxqgum3T5zEoqA"),
                ],
            ),
        )
    };
    let huge = format!("User:{}", "A".repeat(200_000));
    vec![
        case(
            &a("cloud_docs_authorization.json"),
            authz(
                "allowed",
                "2021-01-01T12:34:56.789000Z",
                &[
                    ("principal", "User:123456"),
                    ("api", "CreateTopics"),
                    ("operation", "DESCRIBE_CONFIGS"),
                    ("resource_type", "Topic"),
                    ("resource_name", "departures"),
                    ("pattern_type", "LITERAL"),
                    ("client_id", "adminclient-42"),
                    ("cluster_id", "lkc-a1b2c"),
                ],
            ),
        ),
        case(
            &a("cloud_docs_authentication.json"),
            authn(
                "success",
                "2021-01-01T12:34:56.789000Z",
                &[
                    ("principal", "User:123456"),
                    ("api", "Authentication"),
                    ("mechanism", "PLAIN"),
                    ("listener", "SASL_SSL"),
                    ("cluster_id", "lkc-a1b2c"),
                ],
            ),
        ),
        case(
            &a("cp7_denied_describe.json"),
            authz(
                "denied",
                "2023-02-21T10:26:58.886604Z",
                &[
                    ("principal", "User:alice"),
                    ("api", "Metadata"),
                    ("operation", "DESCRIBE"),
                    ("resource_type", "Topic"),
                    ("resource_name", "no.rb.no.acl"),
                    ("pattern_type", "LITERAL"),
                    ("client_id", "console-producer"),
                    ("client_host", "172.21.0.1"),
                    ("cluster_id", "EyVCDzKYSc2vXhyD-z9PXg"),
                    ("reason", "no_matching_acl"),
                ],
            ),
        ),
        case(
            &a("cp7_authentication_ssl.json"),
            authn(
                "success",
                "2023-02-21T06:07:38.958333Z",
                &[
                    ("principal", "User:alice"),
                    ("api", "Authentication"),
                    ("mechanism", "SSL"),
                    ("client_host", "172.21.0.1"),
                    ("cluster_id", "EyVCDzKYSc2vXhyD-z9PXg"),
                ],
            ),
        ),
        case(
            &a("cp54_superuser_read.json"),
            authz(
                "allowed",
                "2020-03-31T10:00:03.532000Z",
                &[
                    ("principal", "User:admin"),
                    ("api", "FetchConsumer"),
                    ("operation", "READ"),
                    ("resource_type", "Topic"),
                    ("resource_name", "_confluent-metadata-auth"),
                    ("pattern_type", "LITERAL"),
                    ("client_id", "_confluent-metadata-auth-consumer-1"),
                    ("client_host", "192.168.176.4"),
                    ("cluster_id", "qL97v6UYSyOOwnIPIHurGg"),
                ],
            ),
        ),
        playbook(
            2,
            "2020-05-12T12:24:37.838000Z",
            "CreateTopics",
            "CREATE",
            "adminclient-1",
            "172.27.0.3",
        ),
        playbook(
            3,
            "2020-05-12T12:24:47.700000Z",
            "IncrementalAlterConfigs",
            "ALTER_CONFIGS",
            "adminclient-1",
            "172.27.0.3",
        ),
        playbook(
            4,
            "2020-05-12T12:26:49.353000Z",
            "Produce",
            "WRITE",
            "rdkafka",
            "172.27.0.4",
        ),
        playbook(
            5,
            "2020-05-12T12:27:34.425000Z",
            "DeleteRecords",
            "DELETE",
            "adminclient-1",
            "172.27.0.3",
        ),
        case(
            &a("constructed_authentication_failure.json"),
            authn(
                "failure",
                "2024-06-01T08:00:00.000001Z",
                &[
                    ("principal", "User:mallory"),
                    ("api", "Authentication"),
                    ("mechanism", "SCRAM-SHA-256"),
                    ("listener", "SASL_PLAINTEXT"),
                    ("client_host", "198.51.100.20"),
                    ("cluster_id", "TestCluster0"),
                    ("reason", "invalid_credentials"),
                ],
            ),
        ),
        case(
            &a("constructed_cloud_request_create_acls.json"),
            ev(
                AUDIT,
                "acl_change",
                "success",
                "io.confluent.kafka.server/request",
                "2024-06-01T08:00:01.000000Z",
                &[
                    ("principal", "User:sa-ops"),
                    ("api", "CreateAcls"),
                    ("action", "create"),
                    ("client_id", "adminclient-3"),
                    ("client_host", "203.0.113.55"),
                    ("cluster_id", "lkc-x1"),
                ],
            ),
        ),
        case(
            &a("constructed_deny_acl.json"),
            authz(
                "denied",
                "2024-06-01T08:00:02.000000Z",
                &[
                    ("principal", "User:bob"),
                    ("api", "FetchConsumer"),
                    ("operation", "READ"),
                    ("resource_type", "Topic"),
                    ("resource_name", "payments"),
                    ("pattern_type", "PREFIXED"),
                    ("client_id", "consumer-1"),
                    ("client_host", "10.1.2.3"),
                    ("cluster_id", "TestCluster0"),
                    ("reason", "deny_acl"),
                ],
            ),
        ),
        case(
            &a("constructed_mds_authorize.json"),
            authz(
                "allowed",
                "2024-06-01T08:00:03.000000Z",
                &[
                    ("principal", "User:svc-sr"),
                    ("api", "mds.Authorize"),
                    ("operation", "READ"),
                    ("resource_type", "Subject"),
                    ("resource_name", "orders-value"),
                    ("pattern_type", "LITERAL"),
                    ("cluster_id", "TestCluster0"),
                ],
            ),
        ),
        case(
            &a("hostile_huge_principal.json"),
            authz(
                "denied",
                RECORD_TIME,
                &[
                    ("principal", &huge),
                    ("cluster_id", "TestCluster0"),
                    ("reason", "no_matching_acl"),
                ],
            ),
        ),
        case(
            &a("hostile_deep_nesting.json"),
            err(Some(AUDIT), "too_deep"),
        ),
        case(
            &a("hostile_invalid_utf8.json"),
            err(Some(AUDIT), "invalid_utf8"),
        ),
        case(
            &a("hostile_control_chars.json"),
            authz(
                "denied",
                RECORD_TIME,
                &[
                    (
                        "principal",
                        "User:evil\nPrincipal = User:admin is Allowed\r\t\u{0}\u{1b}[31m",
                    ),
                    ("operation", "WRITE"),
                    ("cluster_id", "TestCluster0"),
                    ("reason", "no_matching_acl"),
                ],
            ),
        ),
        case(
            &a("hostile_overflow_principal.json"),
            authz(
                "denied",
                RECORD_TIME,
                &[
                    ("principal", "__overflow__"),
                    ("operation", "READ"),
                    ("resource_type", "Topic"),
                    ("resource_name", "__overflow__"),
                    ("client_host", "__overflow__"),
                    ("cluster_id", "TestCluster0"),
                    ("reason", "no_matching_acl"),
                ],
            ),
        ),
        case(
            &a("hostile_duplicate_keys.json"),
            err(Some(AUDIT), "invalid_json"),
        ),
        case(
            &a("hostile_numbers_for_strings.json"),
            authz(
                "allowed",
                RECORD_TIME,
                &[
                    ("principal", "12345"),
                    ("api", "7"),
                    ("operation", "3"),
                    ("client_id", "-1"),
                    ("cluster_id", "TestCluster0"),
                ],
            ),
        ),
        case_auto(
            &a("hostile_missing_type.json"),
            err(Some(AUDIT), "missing_field"),
            // No `"io.confluent.` in the payload: detected as generic JSON, which finds nothing.
            err(Some("json"), "unrecognized"),
        ),
        case_auto(
            &a("hostile_not_an_object.json"),
            err(Some(AUDIT), "invalid_json"),
            // Not starting with `{`: detected as text, which no phrasing matches.
            err(Some("text"), "unrecognized"),
        ),
    ]
}

// One case a line, as in `text_cases`.
#[rustfmt::skip]
fn json_cases() -> Vec<Case> {
    let j = |id: &str| format!("json_events/{id}");
    let huge = "U".repeat(100_000);
    vec![
        case(&j("app_events.jsonl:3"), ev("json", "authentication", "success", "user_login", "2024-05-01T10:00:00.000000Z", &[("principal", "alice"), ("client_host", "10.0.0.5")])),
        case(&j("app_events.jsonl:4"), ev("json", "authentication", "failure", "user_login", "2024-05-01T10:00:01.250000Z", &[("principal", "alice"), ("client_host", "10.0.0.5"), ("reason", "invalid_credentials")])),
        case(&j("app_events.jsonl:5"), ev("json", "authorization", "denied", "topic.access", "2024-05-01T10:00:02.000000Z", &[("principal", "bob"), ("client_host", "192.0.2.10"), ("resource_name", "payments"), ("operation", "WRITE")])),
        case(&j("app_events.jsonl:6"), ev("json", "acl_change", "success", "acl_created", "2024-05-01T10:00:03.000000Z", &[("principal", "admin"), ("action", "create"), ("resource_type", "Topic"), ("resource_name", "orders"), ("pattern_type", "PREFIXED")])),
        case(&j("app_events.jsonl:7"), ev("json", "credential_change", "success", "password_change", "2024-05-01T10:00:04.000000Z", &[("principal", "u-42"), ("client_host", "198.51.100.3")])),
        case(&j("app_events.jsonl:8"), ev("json", "connection", "unknown", "client_connected", RECORD_TIME, &[("principal", "User:svc-orders"), ("client_host", "10.9.8.7"), ("listener", "SASL_SSL"), ("mechanism", "SCRAM-SHA-512"), ("client_id", "orders-producer"), ("cluster_id", "lkc-abc"), ("broker_id", "3")])),
        case(&j("app_events.jsonl:9"), ev("json", "config_change", "success", "config_update", RECORD_TIME, &[("principal", "ops"), ("api", "IncrementalAlterConfigs")])),
        case(&j("app_events.jsonl:10"), ev("json", "other", "success", "heartbeat", RECORD_TIME, &[])),
        case(&j("ecs_events.jsonl:3"), ev("json", "authentication", "failure", "user-login", "2024-05-02T09:30:00.123000Z", &[("principal", "carol"), ("client_host", "203.0.113.9"), ("reason", "invalid_credentials")])),
        case(&j("ecs_events.jsonl:4"), ev("json", "authentication", "success", "logged-in", "2024-05-02T09:30:01.000000Z", &[("principal", "carol"), ("client_host", "203.0.113.9")])),
        case(&j("ecs_events.jsonl:5"), ev("json", "authorization", "denied", "access-check", "2024-05-02T09:30:02.000000Z", &[("principal", "dave"), ("client_host", "192.0.2.44"), ("resource_name", "hr.salaries"), ("operation", "READ")])),
        case(&j("hostile.jsonl:4"), ev("json", "authentication", "failure", "login", RECORD_TIME, &[("principal", &huge)])),
        case(&j("hostile.jsonl:5"), err(Some("json"), "too_deep")),
        case(&j("hostile.jsonl:6"), err(Some("json"), "invalid_utf8")),
        case(&j("hostile.jsonl:7"), ev("json", "authentication", "failure", "login", RECORD_TIME, &[("principal", "evil\nuser=admin outcome=success\r\t\u{0}\u{1b}[0m")])),
        case(&j("hostile.jsonl:8"), ev("json", "authentication", "failure", "login", RECORD_TIME, &[("principal", "__overflow__"), ("client_host", "__overflow__")])),
        case(&j("hostile.jsonl:9"), err(Some("json"), "invalid_json")),
        case(&j("hostile.jsonl:10"), ev("json", "other", "success", "404", "2024-05-01T10:00:00.000000Z", &[("principal", "1000"), ("client_host", "10.0.0.1")])),
        case_auto(&j("hostile.jsonl:11"), err(Some("json"), "invalid_json"), err(Some("text"), "unrecognized")),
        case_auto(&j("hostile.jsonl:12"), err(Some("json"), "invalid_json"), err(Some("text"), "unrecognized")),
        case(&j("hostile.jsonl:13"), err(Some("json"), "unrecognized")),
        case(&j("hostile.jsonl:14"), err(Some("json"), "invalid_json")),
        case(&j("hostile.jsonl:15"), ev("json", "authentication", "success", "login", RECORD_TIME, &[("principal", "Жора 😀 \"quoted\" \\back\\slash")])),
    ]
}

// One case a line: the table reads as the fixture files do.
#[rustfmt::skip]
fn text_cases() -> Vec<Case> {
    let t = |id: &str| format!("text_events/{id}");
    let text = |category: &str, outcome: &str, event_type: &str, rest: &[(&str, &str)]| {
        ev("text", category, outcome, event_type, RECORD_TIME, rest)
    };
    let failed_login = |event_type: &str, user: &str, host: Option<&str>| {
        let mut rest = vec![("principal", user), ("reason", "invalid_credentials")];
        rest.extend(host.map(|h| ("client_host", h)));
        text("authentication", "failure", event_type, &rest)
    };
    let huge = "Z".repeat(100_000);
    vec![
        case(&t("classic_producer.txt:3"), text("authentication", "success", "user-login", &[("principal", "JohnDoe")])),
        case(&t("classic_producer.txt:4"), text("other", "success", "user-logout", &[("principal", "JohnDoe")])),
        case(&t("classic_producer.txt:5"), failed_login("user-login", "JaneRoe", None)),
        case(&t("classic_producer.txt:6"), text("authorization", "denied", "access-denied", &[("principal", "JaneRoe"), ("resource_name", "payroll")])),
        case(&t("classic_producer.txt:7"), text("credential_change", "success", "password-change", &[("principal", "JohnDoe"), ("action", "update")])),
        case(&t("classic_producer.txt:9"), text("authorization", "denied", "access-denied", &[("principal", "JohnDoe"), ("resource_type", "Topic"), ("resource_name", "payments")])),
        case(&t("classic_producer.txt:11"), text("authentication", "failure", "login-failed", &[])),
        case(&t("phrasings.txt:3"), text("authentication", "success", "login", &[("principal", "alice"), ("client_host", "10.0.0.5")])),
        case(&t("phrasings.txt:4"), text("authentication", "success", "signin", &[("principal", "Alice Smith"), ("client_host", "192.0.2.15")])),
        case(&t("phrasings.txt:5"), text("authentication", "success", "auth", &[("principal", "bob")])),
        case(&t("phrasings.txt:6"), text("authentication", "success", "login", &[("principal", "carol"), ("client_host", "172.16.0.4")])),
        case(&t("phrasings.txt:7"), failed_login("auth-failure", "mallory", Some("203.0.113.66"))),
        case(&t("phrasings.txt:8"), failed_login("auth-failure", "dave", None)),
        case(&t("phrasings.txt:9"), failed_login("auth-failure", "erin", None)),
        case(&t("phrasings.txt:10"), failed_login("auth-failure", "frank", None)),
        case(&t("phrasings.txt:11"), failed_login("auth-failure", "grace", None)),
        case(&t("phrasings.txt:12"), failed_login("auth-failure", "heidi", None)),
        case(&t("phrasings.txt:13"), text("authorization", "denied", "acl", &[("principal", "ivan"), ("resource_name", "orders")])),
        case(&t("phrasings.txt:14"), text("authorization", "denied", "acl", &[("principal", "judy"), ("resource_name", "billing.invoices")])),
        case(&t("phrasings.txt:15"), text("authorization", "denied", "acl", &[("principal", "ken"), ("operation", "DESCRIBE_CONFIGS"), ("resource_name", "cluster-config")])),
        case(&t("phrasings.txt:16"), text("authorization", "denied", "acl", &[("principal", "mike"), ("client_host", "198.51.100.200")])),
        case(&t("phrasings.txt:17"), text("authorization", "allowed", "acl", &[("principal", "nick"), ("resource_name", "reports")])),
        case(&t("phrasings.txt:18"), text("authorization", "allowed", "acl", &[("principal", "olga"), ("resource_name", "reports")])),
        case(&t("phrasings.txt:19"), text("credential_change", "success", "password_change", &[("principal", "pat"), ("action", "update")])),
        case(&t("phrasings.txt:20"), text("authentication", "failure", "user-login", &[("principal", "quinn")])),
        case(&t("phrasings.txt:21"), text("authorization", "denied", "topic-access", &[("principal", "rob")])),
        case(&t("phrasings.txt:22"), text("authentication", "unknown", "user-login", &[])),
        case(&t("phrasings.txt:23"), text("other", "unknown", "heartbeat", &[])),
        case(&t("hostile.txt:3"), text("authentication", "success", "user-login", &[("principal", &huge)])),
        case(&t("hostile.txt:4"), err(Some("text"), "invalid_utf8")),
        case(&t("hostile.txt:5"), err(Some("text"), "invalid_utf8")),
        case(&t("hostile.txt:6"), text("authentication", "success", "user-login", &[("principal", "evil\nPrincipal = User:admin is Allowed")])),
        case(&t("hostile.txt:7"), failed_login("user-login", "\u{1b}[31mred\u{1b}[0m", None)),
        case(&t("hostile.txt:8"), text("authentication", "success", "user-login", &[("principal", "__overflow__")])),
        case(&t("hostile.txt:9"), text("authorization", "denied", "access", &[("principal", "__overflow__"), ("resource_name", "__overflow__")])),
        case(&t("hostile.txt:10"), err(Some("text"), "unrecognized")),
        case(&t("hostile.txt:11"), err(Some("text"), "empty")),
        // Starts with `{`: detected as JSON; the record key names the event.
        case_auto(&t("hostile.txt:12"), text("authentication", "unknown", "user-login", &[]), ev("json", "authentication", "unknown", "user-login", RECORD_TIME, &[("principal", "json-looking")])),
        case_auto(&t("hostile.txt:13"), err(Some("text"), "unrecognized"), ev("json", "authentication", "success", "login", RECORD_TIME, &[("principal", "looks-like-json")])),
        case(&t("hostile.txt:14"), text("authentication", "success", "user-login", &[("principal", "Жора 😀")])),
        case(&t("hostile.txt:15"), text("authentication", "success", "user-login", &[("principal", "back\\slash")])),
    ]
}

// === Reading the fixtures ===

/// One record read from a fixture file.
struct Input {
    id: String,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn format_dirs() -> [(&'static str, Choice); 3] {
    [
        ("confluent_audit", Choice::ConfluentAudit),
        ("json_events", Choice::Json),
        ("text_events", Choice::Text),
    ]
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn read_inputs(dir: &str) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in files(dir) {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        if name.ends_with(".json") {
            inputs.push(Input {
                id: format!("{dir}/{name}"),
                key: None,
                payload: bytes,
            });
            continue;
        }
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let id = format!("{dir}/{name}:{}", i + 1);
            let (key, payload) = if name.ends_with(".txt") {
                match line.iter().position(|b| *b == b'\t') {
                    Some(0) => (None, unescape(&line[1..])),
                    Some(tab) => (Some(unescape(&line[..tab])), unescape(&line[tab + 1..])),
                    None => (None, unescape(line)),
                }
            } else {
                (None, line.to_vec())
            };
            inputs.push(Input { id, key, payload });
        }
    }
    inputs
}

/// The `\\`, `\n`, `\r`, `\t` and `\xHH` escapes of the text fixtures.
fn unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            match s[i + 1] {
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'x' => {
                    let hex = std::str::from_utf8(&s[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn render(ev: &SecurityEvent<'_>) -> BTreeMap<String, String> {
    ev.fields()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// An expected RFC 3339 time in [`SecurityEvent::fields`]' form (nanoseconds), so expectations
/// may be written with fewer digits and still compare at full precision.
fn full_precision(time: &str) -> String {
    let t = humantime::parse_rfc3339(time).unwrap_or_else(|e| panic!("{time}: {e}"));
    humantime::format_rfc3339_nanos(t).to_string()
}

fn run(parsers: &Parsers, choice: Choice, input: &Input) -> Expected {
    let record = Record {
        key: input.key.as_deref(),
        payload: &input.payload,
        timestamp: Some(UNIX_EPOCH + Duration::from_secs(RECORD_SECS)),
        origin: kafka_security_exporter::event::Origin::Memory,
        observed_time: SystemTime::now(),
        trace_context: None,
    };
    match parsers.parse(choice, &FramerConfig::default(), &record) {
        Ok(Parsed::Event(ev)) => Expected::Event(render(&ev)),
        Ok(Parsed::Entries(..)) => unreachable!("only event inputs are run"),
        Err((format, e)) => Expected::Error {
            format: format.map(|f| f.as_str()),
            reason: e.reason(),
        },
    }
}

/// Long values (the huge-string fixtures) are shortened in failure messages.
fn short(e: &Expected) -> String {
    let s = format!("{e:?}");
    if s.len() > 2000 {
        format!("{}…({} chars)", &s[..2000], s.len())
    } else {
        s
    }
}

// === Tests ===

#[test]
fn fixtures_parse_as_expected() {
    let parsers = Parsers::new(&ParsersConfig::default()).unwrap();
    let mut expected: BTreeMap<String, Case> = audit_cases()
        .into_iter()
        .chain(json_cases())
        .chain(text_cases())
        .map(|c| (c.id.clone(), c))
        .collect();
    let mut failures = Vec::new();
    let mut seen = 0;
    for (dir, fixed) in format_dirs() {
        for input in read_inputs(dir) {
            let Some(case) = expected.remove(&input.id) else {
                failures.push(format!(
                    "{}: no expectation for this fixture case",
                    input.id
                ));
                continue;
            };
            seen += 1;
            let got = run(&parsers, fixed, &input);
            if got != case.fixed {
                failures.push(format!(
                    "{} (fixed format):\n  expected {}\n  got      {}",
                    input.id,
                    short(&case.fixed),
                    short(&got)
                ));
            }
            let auto_expected = case.auto.as_ref().unwrap_or(&case.fixed);
            let got = run(&parsers, Choice::Auto, &input);
            if &got != auto_expected {
                failures.push(format!(
                    "{} (auto):\n  expected {}\n  got      {}",
                    input.id,
                    short(auto_expected),
                    short(&got)
                ));
            }
        }
    }
    for id in expected.keys() {
        failures.push(format!("{id}: expectation without a fixture case"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(seen >= 80, "only {seen} fixture cases");
}

#[test]
fn every_fixture_file_names_its_source() {
    let readme = std::fs::read_to_string(fixtures_dir().join("README.md")).unwrap();
    for (dir, _) in format_dirs() {
        for path in files(dir) {
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".json") {
                assert!(
                    readme.contains(&format!("| `{name}` |")),
                    "{dir}/{name} has no source row in tests/fixtures/README.md"
                );
            } else {
                let bytes = std::fs::read(&path).unwrap();
                assert!(
                    bytes.starts_with(b"# source:"),
                    "{dir}/{name} does not open with a `# source:` line"
                );
            }
        }
    }
}

/// Compiled once: building the parsers compiles the text phrasings, which is slow in debug builds.
static PARSERS: LazyLock<Parsers> =
    LazyLock::new(|| Parsers::new(&ParsersConfig::default()).unwrap());
static AUDIT_EVENT: LazyLock<String> = LazyLock::new(|| {
    std::fs::read_to_string(fixtures_dir().join("confluent_audit/cp7_denied_describe.json"))
        .unwrap()
});

proptest! {
    #![proptest_config(crate::support::proptest_config(512))]

    /// Whatever the bytes, every parser returns (an event or an error) without panicking.
    #[test]
    fn no_parser_panics_on_arbitrary_bytes(
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..32)),
    ) {
        let parsers = &*PARSERS;
        let mut record = Record::from_payload(&payload);
        record.key = key.as_deref();
        for choice in [Choice::Auto, Choice::ConfluentAudit, Choice::Json, Choice::Text] {
            let _ = parsers.parse(choice, &FramerConfig::default(), &record);
        }
    }

    /// Arbitrary bytes spliced into real-looking events (so parsing gets past the first brace)
    /// never panic either.
    #[test]
    fn no_parser_panics_on_mutated_events(
        junk in "\\PC{0,40}",
        at in 0usize..900,
    ) {
        let parsers = &*PARSERS;
        let base = &*AUDIT_EVENT;
        let at = (0..=at.min(base.len())).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &base[..at], junk, &base[at..]);
        for choice in [Choice::Auto, Choice::ConfluentAudit, Choice::Json, Choice::Text] {
            let _ = parsers.parse(choice, &FramerConfig::default(), &Record::from_payload(mutated.as_bytes()));
        }
    }
}
