//! One test per rotation/restart case, on real files in a temporary directory.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Data(u64, String, u64, Vec<u8>),
    Truncated(u64),
    Ended(u64),
}

struct H {
    dir: tempfile::TempDir,
    state: PathBuf,
    config: TailConfig,
    t: Tailer,
}

impl H {
    fn new(globs: &[&str], edit: impl FnOnce(&mut TailConfig)) -> H {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let mut config = TailConfig::new(
            globs
                .iter()
                .map(|g| dir.path().join(g).to_string_lossy().into_owned())
                .collect(),
        );
        config.state_dir = Some(state.clone());
        config.rotate_wait = Duration::ZERO;
        config.fingerprint_bytes = 8;
        edit(&mut config);
        let t = Tailer::new(config.clone()).unwrap();
        H {
            dir,
            state,
            config,
            t,
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn append(&self, name: &str, bytes: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.p(name))
            .unwrap();
        f.write_all(bytes.as_bytes()).unwrap();
    }

    /// Appends and polls the bytes away, for a case about what comes after them.
    fn read_past(&mut self, name: &str, bytes: &str) {
        self.append(name, bytes);
        self.events();
    }

    fn rename(&self, from: &str, to: &str) {
        fs::rename(self.p(from), self.p(to)).unwrap();
    }

    fn copy(&self, from: &str, to: &str) {
        fs::copy(self.p(from), self.p(to)).unwrap();
    }

    /// logrotate's `copytruncate`: a copy of the file, then the file truncated in place.
    fn copytruncate(&self, name: &str, copy: &str) {
        self.copy(name, copy);
        self.truncate(name);
    }

    /// Truncates in place (same inode), as copytruncate does.
    fn truncate(&self, name: &str) {
        OpenOptions::new()
            .write(true)
            .open(self.p(name))
            .unwrap()
            .set_len(0)
            .unwrap();
    }

    fn checkpoint(&mut self, stream: u64, offset: u64) {
        self.t.checkpoint(StreamId(stream), offset);
    }

    /// Saves the state and returns the state file's text.
    fn saved_state(&mut self) -> String {
        self.t.save().unwrap();
        fs::read_to_string(self.state.join(state::FILE_NAME)).unwrap()
    }

    fn poll(&mut self) -> (Vec<Ev>, PollStats) {
        let dir = self.dir.path().to_path_buf();
        let mut evs = Vec::new();
        let stats = self
            .t
            .poll(&mut |e| {
                evs.push(match e {
                    TailEvent::Data {
                        stream,
                        path,
                        offset,
                        bytes,
                    } => Ev::Data(stream.get(), name_of(&dir, path), offset, bytes.to_vec()),
                    TailEvent::Truncated { stream, .. } => Ev::Truncated(stream.get()),
                    TailEvent::Ended { stream, .. } => Ev::Ended(stream.get()),
                })
            })
            .unwrap();
        (evs, stats)
    }

    fn events(&mut self) -> Vec<Ev> {
        self.poll().0
    }

    /// A new tailer on what the state file holds now (no save first: a crash, or a save the
    /// case made itself).
    fn reopen(&mut self) {
        self.t = Tailer::new(self.config.clone()).unwrap();
    }

    /// The next poll delivers exactly `expected`.
    #[track_caller]
    fn assert_next(&mut self, expected: &[Ev]) {
        assert_eq!(self.events(), expected);
    }

    fn restart(&mut self) {
        self.restart_at(&[]);
    }

    /// The consumer's checkpoints `(stream, offset)`, then a save: what a stop leaves on disk.
    fn stop_at(&mut self, checkpoints: &[(u64, u64)]) {
        for &(stream, offset) in checkpoints {
            self.checkpoint(stream, offset);
        }
        self.t.save().unwrap();
    }

    /// [`H::stop_at`], then a new tailer.
    fn restart_at(&mut self, checkpoints: &[(u64, u64)]) {
        self.stop_at(checkpoints);
        self.reopen();
    }

    fn state_of(&self, name: &str) -> Option<FileStatus> {
        let p = self.p(name);
        self.t.files().into_iter().find(|f| f.path == p)
    }
}

fn name_of(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn data(stream: u64, name: &str, offset: u64, bytes: &str) -> Ev {
    Ev::Data(stream, name.into(), offset, bytes.as_bytes().to_vec())
}

#[test]
fn reads_in_bounded_chunks_with_contiguous_offsets() {
    let mut h = H::new(&["a.log"], |c| c.read_chunk_bytes = 4);
    h.append("a.log", "0123456789");
    h.assert_next(&[
        data(1, "a.log", 0, "0123"),
        data(1, "a.log", 4, "4567"),
        data(1, "a.log", 8, "89"),
    ]);
    h.assert_next(&[]);
    h.append("a.log", "ab");
    h.assert_next(&[data(1, "a.log", 10, "ab")]);
}

#[test]
fn a_huge_line_is_delivered_in_chunks_over_several_polls() {
    let mut h = H::new(&["a.log"], |c| c.read_chunk_bytes = 1024);
    let line = "x".repeat(100_000);
    h.append("a.log", &line);
    let mut total = 0u64;
    let mut polls = 0;
    loop {
        let (evs, stats) = h.poll();
        for e in &evs {
            let Ev::Data(_, _, offset, bytes) = e else {
                panic!("{e:?}")
            };
            assert!(bytes.len() <= 1024);
            assert_eq!(*offset, total);
            total += bytes.len() as u64;
        }
        polls += 1;
        if !stats.more_pending {
            break;
        }
        assert_eq!(stats.bytes, (1024 * CHUNKS_PER_FILE_PER_POLL) as u64);
    }
    assert_eq!(total, 100_000);
    assert_eq!(
        polls,
        100_000usize.div_ceil(1024 * CHUNKS_PER_FILE_PER_POLL)
    );
}

#[test]
fn start_at_end_applies_only_to_files_present_at_the_first_start() {
    let mut h = H::new(&["*.log"], |c| c.start_at = StartAt::End);
    h.append("a.log", "old\n");
    h.reopen(); // a.log exists before the first poll
    h.assert_next(&[]);
    h.append("a.log", "new\n");
    h.append("b.log", "later\n"); // appears while running: from the beginning
    h.assert_next(&[data(1, "a.log", 4, "new\n"), data(2, "b.log", 0, "later\n")]);
    h.stop_at(&[(1, 8), (2, 6)]);
    // Appears while stopped, with state present: from the beginning too.
    h.append("c.log", "while stopped\n");
    h.restart();
    h.assert_next(&[data(3, "c.log", 0, "while stopped\n")]);
}

#[test]
fn a_file_appearing_later_is_picked_up_from_the_beginning() {
    let mut h = H::new(&["a.log"], |c| c.start_at = StartAt::End);
    h.assert_next(&[]);
    h.append("a.log", "first\n");
    h.assert_next(&[data(1, "a.log", 0, "first\n")]);
}

#[test]
fn rename_rotation_keeps_the_stream_and_reads_nothing_twice() {
    let mut h = H::new(&["server.log*"], |_| {});
    h.append("server.log", "line1\n");
    h.assert_next(&[data(1, "server.log", 0, "line1\n")]);
    h.rename("server.log", "server.log.2025-03-18-10");
    h.append("server.log.2025-03-18-10", "late\n"); // the writer appends after the rename
    h.append("server.log", "line2\n");
    h.assert_next(&[
        data(1, "server.log.2025-03-18-10", 6, "late\n"),
        data(2, "server.log", 0, "line2\n"),
    ]);
    // Idle at EOF and a newer file at the original path: the rotated stream ends, once.
    h.assert_next(&[Ev::Ended(1)]);
    h.assert_next(&[]);
    assert_eq!(
        h.state_of("server.log.2025-03-18-10").unwrap().state,
        FileState::Ended
    );
    // Still not read again after a restart.
    h.restart_at(&[(1, 11), (2, 6)]);
    h.assert_next(&[]);
}

#[test]
fn a_rotated_file_stays_open_until_a_newer_file_exists_at_its_path() {
    let mut h = H::new(&["server.log"], |_| {});
    h.read_past("server.log", "a\n");
    h.rename("server.log", "server.log.1"); // out of the glob
    h.append("server.log.1", "b\n");
    h.assert_next(&[data(1, "server.log", 2, "b\n")]);
    h.assert_next(&[]); // idle, but nothing at server.log yet
    h.assert_next(&[]);
    h.append("server.log.1", "c\n");
    h.append("server.log", "new\n");
    let evs = h.events();
    assert_eq!(
        evs,
        vec![
            data(1, "server.log", 4, "c\n"),
            data(2, "server.log", 0, "new\n")
        ]
    );
    h.assert_next(&[Ev::Ended(1)]);
    assert_eq!(h.t.files().len(), 1);
}

#[test]
fn rotate_wait_holds_a_rotated_file_open_while_not_idle_long_enough() {
    let mut h = H::new(&["server.log*"], |c| {
        c.rotate_wait = Duration::from_secs(3600)
    });
    h.read_past("server.log", "a\n");
    h.rename("server.log", "server.log.1");
    h.append("server.log", "b\n");
    h.assert_next(&[data(2, "server.log", 0, "b\n")]);
    h.assert_next(&[]);
    assert_eq!(
        h.state_of("server.log.1").unwrap().state,
        FileState::Reading
    );
}

#[test]
fn an_ended_rotated_file_that_grows_is_read_on_under_a_new_stream() {
    let mut h = H::new(&["server.log*"], |_| {});
    h.read_past("server.log", "a\n");
    h.rename("server.log", "server.log.1");
    h.append("server.log", "b\n");
    h.assert_next(&[data(2, "server.log", 0, "b\n"), Ev::Ended(1)]);
    h.append("server.log.1", "very late\n");
    h.assert_next(&[data(3, "server.log.1", 2, "very late\n")]);
}

#[test]
fn copytruncate_without_a_visible_copy_truncates_and_counts_unread_bytes() {
    let mut h = H::new(&["app.log"], |c| c.read_chunk_bytes = 2);
    h.append("app.log", &"x".repeat(40)); // 32 bytes per poll at this chunk size
    let (_, stats) = h.poll();
    assert!(stats.more_pending);
    h.copytruncate("app.log", "elsewhere");
    h.append("app.log", "new\n");
    let (evs, stats) = h.poll();
    assert_eq!(
        evs,
        vec![
            Ev::Truncated(1),
            data(2, "app.log", 0, "ne"),
            data(2, "app.log", 2, "w\n")
        ]
    );
    assert_eq!(stats.truncations, 1);
    assert_eq!(stats.truncated_unread_bytes, 8);
    // A late checkpoint for the old content cannot move the new stream.
    h.checkpoint(1, 30);
    assert_eq!(h.state_of("app.log").unwrap().checkpoint, 0);
}

#[test]
fn truncation_is_detected_by_changed_first_bytes_even_when_the_file_is_larger() {
    let mut h = H::new(&["app.log"], |_| {});
    h.read_past("app.log", "first content\n");
    fs::write(h.p("app.log"), "SECOND content, and longer\n").unwrap(); // same inode
    h.assert_next(&[
        Ev::Truncated(1),
        data(2, "app.log", 0, "SECOND content, and longer\n"),
    ]);
}

#[test]
fn copytruncate_with_the_copy_in_the_globs_follows_the_copy() {
    let mut h = H::new(&["app.log*"], |_| {});
    h.read_past("app.log", "10:00:00 line one\n");
    // Written after our last read, then copied and truncated: recovered from the copy.
    h.append("app.log", "line two\n");
    h.copytruncate("app.log", "app.log.1");
    h.append("app.log", "11:00:00 line three\n");
    let (evs, stats) = h.poll();
    assert_eq!(
        evs,
        vec![
            data(1, "app.log.1", 18, "line two\n"),
            data(2, "app.log", 0, "11:00:00 line three\n")
        ]
    );
    assert_eq!(stats.copies_followed, 1);
    assert_eq!(stats.truncations, 0);
    h.assert_next(&[Ev::Ended(1)]);
    // The copy is not read again, by this tailer or the next.
    h.restart_at(&[(1, 27), (2, 20)]);
    h.assert_next(&[]);
}

#[test]
fn a_copy_of_a_live_file_is_not_read() {
    let mut h = H::new(&["app.log*"], |_| {});
    h.read_past("app.log", "2025-03-18 line one\n");
    h.copy("app.log", "app.log.bak");
    h.assert_next(&[]);
    assert_eq!(h.state_of("app.log.bak").unwrap().state, FileState::Copy);
    h.restart_at(&[(1, 20)]);
    h.assert_next(&[]);
    // When the original is then truncated, the stream follows its copy.
    h.truncate("app.log");
    h.append("app.log", "2026-01-01 new\n");
    let (evs, stats) = h.poll();
    // Nothing new in the copy, and a newer file at the original path: the old stream ends.
    assert_eq!(
        evs,
        vec![data(2, "app.log", 0, "2026-01-01 new\n"), Ev::Ended(1)]
    );
    assert_eq!(stats.copies_followed, 1);
    assert_eq!(h.state_of("app.log.bak").unwrap().stream, StreamId(1));
}

#[test]
fn a_deleted_file_is_drained_then_ended_and_forgotten_and_a_recreated_one_is_new() {
    let mut h = H::new(&["app.log"], |_| {});
    h.read_past("app.log", "a\n");
    h.append("app.log", "b\n");
    fs::remove_file(h.p("app.log")).unwrap();
    h.assert_next(&[data(1, "app.log", 2, "b\n")]);
    assert_eq!(h.t.files()[0].state, FileState::Gone);
    h.assert_next(&[Ev::Ended(1)]);
    assert!(h.t.files().is_empty());
    let saved = h.saved_state();
    assert!(saved.contains("\"streams\": []"), "{saved}");
    h.append("app.log", "a\n"); // same content, same path, maybe the same inode
    h.assert_next(&[data(2, "app.log", 0, "a\n")]);
}

#[test]
fn restart_resumes_at_the_checkpoint_not_the_read_offset() {
    let mut h = H::new(&["app.log"], |_| {});
    h.read_past("app.log", "0123456789");
    h.checkpoint(1, 4);
    h.checkpoint(1, 3); // behind: ignored
    h.checkpoint(1, 99); // beyond what was read: ignored
    assert_eq!(h.state_of("app.log").unwrap().checkpoint, 4);
    h.restart();
    h.append("app.log", "ab");
    h.assert_next(&[data(1, "app.log", 4, "456789ab")]);
}

#[test]
fn without_state_dir_a_restart_replays() {
    let mut h = H::new(&["app.log"], |c| c.state_dir = None);
    h.read_past("app.log", "abc");
    h.restart_at(&[(1, 3)]);
    h.assert_next(&[data(1, "app.log", 0, "abc")]);
}

#[test]
fn a_file_renamed_while_stopped_is_found_under_its_new_name() {
    let mut h = H::new(&["server.log*"], |_| {});
    h.read_past("server.log", "2025 one\n");
    h.stop_at(&[(1, 9)]);
    drop(std::mem::replace(
        &mut h.t,
        Tailer::new(TailConfig::new(vec!["/nonexistent".into()])).unwrap(),
    ));
    h.append("server.log", "2025 two\n");
    h.rename("server.log", "server.log.1");
    h.append("server.log", "2025 three\n");
    h.reopen();
    h.assert_next(&[
        data(1, "server.log.1", 9, "2025 two\n"),
        data(2, "server.log", 0, "2025 three\n"),
    ]);
}

#[test]
fn a_small_file_that_grows_keeps_its_identity_across_polls_and_restarts() {
    let mut h = H::new(&["app.log"], |c| c.fingerprint_bytes = 16);
    h.append("app.log", "ab");
    h.assert_next(&[data(1, "app.log", 0, "ab")]);
    h.append("app.log", "cdefghijklmnopqrstuvwxyz");
    h.assert_next(&[data(1, "app.log", 2, "cdefghijklmnopqrstuvwxyz")]);
    h.checkpoint(1, 2);
    let saved = h.saved_state();
    assert!(saved.contains("\"fingerprint_len\": 16"), "{saved}");
    h.restart();
    h.assert_next(&[data(1, "app.log", 2, "cdefghijklmnopqrstuvwxyz")]);
}

#[test]
fn a_checkpoint_saved_while_the_file_was_small_still_resumes_after_growth() {
    let mut h = H::new(&["app.log"], |c| c.fingerprint_bytes = 16);
    h.read_past("app.log", "ab");
    h.restart_at(&[(1, 2)]);
    h.append("app.log", "cdefghijklmnopqrstuvwxyz");
    h.assert_next(&[data(1, "app.log", 2, "cdefghijklmnopqrstuvwxyz")]);
}

#[test]
fn a_reused_inode_with_different_first_bytes_is_a_new_stream() {
    let mut h = H::new(&["app.log"], |_| {});
    h.read_past("app.log", "old content\n");
    h.stop_at(&[(1, 12)]);
    // Replace the file while stopped by one with the same inode but other content: forge it by
    // rewriting in place (the inode is what a reused one would look like).
    fs::write(h.p("app.log"), "other stuff, longer than before\n").unwrap();
    h.reopen();
    h.assert_next(&[data(2, "app.log", 0, "other stuff, longer than before\n")]);
}

#[test]
fn a_changed_fingerprint_length_between_restarts_still_resumes() {
    let mut h = H::new(&["app.log"], |c| c.fingerprint_bytes = 32);
    h.read_past("app.log", &"y".repeat(40));
    h.stop_at(&[(1, 40)]);
    h.config.fingerprint_bytes = 8;
    h.reopen();
    h.append("app.log", "z");
    h.assert_next(&[data(1, "app.log", 40, "z")]);
}

#[test]
fn checkpoints_of_files_gone_while_stopped_are_pruned() {
    let mut h = H::new(&["*.log"], |_| {});
    h.append("a.log", "a");
    h.read_past("b.log", "b");
    h.t.save().unwrap();
    fs::remove_file(h.p("a.log")).unwrap();
    h.reopen();
    assert_eq!(h.t.files().len(), 2);
    assert!(h.t.files().iter().all(|f| f.state == FileState::Unverified));
    h.events();
    let files = h.t.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, h.p("b.log"));
    let saved = h.saved_state();
    assert!(!saved.contains("a.log"), "{saved}");
}

#[test]
fn save_is_atomic_and_skipped_when_nothing_changed() {
    use std::os::unix::fs::MetadataExt;
    let mut h = H::new(&["a.log"], |_| {});
    h.read_past("a.log", "abc");
    h.t.save().unwrap();
    let file = h.state.join(state::FILE_NAME);
    let ino = fs::metadata(&file).unwrap().ino();
    h.t.save().unwrap();
    assert_eq!(fs::metadata(&file).unwrap().ino(), ino, "rewritten");
    h.checkpoint(1, 2);
    h.t.save().unwrap();
    assert_ne!(
        fs::metadata(&file).unwrap().ino(),
        ino,
        "not renamed into place"
    );
    let names: Vec<_> = fs::read_dir(&h.state)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(state::FILE_NAME)]);
    let saved: serde_json::Value = serde_json::from_slice(&fs::read(&file).unwrap()).unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["streams"][0]["checkpoint"], 2);
}

#[test]
fn a_corrupt_or_foreign_state_file_is_an_error_naming_it() {
    let h = H::new(&["a.log"], |_| {});
    let file = h.state.join(state::FILE_NAME);
    for (content, expect) in [
        ("{not json", "not a tailer state file"),
        (
            r#"{"version": 7, "next_stream": 1, "streams": []}"#,
            "state version 7 is not supported",
        ),
        (
            r#"{"version": 1, "next_stream": 1}"#,
            "missing field `streams`",
        ),
        (
            r#"{"version": 1, "next_stream": 1, "streams": [{"stream": 3, "path": "a", "origin": "a", "dev": 1, "ino": 2, "fingerprint_len": 0, "fingerprint": 0, "checkpoint": 0, "ended": false}]}"#,
            "next_stream 1 is not above the largest stream id 3",
        ),
    ] {
        fs::write(&file, content).unwrap();
        let err = Tailer::new(h.config.clone())
            .err()
            .expect(content)
            .to_string();
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains(expect), "{err}");
    }
}

#[test]
fn bad_config_is_rejected_with_the_reason() {
    let err = |c: TailConfig| Tailer::new(c).err().unwrap().to_string();
    assert_eq!(
        err(TailConfig::new(vec![])),
        "file tail: no include glob given"
    );
    assert!(err(TailConfig::new(vec!["/var/log/[".into()])).contains("invalid glob \"/var/log/[\""));
    let mut c = TailConfig::new(vec!["x".into()]);
    c.exclude = vec!["***".into()];
    assert!(err(c).contains("invalid glob \"***\""));
    let mut c = TailConfig::new(vec!["x".into()]);
    c.read_chunk_bytes = 0;
    assert_eq!(err(c), "file tail: read_chunk_bytes must be at least 1");
}

#[test]
fn excluded_files_and_non_files_are_skipped_and_hard_links_read_once() {
    let mut h = H::new(&["*"], |c| {
        c.exclude = vec!["*.gz".into(), "*/state/*".into()]
    });
    h.append("a.log", "a");
    h.append("a.log.1.gz", "zz");
    fs::create_dir(h.p("sub.log")).unwrap();
    fs::hard_link(h.p("a.log"), h.p("b.log")).unwrap();
    let (evs, stats) = h.poll();
    assert_eq!(evs, vec![data(1, "a.log", 0, "a")]);
    assert_eq!(stats.files_matched, 1);
}

#[test]
fn max_open_files_closes_idle_files_and_reopens_them_on_change() {
    let mut h = H::new(&["*.log"], |c| c.max_open_files = 1);
    for name in ["a.log", "b.log", "c.log"] {
        h.append(name, name);
    }
    let (_, stats) = h.poll();
    assert_eq!(stats.open_files, 3); // none idle yet
    let (_, stats) = h.poll();
    assert_eq!((stats.open_files, stats.closed_for_limit), (1, 2));
    let closed =
        h.t.files()
            .into_iter()
            .filter(|f| f.state == FileState::Closed)
            .count();
    assert_eq!(closed, 2);
    h.append("a.log", "+");
    h.append("b.log", "+");
    h.assert_next(&[data(1, "a.log", 5, "+"), data(2, "b.log", 5, "+")]);
    // A closed file renamed within the globs is still the same stream.
    h.poll();
    h.poll();
    h.rename("a.log", "a.old.log");
    h.append("a.old.log", "!");
    h.assert_next(&[data(1, "a.old.log", 6, "!")]);
}

#[test]
fn an_ended_stream_not_checkpointed_to_its_end_is_redelivered_after_restart_under_a_new_id() {
    let mut h = H::new(&["server.log*"], |_| {});
    h.read_past("server.log", "a\nb\n");
    h.checkpoint(1, 2); // the consumer applied "a\n" only
    h.rename("server.log", "server.log.1");
    h.append("server.log", "c\n");
    h.assert_next(&[data(2, "server.log", 0, "c\n"), Ev::Ended(1)]);
    h.restart_at(&[(2, 2)]);
    h.assert_next(&[data(3, "server.log.1", 2, "b\n")]);
}

/// `n` files `f00.log`… each holding one distinct line.
fn many_files(h: &H, n: usize) {
    for i in 0..n {
        // Distinct first bytes: files with equal fingerprints would be copies.
        h.append(&format!("f{i:02}.log"), &format!("{i:02} line of file\n"));
    }
}

/// Polls until nothing is deferred; the events, and the most files any poll left open.
fn poll_all(h: &mut H) -> (Vec<Ev>, usize) {
    let mut all = Vec::new();
    let mut most_open = 0;
    loop {
        let (evs, stats) = h.poll();
        all.extend(evs);
        most_open = most_open.max(stats.open_files);
        if stats.deferred_files == 0 {
            return (all, most_open);
        }
        assert!(
            stats.more_pending,
            "deferred files ask for the next poll at once"
        );
    }
}

#[test]
fn more_new_files_than_max_open_files_are_opened_over_several_polls() {
    let mut h = H::new(&["*.log"], |c| c.max_open_files = 4);
    many_files(&h, 40);
    let (_, first) = h.poll();
    assert_eq!(first.new_streams, claim::MIN_NEW_OPENS_PER_POLL);
    assert_eq!(first.deferred_files, 40 - claim::MIN_NEW_OPENS_PER_POLL);
    let (rest, most_open) = poll_all(&mut h);
    assert_eq!(
        rest.len(),
        40 - claim::MIN_NEW_OPENS_PER_POLL,
        "every other file once"
    );
    // Files just read are closed once idle, by a later poll: at most the new ones of a poll
    // are open beyond max_open_files.
    assert!(
        most_open <= 4 + claim::MIN_NEW_OPENS_PER_POLL,
        "{most_open} files open"
    );
    h.assert_next(&[]);
}

#[test]
fn start_at_end_holds_for_files_deferred_by_the_first_poll() {
    let mut h = H::new(&["*.log"], |c| {
        c.max_open_files = 4;
        c.start_at = StartAt::End;
    });
    many_files(&h, 40);
    h.reopen();
    let (evs, _) = poll_all(&mut h);
    assert_eq!(
        evs,
        [],
        "files present at the first start are read from their end"
    );
    h.append("f39.log", "new\n");
    let (evs, _) = poll_all(&mut h);
    assert_eq!(evs, [data(40, "f39.log", 16, "new\n")]);
}

/// Checkpoints whose files were copied to new inodes while stopped are found by content, which
/// needs each file opened: those deferred by a poll are not given up as lost meanwhile.
#[test]
fn checkpoints_found_by_content_in_deferred_files_are_not_lost() {
    let mut h = H::new(&["*.log"], |c| c.max_open_files = 4);
    many_files(&h, 40);
    let (evs, _) = poll_all(&mut h);
    assert_eq!(evs.len(), 40);
    for i in 1..=40 {
        h.checkpoint(i, 16);
    }
    h.stop_at(&[]);
    for i in 0..40 {
        h.copy(&format!("f{i:02}.log"), &format!("g{i:02}.log"));
        fs::remove_file(h.p(&format!("f{i:02}.log"))).unwrap();
    }
    h.reopen();
    let (evs, _) = poll_all(&mut h);
    assert_eq!(evs, [], "nothing read again");
    h.append("g39.log", "more\n");
    let (evs, _) = poll_all(&mut h);
    assert_eq!(evs.len(), 1, "{evs:?}");
    assert!(
        matches!(&evs[0], Ev::Data(_, name, 16, bytes) if name == "g39.log" && bytes == b"more\n"),
        "{evs:?}"
    );
}
