//! Pseudonymization of the people in security events (`privacy:`), off by default.
//!
//! The pipeline hands every event to [`Pseudonymizer::event`] right after parsing, before
//! anything records it, so metric labels, spans, detections (and whatever else reads events) see
//! the same pseudonyms; the same input always gets the same pseudonym, so detectors work on them
//! unchanged.
//!
//! - **Principals** (and the other names of people: a `User` resource's name, the `user=` of a
//!   client quota entity) become `[TYPE:]KEYID:HEX`: Kafka's principal type `User:`/`Group:`
//!   stays readable (`User:alice` → `User:p1:1f0c…`), `HEX` is the first 16 bytes (32 lowercase
//!   hex digits) of HMAC-SHA256 over the rest of the name, as written (case-sensitive), so `alice`
//!   and `User:alice` share their hash. `User:ANONYMOUS` (Kafka's unauthenticated principal) and
//!   the wildcard `*` name no one and stay as they are. The key id makes a rotation visible: a
//!   pseudonym under a new key has a new prefix. HMAC is one-way: a pseudonym is found from a
//!   known name ([`Pseudonymizer::lookup`]), never the other way.
//! - **Client addresses** are mapped by prefix-preserving Crypto-PAn ([`cryptopan`]) to addresses
//!   of the same family (so /24 roll-ups still group the same clients, and the key holder can
//!   reverse them). An address with a port keeps its port; a host name that is not an address
//!   is hashed like a principal (`KEYID:HEX`).
//!
//! Keys: the key file's bytes (trailing line breaks excepted; at least [`MIN_KEY_BYTES`]) are
//! never used directly. Two keys are derived from them, HMAC-SHA256(file, label) with the labels
//! [`PRINCIPAL_KEY_LABEL`] and [`CRYPTO_PAN_KEY_LABEL`], so neither algorithm ever sees the other's
//! key. Neither the file nor a derived key is ever logged or printed.

pub mod cryptopan;
mod event;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ring::hmac;
use serde::Deserialize;

use cryptopan::CryptoPan;

/// The least key material a key file must hold, in bytes (256 bits).
pub const MIN_KEY_BYTES: usize = 32;
/// The longest key id, in characters.
pub const MAX_KEY_ID_CHARS: usize = 8;
/// Bytes of the HMAC kept in a pseudonym (128 bits), written as twice as many hex digits.
pub const HASH_BYTES: usize = 16;
/// HMAC label deriving the key of principal and host-name pseudonyms from the key file.
pub const PRINCIPAL_KEY_LABEL: &str = "kafka-security-exporter principal pseudonym v1";
/// HMAC label deriving the 32-byte Crypto-PAn key from the key file.
pub const CRYPTO_PAN_KEY_LABEL: &str = "kafka-security-exporter crypto-pan v1";

/// Principal types kept readable in front of a pseudonym (Kafka's `KafkaPrincipal.USER_TYPE`
/// and `GROUP_TYPE`). Any other `x:` prefix is hashed with the rest.
const PRINCIPAL_TYPES: [&str; 2] = ["User", "Group"];
/// Names that identify no one, kept as they are: Kafka's unauthenticated principal and the
/// wildcard of ACLs.
const NOBODY: [&str; 2] = ["ANONYMOUS", "*"];

/// The `privacy:` section.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// What to pseudonymize. Default: nothing.
    #[serde(default)]
    pub pseudonymize: Pseudonymize,
    /// The secret key: a file of at least 32 bytes (e.g. `openssl rand -base64 48`); trailing
    /// line breaks are not part of it. Required when anything is pseudonymized, and by the
    /// `pseudonym` subcommand. Read once at start; never logged.
    pub key_file: Option<PathBuf>,
    /// A short name for the key, written into every principal pseudonym (`p1` in
    /// `User:p1:…`): 1 to 8 lowercase letters and digits. Give each new key a new id so a
    /// rotation shows. Required with `key_file`.
    pub key_id: Option<String>,
}

/// `privacy.pseudonymize`: which kinds of identifiers are replaced.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Pseudonymize {
    /// Principals and other user names (HMAC-SHA256). Default false.
    #[serde(default)]
    pub principals: bool,
    /// Client addresses (Crypto-PAn) and client host names (HMAC-SHA256). Default false.
    #[serde(default)]
    pub addresses: bool,
}

impl PrivacyConfig {
    /// Whether any identifier is pseudonymized.
    pub fn is_on(&self) -> bool {
        self.pseudonymize.principals || self.pseudonymize.addresses
    }

    /// The pseudonymizer the pipeline applies, `None` when nothing is pseudonymized. Reads the
    /// key file.
    pub fn load(&self) -> Result<Option<Pseudonymizer>, Vec<String>> {
        if !self.is_on() && self.key_file.is_none() && self.key_id.is_none() {
            return Ok(None);
        }
        let keys = self.keys()?;
        Ok(self.is_on().then_some(keys))
    }

    /// The pseudonymizer of the configured key whatever is switched on (the `pseudonym`
    /// subcommand): every problem with `key_file` and `key_id`.
    pub fn keys(&self) -> Result<Pseudonymizer, Vec<String>> {
        let mut problems = Vec::new();
        let key_id = match &self.key_id {
            None => {
                problems.push(
                    "privacy.key_id: required with privacy.key_file and whenever privacy.pseudonymize is on (e.g. `p1`)".to_string(),
                );
                None
            }
            Some(id) => match check_key_id(id) {
                Ok(()) => Some(id.as_str()),
                Err(p) => {
                    problems.push(format!("privacy.key_id: {p}"));
                    None
                }
            },
        };
        let material = match &self.key_file {
            None => {
                problems.push(
                    "privacy.key_file: required with privacy.key_id and whenever privacy.pseudonymize is on".to_string(),
                );
                None
            }
            Some(path) => match read_key(path) {
                Ok(m) => Some(m),
                Err(p) => {
                    problems.push(format!("privacy.key_file `{}`: {p}", path.display()));
                    None
                }
            },
        };
        match (key_id, material) {
            (Some(id), Some(m)) if problems.is_empty() => {
                Ok(Pseudonymizer::new(id, &m.0, self.pseudonymize))
            }
            _ => Err(problems),
        }
    }

    /// Every problem with the section (reads the key file).
    pub fn problems(&self) -> Vec<String> {
        self.load().err().unwrap_or_default()
    }
}

/// A key id is 1 to [`MAX_KEY_ID_CHARS`] lowercase ASCII letters and digits: short in every
/// label, no `:` to confuse with the pseudonym's separators.
fn check_key_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_KEY_ID_CHARS {
        return Err(format!(
            "`{id}` must be 1 to {MAX_KEY_ID_CHARS} characters long"
        ));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Err(format!(
            "`{id}` may hold lowercase letters a-z and digits 0-9 only"
        ));
    }
    Ok(())
}

/// Key material read from a file. Never printed.
struct Material(Vec<u8>);

/// Reads a key file: its bytes without trailing line breaks, at least [`MIN_KEY_BYTES`].
fn read_key(path: &Path) -> Result<Material, String> {
    let mut bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    if bytes.len() < MIN_KEY_BYTES {
        return Err(format!(
            "holds {} byte(s) of key material, at least {MIN_KEY_BYTES} are needed (e.g. `openssl rand -base64 48 > {}`)",
            bytes.len(),
            path.display()
        ));
    }
    Ok(Material(bytes))
}

/// Replaces principals and client addresses by their pseudonyms under one key.
pub struct Pseudonymizer {
    key_id: Box<str>,
    names: hmac::Key,
    addresses: CryptoPan,
    on: Pseudonymize,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pseudonymizer")
            .field("key_id", &self.key_id)
            .field("on", &self.on)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    /// The pseudonymizer of key `material` named `key_id`; `on` says what [`Self::event`]
    /// replaces.
    pub fn new(key_id: &str, material: &[u8], on: Pseudonymize) -> Pseudonymizer {
        let root = hmac::Key::new(hmac::HMAC_SHA256, material);
        let derive = |label: &str| hmac::sign(&root, label.as_bytes());
        let pan_key: [u8; cryptopan::KEY_BYTES] = derive(CRYPTO_PAN_KEY_LABEL)
            .as_ref()
            .try_into()
            // HMAC-SHA256 output is 32 bytes, the Crypto-PAn key length.
            .expect("32-byte HMAC-SHA256 tag");
        Pseudonymizer {
            key_id: key_id.into(),
            names: hmac::Key::new(hmac::HMAC_SHA256, derive(PRINCIPAL_KEY_LABEL).as_ref()),
            addresses: CryptoPan::new(&pan_key),
            on,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// What [`Self::event`] replaces.
    pub fn switches(&self) -> Pseudonymize {
        self.on
    }

    /// `KEYID:HEX`: the pseudonym of a name with no readable part.
    pub fn name(&self, name: &str) -> String {
        let tag = hmac::sign(&self.names, name.as_bytes());
        let mut out = String::with_capacity(self.key_id.len() + 1 + 2 * HASH_BYTES);
        out.push_str(&self.key_id);
        out.push(':');
        for b in &tag.as_ref()[..HASH_BYTES] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// The pseudonym of a principal: `User:`/`Group:` kept, the name hashed ([`Self::name`]);
    /// Kafka's `ANONYMOUS` and the wildcard `*` as they are.
    pub fn principal(&self, principal: &str) -> String {
        let (kind, name) = match principal.split_once(':') {
            Some((kind, name)) if PRINCIPAL_TYPES.contains(&kind) => (Some(kind), name),
            _ => (None, principal),
        };
        if NOBODY.contains(&name) {
            return principal.to_string();
        }
        match kind {
            Some(kind) => format!("{kind}:{}", self.name(name)),
            None => self.name(name),
        }
    }

    /// The pseudonym of an address.
    pub fn address(&self, ip: IpAddr) -> IpAddr {
        self.addresses.pseudonymize(ip)
    }

    /// The address whose pseudonym is `ip`.
    pub fn reveal(&self, ip: IpAddr) -> IpAddr {
        self.addresses.reveal(ip)
    }

    /// The pseudonym of a client host: an address (with or without a port) by Crypto-PAn, a
    /// host name by [`Self::name`].
    pub fn host(&self, host: &str) -> String {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self.address(ip).to_string();
        }
        if let Ok(socket) = host.parse::<SocketAddr>() {
            return SocketAddr::new(self.address(socket.ip()), socket.port()).to_string();
        }
        self.name(host)
    }

    /// What the exporter writes for `value` (an investigator's question): an address or
    /// `address:port` → its Crypto-PAn pseudonym, anything else → its principal pseudonym (the
    /// same as a host name's, unless it starts with `User:` or `Group:`).
    /// With `reverse`, the address a Crypto-PAn pseudonym stands for.
    pub fn lookup(&self, value: &str, reverse: bool) -> Result<String, LookupError> {
        let address = value.parse::<IpAddr>().is_ok() || value.parse::<SocketAddr>().is_ok();
        if reverse {
            return match value.parse::<IpAddr>() {
                Ok(ip) if self.on.addresses => Ok(self.reveal(ip).to_string()),
                Ok(_) => Err(LookupError::AddressesOff),
                Err(_) => Err(LookupError::OneWay(value.to_string())),
            };
        }
        let typed = value
            .split_once(':')
            .is_some_and(|(kind, _)| PRINCIPAL_TYPES.contains(&kind));
        match (address, self.on) {
            (
                true,
                Pseudonymize {
                    addresses: true, ..
                },
            ) => Ok(self.host(value)),
            (true, _) => Err(LookupError::AddressesOff),
            (
                false,
                Pseudonymize {
                    principals: true, ..
                },
            ) => Ok(self.principal(value)),
            // A host name, pseudonymized with the addresses.
            (
                false,
                Pseudonymize {
                    addresses: true, ..
                },
            ) if !typed => Ok(self.name(value)),
            (false, _) => Err(LookupError::PrincipalsOff),
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Why [`Pseudonymizer::lookup`] has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("cannot reverse `{0}`: principals and host names are pseudonymized with HMAC-SHA256, which is one-way; only Crypto-PAn addresses can be reversed. Compute the pseudonyms of the names you suspect instead (`pseudonym NAME`) and compare")]
    OneWay(String),
    #[error(
        "privacy.pseudonymize.addresses is off: the exporter writes client addresses as they are"
    )]
    AddressesOff,
    #[error("privacy.pseudonymize.principals is off: the exporter writes principals as they are")]
    PrincipalsOff,
}

#[cfg(test)]
mod tests;
