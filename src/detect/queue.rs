//! Detector input recorded to be played to the [`Engine`](super::Engine) on another thread: a
//! [`Batch`] holds the calls a source would have made (an event's [`Facts`], a log entry, a
//! suspect entry, the passing of time), in order, with every string copied into one buffer, so
//! filling a batch allocates nothing once it has grown and reading one back borrows from it.
//!
//! The engine sees exactly the calls, in exactly the order, it would have seen inline: the
//! detections are the same.

use std::time::SystemTime;

use super::{Facts, Suspect};
use crate::event::{Category, Outcome};

/// A string in [`Batch::text`].
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

/// One recorded call.
#[derive(Debug, Clone, Copy)]
enum Op {
    Observe {
        source: Span,
        at: SystemTime,
        category: Category,
        outcome: Outcome,
        /// principal, client host, resource type, resource name, config key
        fields: [Option<Span>; 5],
    },
    LogEntry {
        source: Span,
        stream: Span,
        at: SystemTime,
    },
    Suspect {
        source: Span,
        stream: Span,
        principal: Option<Span>,
        at: SystemTime,
    },
    Time {
        source: Span,
        now: SystemTime,
        end: bool,
    },
}

/// A recorded call, read back ([`Batch::calls`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Call<'b> {
    /// [`Engine::observe_facts`](super::Engine::observe_facts).
    Observe { source: &'b str, facts: Facts<'b> },
    /// [`Engine::log_entry`](super::Engine::log_entry).
    LogEntry {
        source: &'b str,
        stream: &'b str,
        at: SystemTime,
    },
    /// [`Engine::suspect`](super::Engine::suspect).
    Suspect {
        source: &'b str,
        suspect: Suspect<'b>,
    },
    /// [`Engine::tick`](super::Engine::tick), then [`Engine::finish`](super::Engine::finish)
    /// when `end`.
    Time {
        source: &'b str,
        now: SystemTime,
        end: bool,
    },
}

/// Calls recorded in order.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<Op>,
    text: String,
    /// The source of the last call, which the next one usually shares (its text is not copied
    /// again).
    last_source: Option<Span>,
}

impl Batch {
    /// Calls recorded.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Bytes of text held (a batch is handed on when it holds many).
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Empties it, keeping its memory.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.text.clear();
        self.last_source = None;
    }

    /// `source`, copied unless it is the last call's.
    fn source(&mut self, source: &str) -> Span {
        if let Some(last) = self.last_source {
            let (start, end) = (last.start as usize, (last.start + last.len) as usize);
            if self.text.as_bytes().get(start..end) == Some(source.as_bytes()) {
                return last;
            }
        }
        let span = self.span(source);
        self.last_source = Some(span);
        span
    }

    fn span(&mut self, text: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(text);
        // A batch is handed on long before 4 GiB of text: `Batch::text_len` is checked by its
        // producer after every call.
        Span {
            start: u32::try_from(start).expect("a batch holds less than 4 GiB of text"),
            len: text.len() as u32,
        }
    }

    fn opt(&mut self, text: Option<&str>) -> Option<Span> {
        text.map(|t| self.span(t))
    }

    fn text(&self, span: Span) -> &str {
        &self.text[span.start as usize..(span.start + span.len) as usize]
    }

    /// Records `call`; an event's facts without those no detector reads ([`Facts::trimmed`]).
    pub fn push(&mut self, call: &Call<'_>) {
        match *call {
            Call::Observe { source, facts } => self.observe(source, &facts),
            Call::LogEntry { source, stream, at } => self.log_entry(source, stream, at),
            Call::Suspect { source, suspect } => self.suspect(source, &suspect),
            Call::Time { source, now, end } => self.time(source, now, end),
        }
    }

    fn observe(&mut self, source: &str, facts: &Facts<'_>) {
        let facts = facts.trimmed();
        let source = self.source(source);
        let fields = [
            self.opt(facts.principal),
            self.opt(facts.client_host),
            self.opt(facts.resource_type),
            self.opt(facts.resource_name),
            self.opt(facts.config_key),
        ];
        self.ops.push(Op::Observe {
            source,
            at: facts.at,
            category: facts.category,
            outcome: facts.outcome,
            fields,
        });
    }

    fn log_entry(&mut self, source: &str, stream: &str, at: SystemTime) {
        let (source, stream) = (self.source(source), self.span(stream));
        self.ops.push(Op::LogEntry { source, stream, at });
    }

    fn suspect(&mut self, source: &str, s: &Suspect<'_>) {
        let (source, stream) = (self.source(source), self.span(s.stream));
        let principal = self.opt(s.principal);
        self.ops.push(Op::Suspect {
            source,
            stream,
            principal,
            at: s.at,
        });
    }

    fn time(&mut self, source: &str, now: SystemTime, end: bool) {
        let source = self.source(source);
        self.ops.push(Op::Time { source, now, end });
    }

    /// The recorded calls, in order.
    pub fn calls(&self) -> impl Iterator<Item = Call<'_>> + '_ {
        self.ops.iter().map(move |op| match *op {
            Op::Observe {
                source,
                at,
                category,
                outcome,
                fields,
            } => {
                let [principal, client_host, resource_type, resource_name, config_key] =
                    fields.map(|f| f.map(|s| self.text(s)));
                Call::Observe {
                    source: self.text(source),
                    facts: Facts {
                        at,
                        category,
                        outcome,
                        principal,
                        client_host,
                        resource_type,
                        resource_name,
                        config_key,
                    },
                }
            }
            Op::LogEntry { source, stream, at } => Call::LogEntry {
                source: self.text(source),
                stream: self.text(stream),
                at,
            },
            Op::Suspect {
                source,
                stream,
                principal,
                at,
            } => Call::Suspect {
                source: self.text(source),
                suspect: Suspect {
                    at,
                    principal: principal.map(|p| self.text(p)),
                    stream: self.text(stream),
                },
            },
            Op::Time { source, now, end } => Call::Time {
                source: self.text(source),
                now,
                end,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
    }

    #[test]
    fn a_recorded_call_takes_about_a_hundred_bytes() {
        // The detector thread's memory bound (pipeline::detectors) counts on it.
        assert!(
            std::mem::size_of::<Op>() <= 104,
            "{}",
            std::mem::size_of::<Op>()
        );
    }

    #[test]
    fn a_batch_gives_back_every_call_in_order_with_its_strings() {
        let facts = Facts {
            at: at(1),
            category: Category::Authorization,
            outcome: Outcome::Denied,
            principal: Some("User:mallory"),
            client_host: Some("10.0.0.9"),
            resource_type: Some("Topic"),
            resource_name: Some("payments"),
            config_key: None,
        };
        let bare = Facts {
            principal: None,
            client_host: Some(""),
            resource_type: None,
            resource_name: None,
            ..facts
        };
        let allowed = Facts {
            outcome: Outcome::Allowed,
            ..facts
        };
        let suspect = Suspect {
            at: at(3),
            principal: Some("User:eve"),
            stream: "server.log",
        };
        let calls = [
            Call::LogEntry {
                source: "replay",
                stream: "kafka-authorizer.log",
                at: at(1),
            },
            Call::Observe {
                source: "replay",
                facts,
            },
            Call::Observe {
                source: "src",
                facts: bare,
            },
            Call::Suspect {
                source: "replay",
                suspect,
            },
            Call::Time {
                source: "clock",
                now: at(4),
                end: false,
            },
            Call::Time {
                source: "replay",
                now: at(5),
                end: true,
            },
            Call::Observe {
                source: "replay",
                facts: allowed,
            },
        ];
        let mut b = Batch::default();
        for call in &calls {
            b.push(call);
        }
        let mut expected = calls.to_vec();
        // No detector reads the resource of an allowed decision: it is not recorded.
        expected[6] = Call::Observe {
            source: "replay",
            facts: Facts {
                resource_type: None,
                resource_name: None,
                ..allowed
            },
        };
        assert_eq!(b.calls().collect::<Vec<_>>(), expected);
        assert_eq!(b.len(), 7);
        b.clear();
        assert!(b.is_empty() && b.text_len() == 0 && b.calls().next().is_none());
    }
}
