//! The request log (`kafka.request.logger`, `kafka-request.log`, DEBUG) → per-request facts.
//!
//! Since 2.8 (KIP-673) each completed request is one DEBUG entry `Completed request:<JSON>`
//! (reference §4.4). The JSON carries `requestHeader.requestApiKeyName` (`PRODUCE`,
//! `CREATE_ACLS` — UPPER_SNAKE, normalized here to the `ApiKeys` names the authorizer log uses),
//! `requestHeader.clientId`, `principal`, `listener`, `totalTimeMs` and a response whose
//! `errorCode` fields say how it ended. Request and response bodies can be large (a Metadata
//! response lists every topic); they are skipped, not built. The pre-2.8 text form is not read.

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

    #[test]
    fn a_completed_request_gives_api_principal_time_and_error() {
        let r = parse_message(METADATA).unwrap().unwrap();
        assert_eq!(r.api, "Metadata");
        assert_eq!(r.principal.as_deref(), Some("User:alice"));
        assert_eq!(r.client_id.as_deref(), Some("console-producer"));
        assert_eq!(r.listener.as_deref(), Some("SASL_PLAINTEXT"));
        assert!((r.total_time_secs - 0.001234).abs() < 1e-12);
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

    #[test]
    fn a_forged_error_code_in_a_client_id_is_only_text() {
        // clientId is client-controlled; the scan is over the raw JSON, where a quote inside a
        // string is escaped, so `"errorCode":` cannot appear unescaped inside a value.
        let m = r#"Completed request:{"requestHeader":{"requestApiKeyName":"FETCH","clientId":"x\"errorCode\":31"},"response":{"errorCode":0},"totalTimeMs":1}"#;
        let r = parse_message(m).unwrap().unwrap();
        assert_eq!(r.client_id.as_deref(), Some(r#"x"errorCode":31"#));
        assert_eq!(r.error_code, None);
    }
}
