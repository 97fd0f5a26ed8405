//! The Confluent audit corpus shared by `benches/parse_record.rs` and `benches/output.rs`.

pub const USERS: [&str; 8] = [
    "User:alice",
    "User:bob",
    "User:carol",
    "User:svc-orders",
    "User:svc-billing",
    "User:dave",
    "User:CN=app1,OU=eng,O=Acme",
    "User:mallory",
];
const TOPICS: [&str; 6] = [
    "orders",
    "payments",
    "customers",
    "audit-trail",
    "inventory",
    "no.rb.no.acl",
];

/// ~900-byte Confluent authorization CloudEvents like CP 7.x writes them.
pub fn audit_corpus(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let user = USERS[i % USERS.len()];
            let topic = TOPICS[(i / 3) % TOPICS.len()];
            let granted = i % 4 != 0;
            let (method, op) = if i % 2 == 0 { ("kafka.Produce", "Write") } else { ("kafka.Fetch", "Read") };
            format!(
                r#"{{"specversion":"1.0","id":"91b3626d-4b1a-49e0-9921-bdf120ce{i:04}","source":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","type":"io.confluent.kafka.server/authorization","datacontenttype":"application/json","subject":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg/topic={topic}","time":"2023-02-21T10:26:58.886604Z","route":"confluent-audit-log-events","data":{{"serviceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg","methodName":"{method}","resourceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg/topic\u003d{topic}","authenticationInfo":{{"principal":"{user}","principalResourceId":""}},"authorizationInfo":{{"granted":{granted},"operation":"{op}","resourceType":"Topic","resourceName":"{topic}","patternType":"LITERAL","aclAuthorization":{{"permissionType":"ALLOW","host":"*"}}}},"request":{{"correlation_id":"{i}","client_id":"console-producer"}},"requestMetadata":{{"client_address":"/172.21.0.{}"}}}}}}"#,
                i % 250
            )
            .into_bytes()
        })
        .collect()
}
