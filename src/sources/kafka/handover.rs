//! Tagged commits: a state snapshot and the offset commit that makes it count, kept in step
//! across crashes in a consumer group.
//!
//! With a state snapshot, this source commits only the offsets of a snapshot, synchronously, in
//! the snapshot's second phase ([`crate::state`], "Two phases"): the snapshot is on disk as
//! `state.snapshot.next`, its offsets are committed, then it is renamed to `state.snapshot`. A
//! process killed between the two leaves the next start to ask the group whether the commit
//! landed: restoring the older snapshot after it landed would lose what came between (the
//! group's next owner of a partition starts after it), restoring the newer one when it did not
//! would count it twice.
//!
//! The answer is in the commits' metadata. Each commit of a partition carries a *chain*:
//! `kse1 <incarnation>:<seq> <predecessor> …`, this process's tag (its random incarnation and the
//! snapshot's sequence number) first, then the tags the partition's committed metadata held when
//! this process was assigned it, its predecessors' latest (each incarnation once, at most
//! [`MAX_CHAIN`]; a `?` marks tags that may be missing). So when a partition moves to another
//! member before the dead process restarts, the new owner's commits still say which of the dead
//! process's snapshots landed last. [`pending_landed`] reads the chains at start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, DefaultConsumerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::config::KafkaSourceConfig;
use super::offsets::{Applied, Shape};
use super::SourceContext;
use crate::state::{Landed, Positions, Tag};

/// What a chain starts with (and its format's version).
const CHAIN_PREFIX: &str = "kse1";

/// At most this many tags in a chain (about 30 bytes each; Kafka keeps up to 4096 bytes of
/// metadata per partition by default).
pub(super) const MAX_CHAIN: usize = 8;

/// A chain entry saying that tags may be missing from it.
const UNKNOWN: &str = "?";

/// How long a question about committed offsets may take.
pub(super) const COMMITTED_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a snapshot waits for its commit's answer. A scrape waits for it (Prometheus's
/// default scrape timeout is 10 s), and librdkafka can hold a commit until a group coordinator
/// is known again (brokers down: a broker restart kept one waiting past this bound in
/// `e2e_broker_restart.rs`).
const COMMIT_WAIT: Duration = Duration::from_secs(3);

/// The chain in a committed offset's metadata: `Some(tags)` for one of ours (empty when the
/// partition was never committed), `None` for a commit that carries none (made without a state
/// snapshot, or by another program): what came before it is unknown.
pub(super) fn parse_chain(offset: Offset, metadata: &str) -> Option<Vec<String>> {
    let mut tokens = metadata.split_ascii_whitespace();
    if tokens.next() == Some(CHAIN_PREFIX) {
        return Some(tokens.map(str::to_string).collect());
    }
    matches!(offset, Offset::Invalid).then(Vec::new)
}

/// The metadata of a commit tagged `tag`, after `predecessors` (a parsed chain; `None`: unknown).
pub(super) fn chain(tag: &Tag, predecessors: Option<&[String]>) -> String {
    let mine = format!("{}:{}", tag.incarnation, tag.seq);
    let mut tokens = vec![mine];
    let mut missing = predecessors.is_none();
    for t in predecessors.unwrap_or_default() {
        let ours = t.split_once(':').is_some_and(|(i, _)| i == tag.incarnation);
        if ours || tokens.contains(t) {
            continue;
        }
        if tokens.len() == MAX_CHAIN - 1 {
            missing = true;
            break;
        }
        if t == UNKNOWN {
            missing = true;
        } else {
            tokens.push(t.clone());
        }
    }
    if missing {
        tokens.push(UNKNOWN.to_string());
    }
    format!("{CHAIN_PREFIX} {}", tokens.join(" "))
}

/// Whether the chains of a pending snapshot's partitions (`None`: a partition whose chain is
/// unknown) show a commit of `tag`'s process newer than the restored snapshot's (`floor`).
pub(super) fn judge(chains: &[Option<Vec<String>>], tag: &Tag, floor: u64) -> Landed {
    let mut unknown = false;
    for chain in chains {
        let Some(chain) = chain else {
            unknown = true;
            continue;
        };
        for t in chain {
            if t == UNKNOWN {
                unknown = true;
            } else if let Some((incarnation, seq)) = t.split_once(':') {
                let seq = seq.parse::<u64>().unwrap_or(u64::MAX);
                if incarnation == tag.incarnation && seq > floor {
                    return Landed::Yes;
                }
            }
        }
    }
    if unknown {
        Landed::Unknown
    } else {
        Landed::No
    }
}

/// A partition this process holds: what its last commit that landed said.
struct Owned {
    /// The committed offset (`None`: none, or unknown).
    landed: Option<i64>,
    /// The chain the partition's committed metadata held at the assignment (`None`: unknown).
    predecessors: Option<Vec<String>>,
}

impl Owned {
    /// Whether `offset` may be committed: never behind the committed offset. (A position this
    /// process kept from an earlier hold on the partition, whose hand-over commit failed, is
    /// behind what the owner since committed until the first record arrives.)
    fn may_commit(&self, offset: i64) -> bool {
        self.landed.is_none_or(|l| offset >= l)
    }
}

/// A Kafka source's positions for the state snapshot, and the commits that make a snapshot count.
pub(super) struct Committer {
    pub(super) applied: Arc<Applied>,
    /// Set once the consumer exists; gone once it is closed.
    pub(super) consumer: OnceLock<Weak<BaseConsumer<SourceContext>>>,
    owned: Mutex<HashMap<(String, i32), Owned>>,
    /// A commit is waiting for its answer (perhaps long abandoned): no other starts, so that a
    /// long outage holds one thread, not one per snapshot.
    in_flight: Arc<AtomicBool>,
}

impl Committer {
    pub(super) fn new(applied: Arc<Applied>) -> Committer {
        Committer {
            applied,
            consumer: OnceLock::new(),
            owned: Mutex::new(HashMap::new()),
            in_flight: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Partitions assigned, with their committed offsets and metadata (`None`: they could not
    /// be read).
    pub(super) fn assigned(
        &self,
        tpl: &TopicPartitionList,
        committed: Option<&TopicPartitionList>,
    ) {
        let mut owned = self.owned.lock();
        for e in tpl.elements() {
            let found = committed.and_then(|c| c.find_partition(e.topic(), e.partition()));
            let entry = match found {
                Some(c) => Owned {
                    landed: c.offset().to_raw().filter(|o| *o >= 0),
                    predecessors: parse_chain(c.offset(), c.metadata()),
                },
                None => Owned {
                    landed: None,
                    predecessors: None,
                },
            };
            owned.insert((e.topic().to_string(), e.partition()), entry);
        }
    }

    /// Partitions revoked (after the revoke's snapshot and commit).
    pub(super) fn revoked(&self, partitions: &[(String, i32)]) {
        let mut owned = self.owned.lock();
        for tp in partitions {
            owned.remove(tp);
        }
    }

    /// The partitions held, with their offsets in `positions` and the metadata to commit.
    fn to_commit(
        &self,
        positions: &serde_json::Value,
        tag: &Tag,
    ) -> Vec<(String, i32, i64, String)> {
        let Ok(shape) = serde_json::from_value::<Shape>(positions.clone()) else {
            return Vec::new();
        };
        let owned = self.owned.lock();
        let mut out = Vec::new();
        for (topic, partitions) in shape {
            for (partition, offset) in partitions {
                if let Some(o) = owned
                    .get(&(topic.clone(), partition))
                    .filter(|o| o.may_commit(offset))
                {
                    let metadata = chain(tag, o.predecessors.as_deref());
                    out.push((topic.clone(), partition, offset, metadata));
                }
            }
        }
        out
    }
}

impl Positions for Committer {
    fn positions(&self) -> serde_json::Value {
        self.applied.positions()
    }

    fn needs_commit(&self, positions: &serde_json::Value) -> bool {
        let Ok(shape) = serde_json::from_value::<Shape>(positions.clone()) else {
            return false;
        };
        let owned = self.owned.lock();
        shape.iter().any(|(topic, partitions)| {
            partitions.iter().any(|(partition, offset)| {
                owned
                    .get(&(topic.clone(), *partition))
                    .is_some_and(|o| o.landed != Some(*offset) && o.may_commit(*offset))
            })
        })
    }

    fn commit(&self, positions: &serde_json::Value, tag: &Tag) -> Result<(), String> {
        let commits = self.to_commit(positions, tag);
        if commits.is_empty() {
            return Ok(());
        }
        let consumer = self
            .consumer
            .get()
            .and_then(Weak::upgrade)
            .ok_or("the source's consumer is closed")?;
        let mut tpl = TopicPartitionList::new();
        for (topic, partition, offset, metadata) in &commits {
            let mut e = tpl.add_partition(topic, *partition);
            e.set_offset(Offset::Offset(*offset))
                .map_err(|e| e.to_string())?;
            e.set_metadata(metadata);
        }
        // A synchronous commit waits for a coordinator, with no timeout of its own; on a thread
        // of its own, it is abandoned after COMMIT_WAIT (its outcome then unknown, which a later
        // commit or the next start settles from the chains).
        if self.in_flight.swap(true, Ordering::SeqCst) {
            return Err(format!(
                "an earlier commit has had no answer from the group coordinator for {COMMIT_WAIT:?} or more"
            ));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let in_flight = self.in_flight.clone();
        let spawned = std::thread::Builder::new()
            .name("kafka-commit".into())
            .spawn(move || {
                let _ = tx.send(consumer.commit(&tpl, CommitMode::Sync));
                in_flight.store(false, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            self.in_flight.store(false, Ordering::SeqCst);
            return Err(format!("cannot start the commit's thread: {e}"));
        }
        match rx.recv_timeout(COMMIT_WAIT) {
            Ok(Ok(())) => {
                let mut owned = self.owned.lock();
                for (topic, partition, offset, _) in commits {
                    if let Some(o) = owned.get_mut(&(topic, partition)) {
                        o.landed = Some(offset);
                    }
                }
                Ok(())
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!(
                "no answer from the group coordinator within {COMMIT_WAIT:?}"
            )),
        }
    }
}

/// At start, whether the commit of a pending snapshot (`tag`; this source's `positions` in it)
/// landed, from the chains committed for its partitions in the source's group (see the module
/// docs). Asks without joining the group; tries three times before answering
/// [`Landed::Unknown`].
pub fn pending_landed(
    config: &KafkaSourceConfig,
    positions: &serde_json::Value,
    tag: &Tag,
    floor: u64,
) -> Landed {
    let Ok(shape) = serde_json::from_value::<Shape>(positions.clone()) else {
        return Landed::Unknown;
    };
    let mut tpl = TopicPartitionList::new();
    for (topic, partitions) in &shape {
        for partition in partitions.keys() {
            tpl.add_partition(topic, *partition);
        }
    }
    if tpl.count() == 0 {
        return Landed::No;
    }
    let consumer: BaseConsumer<DefaultConsumerContext> = match config
        .client_config()
        .and_then(|c| c.create().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(error) => {
            tracing::warn!(source = %config.name, %error, "Cannot create a consumer to read the committed offsets.");
            return Landed::Unknown;
        }
    };
    for attempt in 1..=3 {
        match consumer.committed_offsets(tpl.clone(), COMMITTED_TIMEOUT) {
            Ok(committed) => {
                let chains: Vec<_> = committed
                    .elements()
                    .iter()
                    .map(|e| parse_chain(e.offset(), e.metadata()))
                    .collect();
                return judge(&chains, tag, floor);
            }
            Err(error) => {
                tracing::warn!(source = %config.name, %error, attempt, "Cannot read the committed offsets of the group.");
            }
        }
    }
    Landed::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(incarnation: &str, seq: u64) -> Tag {
        Tag {
            incarnation: incarnation.into(),
            seq,
        }
    }

    fn tokens(chain: &str) -> Vec<String> {
        parse_chain(Offset::Offset(1), chain).unwrap()
    }

    #[test]
    fn a_chain_names_this_process_first_then_each_predecessor_once() {
        assert_eq!(chain(&tag("aa", 3), Some(&[])), "kse1 aa:3");
        // The partition's last committer was this process (an earlier snapshot) and before it bb.
        let before = tokens("kse1 aa:2 bb:7");
        assert_eq!(chain(&tag("aa", 3), Some(&before)), "kse1 aa:3 bb:7");
        // A new owner carries the chain on.
        assert_eq!(
            chain(&tag("cc", 1), Some(&tokens("kse1 aa:3 bb:7"))),
            "kse1 cc:1 aa:3 bb:7"
        );
        // Unknown predecessors, or a `?` inherited, stay marked.
        assert_eq!(chain(&tag("cc", 1), None), "kse1 cc:1 ?");
        assert_eq!(
            chain(&tag("cc", 1), Some(&tokens("kse1 aa:3 ?"))),
            "kse1 cc:1 aa:3 ?"
        );
    }

    /// Only partitions held are committed, only when they moved, and never backwards; a
    /// partition whose committed metadata carries no chain is committed with a `?`.
    #[test]
    fn a_snapshot_commits_held_partitions_that_moved_forward() {
        let c = Committer::new(Arc::new(Applied::default()));
        let mut assigned = TopicPartitionList::new();
        assigned.add_partition("t", 0);
        assigned.add_partition("t", 1);
        let mut committed = TopicPartitionList::new();
        for p in 0..2 {
            committed
                .add_partition_offset("t", p, Offset::Offset(10))
                .unwrap();
        }
        c.assigned(&assigned, Some(&committed));
        let positions =
            |a: i64, b: i64| serde_json::json!({"t": {"0": a, "1": b}, "other": {"0": 99}});
        assert!(!c.needs_commit(&positions(10, 10)), "nothing moved");
        assert!(
            !c.needs_commit(&positions(7, 10)),
            "behind the committed offset"
        );
        assert!(c.needs_commit(&positions(7, 12)));
        let commits = c.to_commit(&positions(7, 12), &tag("aa", 1));
        assert_eq!(
            commits,
            [("t".to_string(), 1, 12, "kse1 aa:1 ?".to_string())]
        );
        c.revoked(&[("t".to_string(), 1)]);
        assert!(!c.needs_commit(&positions(7, 12)), "revoked");
    }

    #[test]
    fn a_long_chain_is_cut_and_says_so() {
        let long: Vec<String> = (0..20).map(|i| format!("p{i}:1")).collect();
        let c = chain(&tag("me", 1), Some(&long));
        let t = tokens(&c);
        assert_eq!(t.len(), MAX_CHAIN);
        assert_eq!(t.first().unwrap(), "me:1");
        assert_eq!(t.last().unwrap(), "?");
        assert!(c.len() < 4096);
    }

    #[test]
    fn foreign_or_missing_metadata_is_an_unknown_chain_unless_nothing_was_committed() {
        assert_eq!(parse_chain(Offset::Invalid, ""), Some(vec![]));
        assert_eq!(parse_chain(Offset::Offset(5), ""), None);
        assert_eq!(parse_chain(Offset::Offset(5), "something else"), None);
        assert_eq!(
            parse_chain(Offset::Offset(5), "kse1 a:1"),
            Some(vec!["a:1".into()])
        );
    }

    #[test]
    fn the_judgement_reads_this_process_s_tags_above_the_restored_snapshot() {
        let pending = tag("aa", 9);
        let c = |s: &str| Some(tokens(s));
        // The pending snapshot's own commit, on one partition of several.
        assert_eq!(
            judge(&[c("kse1 aa:8"), c("kse1 aa:9")], &pending, 8),
            Landed::Yes
        );
        // Carried by a new owner.
        assert_eq!(judge(&[c("kse1 bb:4 aa:9")], &pending, 8), Landed::Yes);
        // A commit between the restored snapshot and the pending one (a commit whose answer
        // never came): the pending one holds everything it counted.
        assert_eq!(judge(&[c("kse1 aa:7")], &pending, 5), Landed::Yes);
        // Only the restored snapshot's commit, or older ones, or other processes'.
        assert_eq!(
            judge(&[c("kse1 aa:8"), c("kse1 bb:4 aa:8")], &pending, 8),
            Landed::No
        );
        assert_eq!(judge(&[c("kse1 zz:99")], &pending, 8), Landed::No);
        // Never committed: nothing landed.
        assert_eq!(judge(&[Some(vec![])], &pending, 8), Landed::No);
        // Tags may be missing: cannot tell.
        assert_eq!(judge(&[c("kse1 bb:4 ?")], &pending, 8), Landed::Unknown);
        assert_eq!(judge(&[None, c("kse1 aa:8")], &pending, 8), Landed::Unknown);
        // But a tag found settles it.
        assert_eq!(judge(&[None, c("kse1 aa:9")], &pending, 8), Landed::Yes);
    }
}
