//! `server.log` authentication failures and rejected connections → events. Regex-free.
//!
//! # Shapes (`Selector.java`, `SocketServer.scala` / `Acceptor`)
//!
//! - `org.apache.kafka.common.network.Selector`, INFO, every version from 2.2 to 4.x:
//!   `[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1
//!   (channelId=127.0.0.1:19092-127.0.0.1:32996-1-3) (Authentication failed during authentication
//!   due to invalid credentials with SASL mechanism SCRAM-SHA-256)`; `Failed re-authentication …`
//!   for re-authentication.
//!   - prefix `[SocketServer brokerId=0] ` before 2.8, `listenerType=…, nodeId=…` since;
//!   - `(channelId=…)` since 3.2; the connection id gained a processor-id part in 4.0
//!     (`local-remote:port-proc-idx` vs `local-remote:port-idx`): the client address is its
//!     second `-` field with the port split off from the right, which keeps IPv6
//!     (`0:0:0:0:0:0:0:1`) whole, and that port is the client's (`client_port`); without a
//!     channel id the line names no port;
//!   - Confluent Server writes `(errorMessage=…)`.
//!
//!   These become [`Category::Authentication`] / [`Outcome::Failure`] events, `event_type`
//!   `failed_authentication` or `failed_reauthentication`, `listener` = the listener type,
//!   `broker_id` = node id, `mechanism` from the message (`… with SASL mechanism SCRAM-SHA-256`,
//!   `Unsupported SASL mechanism PLAIN`, `SSL` for `SSL handshake failed`), `reason` from
//!   [`reason_for`].
//! - 4.0+ `Selector` WARN `Unexpected error from /IP (channelId=…); closing connection` whose
//!   stack trace starts `…InvalidRequestException: Unexpected Kafka request of type METADATA during
//!   SASL handshake.` (a non-SASL client on a SASL listener, no longer an authentication failure
//!   since KIP-896) → authentication failure, `event_type` `unexpected_request_during_sasl_handshake`,
//!   reason `other`; with `…InvalidReceiveException: Invalid receive (size = …)` (HTTP or TLS sent
//!   to a Kafka port) → [`Category::Connection`] failure `invalid_receive`, reason
//!   `invalid_receive_size`. Other unexpected errors are not security lines.
//! - `kafka.network.DataPlaneAcceptor` (3.2+; `Acceptor` before), INFO, no prefix:
//!   `Rejected connection from /IP, address already has the configured maximum of N connections.`
//!   → [`Category::Connection`] failure, `event_type` `connection_rejected`.
//! - `kafka.server.ConfigAdminManager`, when an `IncrementalAlterConfigs` request changes a
//!   `BROKER_LOGGER` resource (KIP-412: the broker applies it itself and never forwards it to the
//!   controller, so no metadata record and no controller.log line exist). Kafka 4.x writes WARN
//!   `Updated the log level of kafka.authorizer.logger to ERROR` / `Unset the log level of …`
//!   (as a 4.4.0 broker does in the end-to-end test); 3.x's Scala `ConfigAdminManager` wrote INFO
//!   `[ConfigAdminManager[nodeId=1]: Updating the log level of … to …` / `… Unset the log level
//!   of …`. Both become [`Category::ConfigChange`] success, `event_type` `log_level_set` /
//!   `log_level_unset`, `resource_type` `BrokerLogger`, `config_key` the logger, and
//!   `resource_name`/`broker_id` the node id when the line names it. Silencing the authorizer
//!   logger this way is how an intruder hides.
//!
//! Everything else is `Ok(None)`. None of these lines names the user: Kafka logs the client
//! address only, since the principal is not known until authentication succeeds.

use std::sync::LazyLock;
use std::time::SystemTime;

use memchr::memmem;

use super::log4j::LogEntry;
use super::ParseError;
use crate::event::{
    normalize_client_host, parse_port, Category, Format, Origin, Outcome, Reason, Rejection,
    SecurityEvent,
};

/// Parses a framed `server.log` entry; `Ok(None)` when it is not a security line.
pub fn parse(entry: &LogEntry) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    parse_at(entry, crate::clock::now())
}

/// [`parse`], the event observed at `observed`.
pub fn parse_at(
    entry: &LogEntry,
    observed: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    parse_parts(
        entry.first_line(),
        entry.continuation(),
        Some(entry.timestamp),
        observed,
    )
}

/// Parses the first line of an entry's message and its continuation lines.
pub fn parse_parts<'a>(
    first: &'a str,
    continuation: &'a str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'a>>, ParseError> {
    let first = cef_name(first).unwrap_or(first);
    let (ctx, body) = split_context(first);
    let new = |category, event_type: &'static str| {
        let mut ev = SecurityEvent::new(
            Format::ServerLog,
            category,
            Outcome::Failure,
            event_type,
            Origin::Memory,
            observed_time,
        );
        ev.event_time = event_time;
        ev.listener = ctx.listener_type.map(Into::into);
        ev.broker_id = ctx.node_id.map(Into::into);
        ev
    };

    if let Some((re, rest)) = body
        .strip_prefix("Failed authentication with ")
        .map(|r| (false, r))
        .or_else(|| {
            body.strip_prefix("Failed re-authentication with ")
                .map(|r| (true, r))
        })
    {
        let (sock, rest) = rest.split_once(' ').ok_or(ParseError::Unrecognized)?;
        let (channel, rest) = match rest.strip_prefix("(channelId=") {
            Some(r) => {
                let (c, r) = split_pair(r, *b") ").ok_or(ParseError::Unrecognized)?;
                (Some(c), r)
            }
            None => (None, rest),
        };
        let message = rest
            .strip_prefix('(')
            .and_then(|m| m.strip_suffix(')'))
            .ok_or(ParseError::Unrecognized)?;
        let (user, message) = split_confluent(message);
        let event_type = if re {
            "failed_reauthentication"
        } else {
            "failed_authentication"
        };
        let mut ev = new(Category::Authentication, event_type);
        let (host, port) = client_address(sock, channel);
        ev.client_host = Some(host.into());
        ev.client_port = port;
        ev.principal = user.map(|u| format!("User:{u}").into());
        ev.mechanism = mechanism_in(message).map(Into::into);
        ev.reason = Some(reason_for(message));
        return Ok(Some(ev));
    }

    if let Some(rest) = body.strip_prefix("Unexpected error from ") {
        let Some(rest) = rest.strip_suffix("; closing connection") else {
            return Ok(None);
        };
        let (sock, channel) = match rest.split_once(" (channelId=") {
            Some((s, c)) => (s, c.strip_suffix(')')),
            None => (rest, None),
        };
        let cause = continuation.split('\n').next().unwrap_or("");
        let sasl_handshake = (cause
            .contains("InvalidRequestException: Unexpected Kafka request of type ")
            && cause.contains(" during SASL handshake"))
            || cause.contains("InvalidRequestException: Invalid request, potential reasons: ");
        let (category, event_type, reason) = if sasl_handshake {
            (
                Category::Authentication,
                "unexpected_request_during_sasl_handshake",
                Reason::Other,
            )
        } else if cause.contains("InvalidReceiveException: Invalid receive (size = ") {
            (
                Category::Connection,
                "invalid_receive",
                Reason::InvalidReceiveSize,
            )
        } else {
            return Ok(None);
        };
        let mut ev = new(category, event_type);
        let (host, port) = client_address(sock, channel);
        ev.client_host = Some(host.into());
        ev.client_port = port;
        ev.reason = Some(reason);
        return Ok(Some(ev));
    }

    if let Some(ev) = log_level_change(first, event_time, observed_time) {
        return Ok(Some(ev));
    }

    if let Some(rest) = body.strip_prefix("Rejected connection from ") {
        let Some((sock, tail)) =
            rest.split_once(", address already has the configured maximum of ")
        else {
            return Ok(None);
        };
        let count = tail
            .strip_suffix(" connections.")
            .ok_or(ParseError::Unrecognized)?;
        if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::Unrecognized);
        }
        let mut ev = new(Category::Connection, "connection_rejected");
        ev.rejection = Some(Rejection::PerIpLimit);
        ev.client_host = Some(normalize_client_host(sock).into());
        return Ok(Some(ev));
    }
    Ok(None)
}

/// Confluent Server's `errorMessage=…`, or `userId=NAME, errorMessage=…` naming the SASL user
/// that failed: the user, if named, and the message.
fn split_confluent(message: &str) -> (Option<&str>, &str) {
    let (user, message) = match message
        .strip_prefix("userId=")
        .and_then(|m| m.split_once(", errorMessage="))
    {
        Some((user, m)) => (Some(user).filter(|u| !u.is_empty()), m),
        None => (None, message),
    };
    (
        user,
        message.strip_prefix("errorMessage=").unwrap_or(message),
    )
}

/// The Name field of a CEF record (`CEF:Version|Vendor|Product|Version|SignatureID|Name|Severity|
/// Extension`, ArcSight's Common Event Format), in which some audit appenders wrap Kafka's
/// message: `CEF:1|Qubership|Kafka|2.7.1|AUTHENTICATION|[SocketServer brokerId=1] Failed
/// authentication with /172.25.0.1 (…)|1|result=FAILED`. `None` for any other line. A `|` in a
/// field is escaped `\|`; the Name is returned as written.
fn cef_name(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("CEF:")?;
    let mut fields = Vec::with_capacity(7);
    let (mut start, mut escaped) = (0, false);
    for (i, b) in rest.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'|' => {
                fields.push(&rest[start..i]);
                start = i + 1;
                if fields.len() == 7 {
                    break;
                }
            }
            _ => {}
        }
    }
    // Version, vendor, product, version, signature id, name and severity, each ended by `|`.
    (fields.len() == 7).then(|| fields[5])
}

/// `Updated the log level of LOGGER to LEVEL` / `Unset the log level of LOGGER` (4.x), or 3.x's
/// `[ConfigAdminManager[nodeId=1]: Updating the log level of LOGGER to LEVEL` / `… Unset …`.
fn log_level_change<'a>(
    line: &'a str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Option<SecurityEvent<'a>> {
    let (node, rest) = match line.strip_prefix("[ConfigAdminManager[nodeId=") {
        Some(r) => {
            let (node, rest) = r.split_once("]: ")?;
            (Some(node), rest)
        }
        None => (None, line),
    };
    let set = rest
        .strip_prefix("Updated the log level of ")
        .or_else(|| rest.strip_prefix("Updating the log level of "));
    let (event_type, logger) = match set {
        // Logger names hold no spaces; the level is the last word.
        Some(r) => ("log_level_set", r.rsplit_once(" to ")?.0),
        None => (
            "log_level_unset",
            rest.strip_prefix("Unset the log level of ")?,
        ),
    };
    if logger.is_empty() || logger.contains(' ') {
        return None;
    }
    let mut ev = SecurityEvent::new(
        Format::ServerLog,
        Category::ConfigChange,
        Outcome::Success,
        event_type,
        Origin::Memory,
        observed_time,
    );
    ev.event_time = event_time;
    ev.resource_type = Some("BrokerLogger".into());
    ev.resource_name = node.map(Into::into);
    ev.broker_id = node.map(Into::into);
    ev.config_key = Some(logger.into());
    Some(ev)
}

#[derive(Debug, Default)]
struct Context<'a> {
    listener_type: Option<&'a str>,
    node_id: Option<&'a str>,
}

/// Splits a `[SocketServer listenerType=BROKER, nodeId=1] ` or `[SocketServer brokerId=0] `
/// prefix off a message.
fn split_context(line: &str) -> (Context<'_>, &str) {
    let Some(rest) = line.strip_prefix("[SocketServer ") else {
        return (Context::default(), line);
    };
    let Some((inner, body)) = split_pair(rest, *b"] ") else {
        return (Context::default(), line);
    };
    let mut ctx = Context::default();
    for part in inner.split(", ") {
        match part.split_once('=') {
            Some(("listenerType", v)) => ctx.listener_type = Some(v),
            Some(("nodeId" | "brokerId", v)) => ctx.node_id = Some(v),
            _ => {}
        }
    }
    (ctx, body)
}

/// The client's address and port. The connection id (`ServerConnectionId.generateConnectionId`:
/// `localHost:localPort-remoteHost:remotePort-processorId-index` since 4.0, without the
/// processor id before) holds both: its second `-` field, split at its last `:` (hosts are
/// `InetAddress.getHostAddress()` literals, so they hold no `-`, and an IPv6 one stays whole).
/// Without a channel id (before 3.2), the socket description (`Selector`'s
/// `socketDescription()`: `/127.0.0.1`) names the host only.
fn client_address<'a>(sock: &'a str, channel: Option<&'a str>) -> (&'a str, Option<u16>) {
    channel
        .and_then(|c| c.split('-').nth(1))
        .and_then(|remote| remote.rsplit_once(':'))
        .filter(|(host, _)| !host.is_empty())
        .map(|(host, port)| (host, parse_port(port)))
        .unwrap_or_else(|| (normalize_client_host(sock), None))
}

/// The SASL mechanism a failure message names, or `SSL` for a TLS handshake failure.
fn mechanism_in(message: &str) -> Option<&str> {
    fn word(s: &str) -> &str {
        let end = s
            .bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
            .unwrap_or(s.len());
        // An ASCII byte ends the word: a character boundary.
        &s[..end]
    }
    // Nearly always the message's last word: then no search (the needle holds spaces, so no
    // later occurrence can hide in a last word).
    if let Some((head, last)) = message.rsplit_once(' ') {
        if head.ends_with(" with SASL mechanism") {
            return Some(word(last)).filter(|w| !w.is_empty());
        }
    }
    if let Some(m) = after_last(message, &WITH_SASL_MECHANISM) {
        return Some(word(m)).filter(|w| !w.is_empty());
    }
    if let Some(m) = message.strip_prefix("Unsupported SASL mechanism ") {
        return Some(word(m)).filter(|w| !w.is_empty());
    }
    if let Some(m) = after_last(message, &FOR_REAUTHENTICATION_OF) {
        return m.strip_suffix('\'');
    }
    if message.starts_with("SSL handshake failed") {
        return Some("SSL");
    }
    None
}

/// Maps a failure message (the `AuthenticationException` texts of `SaslServerAuthenticator` and
/// `SslTransportLayer`) to the closed set of reasons.
pub fn reason_for(message: &str) -> Reason {
    let has = |i: usize| REASON_TEXTS[i].find(message.as_bytes()).is_some();
    if (0..5).any(has) {
        Reason::InvalidCredentials
    } else if message.starts_with("Unsupported SASL mechanism") || has(5) {
        Reason::UnsupportedMechanism
    } else if message.starts_with("SSL handshake failed") {
        Reason::SslHandshake
    } else if has(6) || has(7) {
        Reason::InvalidToken
    } else if has(8) {
        Reason::PrincipalChange
    } else if has(9) {
        Reason::InvalidReceiveSize
    } else {
        Reason::Other
    }
}

/// The texts [`reason_for`] looks for, searchers built once (a failed login is read on every
/// line of a password spray): 0 to 4 invalid credentials, 5 an unsupported mechanism, 6 and 7 an
/// invalid token, 8 a principal change, 9 an invalid receive size.
static REASON_TEXTS: LazyLock<[memmem::Finder<'static>; 10]> = LazyLock::new(|| {
    [
        "due to invalid credentials",
        "Invalid username or password",
        "username not specified",
        "password not specified",
        "Invalid SASL/PLAIN response",
        "is not supported for re-authentication",
        "\"status\":\"invalid_token\"",
        "extensions are invalid",
        "Cannot change principals during re-authentication",
        "invalid receive size",
    ]
    .map(memmem::Finder::new)
});

static WITH_SASL_MECHANISM: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(" with SASL mechanism "));
static FOR_REAUTHENTICATION_OF: LazyLock<memmem::FinderRev<'static>> =
    LazyLock::new(|| memmem::FinderRev::new(" for re-authentication of mechanism '"));

/// What follows the last occurrence of `needle` in `s`.
fn after_last<'a>(s: &'a str, needle: &memmem::FinderRev<'_>) -> Option<&'a str> {
    let at = needle.rfind(s.as_bytes())?;
    // The needle is whole characters, so its end is a character boundary.
    s.get(at + needle.needle().len()..)
}

/// `str::split_once` for a two-byte ASCII separator (`") "`, `"] "`): a memchr for its first
/// byte, no substring searcher set up.
fn split_pair(s: &str, sep: [u8; 2]) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(sep[0], &bytes[from..]) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&sep[1]) {
            // ASCII bytes: `at` and `at + 2` are character boundaries.
            return Some((&s[..at], &s[at + 2..]));
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::log4j::{frame_all, FramerConfig};
    use crate::parse::test_support::{assert_fields, near_miss};

    fn one(first: &str) -> SecurityEvent<'_> {
        parse_parts(first, "", None, SystemTime::UNIX_EPOCH)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn kafka_4_failed_authentication() {
        let e = one("[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:19092-127.0.0.1:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256)");
        assert_fields(
            &e,
            &[
                ("category", Some("authentication")),
                ("outcome", Some("failure")),
                ("event_type", Some("failed_authentication")),
                ("client_host", Some("127.0.0.1")),
                ("client_port", Some("32996")),
                ("listener", Some("BROKER")),
                ("broker_id", Some("1")),
                ("mechanism", Some("SCRAM-SHA-256")),
                ("reason", Some("invalid_credentials")),
            ],
        );
    }

    #[test]
    fn the_client_port_comes_from_the_connection_id() {
        // Kafka 3.2-3.9: `local-remote:port-index`, a real line quoted in bitnami/charts#25129.
        let e = one("[SocketServer listenerType=BROKER, nodeId=0] Failed authentication with /172.22.111.93 (channelId=10.244.140.74:9092-172.22.111.93:2117-5) (Unexpected Kafka request of type METADATA during SASL handshake.)");
        assert_eq!(e.client_host.as_deref(), Some("172.22.111.93"));
        assert_eq!(e.client_port, Some(2117));
        // IPv6 as Java prints it, unbracketed.
        let e = one("[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /0:0:0:0:0:0:0:1 (channelId=0:0:0:0:0:0:0:1:9093-0:0:0:0:0:0:0:1:59568-1060) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)");
        assert_eq!(e.client_host.as_deref(), Some("0:0:0:0:0:0:0:1"));
        assert_eq!(e.client_port, Some(59568));
        // 4.x `Unexpected error from` carries the channel id too.
        let e = parse_parts(
            "[SocketServer listenerType=BROKER, nodeId=1] Unexpected error from /10.1.2.3 (channelId=10.0.0.1:9092-10.1.2.3:40001-0-7); closing connection",
            "org.apache.kafka.common.network.InvalidReceiveException: Invalid receive (size = 1195725856 larger than 104857600)",
            None,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (e.client_host.as_deref(), e.client_port),
            (Some("10.1.2.3"), Some(40001))
        );
        // No channel id (before 3.2), a rejected connection: the line names no port.
        let e = one("[SocketServer brokerId=0] Failed authentication with /10.0.0.5 (Unsupported SASL mechanism PLAIN)");
        assert_eq!(e.client_port, None);
        let e = one("Rejected connection from /127.0.0.2, address already has the configured maximum of 2 connections.");
        assert_eq!(e.client_port, None);
        // A channel id whose remote port is no port: the host still, no port.
        let e = one("[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9092-127.0.0.1:x-0-1) (SSL handshake failed)");
        assert_eq!(
            (e.client_host.as_deref(), e.client_port),
            (Some("127.0.0.1"), None)
        );
    }

    #[test]
    fn broker_logger_level_changes() {
        let e = one("[ConfigAdminManager[nodeId=1]: Updating the log level of kafka.authorizer.logger to OFF");
        assert_fields(
            &e,
            &[
                ("category", Some("config_change")),
                ("outcome", Some("success")),
                ("event_type", Some("log_level_set")),
                ("resource_type", Some("BrokerLogger")),
                ("resource_name", Some("1")),
                ("broker_id", Some("1")),
                ("config_key", Some("kafka.authorizer.logger")),
            ],
        );
        let e = one("[ConfigAdminManager[nodeId=3]: Unset the log level of kafka.request.logger");
        assert_eq!(e.event_type.as_ref(), "log_level_unset");
        assert_eq!(e.config_key.as_deref(), Some("kafka.request.logger"));
        // Kafka 4.x (a 4.4.0 broker's server.log): WARN, no node id.
        let e = one("Updated the log level of kafka.authorizer.logger to ERROR");
        assert_fields(
            &e,
            &[
                ("event_type", Some("log_level_set")),
                ("resource_type", Some("BrokerLogger")),
                ("resource_name", None),
                ("config_key", Some("kafka.authorizer.logger")),
            ],
        );
        let e = one("Unset the log level of kafka.authorizer.logger");
        assert_eq!(e.event_type.as_ref(), "log_level_unset");
        for other in [
            "[ConfigAdminManager[nodeId=1]: Error preprocessing incrementalAlterConfigs request on ConfigResource(type=BROKER_LOGGER, name='1')",
            "[ConfigAdminManager[nodeId=1]: Updating the log level of  to OFF",
        ] {
            assert!(parse_parts(other, "", None, SystemTime::UNIX_EPOCH).unwrap().is_none(), "{other}");
        }
    }

    #[test]
    fn confluent_user_id_and_cef_wrapping() {
        // https://github.com/vdesabou/kafka-docker-playground/blob/95b2d38d182851e8d302edb71b5049a88dd998ef/other/capture-authentication-logs/README.md
        let e = one("[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9098-127.0.0.1:33004-8) (userId=badmin, errorMessage=Authentication failed: Invalid username or password)");
        assert_eq!(e.principal.as_deref(), Some("User:badmin"));
        assert_eq!(e.reason, Some(Reason::InvalidCredentials));
        // https://github.com/Netcracker/qubership-kafka/blob/22fe7bb6e6624599b1ab17eef64ed6a2249c88a8/docs/public/security/kafka.md
        let e = one("CEF:1|Qubership|Kafka|2.7.1|AUTHENTICATION|[SocketServer brokerId=1] Failed authentication with /172.25.0.1 (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)|1|result=FAILED type=audit_log_type");
        assert_eq!(e.client_host.as_deref(), Some("172.25.0.1"));
        assert_eq!(e.mechanism.as_deref(), Some("SCRAM-SHA-512"));
        assert_eq!(e.broker_id.as_deref(), Some("1"));
        // Not CEF, or a CEF record without all its header fields: read as it is.
        assert_eq!(cef_name("CEF:1|a|b|c|d|name"), None);
        assert_eq!(cef_name("CEF:0|a|b|c|d|x\\|y|5|"), Some("x\\|y"));
    }

    #[test]
    fn older_shapes_ipv6_and_confluent() {
        let e = one("[SocketServer brokerId=0] Failed authentication with /10.0.0.5 (Unsupported SASL mechanism PLAIN)");
        assert_eq!(e.broker_id.as_deref(), Some("0"));
        assert_eq!(e.listener, None);
        assert_eq!(e.mechanism.as_deref(), Some("PLAIN"));
        assert_eq!(e.reason, Some(Reason::UnsupportedMechanism));
        let e = one("[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /0:0:0:0:0:0:0:1 (channelId=0:0:0:0:0:0:0:1:9093-0:0:0:0:0:0:0:1:59568-1060) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)");
        assert_eq!(e.client_host.as_deref(), Some("0:0:0:0:0:0:0:1"));
        assert_eq!(e.mechanism.as_deref(), Some("SCRAM-SHA-512"));
        let e = one("[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /192.168.208.9 (errorMessage=Unexpected Kafka request of type METADATA during SASL handshake.)");
        assert_eq!(e.client_host.as_deref(), Some("192.168.208.9"));
        assert_eq!(e.reason, Some(Reason::Other));
        let e = one("[SocketServer listenerType=BROKER, nodeId=1] Failed re-authentication with /127.0.0.1 (channelId=127.0.0.1:9092-127.0.0.1:53124-0-12) (Cannot change principals during re-authentication from User.alice: User.bob)");
        assert_eq!(e.event_type, "failed_reauthentication");
        assert_eq!(e.reason, Some(Reason::PrincipalChange));
        let e = one("[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9094-127.0.0.1:53140-2-14) (SSL handshake failed)");
        assert_eq!(e.mechanism.as_deref(), Some("SSL"));
        assert_eq!(e.reason, Some(Reason::SslHandshake));
    }

    #[test]
    fn reasons() {
        assert_eq!(
            reason_for("{\"status\":\"invalid_token\"}"),
            Reason::InvalidToken
        );
        assert_eq!(
            reason_for("Failing SASL authentication due to invalid receive size"),
            Reason::InvalidReceiveSize
        );
        assert_eq!(
            reason_for("Authentication failed: Invalid username or password"),
            Reason::InvalidCredentials
        );
        assert_eq!(reason_for("SASL mechanism 'PLAIN' requested by client is not supported for re-authentication of mechanism 'SCRAM-SHA-256'"), Reason::UnsupportedMechanism);
        assert_eq!(
            mechanism_in("SASL mechanism 'PLAIN' requested by client is not supported for re-authentication of mechanism 'SCRAM-SHA-256'"),
            Some("SCRAM-SHA-256")
        );
    }

    #[test]
    fn kafka_4_unexpected_request_needs_the_stack_trace() {
        let log = "[2025-03-18 10:21:00,000] WARN [SocketServer listenerType=BROKER, nodeId=1] Unexpected error from /127.0.0.1 (channelId=127.0.0.1:9092-127.0.0.1:53150-0-15); closing connection (org.apache.kafka.common.network.Selector)\n\
org.apache.kafka.common.errors.InvalidRequestException: Unexpected Kafka request of type METADATA during SASL handshake.\n\
\tat org.apache.kafka.common.security.authenticator.SaslServerAuthenticator.handleKafkaRequest(SaslServerAuthenticator.java:1) ~[kafka-clients-4.0.0.jar:?]\n";
        let entries = frame_all(FramerConfig::default(), log.as_bytes());
        let e = parse(&entries[0]).unwrap().unwrap();
        assert_eq!(e.category, Category::Authentication);
        assert_eq!(e.event_type, "unexpected_request_during_sasl_handshake");
        assert_eq!(e.client_host.as_deref(), Some("127.0.0.1"));
        // Without the trace it is just an unexpected error.
        assert_eq!(
            parse_parts(entries[0].first_line(), "", None, SystemTime::UNIX_EPOCH),
            Ok(None)
        );
    }

    #[test]
    fn rejected_connection() {
        let e = one("Rejected connection from /127.0.0.2, address already has the configured maximum of 2 connections.");
        assert_eq!(e.category, Category::Connection);
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.client_host.as_deref(), Some("127.0.0.2"));
        assert_eq!(e.event_type, "connection_rejected");
    }

    #[test]
    fn other_lines_are_not_security_lines() {
        for line in [
            "[SocketServer listenerType=BROKER, nodeId=1] Successfully authenticated with /127.0.0.1",
            "Registered broker 1 at path /brokers/ids/1",
            "[SocketServer listenerType=BROKER, nodeId=1] Unexpected error from /127.0.0.1; closing connection",
        ] {
            assert_eq!(parse_parts(line, "", None, SystemTime::UNIX_EPOCH), Ok(None), "{line}");
        }
    }

    /// Lines of every shape this parser reads (from the tests above).
    const VALID: &[&str] = &[
        "[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:19092-127.0.0.1:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256)",
        "[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9098-127.0.0.1:33004-8) (userId=badmin, errorMessage=Authentication failed: Invalid username or password)",
        "CEF:1|Qubership|Kafka|2.7.1|AUTHENTICATION|[SocketServer brokerId=1] Failed authentication with /172.25.0.1 (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)|1|result=FAILED type=audit_log_type",
        "[SocketServer brokerId=0] Failed authentication with /10.0.0.5 (Unsupported SASL mechanism PLAIN)",
        "[SocketServer listenerType=ZK_BROKER, nodeId=1] Failed authentication with /0:0:0:0:0:0:0:1 (channelId=0:0:0:0:0:0:0:1:9093-0:0:0:0:0:0:0:1:59568-1060) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)",
        "[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9094-127.0.0.1:53140-2-14) (SSL handshake failed)",
        "[SocketServer listenerType=BROKER, nodeId=1] Failed re-authentication with /127.0.0.1 (channelId=127.0.0.1:9092-127.0.0.1:53124-0-12) (Cannot change principals during re-authentication from User.alice: User.bob)",
        "[SocketServer listenerType=BROKER, nodeId=1] Unexpected error from /127.0.0.1 (channelId=127.0.0.1:9092-127.0.0.1:53150-0-15); closing connection",
        "Rejected connection from /127.0.0.2, address already has the configured maximum of 2 connections.",
    ];

    /// The separators and keywords of those lines.
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "Failed authentication with ", "Failed re-authentication with ", "Rejected connection from ",
        "Unexpected error from ", "; closing connection", "[SocketServer ", "listenerType=", "nodeId=",
        "brokerId=", "channelId=", "userId=", "errorMessage=", " with SASL mechanism ", "CEF:1|",
        "|", " (", ")", "(", "/", ", ", "=", ":", "\n", "\r", " ", "[", "]", "User:", "",
    ];

    /// What an event read from `line` names is in the line: its client address, listener and
    /// the user of its principal.
    fn check(line: &str, rest: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let Ok(Some(e)) = parse_parts(line, rest, None, SystemTime::UNIX_EPOCH) else {
            return Ok(());
        };
        let text = format!("{line}\n{rest}");
        if let Some(port) = e.client_port {
            proptest::prop_assert!(text.contains(&port.to_string()), "{port} not in {text:?}");
        }
        let named = [&e.client_host, &e.listener, &e.broker_id, &e.mechanism];
        for value in named.into_iter().flatten() {
            proptest::prop_assert!(text.contains(value.as_ref()), "{value:?} not in {text:?}");
        }
        if let Some(principal) = &e.principal {
            let user = principal.strip_prefix("User:").unwrap_or(principal);
            proptest::prop_assert!(text.contains(user), "{principal:?} not in {text:?}");
        }
        Ok(())
    }

    proptest::proptest! {
        /// The mechanism is the word after the last ` with SASL mechanism `, however it is found.
        #[test]
        fn the_mechanism_is_the_word_after_the_last_mention(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(" with SASL mechanism ".to_string()),
                    proptest::strategy::Just(" ".to_string()),
                    "[A-Za-z0-9_ -]{0,6}",
                    ".{0,3}",
                ],
                0..8,
            )
        ) {
            let message = parts.concat();
            let searched = message
                .rsplit_once(" with SASL mechanism ")
                .map(|(_, m)| {
                    let end = m
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                        .unwrap_or(m.len());
                    &m[..end]
                })
                .filter(|w| !w.is_empty());
            if message.contains(" with SASL mechanism ") {
                proptest::prop_assert_eq!(mechanism_in(&message), searched, "{:?}", message);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(line in ".*", rest in ".*") {
            check(&line, &rest)?;
            check(&line, "")?;
        }

        #[test]
        fn near_misses_never_panic_and_name_only_what_the_line_says(
            line in near_miss(VALID, TOKENS),
            rest in near_miss(VALID, TOKENS),
        ) {
            check(&line, "")?;
            check(&line, &rest)?;
            // And framed as a server.log entry, whatever the framer makes of it.
            let log = format!("[2025-03-18 10:21:00,000] WARN {line} (kafka.network.Selector)\n{rest}\n");
            for entry in frame_all(FramerConfig::default(), log.as_bytes()) {
                let _ = parse(&entry);
            }
        }
    }
}
