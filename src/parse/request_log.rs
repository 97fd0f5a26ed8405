//! The request log (`kafka.request.logger`, `kafka-request.log`, DEBUG) → per-request facts.
//!
//! Since 2.8 (KIP-673) each completed request is one DEBUG entry `Completed request:<JSON>`
//! (`RequestConvertToJson.requestDescMetrics`, called from `RequestChannel.scala`). The JSON carries `requestHeader.requestApiKeyName` (`PRODUCE`,
//! `CREATE_ACLS` — UPPER_SNAKE, normalized here to the `ApiKeys` names the authorizer log uses),
//! `requestHeader.clientId`, `principal`, `listener`, `totalTimeMs` and a response whose
//! `errorCode` fields say how it ended. Request and response bodies can be large (a Metadata
//! response lists every topic); they are skipped, not built.
//!
//! # Before 2.8: text
//!
//! Kafka 2.0–2.7 wrote the same facts as text (`RequestChannel.Request.updateRequestMetrics`):
//!
//! ```text
//! Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=consumer-1, correlationId=5)
//!   -- {…request…},response:{…response…} from connection 127.0.0.1:9092-127.0.0.1:5000-0;totalTime:1.2,
//!   requestQueueTime:0.1,localTime:0.5,remoteTime:0.0,throttleTime:0,responseQueueTime:0.1,sendTime:0.2,
//!   securityProtocol:PLAINTEXT,principal:User:alice,listener:PLAINTEXT[,clientInformation:ClientInformation(
//!   softwareName=…, softwareVersion=…)][,forwarded:false][,temporaryMemoryBytes:N][,messageConversionsTime:T]
//! ```
//!
//! (one line; `headerVersion=N` closes the header in later 2.x). The client id, the request and
//! response bodies and the principal are client-controlled and unescaped, so the fixed tail is
//! found by its whole grammar: every ` from connection ` whose continuation parses as the tail
//! is a candidate, and more than one (a forged tail inside a client-controlled field) makes the
//! entry an error rather than a guess. The principal runs to the last `,listener:`, after which
//! only broker-chosen or broker-validated text follows. Error codes are not read from the text
//! form: its response bodies print client-chosen strings unquoted.

use std::borrow::Cow;

use serde::Deserialize;

use super::ParseError;
use crate::event::{normalize_api, Text};

/// What one request-log entry says.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord<'a> {
    /// `ApiKeys` name (`Produce`, `CreateAcls`).
    pub api: Text<'a>,
    pub principal: Option<Text<'a>>,
    pub client_id: Option<Text<'a>>,
    pub listener: Option<Text<'a>>,
    /// `totalTimeMs`, in seconds.
    pub total_time_secs: f64,
    /// The first non-zero `errorCode` in the response (e.g. 29 TOPIC_AUTHORIZATION_FAILED).
    pub error_code: Option<i32>,
}

impl RequestRecord<'_> {
    /// The record borrowing every field from `self`.
    pub fn borrowed(&self) -> RequestRecord<'_> {
        RequestRecord {
            api: Cow::Borrowed(&self.api),
            principal: self.principal.as_deref().map(Cow::Borrowed),
            client_id: self.client_id.as_deref().map(Cow::Borrowed),
            listener: self.listener.as_deref().map(Cow::Borrowed),
            total_time_secs: self.total_time_secs,
            error_code: self.error_code,
        }
    }
}

const PREFIX: &str = "Completed request:";

#[derive(Deserialize)]
struct Desc<'a> {
    #[serde(rename = "requestHeader", borrow)]
    header: Header<'a>,
    #[serde(rename = "totalTimeMs")]
    total_time_ms: f64,
    #[serde(default, borrow)]
    principal: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    listener: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(rename = "requestApiKeyName", borrow)]
    api: Cow<'a, str>,
    #[serde(rename = "clientId", default, borrow)]
    client_id: Option<Cow<'a, str>>,
}

/// Parses an entry's message; `Ok(None)` when it is not a `Completed request:` line.
pub fn parse_message(message: &str) -> Result<Option<RequestRecord<'_>>, ParseError> {
    let Some(json) = message.strip_prefix(PREFIX) else {
        return Ok(None);
    };
    if let Some(text) = json.strip_prefix("RequestHeader(") {
        return parse_text(text).map(Some);
    }
    super::check_json_depth(json.as_bytes())?;
    let desc: Desc<'_> = serde_json::from_str(json).map_err(|e| ParseError::from_json(&e))?;
    if !desc.total_time_ms.is_finite() || desc.total_time_ms < 0.0 {
        return Err(ParseError::InvalidField {
            field: "totalTimeMs",
            problem: format!("{} is not a duration", desc.total_time_ms),
        });
    }
    let api = match desc.header.api {
        Cow::Borrowed(b) => normalize_api(b),
        Cow::Owned(o) => Cow::Owned(normalize_api(&o).into_owned()),
    };
    Ok(Some(RequestRecord {
        api,
        principal: desc.principal,
        client_id: desc.header.client_id,
        listener: desc.listener,
        total_time_secs: desc.total_time_ms / 1000.0,
        error_code: first_error(json),
    }))
}

fn invalid(problem: &str) -> ParseError {
    ParseError::InvalidField {
        field: "message",
        problem: problem.to_string(),
    }
}

/// The pre-2.8 text form, after `Completed request:RequestHeader(`.
fn parse_text(s: &str) -> Result<RequestRecord<'_>, ParseError> {
    // `apiKey=FETCH, apiVersion=11, clientId=…, correlationId=5[, headerVersion=1]) -- `
    let rest = s
        .strip_prefix("apiKey=")
        .ok_or_else(|| invalid("no apiKey in the request header"))?;
    let api_end = rest
        .find(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()))
        .unwrap_or(rest.len());
    let api = &rest[..api_end];
    let rest = rest[api_end..]
        .strip_prefix(", apiVersion=")
        .ok_or_else(|| invalid("no apiVersion after the apiKey"))?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest[digits..]
        .strip_prefix(", clientId=")
        .filter(|_| digits > 0 && !api.is_empty())
        .ok_or_else(|| invalid("the request header is not `apiKey=…, apiVersion=…, clientId=…`"))?;
    // The client id ends at the first `, correlationId=N)` or `, correlationId=N, headerVersion=N)`
    // followed by ` -- `; a client can only make its own client id look shorter.
    let mut client_id = None;
    let mut body_at = 0;
    for at in memchr::memmem::find_iter(rest.as_bytes(), b", correlationId=") {
        let after = &rest[at + 16..];
        let n = after
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'-')
            .count();
        let mut tail = &after[n..];
        if let Some(t) = tail.strip_prefix(", headerVersion=") {
            let v = t.bytes().take_while(u8::is_ascii_digit).count();
            tail = &t[v..];
        }
        if n > 0 {
            if let Some(t) = tail.strip_prefix(") -- ") {
                client_id = Some(&rest[..at]);
                body_at = rest.len() - t.len();
                break;
            }
        }
    }
    let client_id = client_id
        .ok_or_else(|| invalid("the request header does not end in `correlationId=N) -- `"))?;
    let body = &rest[body_at..];
    let mut found = None;
    for at in memchr::memmem::find_iter(body.as_bytes(), b" from connection ") {
        if let Some(t) = text_tail(&body[at + 17..]) {
            if found.is_some() {
                return Err(invalid(
                    "more than one request tail: a client-controlled field holds a forged one",
                ));
            }
            found = Some(t);
        }
    }
    let tail = found.ok_or_else(|| invalid("no `from connection …;totalTime:…` tail"))?;
    Ok(RequestRecord {
        api: normalize_api(api),
        principal: Some(Cow::Borrowed(tail.principal)),
        client_id: Some(Cow::Borrowed(client_id)),
        listener: Some(Cow::Borrowed(tail.listener)),
        total_time_secs: tail.total_ms / 1000.0,
        error_code: None,
    })
}

struct TextTail<'a> {
    total_ms: f64,
    principal: &'a str,
    listener: &'a str,
}

/// The text form's tail after ` from connection `, when all of it has the broker's grammar.
fn text_tail(s: &str) -> Option<TextTail<'_>> {
    // The connection id: `local:port-remote:port-index[-…]`, IPv6 unbracketed.
    let id = s
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b".:-%_[]".contains(b))
        .count();
    if id == 0 {
        return None;
    }
    let mut rest = &s[id..];
    let mut total_ms = 0.0;
    for (i, key) in [
        ";totalTime:",
        ",requestQueueTime:",
        ",localTime:",
        ",remoteTime:",
        ",throttleTime:",
        ",responseQueueTime:",
        ",sendTime:",
    ]
    .iter()
    .enumerate()
    {
        let r = rest.strip_prefix(key)?;
        let n = r
            .bytes()
            .take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'E' | b'e'))
            .count();
        let v: f64 = r[..n].parse().ok()?;
        if i == 0 {
            if !v.is_finite() || v < 0.0 {
                return None;
            }
            total_ms = v;
        }
        rest = &r[n..];
    }
    let rest = rest.strip_prefix(",securityProtocol:")?;
    let rest = ["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
        .iter()
        .filter_map(|p| rest.strip_prefix(p))
        .find_map(|r| r.strip_prefix(",principal:"))?;
    let at = rest.rfind(",listener:")?;
    let principal = &rest[..at];
    let after = &rest[at + 10..];
    let n = after
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b))
        .count();
    if n == 0 || principal.is_empty() {
        return None;
    }
    let listener = &after[..n];
    let mut rest = &after[n..];
    // Optional, in this order; only broker-chosen or broker-validated text.
    if let Some(r) = rest.strip_prefix(",clientInformation:ClientInformation(softwareName=") {
        let name = r
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b".-".contains(b))
            .count();
        let r = r[name..].strip_prefix(", softwareVersion=")?;
        let version = r
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || b".-".contains(b))
            .count();
        rest = r[version..].strip_prefix(')')?;
    }
    for (key, number) in [
        (",forwarded:", false),
        (",temporaryMemoryBytes:", true),
        (",messageConversionsTime:", true),
    ] {
        if let Some(r) = rest.strip_prefix(key) {
            let n = if number {
                r.bytes()
                    .take_while(|b| b.is_ascii_digit() || *b == b'.')
                    .count()
            } else if r.starts_with("true") {
                4
            } else if r.starts_with("false") {
                5
            } else {
                0
            };
            if n == 0 {
                return None;
            }
            rest = &r[n..];
        }
    }
    rest.is_empty().then_some(TextTail {
        total_ms,
        principal,
        listener,
    })
}

/// The first non-zero `"errorCode":N` in the text (responses nest them per topic/partition).
fn first_error(json: &str) -> Option<i32> {
    let bytes = json.as_bytes();
    let needle = b"\"errorCode\":";
    for at in memchr::memmem::find_iter(bytes, needle) {
        let rest = &json[at + needle.len()..];
        let end = rest
            .find(|c: char| c != '-' && !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if let Ok(code) = rest[..end].parse::<i32>() {
            if code != 0 {
                return Some(code);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"Completed request:{"isForwarded":false,"requestHeader":{"requestApiKey":3,"requestApiVersion":12,"correlationId":7,"clientId":"console-producer","requestApiKeyName":"METADATA"},"request":{"topics":[{"topicId":"AAAAAAAAAAAAAAAAAAAAAA","name":"orders"}],"allowAutoTopicCreation":true,"includeTopicAuthorizedOperations":false},"response":{"throttleTimeMs":0,"brokers":[],"clusterId":"x","controllerId":1,"topics":[{"errorCode":0,"name":"a"},{"errorCode":29,"name":"orders"}]},"connection":"127.0.0.1:9092-127.0.0.1:53422-1-3","totalTimeMs":1.234,"requestQueueTimeMs":0.1,"localTimeMs":0.8,"remoteTimeMs":0.0,"throttleTimeMs":0,"responseQueueTimeMs":0.05,"sendTimeMs":0.2,"securityProtocol":"SASL_PLAINTEXT","principal":"User:alice","listener":"SASL_PLAINTEXT","clientInformation":{"softwareName":"apache-kafka-java","softwareVersion":"4.0.0"}}"#;

    /// `r` is a request to `api` by `(principal, client id, listener)` that took `secs`.
    fn assert_request(r: &RequestRecord<'_>, api: &str, who: (&str, &str, &str), secs: f64) {
        let (principal, client_id, listener) = who;
        assert_eq!(r.api, api);
        assert_eq!(r.principal.as_deref(), Some(principal));
        assert_eq!(r.client_id.as_deref(), Some(client_id));
        assert_eq!(r.listener.as_deref(), Some(listener));
        assert!((r.total_time_secs - secs).abs() < 1e-12);
    }

    #[test]
    fn a_completed_request_gives_api_principal_time_and_error() {
        let r = parse_message(METADATA).unwrap().unwrap();
        let who = ("User:alice", "console-producer", "SASL_PLAINTEXT");
        assert_request(&r, "Metadata", who, 0.001234);
        assert_eq!(r.error_code, Some(29));
    }

    #[test]
    fn api_names_are_normalized() {
        let m = r#"Completed request:{"requestHeader":{"requestApiKeyName":"CREATE_ACLS","clientId":"adminclient-1"},"response":{"results":[{"errorCode":0}]},"totalTimeMs":0.5,"principal":"User:admin"}"#;
        let r = parse_message(m).unwrap().unwrap();
        assert_eq!(r.api, "CreateAcls");
        assert_eq!(r.error_code, None);
        assert_eq!(r.listener, None);
    }

    #[test]
    fn other_lines_and_broken_json() {
        assert_eq!(parse_message("Processor 1 received request").unwrap(), None);
        assert_eq!(
            parse_message("Completed request:{\"requestHeader\":")
                .unwrap_err()
                .reason(),
            "invalid_json"
        );
        assert_eq!(
            parse_message(r#"Completed request:{"requestHeader":{"requestApiKeyName":"FETCH"}}"#)
                .unwrap_err()
                .reason(),
            "invalid_json"
        );
        assert_eq!(
            parse_message(r#"Completed request:{"requestHeader":{"requestApiKeyName":"FETCH"},"totalTimeMs":-1}"#)
                .unwrap_err()
                .reason(),
            "invalid_field"
        );
    }

    /// Kafka 2.4–2.7 (`RequestChannel.scala`: header, ` -- `, body, `,response:`, the fixed
    /// tail with `clientInformation`); 2.0–2.3 without it; 2.7 with `forwarded`.
    #[test]
    fn the_pre_2_8_text_form() {
        let m = "Completed request:RequestHeader(apiKey=PRODUCE, apiVersion=8, clientId=producer-1, correlationId=4) -- {acks=-1,timeout=30000,partitionSizes=[orders-0=77]},response:{responses=[{topic=orders,partition_responses=[{partition=0,error_code=29,base_offset=-1}]}],throttle_time_ms=0} from connection 127.0.0.1:9092-127.0.0.1:53422-3;totalTime:2.371,requestQueueTime:0.123,localTime:1.9,remoteTime:0.0,throttleTime:0,responseQueueTime:0.1,sendTime:0.2,securityProtocol:SASL_PLAINTEXT,principal:User:alice,listener:SASL_PLAINTEXT,clientInformation:ClientInformation(softwareName=apache-kafka-java, softwareVersion=2.7.0)";
        let r = parse_message(m).unwrap().unwrap();
        let who = ("User:alice", "producer-1", "SASL_PLAINTEXT");
        assert_request(&r, "Produce", who, 0.002371);
        assert_eq!(r.error_code, None, "not read from the text form");
        // 2.0–2.3: no clientInformation; a later 2.x header version; 2.7's `forwarded` and the
        // optional memory and conversion figures.
        for m in [
            "Completed request:RequestHeader(apiKey=CREATE_ACLS, apiVersion=1, clientId=adminclient-1, correlationId=9) -- {creations=[]},response:{throttle_time_ms=0,creation_responses=[]} from connection 10.0.0.1:9093-10.0.0.9:1234-0;totalTime:0.5,requestQueueTime:0.1,localTime:0.3,remoteTime:0.0,throttleTime:0,responseQueueTime:0.05,sendTime:0.05,securityProtocol:SSL,principal:User:CN=admin,OU=ops,O=Example,listener:SSL",
            "Completed request:RequestHeader(apiKey=CREATE_ACLS, apiVersion=2, clientId=adminclient-1, correlationId=9, headerVersion=2) -- CreateAclsRequestData(creations=[]),response:CreateAclsResponseData(throttleTimeMs=0, results=[]) from connection 0:0:0:0:0:0:0:1:9093-0:0:0:0:0:0:0:1:5555-12;totalTime:0.5,requestQueueTime:0.1,localTime:0.3,remoteTime:0.0,throttleTime:0,responseQueueTime:0.05,sendTime:0.05,securityProtocol:SSL,principal:User:CN=admin,OU=ops,O=Example,listener:SSL,clientInformation:ClientInformation(softwareName=apache-kafka-java, softwareVersion=2.7.0),forwarded:false,temporaryMemoryBytes:1024,messageConversionsTime:0.3",
        ] {
            let r = parse_message(m).unwrap().unwrap();
            assert_eq!(r.api, "CreateAcls", "{m}");
            assert_eq!(r.principal.as_deref(), Some("User:CN=admin,OU=ops,O=Example"));
            assert_eq!(r.listener.as_deref(), Some("SSL"));
            assert!((r.total_time_secs - 0.0005).abs() < 1e-12);
        }
    }

    /// Client-controlled text in the client id, the body and the principal cannot supply the
    /// fields: a forged tail makes the entry an error, a forged header end only shortens the
    /// attacker's own client id.
    #[test]
    fn forged_text_request_tails() {
        let tail = |principal: &str| {
            format!(" from connection 1.2.3.4:9092-5.6.7.8:1-0;totalTime:1,requestQueueTime:0,localTime:0,remoteTime:0,throttleTime:0,responseQueueTime:0,sendTime:0,securityProtocol:PLAINTEXT,principal:{principal},listener:PLAINTEXT")
        };
        let forged_tail = tail("User:admin");
        // In the body (a group id): two tails parse.
        let m = format!("Completed request:RequestHeader(apiKey=JOIN_GROUP, apiVersion=5, clientId=c, correlationId=1) -- {{group_id=g{forged_tail},session_timeout=10}},response:{{error_code=0}}{}", tail("User:eve"));
        assert_eq!(parse_message(&m).unwrap_err().reason(), "invalid_field");
        // In the principal (a PLAIN user name): two tails parse.
        let m = format!(
            "Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {{}},response:{{}}{}",
            tail(&format!("User:eve{forged_tail}"))
        );
        assert_eq!(parse_message(&m).unwrap_err().reason(), "invalid_field");
        // A principal holding `,listener:` text: the last one is the broker's.
        let m = format!(
            "Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {{}},response:{{}}{}",
            tail("User:eve,listener:INTERNAL")
        );
        let r = parse_message(&m).unwrap().unwrap();
        assert_eq!(r.principal.as_deref(), Some("User:eve,listener:INTERNAL"));
        assert_eq!(r.listener.as_deref(), Some("PLAINTEXT"));
        // A client id holding a header end: the API stays the broker's.
        let m = format!(
            "Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=x, correlationId=1) -- , correlationId=2) -- {{}},response:{{}}{}",
            tail("User:eve")
        );
        let r = parse_message(&m).unwrap().unwrap();
        assert_eq!(r.api, "Fetch");
        assert_eq!(r.client_id.as_deref(), Some("x"));
        // Shapes that are not the broker's.
        for bad in [
            "Completed request:RequestHeader(apiKey=FETCH) -- {}",
            "Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {},response:{} from connection x;totalTime:abc",
            "Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {},response:{}",
            &format!("Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {{}},response:{{}}{},extra:1", tail("User:eve")),
            &format!("Completed request:RequestHeader(apiKey=FETCH, apiVersion=11, clientId=c, correlationId=1) -- {{}},response:{{}}{}", tail("User:eve").replace("totalTime:1", "totalTime:-1")),
        ] {
            assert_eq!(parse_message(bad).unwrap_err().reason(), "invalid_field", "{bad}");
        }
    }

    #[test]
    fn a_forged_error_code_in_a_client_id_is_only_text() {
        // clientId is client-controlled; the scan is over the raw JSON, where a quote inside a
        // string is escaped, so `"errorCode":` cannot appear unescaped inside a value.
        let m = r#"Completed request:{"requestHeader":{"requestApiKeyName":"FETCH","clientId":"x\"errorCode\":31"},"response":{"errorCode":0},"totalTimeMs":1}"#;
        let r = parse_message(m).unwrap().unwrap();
        assert_eq!(r.client_id.as_deref(), Some(r#"x"errorCode":31"#));
        assert_eq!(r.error_code, None);
    }

    /// Lines of both forms (from the tests above).
    const VALID: &[&str] = &[
        METADATA,
        "Completed request:RequestHeader(apiKey=PRODUCE, apiVersion=8, clientId=producer-1, correlationId=4) -- {acks=-1,timeout=30000,partitionSizes=[orders-0=77]},response:{responses=[{topic=orders,partition_responses=[{partition=0,error_code=29,base_offset=-1}]}],throttle_time_ms=0} from connection 127.0.0.1:9092-127.0.0.1:53422-3;totalTime:2.371,requestQueueTime:0.123,localTime:1.9,remoteTime:0.0,throttleTime:0,responseQueueTime:0.1,sendTime:0.2,securityProtocol:SASL_PLAINTEXT,principal:User:alice,listener:SASL_PLAINTEXT,clientInformation:ClientInformation(softwareName=apache-kafka-java, softwareVersion=2.7.0)",
        "Completed request:RequestHeader(apiKey=CREATE_ACLS, apiVersion=2, clientId=adminclient-1, correlationId=9, headerVersion=2) -- CreateAclsRequestData(creations=[]),response:CreateAclsResponseData(throttleTimeMs=0, results=[]) from connection 0:0:0:0:0:0:0:1:9093-0:0:0:0:0:0:0:1:5555-12;totalTime:0.5,requestQueueTime:0.1,localTime:0.3,remoteTime:0.0,throttleTime:0,responseQueueTime:0.05,sendTime:0.05,securityProtocol:SSL,principal:User:CN=admin,OU=ops,O=Example,listener:SSL,clientInformation:ClientInformation(softwareName=apache-kafka-java, softwareVersion=2.7.0),forwarded:false,temporaryMemoryBytes:1024,messageConversionsTime:0.3",
    ];

    /// The separators and keywords of both forms.
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "Completed request:", "RequestHeader(", "apiKey=", ", apiVersion=", ", clientId=",
        ", correlationId=", ", headerVersion=", ") -- ", " from connection ", ";totalTime:",
        ",principal:", ",listener:", ",securityProtocol:", "\"principal\":", "\"totalTimeMs\":",
        "\"requestHeader\":", "\"clientId\":", "\"errorCode\":", "\"requestApiKeyName\":",
        "{", "}", "[", "]", "\"", ":", ",", "-1", "1e999", "NaN", "\\u0000", "\n", " ", "",
    ];

    /// A request read from `message` has a finite, non-negative time, and names only what
    /// the message says (when no JSON escape could have changed it).
    fn check(message: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let Ok(Some(r)) = parse_message(message) else {
            return Ok(());
        };
        proptest::prop_assert!(r.total_time_secs.is_finite() && r.total_time_secs >= 0.0);
        if !message.contains('\\') {
            for value in [&r.principal, &r.client_id, &r.listener]
                .into_iter()
                .flatten()
            {
                proptest::prop_assert!(
                    message.contains(value.as_ref()),
                    "{value:?} not in {message:?}"
                );
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(message in ".*", body in ".*") {
            check(&message)?;
            check(&format!("{PREFIX}{body}"))?;
            check(&format!("{PREFIX}RequestHeader({body}"))?;
        }

        #[test]
        fn near_misses_never_panic_and_name_only_what_the_line_says(
            message in crate::parse::test_support::near_miss(VALID, TOKENS),
        ) {
            check(&message)?;
        }
    }
}
