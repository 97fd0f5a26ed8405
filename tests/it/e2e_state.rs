//! Counting that survives kill -9 (issue 15, point 2), against the real broker: the exporter is
//! killed with SIGKILL at random points while a stream is produced — before its group settled,
//! while it consumes, once in the middle of writing a state snapshot, and once between a
//! snapshot's write and the end of the commit of its offsets — and restarted each
//! time; in the end every counter equals exactly what was produced, and a scraper polling
//! `/metrics` throughout never saw a counter go down. The same for a tailed log file, and for
//! two replicas in one consumer group, with dynamic and with static membership, killed also
//! between a snapshot's write and the commit of its offsets. A second process on a `state_dir`
//! in use waits, then refuses to start.
//!
//! The kill points come from a seeded RNG; the seed is printed, and `KSE_TEST_SEED=N` replays
//! a run.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{
    admin_source, broker_shared, http_get, new_topic, produce_paced, wait_until, Exporter, Scrape,
};

const EVENTS: &str = "kafka_security_events_total";

fn seeded_rng(test: &str) -> fastrand::Rng {
    let seed = std::env::var("KSE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{test}: seed {seed} (KSE_TEST_SEED={seed} replays it)");
    fastrand::Rng::with_seed(seed)
}

/// Every series of the counters and histogram counts watched, by name and labels (without the
/// per-process `cluster`, which stays the same anyway).
fn counters(scrape: &Scrape) -> BTreeMap<String, f64> {
    scrape
        .samples
        .iter()
        .filter(|s| {
            s.name.starts_with("kafka_security_")
                && (s.name.ends_with("_total") || s.name.ends_with("_count"))
                && s.name != "kafka_security_state_snapshot_failures_total"
                && s.name != "kafka_security_exporter_log_lines_dropped_total"
        })
        .map(|s| (format!("{}{:?}", s.name, s.labels), s.value))
        .collect()
}

/// Scrapes whichever exporter is current every 50 ms and records any series that went down
/// from one scrape to the next, across restarts (a series absent from a scrape is not a
/// decrease: a process not yet serving answers nothing).
struct Watcher {
    current: Arc<Mutex<Option<std::net::SocketAddr>>>,
    running: Arc<AtomicBool>,
    decreases: Arc<Mutex<Vec<String>>>,
    scrapes: Arc<Mutex<u64>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start() -> Watcher {
        let current: Arc<Mutex<Option<std::net::SocketAddr>>> = Arc::default();
        let running = Arc::new(AtomicBool::new(true));
        let decreases: Arc<Mutex<Vec<String>>> = Arc::default();
        let scrapes: Arc<Mutex<u64>> = Arc::default();
        let thread = {
            let (current, running, decreases, scrapes) = (
                current.clone(),
                running.clone(),
                decreases.clone(),
                scrapes.clone(),
            );
            std::thread::spawn(move || {
                let mut seen: BTreeMap<String, f64> = BTreeMap::new();
                while running.load(Ordering::SeqCst) {
                    let addr = *current.lock().unwrap();
                    if let Some(Ok((200, _, body))) = addr.map(|a| http_get(a, "/metrics", &[])) {
                        let scrape = Scrape::parse(std::str::from_utf8(&body).unwrap());
                        for (series, value) in counters(&scrape) {
                            let before = seen.insert(series.clone(), value).unwrap_or(0.0);
                            if value < before {
                                decreases
                                    .lock()
                                    .unwrap()
                                    .push(format!("{series}: {before} -> {value}"));
                            }
                        }
                        *scrapes.lock().unwrap() += 1;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        Watcher {
            current,
            running,
            decreases,
            scrapes,
            thread: Some(thread),
        }
    }

    fn watch(&self, exporter: Option<&Exporter>) {
        *self.current.lock().unwrap() = exporter.map(|e| e.addr);
    }

    /// Stops; the decreases seen and how many scrapes were read.
    fn finish(mut self) -> (Vec<String>, u64) {
        self.running.store(false, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        let d = self.decreases.lock().unwrap().clone();
        let n = *self.scrapes.lock().unwrap();
        (d, n)
    }
}

/// Makes every snapshot write pause half-way for 3 s, to be killed there.
const PAUSED_WRITES: &[(&str, &str)] = &[("KSE_TEST_STATE_WRITE_PAUSE_MS", "3000")];

/// Makes every snapshot that commits offsets pause 3 s after writing `state.snapshot.next` and
/// 3 s after the commit, to be killed in either window.
const PAUSED_COMMITS: &[(&str, &str)] = &[("KSE_TEST_STATE_COMMIT_PAUSE_MS", "3000")];

/// Waits until a snapshot written after `since` is pending (`state.snapshot.next`: its commit
/// is under way), not one a killed process left, which the next start settles.
fn wait_for_pending_commit(state: &Path, since: std::time::SystemTime) {
    wait_until(
        Duration::from_secs(60),
        "a snapshot waiting for its commit",
        || {
            let m = std::fs::metadata(state.join("state.snapshot.next")).ok()?;
            (m.modified().ok()? >= since).then_some(())
        },
    );
}

/// Waits until a snapshot write is paused half-way (its temporary file exists and is shorter
/// than the last whole snapshot).
fn wait_for_torn_write(state: &Path) {
    wait_until(
        Duration::from_secs(60),
        "a snapshot write in progress",
        || {
            let tmp = std::fs::metadata(state.join("state.snapshot.tmp")).ok()?;
            let whole = std::fs::metadata(state.join("state.snapshot")).ok()?;
            (tmp.len() > 0 && tmp.len() < whole.len()).then_some(())
        },
    );
}

#[test]
fn kafka_counts_exactly_once_across_kill_9() {
    let _broker = broker_shared();
    let mut rng = seeded_rng("kafka_counts_exactly_once_across_kill_9");
    const N: usize = 6000;
    const KILLS: usize = 5;
    let topic = new_topic("statekill", 3);
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        "{}state_dir: {}\nstate: {{snapshot_interval_secs: 1}}\ndetectors: {{enabled: false}}\n",
        admin_source("crash", &topic, "text")
            .replace("        statistics.interval.ms: 1000\n", "        statistics.interval.ms: 1000\n        session.timeout.ms: 6000\n        heartbeat.interval.ms: 1000\n"),
        state.path().display()
    );
    // About 30 s of records: the kills land mid-stream.
    let producing = produce_paced(
        &topic,
        Some(b"user-login"),
        N,
        (40, Duration::from_millis(200)),
        |i| format!("User u{} logged in successfully", i % 50),
    );
    let watcher = Watcher::start();
    let torn_at = rng.usize(1..KILLS);
    // Once killed while a commit is under way, early (while records still come, so that
    // snapshots have offsets to commit).
    let committing_at = loop {
        let r = rng.usize(0..3);
        if r != torn_at {
            break r;
        }
    };
    for round in 0..KILLS {
        let torn = round == torn_at;
        let committing = round == committing_at;
        let started = std::time::SystemTime::now();
        let exporter = if torn {
            // Every snapshot write pauses half-way for 3 s: killed there.
            Exporter::start_with_env(&config, PAUSED_WRITES)
        } else if committing {
            Exporter::start_with_env(&config, PAUSED_COMMITS)
        } else {
            Exporter::start(&config)
        };
        watcher.watch(Some(&exporter));
        if torn {
            wait_for_torn_write(state.path());
            eprintln!("round {round}: killed in the middle of a snapshot write");
        } else if committing {
            wait_for_pending_commit(state.path(), started);
            let within = Duration::from_millis(rng.u64(0..6000));
            std::thread::sleep(within);
            eprintln!("round {round}: killed {within:?} after a snapshot became pending");
        } else {
            // Sometimes before the group settled (a rebalance waits for the killed member's
            // session to end), sometimes while it consumes.
            let after = Duration::from_millis(rng.u64(500..9000));
            std::thread::sleep(after);
            let assigned = exporter
                .logs()
                .iter()
                .any(|l| l["message"] == "Partitions assigned.");
            let during = if assigned {
                "consuming"
            } else {
                "during the rebalance"
            };
            eprintln!("round {round}: killed after {after:?}, {during}");
        }
        watcher.watch(None);
        drop(exporter); // SIGKILL
    }
    producing.join().unwrap();

    let exporter = Exporter::start(&config);
    watcher.watch(Some(&exporter));
    let scrape = exporter.wait_for(Duration::from_secs(120), "every record counted", |s| {
        s.sum(EVENTS, &[]) >= N as f64
    });
    assert_eq!(scrape.sum(EVENTS, &[]), N as f64, "exactly once");
    // Nothing more arrives later (a re-read would show up within a few polls).
    std::thread::sleep(Duration::from_secs(3));
    let last = exporter.scrape();
    assert_eq!(last.sum(EVENTS, &[]), N as f64);
    assert_eq!(
        last.sum("kafka_security_event_delay_seconds_count", &[]),
        N as f64
    );
    assert_eq!(
        last.get("kafka_security_state_snapshot_failures_total", &[]),
        Some(0.0)
    );
    let (decreases, scrapes) = watcher.finish();
    assert!(decreases.is_empty(), "counters went down: {decreases:#?}");
    assert!(scrapes > 20, "the watcher scraped throughout ({scrapes})");
    let logs = exporter.stop(Duration::from_secs(20));
    assert!(logs.iter().any(|l| l["message"] == "State snapshot saved."));
}

/// Two replicas in one consumer group, each with its own `state_dir`, killed with SIGKILL at
/// seeded random points and restarted at once — one of them, once, right after it revoked its
/// partitions for a rebalance, once in the middle of a snapshot write, and twice between a
/// snapshot's write and the commit of its offsets or between that commit and the rename that
/// makes the snapshot count — while a stream is produced. Partitions may move between the
/// replicas at each restart. What the README promises: every record is counted exactly once
/// across the group, and no replica's counter ever goes down.
#[test]
fn a_group_of_two_counts_exactly_once_across_kill_9() {
    group_of_two_killed("a_group_of_two_counts_exactly_once_across_kill_9", false);
}

/// The same with static membership (`group.instance.id`): a replica restarted within
/// `session.timeout.ms` gets its own partitions back without a rebalance.
#[test]
fn a_static_group_of_two_counts_exactly_once_across_kill_9() {
    group_of_two_killed(
        "a_static_group_of_two_counts_exactly_once_across_kill_9",
        true,
    );
}

fn group_of_two_killed(test: &str, static_membership: bool) {
    let _broker = broker_shared();
    let mut rng = seeded_rng(test);
    const N: usize = 6000;
    const KILLS: usize = 6;
    let topic = new_topic("stategroup", 4);
    let group = crate::support::unique("group");
    let states = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let config = |replica: usize| {
        let membership = if static_membership {
            // Long enough for a restart to come back before the session ends.
            format!("        session.timeout.ms: 15000\n        group.instance.id: {group}-replica-{replica}\n")
        } else {
            "        session.timeout.ms: 6000\n".to_string()
        };
        format!(
            "{}state_dir: {}\nstate: {{snapshot_interval_secs: 1}}\ndetectors: {{enabled: false}}\n",
            crate::support::source_config("crash", &group, &[(&topic, "text")], "admin", "admin-secret")
                .replace("        statistics.interval.ms: 1000\n", &format!("        statistics.interval.ms: 1000\n{membership}        heartbeat.interval.ms: 1000\n")),
            states[replica].path().display()
        )
    };
    assert!(config(0).contains("session.timeout.ms: "), "{}", config(0));
    let producing = crate::support::produce_paced_spread(
        &topic,
        Some(4),
        Some(b"user-login"),
        N,
        (40, Duration::from_millis(200)),
        |i| format!("User u{} logged in successfully", i % 50),
    );
    let watchers = [Watcher::start(), Watcher::start()];
    let mut replicas: [Exporter; 2] = [Exporter::start(&config(0)), Exporter::start(&config(1))];
    for (w, r) in watchers.iter().zip(&replicas) {
        w.watch(Some(r));
    }
    let revokes = |e: &Exporter| {
        e.logs()
            .iter()
            .filter(|l| l["message"] == "Partitions revoked.")
            .count()
    };
    // A static member's restart causes no rebalance to be killed in.
    // After the commit-window rounds, which need records still coming.
    let in_rebalance = (!static_membership).then(|| rng.usize(2..KILLS));
    let history = std::cell::RefCell::new(Vec::<String>::new());
    let torn_at = rng.usize(1..KILLS);
    // Killed twice while a commit is under way, each time at a random point of the two 3 s
    // pauses (before the commit, or after it and before the rename); in the first rounds,
    // while records still come, so that snapshots have offsets to commit.
    let committing_at = [rng.usize(0..2), rng.usize(0..2)];
    let last_restart = std::cell::Cell::new(Instant::now());
    let restart = |replicas: &mut [Exporter; 2], i: usize, env: &[(&str, &str)]| {
        watchers[i].watch(None);
        for l in replicas[i].logs() {
            history
                .borrow_mut()
                .push(format!("replica {i} (killed): {l}"));
        }
        // Killed (SIGKILL, then reaped) before the next one starts on its state_dir.
        replicas[i].kill();
        replicas[i] = Exporter::start_with_env(&config(i), env);
        watchers[i].watch(Some(&replicas[i]));
        last_restart.set(Instant::now());
    };
    for round in 0..KILLS {
        let victim = rng.usize(0..2);
        let other = 1 - victim;
        let after = Duration::from_millis(rng.u64(500..5000));
        std::thread::sleep(after);
        if Some(round) == in_rebalance {
            // The group settled first: the members that earlier kills left behind are gone
            // (their sessions, 6 s, ended) and both replicas hold partitions. Otherwise the
            // restart's join may fall into a rebalance the other replica already revoked for,
            // and it would not revoke again.
            std::thread::sleep(Duration::from_secs(7).saturating_sub(last_restart.get().elapsed()));
            wait_until(Duration::from_secs(30), "the group settled", || {
                replicas
                    .iter()
                    .all(|r| {
                        r.logs()
                            .iter()
                            .rev()
                            .find(|l| {
                                l["message"] == "Partitions assigned."
                                    || l["message"] == "Partitions revoked."
                            })
                            .is_some_and(|l| l["message"] == "Partitions assigned.")
                    })
                    .then_some(())
            });
        }
        let revoked_before = revokes(&replicas[other]);
        eprintln!("round {round}: replica {victim} killed after {after:?}");
        restart(&mut replicas, victim, &[]);
        if Some(round) == in_rebalance {
            // The restarted member's join makes the other revoke its partitions (the
            // eager protocol): it is killed between that revoke and the next assignment.
            wait_until(
                Duration::from_secs(30),
                "the other replica revoking",
                || (revokes(&replicas[other]) > revoked_before).then_some(()),
            );
            let assigned_since = replicas[other]
                .logs()
                .iter()
                .rev()
                .take_while(|l| l["message"] != "Partitions revoked.")
                .any(|l| l["message"] == "Partitions assigned.");
            eprintln!("round {round}: replica {other} killed in a rebalance (assigned again already: {assigned_since})");
            restart(&mut replicas, other, &[]);
        }
        if round == torn_at {
            restart(&mut replicas, victim, PAUSED_WRITES);
            wait_for_torn_write(states[victim].path());
            eprintln!("round {round}: replica {victim} killed in the middle of a snapshot write");
            restart(&mut replicas, victim, &[]);
        }
        for _ in committing_at.iter().filter(|r| **r == round) {
            let started = std::time::SystemTime::now();
            restart(&mut replicas, victim, PAUSED_COMMITS);
            wait_for_pending_commit(states[victim].path(), started);
            let within = Duration::from_millis(rng.u64(0..6000));
            std::thread::sleep(within);
            eprintln!(
                "round {round}: replica {victim} killed {within:?} after a snapshot became pending"
            );
            restart(&mut replicas, victim, &[]);
        }
    }
    producing.join().unwrap();

    let total = || -> f64 { replicas.iter().map(|r| r.scrape().sum(EVENTS, &[])).sum() };
    let all =
        crate::support::poll_until(Duration::from_secs(120), Duration::from_millis(200), || {
            (total() >= N as f64).then_some(())
        });
    if all.is_none() {
        for l in history.borrow().iter() {
            eprintln!("{l}");
        }
        report_group(&replicas, &group, &topic, &states);
        panic!("not every record counted within 120 s: {} of {N}", total());
    }
    // Nothing more arrives later (a re-read would show up within a few polls).
    std::thread::sleep(Duration::from_secs(3));
    let counted = total();
    let mut logs = history.borrow().clone();
    for r in &replicas {
        logs.extend(r.logs().iter().map(|l| l.to_string()));
    }
    let settled: Vec<String> = logs
        .into_iter()
        .filter(|l| l.contains("last state snapshot"))
        .collect();
    eprintln!("counted {counted} of {N} records; pending snapshots settled at start: {settled:#?}");
    if counted != N as f64 {
        report_group(&replicas, &group, &topic, &states);
    }
    assert_eq!(counted, N as f64, "exactly once");
    for (i, (w, r)) in watchers.into_iter().zip(&replicas).enumerate() {
        let (decreases, scrapes) = w.finish();
        assert!(
            decreases.is_empty(),
            "replica {i}: counters went down: {decreases:#?}"
        );
        assert!(
            scrapes > 20,
            "replica {i}: the watcher scraped throughout ({scrapes})"
        );
        assert_eq!(
            r.scrape()
                .get("kafka_security_state_snapshot_failures_total", &[]),
            Some(0.0)
        );
    }
}

/// What a failed group run leaves to read: each replica's count and log, the partitions'
/// watermarks, the group's committed offsets and each snapshot's positions.
fn report_group(
    replicas: &[Exporter; 2],
    group: &str,
    topic: &str,
    states: &[tempfile::TempDir; 2],
) {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    for (i, r) in replicas.iter().enumerate() {
        eprintln!("replica {i}: {} counted", r.scrape().sum(EVENTS, &[]));
        for l in r.logs() {
            eprintln!("replica {i}: {l}");
        }
    }
    let c: BaseConsumer = crate::support::admin_config()
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..4 {
        tpl.add_partition(topic, p);
        let w = c.fetch_watermarks(topic, p, Duration::from_secs(10));
        eprintln!("partition {p}: watermarks {w:?}");
    }
    eprintln!(
        "committed: {:?}",
        c.committed_offsets(tpl, Duration::from_secs(10))
    );
    for (i, st) in states.iter().enumerate() {
        for file in ["state.snapshot", "state.snapshot.next"] {
            let text = std::fs::read_to_string(st.path().join(file)).unwrap_or_default();
            let body: serde_json::Value = text
                .lines()
                .nth(1)
                .and_then(|l| serde_json::from_str(l).ok())
                .unwrap_or_default();
            eprintln!(
                "replica {i} {file}: tag {}, positions {}",
                body["tag"], body["positions"]
            );
        }
    }
}

/// With a state snapshot the group's committed offsets follow each snapshot at once, not the
/// next auto-commit: a replica that crashes leaves its partitions at offsets its own snapshot
/// already counted, so that the replica taking them over counts from there. Auto-commit is set
/// to ten minutes here: only the commits that follow snapshots can be seen.
#[test]
fn committed_offsets_follow_each_snapshot_at_once() {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::{Offset, TopicPartitionList};
    let _broker = broker_shared();
    const N: usize = 600;
    let topic = new_topic("statecommit", 2);
    let group = crate::support::unique("group");
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        "{}state_dir: {}\nstate: {{snapshot_interval_secs: 1}}\ndetectors: {{enabled: false}}\n",
        crate::support::source_config(
            "commits",
            &group,
            &[(&topic, "text")],
            "admin",
            "admin-secret"
        )
        .replace(
            "auto.commit.interval.ms: 1000\n",
            "auto.commit.interval.ms: 600000\n"
        ),
        state.path().display()
    );
    assert!(
        config.contains("auto.commit.interval.ms: 600000"),
        "{config}"
    );
    let committed = || -> i64 {
        let c: BaseConsumer = crate::support::admin_config()
            .set("group.id", &group)
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..2 {
            tpl.add_partition(&topic, p);
        }
        let offsets = c
            .committed_offsets(tpl, Duration::from_secs(10))
            .expect("committed offsets");
        offsets
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum()
    };
    let exporter = Exporter::start(&config);
    produce_paced(&topic, Some(b"user-login"), N, (N, Duration::ZERO), |i| {
        format!("User u{} logged in successfully", i % 7)
    })
    .join()
    .unwrap();
    exporter.wait_for(Duration::from_secs(60), "every record counted", |s| {
        s.sum(EVENTS, &[]) >= N as f64
    });
    // Snapshots come every second; the auto-commit would come after ten minutes.
    wait_until(
        Duration::from_secs(15),
        "the snapshot's offsets committed",
        || (committed() == N as i64).then_some(()),
    );
    assert_eq!(exporter.scrape().sum(EVENTS, &[]), N as f64);
}

/// A restart reads the last whole snapshot, not the torn temporary file of a write killed half
/// way; a snapshot damaged on disk stops the start, naming the file.
#[test]
fn a_torn_or_damaged_snapshot_is_never_loaded() {
    let _broker = broker_shared();
    let topic = new_topic("statetorn", 1);
    let state = tempfile::tempdir().unwrap();
    let config = format!(
        "{}state_dir: {}\ndetectors: {{enabled: false}}\n",
        admin_source("torn", &topic, "text"),
        state.path().display()
    );
    crate::support::TestProducer::new().produce(&topic, Some(b"user-login"), 100, |i| {
        format!("User u{i} logged in successfully")
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, &config).unwrap();
    let exporter = Exporter::spawn_with_env(
        &["run", "--config", path.to_str().unwrap()],
        &[("KSE_TEST_STATE_WRITE_PAUSE_MS", "2000")],
        dir,
    );
    // The scrape's snapshot (written before it is answered) holds the 100.
    exporter.wait_for(Duration::from_secs(60), "the 100 counted", |s| {
        s.sum(EVENTS, &[]) == 100.0
    });
    let whole = std::fs::read(state.path().join("state.snapshot")).unwrap();
    crate::support::TestProducer::new().produce(&topic, Some(b"user-login"), 50, |i| {
        format!("User v{i} logged in successfully")
    });
    wait_for_torn_write(state.path());
    drop(exporter); // SIGKILL half-way through a write
    let torn = std::fs::read(state.path().join("state.snapshot.tmp")).unwrap();
    assert!(!torn.is_empty() && torn.len() < whole.len());

    let exporter = Exporter::start(&config);
    exporter.wait_for(Duration::from_secs(60), "all 150", |s| {
        s.sum(EVENTS, &[]) >= 150.0
    });
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(exporter.scrape().sum(EVENTS, &[]), 150.0);
    exporter.stop(Duration::from_secs(20));

    // Damaged on disk: one byte of its body flipped.
    let file = state.path().join("state.snapshot");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x20;
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new(crate::support::exporter_bin())
        .args(["--web.listen-address", "127.0.0.1:0", "run", "--config"])
        .arg(exporter_config(&config).1)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the state snapshot {} is corrupt", file.display()))
            && stderr.contains("SHA-256 does not match"),
        "{stderr}"
    );
}

fn exporter_config(yaml: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    crate::support::temp_file("config.yaml", yaml)
}

/// Authorizer denials appended to a log file (each names its line number), `lines` of them.
fn append_denials(path: &Path, from: usize, lines: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    let mut text = String::new();
    for i in from..from + lines {
        text.push_str(&format!(
            "[2026-11-26 14:06:{:02},{:03}] INFO Principal = User:u{} is Denied operation = WRITE from host = 10.0.0.{} on resource = Topic:LITERAL:orders-{i} for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n",
            (i / 1000) % 60,
            i % 1000,
            i % 7,
            i % 200 + 1
        ));
    }
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn a_tailed_file_counts_exactly_once_across_kill_9() {
    let mut rng = seeded_rng("a_tailed_file_counts_exactly_once_across_kill_9");
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let log = logs.path().join("kafka-authorizer.log");
    let config = format!(
        "sources:\n  - file:\n      name: broker\n      paths: [\"{}/*.log*\"]\n      kind: authorizer\n      start_at: beginning\n      poll_interval_ms: 50\nstate_dir: {}\nstate: {{snapshot_interval_secs: 1}}\ndetectors: {{enabled: false}}\n",
        logs.path().display(),
        state.path().display()
    );
    // A writer appends 20 lines every 20 ms while the exporter is killed and restarted.
    let written = Arc::new(Mutex::new(0usize));
    let writing = Arc::new(AtomicBool::new(true));
    let writer = {
        let (log, written, writing) = (log.clone(), written.clone(), writing.clone());
        std::thread::spawn(move || {
            while writing.load(Ordering::SeqCst) {
                let mut n = written.lock().unwrap();
                append_denials(&log, *n, 20);
                *n += 20;
                drop(n);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let denials = "kafka_security_authorization_total";
    let watcher = Watcher::start();
    let deadline = Instant::now() + Duration::from_secs(60);
    for round in 0..6 {
        let exporter = Exporter::start(&config);
        watcher.watch(Some(&exporter));
        let after = Duration::from_millis(rng.u64(200..3000));
        std::thread::sleep(after);
        eprintln!("round {round}: killed after {after:?}");
        watcher.watch(None);
        drop(exporter); // SIGKILL
        assert!(Instant::now() < deadline, "rounds take too long");
    }
    writing.store(false, Ordering::SeqCst);
    writer.join().unwrap();
    let total = *written.lock().unwrap() as f64;

    let exporter = Exporter::start(&config);
    watcher.watch(Some(&exporter));
    exporter.wait_for(Duration::from_secs(60), "every line counted", |s| {
        s.sum(denials, &[]) >= total
    });
    std::thread::sleep(Duration::from_secs(1));
    let last = exporter.scrape();
    assert_eq!(last.sum(denials, &[]), total, "exactly once");
    assert_eq!(
        last.sum(
            "kafka_security_authorization_denials_by_principal_total",
            &[]
        ),
        total
    );
    let (decreases, scrapes) = watcher.finish();
    assert!(decreases.is_empty(), "counters went down: {decreases:#?}");
    assert!(scrapes > 20, "the watcher scraped throughout ({scrapes})");
    exporter.stop(Duration::from_secs(20));
}

/// One process per `state_dir`: a second exporter started on the directory of a running one
/// waits for it (its grace period plus 5 s), then refuses to start, naming the holder's pid —
/// two would overwrite each other's snapshots and lose counts. Once the first is killed with
/// SIGKILL, the kernel lets go of its lock and the next one starts.
#[test]
fn a_second_process_on_one_state_dir_waits_then_refuses() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    append_denials(&logs.path().join("kafka-authorizer.log"), 0, 10);
    let config = format!(
        "sources:\n  - file:\n      name: broker\n      paths: [\"{}/*.log*\"]\n      kind: authorizer\n      start_at: beginning\nstate_dir: {}\ndetectors: {{enabled: false}}\nshutdown:\n  grace_period_secs: 1\n",
        logs.path().display(),
        state.path().display()
    );
    let mut first = Exporter::start(&config);
    first.wait_for(Duration::from_secs(30), "the 10 lines", |s| {
        s.sum(EVENTS, &[]) >= 10.0
    });
    let (_dir, path) = exporter_config(&config);
    let started = Instant::now();
    let (code, _, stderr) = crate::support::run_exporter(&[
        "--web.listen-address",
        "127.0.0.1:0",
        "run",
        "--config",
        path.to_str().unwrap(),
    ]);
    let waited = started.elapsed();
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the state directory {} is in use by another process (pid {})",
            state.path().display(),
            first.pid()
        )),
        "{stderr}"
    );
    assert!(waited >= Duration::from_secs(6), "waited {waited:?}");
    // The first one still counts, on its own snapshot.
    assert_eq!(first.scrape().sum(EVENTS, &[]), 10.0);
    first.kill();
    let next = Exporter::start(&config);
    let scrape = next.wait_for(Duration::from_secs(30), "the restored count", |s| {
        s.sum(EVENTS, &[]) >= 10.0
    });
    assert_eq!(scrape.sum(EVENTS, &[]), 10.0);
}
