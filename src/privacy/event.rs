//! Where the people are in a [`SecurityEvent`], and their pseudonyms put in their place.

use std::borrow::Cow;

use crate::event::{SecurityEvent, Text};
use crate::parse::ParseError;

use super::Pseudonymizer;

impl Pseudonymizer {
    /// Replaces, as switched on, every identifier of a person in `event`:
    /// - principals: `principal`; the name of a `User` resource; the `user=` entry of a client
    ///   quota entity (`resource_type` `ClientQuota`, `resource_name` `user=alice, client-id=app`);
    /// - addresses: `client_host`; the `ip=` entry of a client quota entity.
    ///
    /// Client ids, topic and group names are application names and stay as they are.
    pub fn event(&self, event: &mut SecurityEvent<'_>) {
        if self.on.principals {
            replace(&mut event.principal, |p| self.principal(p));
            if event.resource_type.as_deref() == Some("User") {
                replace(&mut event.resource_name, |name| self.principal(name));
            }
        }
        if self.on.addresses {
            replace(&mut event.client_host, |h| self.host(h));
        }
        if event.resource_type.as_deref() == Some("ClientQuota") {
            replace(&mut event.resource_name, |entity| self.quota_entity(entity));
        }
    }

    /// A principal outside an event (a request-log entry, a suspected injection), as
    /// [`Self::event`] would write it.
    pub fn principal_of<'a>(&self, principal: Option<&'a str>) -> Option<Cow<'a, str>> {
        match principal {
            Some(p) if self.on.principals => Some(Cow::Owned(self.principal(p))),
            p => p.map(Cow::Borrowed),
        }
    }

    /// A parse error with the principal it names (a suspected log injection) pseudonymized.
    pub fn error(&self, error: ParseError) -> ParseError {
        if self.on.principals {
            error.rename_injection_principal(|p| self.principal(p))
        } else {
            error
        }
    }

    /// A client quota entity as Kafka prints its entries (`user=alice, client-id=app`,
    /// `ip=10.0.0.1`): `user` and `ip` pseudonymized as switched on. `null` (the default
    /// entity) and client ids stay.
    fn quota_entity(&self, entity: &str) -> String {
        entity
            .split(", ")
            .map(|entry| match entry.split_once('=') {
                Some(("user", name)) if self.on.principals && name != "null" => {
                    format!("user={}", self.principal(name))
                }
                Some(("ip", ip)) if self.on.addresses && ip != "null" => {
                    format!("ip={}", self.host(ip))
                }
                _ => entry.to_string(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Replaces a field that is set by `f` of its value.
fn replace(field: &mut Option<Text<'_>>, f: impl FnOnce(&str) -> String) {
    if let Some(value) = field {
        *value = Cow::Owned(f(value));
    }
}
