//! Per partition, what this process has applied and which offset it still has to store.
//!
//! The consume loop tells [`Delivered`] of every record librdkafka hands it, and stores the
//! offsets in batches ([`Delivered::unstored`]): once per batch per partition, the offset after
//! the last record delivered, all of whose records have been applied (or skipped as already
//! applied). Whatever is not stored yet is stored before any commit the exporter makes itself
//! (on revoke and on shutdown), so batching changes when offsets are stored, never which. With a
//! state snapshot nothing is stored: each snapshot commits its own offsets.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use rdkafka::{Offset, TopicPartitionList};

/// One partition's positions.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The offset after the last record this process applied. Kafka re-delivers from the last
    /// *committed* offset after a rebalance; when a commit failed (broker down), that is older
    /// than what was applied, and those records must not be counted again.
    applied: i64,
    /// The offset after the last record delivered (applied, or skipped as already applied).
    delivered: i64,
    /// What was last handed to librdkafka's offset store.
    stored: i64,
}

/// Every partition's positions, keyed by topic then partition.
#[derive(Debug, Default)]
pub(super) struct Delivered {
    topics: HashMap<String, HashMap<i32, Position>>,
    /// Some partition's `delivered` moved since the last [`Delivered::unstored`].
    dirty: bool,
}

impl Delivered {
    /// Notes that the record at `offset` was delivered. Returns true when this process already
    /// applied it (a re-delivery after a failed commit): the caller skips it.
    pub(super) fn deliver(&mut self, topic: &str, partition: i32, offset: i64) -> bool {
        let partitions = match self.topics.get_mut(topic) {
            Some(p) => p,
            None => self.topics.entry(topic.to_string()).or_default(),
        };
        let p = partitions.entry(partition).or_insert(Position {
            applied: i64::MIN,
            delivered: i64::MIN,
            stored: i64::MIN,
        });
        self.dirty = true;
        p.delivered = offset + 1;
        if offset < p.applied {
            return true;
        }
        p.applied = offset + 1;
        false
    }

    /// The offsets to store now, one per partition whose delivered position moved since the
    /// last call (`None` when none did); they count as stored from here on.
    pub(super) fn unstored(&mut self) -> Option<TopicPartitionList> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let mut tpl = TopicPartitionList::new();
        for (topic, partitions) in &mut self.topics {
            for (partition, p) in partitions.iter_mut() {
                if p.delivered != p.stored {
                    // Only fails for an offset librdkafka cannot represent, which a delivered
                    // record's successor is not.
                    let _ =
                        tpl.add_partition_offset(topic, *partition, Offset::Offset(p.delivered));
                    p.stored = p.delivered;
                }
            }
        }
        (tpl.count() > 0).then_some(tpl)
    }

    /// Forgets a partition whose offsets were committed when it was revoked: its next owner
    /// starts exactly where this process stopped.
    pub(super) fn forget(&mut self, topic: &str, partition: i32) {
        if let Some(partitions) = self.topics.get_mut(topic) {
            partitions.remove(&partition);
        }
    }

    /// Resumes a partition at `offset`, the next offset to apply in the state snapshot restored at
    /// start: records below it were counted by the process that wrote the snapshot.
    pub(super) fn resume(&mut self, topic: &str, partition: i32, offset: i64) {
        self.topics.entry(topic.to_string()).or_default().insert(
            partition,
            Position {
                applied: offset,
                delivered: offset,
                stored: offset,
            },
        );
    }

    /// Every partition's next offset to apply, for the state snapshot.
    fn applied(&self) -> impl Iterator<Item = (&str, i32, i64)> {
        self.topics.iter().flat_map(|(topic, partitions)| {
            partitions
                .iter()
                .filter(|(_, p)| p.applied != i64::MIN)
                .map(move |(partition, p)| (topic.as_str(), *partition, p.applied))
        })
    }

    /// Forgets a topic that no longer exists: nothing of it can be re-delivered, and a topic
    /// created again under its name numbers its records from 0 again, which must not be taken
    /// for re-deliveries.
    pub(super) fn forget_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
    }
}

/// A Kafka source's positions, shared between its consume thread and the state snapshot.
#[derive(Default)]
pub(super) struct Applied {
    /// What this process applied, per partition. Only the consume thread changes it.
    pub(super) delivered: Mutex<Delivered>,
    /// Next offsets to apply from the snapshot restored at start, for partitions not assigned
    /// to this process since (saved again in every snapshot until they are).
    pub(super) restored: Mutex<HashMap<(String, i32), i64>>,
}

/// `{topic: {partition: next offset to apply}}`.
pub(super) type Shape = BTreeMap<String, BTreeMap<i32, i64>>;

impl Applied {
    /// Takes the positions of a restored snapshot (in [`Positions::positions`]' shape).
    pub(super) fn restore(&self, saved: &serde_json::Value) -> Result<usize, String> {
        let shape: Shape = serde_json::from_value(saved.clone()).map_err(|e| e.to_string())?;
        let mut restored = self.restored.lock();
        for (topic, partitions) in shape {
            for (partition, offset) in partitions {
                restored.insert((topic.clone(), partition), offset);
            }
        }
        Ok(restored.len())
    }

    /// Every partition's next offset to apply, restored ones included, in the snapshot's shape
    /// (see [`crate::state::Positions::positions`]).
    pub(super) fn positions(&self) -> serde_json::Value {
        let mut shape = Shape::new();
        for ((topic, partition), offset) in self.restored.lock().iter() {
            shape
                .entry(topic.clone())
                .or_default()
                .insert(*partition, *offset);
        }
        for (topic, partition, offset) in self.delivered.lock().applied() {
            shape
                .entry(topic.to_string())
                .or_default()
                .insert(partition, offset);
        }
        // A map of strings to maps of integers serializes without failing.
        serde_json::to_value(shape).expect("positions serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forgotten_topic_counts_its_offsets_again() {
        let mut d = Delivered::default();
        assert!(!d.deliver("t", 0, 0));
        assert!(!d.deliver("t", 0, 1));
        assert!(d.deliver("t", 0, 0), "a re-delivery");
        d.forget_topic("t");
        assert!(
            !d.deliver("t", 0, 0),
            "the first record of a topic created again"
        );
    }

    fn offsets(tpl: Option<TopicPartitionList>) -> Vec<(String, i32, Offset)> {
        let mut v: Vec<_> = tpl
            .map(|t| {
                t.elements()
                    .iter()
                    .map(|e| (e.topic().to_string(), e.partition(), e.offset()))
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        v
    }

    #[test]
    fn a_batch_stores_the_offset_after_the_last_record_of_each_partition() {
        let mut d = Delivered::default();
        for (partition, offset) in [(0, 5), (1, 9), (0, 6), (0, 7), (1, 10)] {
            assert!(!d.deliver("audit", partition, offset));
        }
        assert!(!d.deliver("other", 0, 0));
        assert_eq!(
            offsets(d.unstored()),
            vec![
                ("audit".into(), 0, Offset::Offset(8)),
                ("audit".into(), 1, Offset::Offset(11)),
                ("other".into(), 0, Offset::Offset(1)),
            ]
        );
        // Nothing new: nothing to store; one partition moved: only it.
        assert!(d.unstored().is_none());
        d.deliver("audit", 1, 11);
        assert_eq!(
            offsets(d.unstored()),
            vec![("audit".into(), 1, Offset::Offset(12))]
        );
    }

    #[test]
    fn a_redelivery_after_a_failed_commit_is_skipped_but_its_offsets_are_stored_again() {
        let mut d = Delivered::default();
        for offset in 0..10 {
            d.deliver("audit", 0, offset);
        }
        d.unstored();
        // The revoke's commit failed, so the partition is not forgotten; it comes back and
        // Kafka re-delivers from the last committed offset, 4.
        for offset in 4..10 {
            assert!(d.deliver("audit", 0, offset), "offset {offset} was applied");
            assert_eq!(
                offsets(d.unstored()),
                vec![("audit".into(), 0, Offset::Offset(offset + 1))]
            );
        }
        assert!(!d.deliver("audit", 0, 10));
    }

    #[test]
    fn a_forgotten_partition_applies_whatever_it_is_given() {
        let mut d = Delivered::default();
        for offset in 0..10 {
            d.deliver("audit", 0, offset);
        }
        d.forget("audit", 0);
        assert!(!d.deliver("audit", 0, 3));
        assert_eq!(
            offsets(d.unstored()),
            vec![("audit".into(), 0, Offset::Offset(4))]
        );
    }
}
