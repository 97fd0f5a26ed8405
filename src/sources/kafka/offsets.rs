//! Per partition, what this process has applied and which offset it still has to store.
//!
//! The consume loop tells [`Delivered`] of every record librdkafka hands it, and stores the
//! offsets in batches ([`Delivered::unstored`]): once per batch per partition, the offset after
//! the last record delivered, all of whose records have been applied (or skipped as already
//! applied). Whatever is not stored yet is stored before any commit the exporter makes itself
//! (on revoke and on shutdown), so batching changes when offsets are stored, never which.

use std::collections::HashMap;

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

    /// Forgets a topic that no longer exists: nothing of it can be re-delivered, and a topic
    /// created again under its name numbers its records from 0 again, which must not be taken
    /// for re-deliveries.
    pub(super) fn forget_topic(&mut self, topic: &str) {
        self.topics.remove(topic);
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
