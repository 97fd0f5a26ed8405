use super::*;
use crate::event::{Category, Format, Origin, Outcome, SecurityEvent};
use crate::parse::ParseError;

const BOTH: Pseudonymize = Pseudonymize {
    principals: true,
    addresses: true,
};

fn key(byte: u8) -> Vec<u8> {
    vec![byte; MIN_KEY_BYTES]
}

fn both(id: &str, byte: u8) -> Pseudonymizer {
    Pseudonymizer::new(id, &key(byte), BOTH)
}

/// `p1:` and 32 lowercase hex digits.
fn is_hash(s: &str, key_id: &str) -> bool {
    s.strip_prefix(key_id)
        .and_then(|r| r.strip_prefix(':'))
        .is_some_and(|hex| {
            hex.len() == 2 * HASH_BYTES
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[test]
fn principals_hash_stably_per_key_and_keep_their_type() {
    let p = both("p1", 1);
    let alice = p.principal("User:alice");
    assert_eq!(
        alice,
        p.principal("User:alice"),
        "same input, same pseudonym"
    );
    assert_eq!(
        alice,
        both("p1", 1).principal("User:alice"),
        "across restarts"
    );
    let hash = alice.strip_prefix("User:").unwrap();
    assert!(is_hash(hash, "p1"), "{alice}");
    assert_eq!(p.principal("alice"), hash, "a bare name shares the hash");
    assert_eq!(p.principal("Group:alice"), format!("Group:{hash}"));
    assert_ne!(p.principal("User:bob"), alice);
    assert_ne!(p.principal("User:Alice"), alice, "case-sensitive as Kafka");
    let other_key = both("p1", 2).principal("User:alice");
    assert_ne!(other_key, alice, "another key, another pseudonym");
    let rotated = both("p2", 2).principal("User:alice");
    assert!(rotated.starts_with("User:p2:"), "{rotated}");
    // Other prefixes are not principal types: hashed with the name.
    assert!(is_hash(&p.principal("CN=alice,O=Acme:x"), "p1"));
    assert!(is_hash(&p.principal("ServiceAccount:sa-1"), "p1"));
}

#[test]
fn nobody_stays_readable() {
    let p = both("p1", 1);
    assert_eq!(p.principal("User:ANONYMOUS"), "User:ANONYMOUS");
    assert_eq!(p.principal("User:*"), "User:*");
    assert_eq!(p.principal("ANONYMOUS"), "ANONYMOUS");
}

#[test]
fn hosts_map_by_family_and_names_hash() {
    let p = both("k9", 1);
    let v4: IpAddr = p.host("10.1.2.3").parse().unwrap();
    assert!(v4.is_ipv4());
    assert_ne!(v4.to_string(), "10.1.2.3");
    assert_eq!(p.reveal(v4).to_string(), "10.1.2.3");
    // Kafka writes IPv6 uncompressed: the same address, however written.
    assert_eq!(p.host("0:0:0:0:0:0:0:1"), p.host("::1"));
    assert!(p.host("::1").parse::<IpAddr>().unwrap().is_ipv6());
    let with_port = p.host("10.1.2.3:4567");
    assert_eq!(with_port, format!("{v4}:4567"));
    let name = p.host("laptop-of-alice.example.com");
    assert!(is_hash(&name, "k9"), "{name}");
    assert_eq!(name, p.principal("laptop-of-alice.example.com"));
}

fn event() -> SecurityEvent<'static> {
    let mut ev = SecurityEvent::new(
        Format::Json,
        Category::Authentication,
        Outcome::Failure,
        "login_failed",
        Origin::Memory,
        std::time::UNIX_EPOCH,
    );
    ev.principal = Some("User:alice".into());
    ev.client_host = Some("192.0.2.7".into());
    ev.client_port = Some(54321);
    ev.client_id = Some("billing-app".into());
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some("orders".into());
    ev
}

#[test]
fn events_lose_their_people_and_keep_the_rest() {
    let p = both("p1", 1);
    let mut ev = event();
    p.event(&mut ev);
    assert_eq!(ev.principal.as_deref(), Some(&*p.principal("User:alice")));
    assert_eq!(ev.client_host.as_deref(), Some(&*p.host("192.0.2.7")));
    assert_ne!(ev.client_host.as_deref(), Some("192.0.2.7"));
    let untouched = event();
    // The port names no one by itself: it stays.
    assert_eq!(ev.client_port, Some(54321));
    assert_eq!(ev.client_id, untouched.client_id);
    assert_eq!(ev.resource_name, untouched.resource_name);
    assert_eq!(ev.event_type, untouched.event_type);

    let only_addresses = Pseudonymizer::new(
        "p1",
        &key(1),
        Pseudonymize {
            principals: false,
            addresses: true,
        },
    );
    let mut ev = event();
    only_addresses.event(&mut ev);
    assert_eq!(ev.principal.as_deref(), Some("User:alice"));
    assert_eq!(ev.client_host.as_deref(), Some(&*p.host("192.0.2.7")));
}

#[test]
fn user_resources_and_quota_entities_are_people_too() {
    let p = both("p1", 1);
    let mut ev = event();
    ev.resource_type = Some("User".into());
    ev.resource_name = Some("alice".into());
    p.event(&mut ev);
    assert_eq!(ev.resource_name.as_deref(), Some(&*p.principal("alice")));

    let mut ev = event();
    ev.resource_type = Some("ClientQuota".into());
    ev.resource_name = Some("user=alice, client-id=app".into());
    p.event(&mut ev);
    let want = format!("user={}, client-id=app", p.principal("alice"));
    assert_eq!(ev.resource_name.as_deref(), Some(want.as_str()));

    let mut ev = event();
    ev.resource_type = Some("ClientQuota".into());
    ev.resource_name = Some("ip=10.0.0.1".into());
    p.event(&mut ev);
    let want = format!("ip={}", p.host("10.0.0.1"));
    assert_eq!(ev.resource_name.as_deref(), Some(want.as_str()));
}

#[test]
fn injection_errors_name_the_pseudonym() {
    let p = both("p1", 1);
    let error = p.error(ParseError::injection(
        "two principals",
        Some("User:mallory"),
    ));
    let pseudonym = p.principal("User:mallory");
    assert_eq!(error.injection_principal(), Some(pseudonym.as_str()));
    assert!(error.is_injection());
    assert!(!error.to_string().contains("mallory"), "{error}");
    assert_eq!(
        error,
        ParseError::injection("two principals", Some(&pseudonym))
    );
    assert_eq!(p.error(ParseError::Empty), ParseError::Empty);
}

#[test]
fn lookups_answer_what_the_exporter_writes() {
    let p = both("p1", 1);
    assert_eq!(p.lookup("User:alice", false), Ok(p.principal("User:alice")));
    assert_eq!(p.lookup("10.1.2.3", false), Ok(p.host("10.1.2.3")));
    let pseudonym = p.host("10.1.2.3");
    assert_eq!(p.lookup(&pseudonym, true).as_deref(), Ok("10.1.2.3"));
    let one_way = p.lookup(&p.principal("User:alice"), true).unwrap_err();
    assert!(matches!(one_way, LookupError::OneWay(_)));
    assert!(one_way.to_string().contains("one-way"), "{one_way}");

    let off = Pseudonymizer::new("p1", &key(1), Pseudonymize::default());
    assert_eq!(
        off.lookup("10.1.2.3", false),
        Err(LookupError::AddressesOff)
    );
    assert_eq!(off.lookup("alice", false), Err(LookupError::PrincipalsOff));
    let hosts = Pseudonymizer::new(
        "p1",
        &key(1),
        Pseudonymize {
            principals: false,
            addresses: true,
        },
    );
    assert_eq!(hosts.lookup("db.example", false), Ok(p.host("db.example")));
    assert_eq!(
        hosts.lookup("User:a", false),
        Err(LookupError::PrincipalsOff)
    );
}

#[test]
fn the_key_is_never_printed() {
    let p = both("p1", 0x41);
    let debug = format!("{p:?}");
    assert!(!debug.contains("AAAA") && !debug.contains("65"), "{debug}");
    assert!(debug.contains("p1"));
}

fn config(dir: &Path, key: Option<&[u8]>, key_id: Option<&str>) -> PrivacyConfig {
    let file = dir.join("key");
    if let Some(k) = key {
        std::fs::write(&file, k).unwrap();
    }
    PrivacyConfig {
        pseudonymize: BOTH,
        key_file: Some(file),
        key_id: key_id.map(str::to_string),
    }
}

#[test]
fn key_files_and_ids_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(PrivacyConfig::default().load().unwrap().map(|_| ()), None);
    assert!(PrivacyConfig::default().problems().is_empty());

    let missing = config(dir.path(), None, Some("p1")).problems();
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].starts_with("privacy.key_file `") && missing[0].contains("cannot read"),
        "{missing:?}"
    );

    // 31 bytes and a newline: the newline is not key material.
    let short = config(
        dir.path(),
        Some(
            &[b'x'; 32][..31]
                .iter()
                .chain(b"\n")
                .copied()
                .collect::<Vec<_>>(),
        ),
        Some("p1"),
    )
    .problems();
    assert_eq!(short.len(), 1, "{short:?}");
    assert!(
        short[0].contains("holds 31 byte(s) of key material, at least 32"),
        "{short:?}"
    );

    let bad_id = config(dir.path(), Some(&[b'x'; 32]), Some("P:1")).problems();
    assert!(
        bad_id[0].contains("privacy.key_id: `P:1` may hold lowercase"),
        "{bad_id:?}"
    );
    let long_id = config(dir.path(), Some(&[b'x'; 32]), Some("abcdefghi")).problems();
    assert!(long_id[0].contains("1 to 8 characters"), "{long_id:?}");
    let no_id = config(dir.path(), Some(&[b'x'; 32]), None).problems();
    assert!(
        no_id[0].starts_with("privacy.key_id: required"),
        "{no_id:?}"
    );
    let neither = PrivacyConfig {
        pseudonymize: BOTH,
        ..PrivacyConfig::default()
    }
    .problems();
    assert_eq!(neither.len(), 2, "{neither:?}");

    let ok = config(
        dir.path(),
        Some(b"0123456789abcdef0123456789abcdef\r\n"),
        Some("p1"),
    );
    let p = ok.load().unwrap().unwrap();
    let same = Pseudonymizer::new("p1", b"0123456789abcdef0123456789abcdef", BOTH);
    assert_eq!(
        p.principal("User:a"),
        same.principal("User:a"),
        "line breaks are not key"
    );
    assert_eq!(p.host("10.0.0.1"), same.host("10.0.0.1"));
}
