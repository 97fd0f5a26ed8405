//! The demo's event generator: a deterministic, realistic mix of Confluent audit CloudEvents,
//! applications' JSON login events, plain-text events and brute-force bursts.

use std::time::SystemTime;

use super::TOPICS;

/// One generated record.
#[derive(Debug, Clone)]
pub struct DemoEvent {
    pub topic: &'static str,
    pub key: String,
    pub payload: String,
}

/// A deterministic generator of realistic security events.
pub struct Generator {
    state: u64,
    pub(super) seq: u64,
}

pub(super) const USERS: [&str; 6] = ["alice", "bob", "carol", "svc-orders", "svc-billing", "dave"];
pub(super) const HOSTS: [&str; 6] = [
    "10.0.1.15",
    "10.0.1.16",
    "10.0.2.40",
    "10.0.3.7",
    "192.168.10.23",
    "10.0.4.99",
];
pub(super) const TOPIC_NAMES: [&str; 5] = [
    "orders",
    "payments",
    "customers",
    "audit-trail",
    "inventory",
];
pub(super) const ATTACKER_HOST: &str = "203.0.113.66";

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            state: seed | 1,
            seq: 0,
        }
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for a demo.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn now_rfc3339() -> String {
        humantime::format_rfc3339_micros(SystemTime::now()).to_string()
    }

    /// The next event of the normal mix.
    pub fn next_event(&mut self) -> DemoEvent {
        self.seq += 1;
        match self.next_u64() % 10 {
            0..=4 => self.audit_authorization(),
            5 => self.audit_authentication(),
            6 | 7 => self.app_json(),
            _ => self.text(),
        }
    }

    /// The next Confluent audit CloudEvent of the normal mix (five authorizations to one
    /// authentication), for benchmarks that need the audit topic alone.
    pub fn next_audit_event(&mut self) -> DemoEvent {
        self.seq += 1;
        if self.next_u64() % 6 == 5 {
            self.audit_authentication()
        } else {
            self.audit_authorization()
        }
    }

    fn audit_authorization(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let host = self.pick(&HOSTS);
        let topic = self.pick(&TOPIC_NAMES);
        let (method, operation, resource_type, resource) = match self.next_u64() % 8 {
            0..=2 => ("kafka.Produce", "Write", "Topic", topic.to_string()),
            3..=5 => ("kafka.Fetch", "Read", "Topic", topic.to_string()),
            6 => (
                "kafka.JoinGroup",
                "Read",
                "Group",
                format!("{topic}-consumers"),
            ),
            _ => (
                "kafka.CreateAcls",
                "Alter",
                "Cluster",
                "kafka-cluster".to_string(),
            ),
        };
        // Services are mostly allowed; people are denied more often, admins ops mostly denied.
        let denied = match (user.starts_with("svc-"), method) {
            (_, "kafka.CreateAcls") => self.chance(80),
            (true, _) => self.chance(3),
            (false, _) => self.chance(25),
        };
        let id = self.seq;
        let subject = format!("crn:///kafka=demo-cluster/topic={resource}");
        let data = serde_json::json!({
            "serviceName": "crn:///kafka=demo-cluster",
            "methodName": method,
            "resourceName": format!("crn:///kafka=demo-cluster/topic={resource}"),
            "authenticationInfo": {"principal": format!("User:{user}")},
            "authorizationInfo": {
                "granted": !denied,
                "operation": operation,
                "resourceType": resource_type,
                "resourceName": resource,
                "patternType": "LITERAL",
            },
            "request": {"correlation_id": id.to_string(), "client_id": format!("{user}-client")},
            "requestMetadata": {"client_address": format!("/{host}")},
        });
        self.audit_event(
            "authorization",
            subject,
            Some("confluent-audit-log-events"),
            data,
        )
    }

    fn audit_authentication(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let failed = self.chance(15);
        let data = serde_json::json!({
            "serviceName": "crn:///kafka=demo-cluster",
            "methodName": "kafka.Authentication",
            "resourceName": "crn:///kafka=demo-cluster",
            "authenticationInfo": {
                "principal": format!("User:{user}"),
                "metadata": {"mechanism": "SASL_SSL/SCRAM-SHA-512", "identifier": user},
            },
            "result": if failed {
                serde_json::json!({"status": "UNAUTHENTICATED", "message": "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"})
            } else {
                serde_json::json!({"status": "SUCCESS", "message": ""})
            },
        });
        let subject = "crn:///kafka=demo-cluster".to_string();
        self.audit_event("authentication", subject, None, data)
    }

    /// A Confluent audit-log CloudEvent of `kind` about `subject`, on the audit topic.
    fn audit_event(
        &self,
        kind: &str,
        subject: String,
        route: Option<&str>,
        data: serde_json::Value,
    ) -> DemoEvent {
        let mut payload = serde_json::json!({
            "specversion": "1.0",
            "id": format!("demo-{}", self.seq),
            "source": "crn:///kafka=demo-cluster",
            "type": format!("io.confluent.kafka.server/{kind}"),
            "datacontenttype": "application/json",
            "subject": subject,
            "time": Self::now_rfc3339(),
            "data": data,
        });
        if let Some(route) = route {
            payload["route"] = route.into();
        }
        DemoEvent {
            topic: TOPICS[0].0,
            key: String::new(),
            payload: payload.to_string(),
        }
    }

    fn app_json(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let host = self.pick(&HOSTS);
        let ok = !self.chance(12);
        let payload = serde_json::json!({
            "timestamp": Self::now_rfc3339(),
            "event_type": "login",
            "user": user,
            "ip": host,
            "outcome": if ok { "success" } else { "failure" },
            "reason": if ok { "" } else { "invalid password" },
            "app": "customer-portal",
        });
        DemoEvent {
            topic: TOPICS[1].0,
            key: user.to_string(),
            payload: payload.to_string(),
        }
    }

    fn text(&mut self) -> DemoEvent {
        let user = self.pick(&["JohnDoe", "JaneRoe", "alice", "bob"]);
        let host = self.pick(&HOSTS);
        let (key, value) = match self.next_u64() % 6 {
            0..=2 => ("user-login", format!("User {user} logged in successfully")),
            3 => (
                "user-login",
                format!("User {user} failed to log in from {host}"),
            ),
            4 => (
                "access-denied",
                format!("User {user} denied access to payments-db"),
            ),
            _ => ("user-logout", format!("User {user} logged out")),
        };
        DemoEvent {
            topic: TOPICS[2].0,
            key: key.to_string(),
            payload: value,
        }
    }

    /// One failed login of the brute-force burst, all from one host.
    pub fn brute_force_attempt(&mut self) -> DemoEvent {
        let user = self.pick(&["admin", "root", "alice", "kafka", "test"]);
        self.seq += 1;
        let payload = serde_json::json!({
            "timestamp": Self::now_rfc3339(),
            "event_type": "login",
            "user": user,
            "ip": ATTACKER_HOST,
            "outcome": "failure",
            "reason": "invalid password",
            "app": "customer-portal",
        });
        DemoEvent {
            topic: TOPICS[1].0,
            key: user.to_string(),
            payload: payload.to_string(),
        }
    }
}
