//! The mappings, one event of each class with its exact JSON, and the producer against
//! librdkafka's mock cluster.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::detect::{Detector, Severity};
use crate::event::{
    Category, ChangeAction, Format, Origin, Outcome, Permission, Reason, Rejection,
};

/// 2024-01-01T00:00:00.250Z.
fn at() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_704_067_200_250)
}

fn event(
    format: Format,
    category: Category,
    outcome: Outcome,
    ty: &'static str,
) -> SecurityEvent<'static> {
    let mut ev = SecurityEvent::new(
        format,
        category,
        outcome,
        ty,
        Origin::Kafka {
            topic: "audit".into(),
            partition: 2,
            offset: 41,
        },
        at() + Duration::from_secs(2),
    );
    ev.event_time = Some(at());
    ev
}

const CTX: Context = Context {
    raw_data_max_bytes: 64,
};

fn json(schema: Schema, ev: &SecurityEvent<'_>, raw: &str) -> serde_json::Value {
    let mut out = Vec::new();
    write_event(schema, &CTX, ev, raw.as_bytes(), &mut out);
    serde_json::from_slice(&out).unwrap()
}

/// A failed SCRAM login from server.log: no principal.
fn failed_login() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::ServerLog,
        Category::Authentication,
        Outcome::Failure,
        "authentication_failed",
    );
    ev.client_host = Some("10.0.0.5".into());
    ev.mechanism = Some("SCRAM-SHA-256".into());
    ev.listener = Some("SASL_PLAINTEXT".into());
    ev.broker_id = Some("1".into());
    ev.reason = Some(Reason::InvalidCredentials);
    ev
}

fn denied_write() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::AuthorizerLog,
        Category::Authorization,
        Outcome::Denied,
        "authorization",
    );
    ev.principal = Some("User:alice".into());
    ev.client_host = Some("172.21.0.1".into());
    ev.operation = Some("WRITE".into());
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some("orders".into());
    ev.pattern_type = Some("LITERAL".into());
    ev.api = Some("Produce".into());
    ev.reason = Some(Reason::NoMatchingAcl);
    ev
}

fn scram_created() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::ControllerLog,
        Category::CredentialChange,
        Outcome::Success,
        "scram_credential_created",
    );
    ev.principal = Some("carol".into());
    ev.mechanism = Some("SCRAM-SHA-256".into());
    ev.action = Some(ChangeAction::Create);
    ev
}

fn acl_created() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::ControllerLog,
        Category::AclChange,
        Outcome::Success,
        "acl_created",
    );
    ev.principal = Some("User:bob".into());
    ev.operation = Some("DESCRIBE".into());
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some("orders".into());
    ev.pattern_type = Some("LITERAL".into());
    ev.permission = Some(Permission::Allow);
    ev.action = Some(ChangeAction::Create);
    ev
}

fn config_changed() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::ControllerLog,
        Category::ConfigChange,
        Outcome::Success,
        "config_changed",
    );
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some("orders".into());
    ev.config_key = Some("retention.ms".into());
    ev
}

fn connection_rejected() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::ServerLog,
        Category::Connection,
        Outcome::Failure,
        "connection_rejected",
    );
    ev.client_host = Some("10.6.6.6".into());
    ev.rejection = Some(Rejection::PerIpLimit);
    ev
}

fn other() -> SecurityEvent<'static> {
    let mut ev = event(
        Format::Json,
        Category::Other,
        Outcome::Unknown,
        "session_note",
    );
    ev.principal = Some("dave".into());
    ev
}

fn detection() -> Detection {
    Detection {
        detector: Detector::BruteForce,
        severity: Severity::Critical,
        subject: "10.0.0.5".into(),
        first_event: at(),
        last_event: at() + Duration::from_secs(60),
        count: 23,
        detail: "23 failed logins in 5m".into(),
    }
}

#[test]
fn ocsf_failed_login() {
    assert_eq!(
        json(Schema::Ocsf, &failed_login(), "raw line"),
        serde_json::json!({
            "activity_id": 1,
            "activity_name": "Logon",
            "auth_protocol": "SCRAM-SHA-256",
            "auth_protocol_id": 99,
            "category_name": "Identity & Access Management",
            "category_uid": 3,
            "class_name": "Authentication",
            "class_uid": 3002,
            "dst_endpoint": {
                "svc_name": "SASL_PLAINTEXT",
                "uid": "1"
            },
            "metadata": {
                "event_code": "authentication_failed",
                "log_name": "server_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "service": {
                "name": "kafka"
            },
            "severity": "Low",
            "severity_id": 2,
            "src_endpoint": {
                "ip": "10.0.0.5"
            },
            "status": "Failure",
            "status_detail": "invalid_credentials",
            "status_id": 2,
            "time": 1704067200250_i64,
            "type_name": "Authentication: Logon",
            "type_uid": 300201,
            "unmapped": {
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                }
            },
            "user": {
                "name": "",
                "type": "Unknown",
                "type_id": 0
            }
        })
    );
}

#[test]
fn ecs_failed_login() {
    assert_eq!(
        json(Schema::Ecs, &failed_login(), "raw line"),
        serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00.250Z",
            "ecs": {
                "version": "8.11.0"
            },
            "event": {
                "action": "authentication_failed",
                "category": [
                    "authentication"
                ],
                "created": "2024-01-01T00:00:02.250Z",
                "dataset": "kafka.server_log",
                "kind": "event",
                "module": "kafka",
                "original": "raw line",
                "outcome": "failure",
                "reason": "invalid_credentials",
                "type": [
                    "start"
                ]
            },
            "kafka": {
                "broker_id": "1",
                "format": "server_log",
                "listener": "SASL_PLAINTEXT",
                "mechanism": "SCRAM-SHA-256",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                }
            },
            "observer": {
                "product": "kafka-security-exporter",
                "vendor": "kafka-security-exporter",
                "version": crate::build_info::VERSION
            },
            "source": {
                "address": "10.0.0.5",
                "ip": "10.0.0.5"
            }
        })
    );
}

#[test]
fn ocsf_denied_write() {
    assert_eq!(
        json(Schema::Ocsf, &denied_write(), "raw line"),
        serde_json::json!({
            "activity_id": 3,
            "activity_name": "Update",
            "actor": {
                "user": {
                    "name": "User:alice"
                }
            },
            "api": {
                "operation": "Produce",
                "service": {
                    "name": "kafka"
                }
            },
            "category_name": "Application Activity",
            "category_uid": 6,
            "class_name": "API Activity",
            "class_uid": 6003,
            "metadata": {
                "event_code": "authorization",
                "log_name": "authorizer_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "resources": [
                {
                    "name": "orders",
                    "type": "Topic"
                }
            ],
            "severity": "Low",
            "severity_id": 2,
            "src_endpoint": {
                "ip": "172.21.0.1"
            },
            "status": "Failure",
            "status_detail": "no_matching_acl",
            "status_id": 2,
            "time": 1704067200250_i64,
            "type_name": "API Activity: Update",
            "type_uid": 600303,
            "unmapped": {
                "api": "Produce",
                "operation": "WRITE",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "pattern_type": "LITERAL"
            }
        })
    );
}

#[test]
fn ecs_denied_write() {
    assert_eq!(
        json(Schema::Ecs, &denied_write(), "raw line"),
        serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00.250Z",
            "ecs": {
                "version": "8.11.0"
            },
            "event": {
                "action": "authorization",
                "category": [
                    "iam"
                ],
                "created": "2024-01-01T00:00:02.250Z",
                "dataset": "kafka.authorizer_log",
                "kind": "event",
                "module": "kafka",
                "original": "raw line",
                "outcome": "failure",
                "reason": "no_matching_acl",
                "type": [
                    "access",
                    "denied"
                ]
            },
            "kafka": {
                "api": "Produce",
                "format": "authorizer_log",
                "operation": "WRITE",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "pattern_type": "LITERAL",
                "resource_name": "orders",
                "resource_type": "Topic"
            },
            "observer": {
                "product": "kafka-security-exporter",
                "vendor": "kafka-security-exporter",
                "version": crate::build_info::VERSION
            },
            "source": {
                "address": "172.21.0.1",
                "ip": "172.21.0.1"
            },
            "user": {
                "name": "User:alice"
            }
        })
    );
}

#[test]
fn ocsf_scram_created() {
    assert_eq!(
        json(Schema::Ocsf, &scram_created(), "raw line"),
        serde_json::json!({
            "activity_id": 1,
            "activity_name": "Create",
            "category_name": "Identity & Access Management",
            "category_uid": 3,
            "class_name": "Account Change",
            "class_uid": 3001,
            "metadata": {
                "event_code": "scram_credential_created",
                "log_name": "controller_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "severity": "Informational",
            "severity_id": 1,
            "status": "Success",
            "status_id": 1,
            "time": 1704067200250_i64,
            "type_name": "Account Change: Create",
            "type_uid": 300101,
            "unmapped": {
                "action": "create",
                "mechanism": "SCRAM-SHA-256",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                }
            },
            "user": {
                "name": "carol"
            }
        })
    );
}

#[test]
fn ocsf_acl_created() {
    assert_eq!(
        json(Schema::Ocsf, &acl_created(), "raw line"),
        serde_json::json!({
            "activity_id": 1,
            "activity_name": "Assign Privileges",
            "category_name": "Identity & Access Management",
            "category_uid": 3,
            "class_name": "User Access Management",
            "class_uid": 3005,
            "metadata": {
                "event_code": "acl_created",
                "log_name": "controller_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "privileges": [
                "ALLOW DESCRIBE"
            ],
            "raw_data": "raw line",
            "resource": {
                "name": "orders",
                "type": "Topic"
            },
            "severity": "Informational",
            "severity_id": 1,
            "status": "Success",
            "status_id": 1,
            "time": 1704067200250_i64,
            "type_name": "User Access Management: Assign Privileges",
            "type_uid": 300501,
            "unmapped": {
                "action": "create",
                "operation": "DESCRIBE",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "pattern_type": "LITERAL",
                "permission": "allow"
            },
            "user": {
                "name": "User:bob"
            }
        })
    );
}

#[test]
fn ecs_acl_created() {
    assert_eq!(
        json(Schema::Ecs, &acl_created(), "raw line"),
        serde_json::json!({
            "@timestamp": "2024-01-01T00:00:00.250Z",
            "ecs": {
                "version": "8.11.0"
            },
            "event": {
                "action": "acl_created",
                "category": [
                    "iam",
                    "configuration"
                ],
                "created": "2024-01-01T00:00:02.250Z",
                "dataset": "kafka.controller_log",
                "kind": "event",
                "module": "kafka",
                "original": "raw line",
                "outcome": "success",
                "type": [
                    "creation"
                ]
            },
            "kafka": {
                "action": "create",
                "format": "controller_log",
                "operation": "DESCRIBE",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "pattern_type": "LITERAL",
                "permission": "allow",
                "resource_name": "orders",
                "resource_type": "Topic"
            },
            "observer": {
                "product": "kafka-security-exporter",
                "vendor": "kafka-security-exporter",
                "version": crate::build_info::VERSION
            },
            "user": {
                "name": "User:bob"
            }
        })
    );
}

#[test]
fn ocsf_config_changed() {
    assert_eq!(
        json(Schema::Ocsf, &config_changed(), "raw line"),
        serde_json::json!({
            "activity_id": 3,
            "activity_name": "Update",
            "actor": {
                "user": {
                    "name": "",
                    "type": "Unknown",
                    "type_id": 0
                }
            },
            "api": {
                "operation": "config_changed",
                "service": {
                    "name": "kafka"
                }
            },
            "category_name": "Application Activity",
            "category_uid": 6,
            "class_name": "API Activity",
            "class_uid": 6003,
            "metadata": {
                "event_code": "config_changed",
                "log_name": "controller_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "resources": [
                {
                    "name": "orders",
                    "type": "Topic"
                }
            ],
            "severity": "Informational",
            "severity_id": 1,
            "src_endpoint": {
                "name": ""
            },
            "status": "Success",
            "status_id": 1,
            "time": 1704067200250_i64,
            "type_name": "API Activity: Update",
            "type_uid": 600303,
            "unmapped": {
                "config_key": "retention.ms",
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                }
            }
        })
    );
}

#[test]
fn ocsf_connection_rejected() {
    assert_eq!(
        json(Schema::Ocsf, &connection_rejected(), "raw line"),
        serde_json::json!({
            "activity_id": 5,
            "activity_name": "Refuse",
            "category_name": "Network Activity",
            "category_uid": 4,
            "class_name": "Network Activity",
            "class_uid": 4001,
            "dst_endpoint": {
                "svc_name": "kafka"
            },
            "metadata": {
                "event_code": "connection_rejected",
                "log_name": "server_log",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "severity": "Low",
            "severity_id": 2,
            "src_endpoint": {
                "ip": "10.6.6.6"
            },
            "status": "Failure",
            "status_id": 2,
            "time": 1704067200250_i64,
            "type_name": "Network Activity: Refuse",
            "type_uid": 400105,
            "unmapped": {
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "rejection": "per_ip_limit"
            }
        })
    );
}

#[test]
fn ocsf_other() {
    assert_eq!(
        json(Schema::Ocsf, &other(), "raw line"),
        serde_json::json!({
            "activity_id": 99,
            "activity_name": "Other",
            "category_name": "Uncategorized",
            "category_uid": 0,
            "class_name": "Base Event",
            "class_uid": 0,
            "metadata": {
                "event_code": "session_note",
                "log_name": "json",
                "processed_time": 1704067202250_i64,
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "version": "1.3.0"
            },
            "raw_data": "raw line",
            "severity": "Informational",
            "severity_id": 1,
            "status": "Unknown",
            "status_id": 0,
            "time": 1704067200250_i64,
            "type_name": "Base Event: Other",
            "type_uid": 99,
            "unmapped": {
                "origin": {
                    "offset": 41,
                    "partition": 2,
                    "topic": "audit"
                },
                "principal": "dave"
            }
        })
    );
}

#[test]
fn ocsf_detection_finding() {
    let mut out = Vec::new();
    write_detection(Schema::Ocsf, &CTX, &detection(), at(), &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "activity_id": 1,
            "activity_name": "Create",
            "category_uid": 2,
            "category_name": "Findings",
            "class_uid": 2004,
            "class_name": "Detection Finding",
            "type_uid": 200401,
            "type_name": "Detection Finding: Create",
            "severity_id": 5,
            "severity": "Critical",
            "status_id": 1,
            "status": "New",
            "time": 1704067260250_i64,
            "message": "23 failed logins in 5m",
            "count": 23,
            "metadata": {
                "version": "1.3.0",
                "product": {
                    "name": "kafka-security-exporter",
                    "vendor_name": "kafka-security-exporter",
                    "version": crate::build_info::VERSION
                },
                "processed_time": 1704067200250_i64,
            },
            "finding_info": {
                "uid": "brute_force:10.0.0.5:1704067260250",
                "title": "23 failed logins in 5m",
                "types": [
                    "brute_force"
                ],
                "analytic": {
                    "name": "brute_force",
                    "type_id": 1,
                    "type": "Rule"
                },
                "attacks": [
                    {
                        "technique": {
                            "uid": "T1110.001"
                        },
                        "tactic": {
                            "name": "credential_access"
                        }
                    }
                ],
                "first_seen_time": 1704067200250_i64,
                "last_seen_time": 1704067260250_i64,
            },
            "unmapped": {
                "subject": "10.0.0.5"
            }
        })
    );
}

#[test]
fn ecs_detection_alert() {
    let mut out = Vec::new();
    write_detection(Schema::Ecs, &CTX, &detection(), at(), &mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "@timestamp": "2024-01-01T00:01:00.250Z",
            "ecs": {
                "version": "8.11.0"
            },
            "event": {
                "id": "brute_force:10.0.0.5:1704067260250",
                "kind": "alert",
                "category": [
                    "intrusion_detection"
                ],
                "type": [
                    "indicator"
                ],
                "outcome": "unknown",
                "severity": 73,
                "module": "kafka",
                "created": "2024-01-01T00:00:00.250Z"
            },
            "message": "23 failed logins in 5m",
            "rule": {
                "name": "brute_force",
                "description": "23 failed logins in 5m"
            },
            "threat": {
                "framework": "MITRE ATT&CK",
                "technique": {
                    "id": "T1110.001"
                },
                "tactic": {
                    "name": "credential_access"
                }
            },
            "observer": {
                "product": "kafka-security-exporter",
                "vendor": "kafka-security-exporter",
                "version": crate::build_info::VERSION
            },
            "kafka": {
                "subject": "10.0.0.5",
                "count": 23,
                "first_event": "2024-01-01T00:00:00.250Z"
            }
        })
    );
}

#[test]
fn raw_data_is_cut_on_a_character_boundary_and_left_out_at_zero() {
    assert_eq!(raw_text(b"line\n", 64).as_deref(), Some("line"));
    // "é" is two bytes: a cut inside it keeps what comes before.
    assert_eq!(raw_text("abcé".as_bytes(), 4).as_deref(), Some("abc"));
    assert_eq!(raw_text("abcé".as_bytes(), 5).as_deref(), Some("abcé"));
    assert_eq!(
        raw_text(b"\xff\xfe x", 64).as_deref(),
        Some("\u{fffd}\u{fffd} x")
    );
    assert_eq!(raw_text(b"line", 0), None);
    assert_eq!(raw_text(b"", 64), None);
    let long = "x".repeat(100);
    let v = json(Schema::Ocsf, &other(), &long);
    assert_eq!(v["raw_data"], "x".repeat(64));
}

#[test]
fn operations_and_mechanisms_map_to_their_activities() {
    let activity = |op: &'static str| {
        let mut ev = denied_write();
        ev.operation = Some(op.into());
        let v = json(Schema::Ocsf, &ev, "");
        (
            v["activity_id"].as_u64().unwrap(),
            v["type_uid"].as_u64().unwrap(),
        )
    };
    assert_eq!(activity("CREATE"), (1, 600301));
    assert_eq!(activity("DESCRIBE_CONFIGS"), (2, 600302));
    assert_eq!(activity("ALTER_CONFIGS"), (3, 600303));
    assert_eq!(activity("DELETE"), (4, 600304));
    assert_eq!(activity("CLUSTER_ACTION"), (99, 600399));
    let protocol = |m: &'static str| {
        let mut ev = failed_login();
        ev.mechanism = Some(m.into());
        let v = json(Schema::Ocsf, &ev, "");
        (
            v["auth_protocol_id"].as_u64().unwrap(),
            v["auth_protocol"].clone(),
        )
    };
    assert_eq!(protocol("GSSAPI"), (2, "Kerberos".into()));
    assert_eq!(protocol("OAUTHBEARER"), (6, "OAUTH 2.0".into()));
    assert_eq!(protocol("PLAIN"), (99, "PLAIN".into()));
    let mut revoked = acl_created();
    revoked.action = Some(ChangeAction::Delete);
    revoked.permission = Some(Permission::Deny);
    let v = json(Schema::Ocsf, &revoked, "");
    assert_eq!(v["type_uid"], 300502);
    assert_eq!(v["privileges"], serde_json::json!(["DENY DESCRIBE"]));
}

#[test]
fn a_client_named_by_host_is_a_hostname_not_an_ip() {
    let mut ev = denied_write();
    ev.client_host = Some("client-7.example".into());
    let v = json(Schema::Ocsf, &ev, "");
    assert_eq!(
        v["src_endpoint"],
        serde_json::json!({"hostname": "client-7.example"})
    );
    let v = json(Schema::Ecs, &ev, "");
    assert_eq!(
        v["source"],
        serde_json::json!({"address": "client-7.example", "domain": "client-7.example"})
    );
    ev.client_host = Some("0:0:0:0:0:0:0:1".into());
    let v = json(Schema::Ocsf, &ev, "");
    assert_eq!(
        v["src_endpoint"],
        serde_json::json!({"ip": "0:0:0:0:0:0:0:1"})
    );
}

#[test]
fn the_client_port_is_written_beside_the_client_address() {
    let mut ev = failed_login();
    ev.client_port = Some(54321);
    let v = json(Schema::Ocsf, &ev, "");
    assert_eq!(
        v["src_endpoint"],
        serde_json::json!({"ip": "10.0.0.5", "port": 54321})
    );
    let v = json(Schema::Ecs, &ev, "");
    assert_eq!(
        v["source"],
        serde_json::json!({"address": "10.0.0.5", "ip": "10.0.0.5", "port": 54321})
    );
    ev.client_host = Some("client-7.example".into());
    let v = json(Schema::Ocsf, &ev, "");
    assert_eq!(
        v["src_endpoint"],
        serde_json::json!({"hostname": "client-7.example", "port": 54321})
    );
    // A port is never a Kafka field of its own.
    assert!(v["unmapped"].get("client_port").is_none(), "{v}");
    let v = json(Schema::Ecs, &ev, "");
    assert!(v["kafka"].get("client_port").is_none(), "{v}");
}

mod mock_cluster {
    use std::sync::Arc;

    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::Message;

    use super::*;
    use crate::metrics::{names, MetricsConfig};

    fn sample(metrics: &Metrics, series: &str) -> f64 {
        let text = String::from_utf8(metrics.render()).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    fn config(bootstrap: &str, extra: &[(&str, &str)]) -> KafkaOutputConfig {
        let mut yaml =
            format!("topic: security-events\nproperties:\n  bootstrap.servers: '{bootstrap}'\n");
        for (k, v) in extra {
            yaml.push_str(&format!("  {k}: '{v}'\n"));
        }
        serde_yaml_ng::from_str(&yaml).unwrap()
    }

    /// Every record on `topic` of `cluster`, as (key, JSON).
    fn consume(
        bootstrap: &str,
        topic: &str,
        want: usize,
    ) -> Vec<(Option<String>, serde_json::Value)> {
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", "output-test")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&[topic]).unwrap();
        let mut out = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while out.len() < want && std::time::Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
                let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
                out.push((key, serde_json::from_slice(m.payload().unwrap()).unwrap()));
            }
        }
        // Nothing more arrives: each event was produced once.
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
            panic!(
                "an extra record: {:?}",
                m.payload().map(String::from_utf8_lossy)
            );
        }
        out
    }

    #[test]
    fn every_event_and_detection_arrives_once_keyed_by_principal() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("security-events", 3, 1).unwrap();
        let bootstrap = cluster.bootstrap_servers();
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let topic = EventTopic::start(&config(&bootstrap, &[]), metrics.clone()).unwrap();
        let events = [
            failed_login(),
            denied_write(),
            scram_created(),
            acl_created(),
            config_changed(),
            connection_rejected(),
            other(),
        ];
        for ev in &events {
            topic.publish(ev, b"raw line");
        }
        topic.publish_detection(&detection());
        assert!(topic.flush(Duration::from_secs(10)));
        assert_eq!(sample(&metrics, names::OUTPUT_EVENTS), 8.0);
        assert_eq!(
            sample(
                &metrics,
                &format!("{}{{reason=\"queue_full\"}}", names::OUTPUT_DROPPED)
            ),
            0.0
        );

        let mut got = consume(&bootstrap, "security-events", 8);
        let mut want: Vec<(Option<String>, serde_json::Value)> = events
            .iter()
            .map(|ev| {
                (
                    ev.principal.as_deref().map(str::to_string),
                    json(Schema::Ocsf, ev, "raw line"),
                )
            })
            .collect();
        let mut out = Vec::new();
        write_detection(Schema::Ocsf, &CTX, &detection(), at(), &mut out);
        let mut d: serde_json::Value = serde_json::from_slice(&out).unwrap();
        want.push((Some("10.0.0.5".into()), d.take()));
        // When the detection was published is now: compare without it.
        for (_, v) in got.iter_mut().chain(want.iter_mut()) {
            v["metadata"]["processed_time"] = 0.into();
        }
        let order = |(k, v): &(Option<String>, serde_json::Value)| format!("{k:?}{v}");
        got.sort_by_key(order);
        want.sort_by_key(order);
        assert_eq!(got, want);
    }

    #[test]
    fn a_broker_down_fills_the_bounded_queue_and_drops_are_counted() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("security-events", 1, 1).unwrap();
        let bootstrap = cluster.bootstrap_servers();
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let mut c = config(&bootstrap, &[("message.timeout.ms", "2000")]);
        c.queue_max_events = 10;
        let topic = EventTopic::start(&c, metrics.clone()).unwrap();
        cluster.broker_down(1).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..25 {
            topic.publish(&denied_write(), b"raw line");
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "publishing waited"
        );
        let dropped = |reason: &str| {
            sample(
                &metrics,
                &format!("{}{{reason=\"{reason}\"}}", names::OUTPUT_DROPPED),
            )
        };
        assert_eq!(dropped("queue_full"), 15.0);
        // Not acknowledged within message.timeout.ms: counted as failed deliveries.
        assert!(topic.flush(Duration::from_secs(10)), "the queue drains");
        assert_eq!(dropped("delivery_failed"), 10.0);
        assert_eq!(sample(&metrics, names::OUTPUT_EVENTS), 0.0);
    }

    #[test]
    fn close_counts_what_is_still_queued_as_lost_at_shutdown() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("security-events", 1, 1).unwrap();
        let bootstrap = cluster.bootstrap_servers();
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let topic = EventTopic::start(&config(&bootstrap, &[]), metrics.clone()).unwrap();
        cluster.broker_down(1).unwrap();
        for _ in 0..4 {
            topic.publish(&other(), b"raw line");
        }
        let started = std::time::Instant::now();
        topic.close(Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(
            sample(
                &metrics,
                &format!("{}{{reason=\"shutdown\"}}", names::OUTPUT_DROPPED)
            ),
            4.0
        );
    }
}

/// The pipeline's hook: every recorded event, from a record or a broker-log entry, and every
/// detection leaves for the topic with its raw input; a rejected record does not.
mod pipeline_hook {
    use std::sync::Arc;

    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::Message;

    use super::*;
    use crate::detect::{DetectorsConfig, Engine};
    use crate::metrics::MetricsConfig;
    use crate::parse::log4j::{frame_all, FramerConfig};
    use crate::parse::{Input, Parsers, ParsersConfig, Record};
    use crate::pipeline::{Item, LogStream, Pipeline};

    #[test]
    fn events_and_detections_leave_the_pipeline_with_their_raw_input() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic("security-events", 1, 1).unwrap();
        let bootstrap = cluster.bootstrap_servers();
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let config: KafkaOutputConfig = serde_yaml_ng::from_str(&format!(
            "topic: security-events\nproperties: {{bootstrap.servers: '{bootstrap}'}}\n"
        ))
        .unwrap();
        let topic = Arc::new(EventTopic::start(&config, metrics.clone()).unwrap());
        let off = DetectorsConfig {
            enabled: false,
            ..DetectorsConfig::default()
        };
        // Fires on the 3rd failure of a host.
        let engine = Engine::new(&off).with_test_detector(Detector::BruteForce, 3, 10);
        let p = Pipeline::new(
            Parsers::new(&ParsersConfig::default()).unwrap(),
            metrics.clone(),
        )
        .with_output(topic.clone())
        .with_detectors(engine);

        let line = |s: u32| {
            format!("[2026-11-26 14:06:{s:02},546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.0.0.7 (channelId=127.0.0.1:19092-10.0.0.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n")
        };
        let log: String = (0..3).map(line).collect();
        let mut stream = LogStream::default();
        for entry in frame_all(FramerConfig::default(), log.as_bytes()) {
            let item = Item::Entry {
                entry: &entry,
                origin: Origin::Memory,
                stream: &mut stream,
            };
            p.apply("logs", Input::BrokerLog, item);
        }
        p.end_stream("logs", &mut stream);
        let json = br#"{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"carol","ip":"10.0.0.1","outcome":"success"}"#;
        p.apply("app", Input::Json, &Record::from_payload(json));
        p.apply("app", Input::Json, &Record::from_payload(b"{not json"));
        assert!(topic.flush(Duration::from_secs(10)));

        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "hook-test")
            .set("auto.offset.reset", "earliest")
            .create()
            .unwrap();
        consumer.subscribe(&["security-events"]).unwrap();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(m)) => {
                    let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
                    let v: serde_json::Value =
                        serde_json::from_slice(m.payload().unwrap()).unwrap();
                    got.push((key, v));
                }
                _ if got.len() >= 5 => break,
                _ => {}
            }
        }
        let classes: Vec<_> = got
            .iter()
            .map(|(_, v)| v["class_uid"].as_u64().unwrap())
            .collect();
        assert_eq!(classes, [3002, 3002, 3002, 2004, 3002], "{got:#?}");
        // A broker-log entry's raw data is its message: the line without its time, level and
        // logger.
        for (key, v) in &got[..3] {
            assert_eq!(key, &None, "server.log names no principal");
            assert_eq!(v["src_endpoint"]["ip"], "10.0.0.7");
            assert!(
                v["raw_data"]
                    .as_str()
                    .unwrap()
                    .ends_with("Failed authentication with /10.0.0.7 (channelId=127.0.0.1:19092-10.0.0.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256)"),
                "{v:#}"
            );
        }
        assert_eq!(got[3].0.as_deref(), Some("10.0.0.7"));
        assert_eq!(got[3].1["finding_info"]["analytic"]["name"], "brute_force");
        assert_eq!(got[4].0.as_deref(), Some("carol"));
        assert_eq!(got[4].1["raw_data"], std::str::from_utf8(json).unwrap());
    }
}
