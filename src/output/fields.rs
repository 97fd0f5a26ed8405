//! The event's Kafka fields as both schemas write them: ECS's `kafka` object and OCSF's
//! `unmapped` (less what each OCSF class maps to attributes of its own).

use serde::Serialize;

use crate::event::{Origin, SecurityEvent, Text};

/// A text field of the event, borrowed.
pub(super) fn s<'b>(f: &'b Option<Text<'_>>) -> Option<&'b str> {
    f.as_deref()
}

/// Kafka's own fields of an event, by `SecurityEvent` field name.
#[derive(Serialize, Default)]
pub(super) struct KafkaFields<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listener: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pattern_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permission: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
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
}

/// Where the event was read: a topic partition and offset, or a file and byte offset.
#[derive(Serialize)]
#[serde(untagged)]
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
