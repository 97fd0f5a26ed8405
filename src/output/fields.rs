//! The event's Kafka fields as both schemas write them: ECS's `kafka` object and OCSF's
//! `unmapped` (less what each OCSF class maps to attributes of its own).

use super::json::Obj;
use crate::event::{Origin, SecurityEvent, Text};

/// A text field of the event, borrowed.
pub(super) fn s<'b>(f: &'b Option<Text<'_>>) -> Option<&'b str> {
    f.as_deref()
}

/// Kafka's own fields of an event, by `SecurityEvent` field name.
#[derive(Default)]
pub(super) struct KafkaFields<'a> {
    pub listener: Option<&'a str>,
    pub mechanism: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub resource_type: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub pattern_type: Option<&'a str>,
    pub permission: Option<&'a str>,
    pub config_key: Option<&'a str>,
    pub api: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub rejection: Option<&'a str>,
    pub cluster_id: Option<&'a str>,
    pub broker_id: Option<&'a str>,
    pub origin: Option<OriginOut<'a>>,
}

impl<'a> KafkaFields<'a> {
    pub(super) fn of(event: &'a SecurityEvent<'_>) -> Self {
        KafkaFields {
            listener: s(&event.listener),
            mechanism: s(&event.mechanism),
            operation: s(&event.operation),
            resource_type: s(&event.resource_type),
            resource_name: s(&event.resource_name),
            pattern_type: s(&event.pattern_type),
            permission: event.permission.map(|p| p.as_str()),
            config_key: s(&event.config_key),
            api: s(&event.api),
            client_id: s(&event.client_id),
            action: event.action.map(|a| a.as_str()),
            rejection: event.rejection.map(|r| r.as_str()),
            cluster_id: s(&event.cluster_id),
            broker_id: s(&event.broker_id),
            origin: OriginOut::of(&event.origin),
        }
    }

    /// Writes the fields that are set into `o`, in the order above.
    pub(super) fn write(&self, o: &mut Obj<'_>) {
        o.opt_str("listener", self.listener);
        o.opt_str("mechanism", self.mechanism);
        o.opt_str("operation", self.operation);
        o.opt_str("resource_type", self.resource_type);
        o.opt_str("resource_name", self.resource_name);
        o.opt_str("pattern_type", self.pattern_type);
        o.opt_str("permission", self.permission);
        o.opt_str("config_key", self.config_key);
        o.opt_str("api", self.api);
        o.opt_str("client_id", self.client_id);
        o.opt_str("action", self.action);
        o.opt_str("rejection", self.rejection);
        o.opt_str("cluster_id", self.cluster_id);
        o.opt_str("broker_id", self.broker_id);
        match self.origin {
            Some(OriginOut::Kafka {
                topic,
                partition,
                offset,
            }) => o.obj("origin", |o| {
                o.str("topic", topic);
                o.i64("partition", partition.into());
                o.i64("offset", offset);
            }),
            Some(OriginOut::File { path, offset }) => o.obj("origin", |o| {
                o.str("path", path);
                o.u64("offset", offset);
            }),
            None => {}
        }
    }
}

/// Where the event was read: a topic partition and offset, or a file and byte offset.
pub(super) enum OriginOut<'a> {
    Kafka {
        topic: &'a str,
        partition: i32,
        offset: i64,
    },
    File {
        path: &'a str,
        offset: u64,
    },
}

impl<'a> OriginOut<'a> {
    pub(super) fn of(origin: &'a Origin<'_>) -> Option<Self> {
        match origin {
            Origin::Kafka {
                topic,
                partition,
                offset,
            } => Some(OriginOut::Kafka {
                topic,
                partition: *partition,
                offset: *offset,
            }),
            Origin::File { path, offset } => Some(OriginOut::File {
                path,
                offset: *offset,
            }),
            Origin::Memory => None,
        }
    }
}
