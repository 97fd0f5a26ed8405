//! Issue 17's fault matrix, the rows about files, with the real binary: what a file source's
//! globs match (a directory, FIFO, socket or device; an unreadable file; thousands of files), its
//! state directory on a real full or read-only filesystem (a small tmpfs, when the machine lets
//! the tests mount one) or deleted while running, and a corrupt or truncated checkpoint file at
//! start. Each test asserts its row of the README's "Failure modes" table.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::file_source::{append, denials, denied};
use crate::support::{exporter_bin, poll_until, wait_until, Exporter, Scrape};

const WAIT: Duration = Duration::from_secs(30);
/// `shutdown.grace_period_secs` in these configs, and how long SIGTERM may take.
const GRACE_SECS: u64 = 5;

fn config(glob: &str, state: &Path, extra: &str) -> String {
    format!(
        "shutdown: {{grace_period_secs: {GRACE_SECS}}}\nsources:\n  - file:\n      name: logs\n      paths: ['{glob}']\n      start_at: beginning\n      state_dir: '{}'\n      poll_interval_ms: 50\n{extra}",
        state.display()
    )
}

fn skipped(s: &Scrape, reason: &str) -> Option<f64> {
    s.get(
        "kafka_security_log_files_skipped",
        &[("source", "logs"), ("reason", reason)],
    )
}

fn failures(s: &Scrape) -> f64 {
    s.value(
        "kafka_security_checkpoint_failures_total",
        &[("source", "logs")],
    )
}

/// Log lines whose message starts with `prefix`.
fn logged(logs: &[serde_json::Value], prefix: &str) -> Vec<serde_json::Value> {
    logs.iter()
        .filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
        .cloned()
        .collect()
}

/// SIGTERM stops the exporter cleanly within the grace period; its logs.
fn stop_in_grace(exporter: Exporter) -> Vec<serde_json::Value> {
    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(GRACE_SECS + 5));
    assert!(
        started.elapsed() < Duration::from_secs(GRACE_SECS),
        "took {:?}",
        started.elapsed()
    );
    logs
}

fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .is_some_and(|uids| uids.split_whitespace().next() == Some("0"))
}

#[test]
fn paths_that_are_not_regular_files_are_skipped_counted_and_logged_once() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    append(&logs.path().join("kafka-authorizer.log"), &denials("a", 10));
    fs::create_dir(logs.path().join("old.log")).unwrap();
    let fifo = logs.path().join("pipe.log");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let _socket = std::os::unix::net::UnixListener::bind(logs.path().join("sock.log")).unwrap();
    std::os::unix::fs::symlink("/dev/null", logs.path().join("null.log")).unwrap();

    let glob = format!("{}/*.log", logs.path().display());
    let exporter = Exporter::start(&config(&glob, state.path(), ""));
    exporter.wait_for(WAIT, "the file's lines and the skipped paths", |s| {
        denied(s, "a") == 10.0 && skipped(s, "fifo") == Some(1.0)
    });
    // Many polls later: still counted by the last poll, and each path logged once.
    std::thread::sleep(Duration::from_millis(600));
    let s = exporter.scrape();
    for (reason, n) in [
        ("directory", 1.0),
        ("fifo", 1.0),
        ("socket", 1.0),
        ("device", 1.0),
        ("unreadable", 0.0),
    ] {
        assert_eq!(skipped(&s, reason), Some(n), "{reason}");
    }
    exporter.assert_ready();
    // The FIFO was never opened: a writer finds no reader (ENXIO), so no line was stolen from it.
    const O_NONBLOCK: i32 = 0o4000; // Linux, x86-64 and aarch64
    let writer = fs::OpenOptions::new()
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(&fifo);
    assert_eq!(
        writer.err().and_then(|e| e.raw_os_error()),
        Some(6),
        "ENXIO: no reader"
    );

    let logs = stop_in_grace(exporter);
    let warned = logged(&logs, "A path the globs match is not a regular file");
    let mut kinds: Vec<&str> = warned.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["device", "directory", "fifo", "socket"],
        "{warned:#?}"
    );
}

#[test]
fn a_tailed_file_replaced_by_a_directory_is_skipped_and_a_file_there_again_is_read() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 5));
    let glob = format!("{}/*.log", logs.path().display());
    let exporter = Exporter::start(&config(&glob, state.path(), ""));
    exporter.wait_for(WAIT, "the file's lines", |s| denied(s, "a") == 5.0);

    fs::remove_file(&live).unwrap();
    fs::create_dir(&live).unwrap();
    exporter.wait_for(WAIT, "the directory counted", |s| {
        skipped(s, "directory") == Some(1.0)
    });
    exporter.assert_ready();

    fs::remove_dir(&live).unwrap();
    append(&live, &denials("b", 3));
    let s = exporter.wait_for(WAIT, "the new file read", |s| {
        denied(s, "b") == 3.0 && skipped(s, "directory") == Some(0.0)
    });
    assert_eq!(denied(&s, "a"), 5.0, "nothing read twice");
    stop_in_grace(exporter);
}

/// As root, file permissions do not stop reads, so the exporter then runs as `nobody` (65534)
/// through `setpriv`, as it does in its container (uid 65532).
#[test]
fn an_unreadable_file_is_retried_counted_and_makes_the_source_not_ready() {
    let base = tempfile::tempdir().unwrap();
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let logs = base.path().join("logs");
    let state = base.path().join("state");
    fs::create_dir(&logs).unwrap();
    fs::create_dir(&state).unwrap();
    let readable = logs.join("kafka-authorizer.log");
    let unreadable = logs.join("kafka-authorizer.log.1");
    append(&readable, &denials("a", 4));
    append(&unreadable, &denials("b", 2));
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
    let wrapper: Vec<&str> = if is_root() {
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
        vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ]
    } else {
        Vec::new()
    };
    let glob = format!("{}/*.log*", logs.display());
    let conf = base.path().join("config.yaml");
    fs::write(&conf, config(&glob, &state, "")).unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o644)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let exporter = Exporter::spawn_wrapped(
        &wrapper,
        &["run", "--config", conf.to_str().unwrap()],
        &[],
        dir,
    );
    exporter.wait_for(
        WAIT,
        "the readable file and the unreadable one counted",
        |s| denied(s, "a") == 4.0 && skipped(s, "unreadable") == Some(1.0),
    );
    let (status, body) = exporter.readyz();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains(&format!("cannot read {}", unreadable.display())),
        "{body}"
    );
    std::thread::sleep(Duration::from_millis(500));
    let warned = logged(&exporter.logs(), "Cannot read a log file; retrying.");
    assert_eq!(
        warned.len(),
        1,
        "logged once a minute, not every poll: {warned:#?}"
    );
    assert!(
        warned[0]["problem"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{warned:#?}"
    );

    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o644)).unwrap();
    let s = exporter.wait_for(WAIT, "the file read once readable", |s| {
        denied(s, "b") == 2.0 && skipped(s, "unreadable") == Some(0.0)
    });
    assert_eq!(denied(&s, "a"), 4.0);
    wait_until(WAIT, "ready again", || {
        (exporter.readyz().0 == 200).then_some(())
    });
    stop_in_grace(exporter);
}

/// Thousands of files, each with one line, under a descriptor limit far below their number:
/// every line is counted once and the source stays ready.
#[test]
fn a_glob_matching_thousands_of_files_reads_every_line_under_a_small_descriptor_limit() {
    const FILES: usize = 3000;
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    for i in 0..FILES {
        // Distinct content: files with equal first bytes would be taken for copies.
        let line = denials("many", 1).replace("orders-0", &format!("orders-{i}"));
        fs::write(logs.path().join(format!("kafka-authorizer.log.{i}")), line).unwrap();
    }
    let glob = format!("{}/kafka-authorizer.log.*", logs.path().display());
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("config.yaml");
    fs::write(&conf, config(&glob, state.path(), "")).unwrap();
    let conf = conf.to_str().unwrap().to_string();
    let exporter = Exporter::spawn_wrapped(
        &["prlimit", "--nofile=512", "--"],
        &["run", "--config", &conf],
        &[],
        dir,
    );
    let s = exporter.wait_for(Duration::from_secs(90), "every file's line", |s| {
        denied(s, "many") == FILES as f64
    });
    assert_eq!(skipped(&s, "unreadable"), Some(0.0));
    exporter.assert_ready();
    let fds = fs::read_dir(format!("/proc/{}/fd", exporter.pid()))
        .unwrap()
        .count();
    assert!(fds < 400, "{fds} descriptors open");
    let logs = stop_in_grace(exporter);
    assert!(
        logged(&logs, "Cannot read a log file").is_empty(),
        "no file failed to open"
    );
}

/// Runs `run --config` expecting it to refuse to start: (exit code, stderr).
fn refused(config: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    fs::write(&path, config).unwrap();
    let mut child = Command::new(exporter_bin())
        .args(["--web.listen-address", "127.0.0.1:0", "run", "--config"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = poll_until(WAIT, Duration::from_millis(50), || {
        child.try_wait().unwrap()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the exporter started with a corrupt checkpoint file");
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (status.code().unwrap_or(-1), err)
}

/// A checkpoint file that is not one (garbage, empty, cut short by a disk that lost its end)
/// stops the start with an error naming the file and what to do: starting without it would
/// count every line again (or skip lines, per `start_at`) without anyone noticing.
#[test]
fn a_corrupt_or_truncated_checkpoint_file_refuses_to_start_naming_it() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    append(&logs.path().join("kafka-authorizer.log"), &denials("a", 3));
    let glob = format!("{}/*.log", logs.path().display());
    let yaml = config(&glob, state.path(), "");
    let exporter = Exporter::start(&yaml);
    exporter.wait_for(WAIT, "the lines", |s| denied(s, "a") == 3.0);
    stop_in_grace(exporter);
    let file: PathBuf = state.path().join("tail-checkpoints.json");
    let good = fs::read(&file).unwrap();
    assert!(good.len() > 20, "a real checkpoint file");

    for (what, bytes) in [
        ("garbage", b"{not json".to_vec()),
        ("empty", Vec::new()),
        ("cut in half", good[..good.len() / 2].to_vec()),
    ] {
        fs::write(&file, &bytes).unwrap();
        let (code, err) = refused(&yaml);
        assert_eq!(code, 1, "{what}: {err}");
        for want in [
            file.to_str().unwrap(),
            "is corrupt",
            "fix or remove it; removing it re-reads files per start_at",
        ] {
            assert!(err.contains(want), "{what}: missing {want:?} in:\n{err}");
        }
    }
    // Put back, the checkpoints resume where they were: nothing is counted again.
    fs::write(&file, &good).unwrap();
    let exporter = Exporter::start(&yaml);
    append(&logs.path().join("kafka-authorizer.log"), &denials("b", 1));
    let s = exporter.wait_for(WAIT, "the new line", |s| denied(s, "b") == 1.0);
    assert_eq!(
        denied(&s, "a"),
        0.0,
        "resumed after the lines already counted"
    );
    stop_in_grace(exporter);
}

/// The state directory deleted while the source runs is made again at the next save: nothing
/// fails, and a restart resumes where the source was.
#[test]
fn a_state_dir_deleted_while_running_is_made_again() {
    let logs = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("state");
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 10));
    let glob = format!("{}/*.log", logs.path().display());
    let yaml = config(&glob, &state, "");
    let exporter = Exporter::start(&yaml);
    exporter.wait_for(WAIT, "the lines", |s| denied(s, "a") == 10.0);
    fs::remove_dir_all(&state).unwrap();
    append(&live, &denials("b", 3));
    wait_until(WAIT, "the checkpoints saved again", || {
        state.join("tail-checkpoints.json").exists().then_some(())
    });
    let s = exporter.wait_for(WAIT, "the new lines", |s| denied(s, "b") == 3.0);
    assert_eq!(failures(&s), 0.0);
    exporter.assert_ready();
    stop_in_grace(exporter);

    let exporter = Exporter::start(&yaml);
    append(&live, &denials("c", 1));
    let s = exporter.wait_for(WAIT, "the line written after the restart", |s| {
        denied(s, "c") == 1.0
    });
    assert_eq!(
        (denied(&s, "a"), denied(&s, "b")),
        (0.0, 0.0),
        "nothing counted twice"
    );
    stop_in_grace(exporter);
}

/// A small tmpfs mounted for one test, unmounted on drop. `None` (with a line saying why) where
/// the tests may not mount: not root, or a container without `CAP_SYS_ADMIN`. The rows it tests
/// are also tested without a mount, with a file in the state directory's place
/// (`file_source::a_state_dir_that_cannot_be_written_is_counted_and_makes_the_source_not_ready`).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(kib: u32) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        if !is_root() {
            println!("NOT RUN: mounting a tmpfs needs root");
            return None;
        }
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .unwrap();
        if !out.status.success() {
            println!(
                "NOT RUN: cannot mount a tmpfs here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the filesystem until a write fails with ENOSPC.
    fn fill(&self) {
        let mut f = fs::File::create(self.path().join("filler")).unwrap();
        let block = vec![0u8; 4096];
        loop {
            match std::io::Write::write_all(&mut f, &block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => return,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
    }

    fn free(&self) {
        fs::remove_file(self.path().join("filler")).unwrap();
    }

    fn remount(&self, option: &str) {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(self.path())
            .status()
            .unwrap();
        assert!(status.success(), "remount {option}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The file source's and the detectors' state on a filesystem that fills up: the failures are
/// counted, the source is not ready until a save works, the stop says what was not saved, and a
/// restart counts again exactly the lines read since the last save.
#[test]
fn a_full_state_filesystem_is_counted_and_a_restart_repeats_exactly_the_unsaved_lines() {
    let Some(disk) = Tmpfs::mount(256) else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 10));
    let glob = format!("{}/*.log", logs.path().display());
    let top = disk.path().join("exporter");
    let yaml = config(
        &glob,
        &disk.path().join("tail"),
        // The file source's own checkpoints and the detectors' state: the state snapshot, which
        // would make /metrics stand still on a full disk, is tested in `state::tests`.
        &format!(
            "state_dir: '{}'\nstate: {{counters: false}}\n",
            top.display()
        ),
    );
    let exporter = Exporter::start(&yaml);
    exporter.wait_for(WAIT, "the lines", |s| denied(s, "a") == 10.0);
    exporter.assert_ready();

    disk.fill();
    append(&live, &denials("b", 5));
    exporter.wait_for(WAIT, "failed saves", |s| {
        denied(s, "b") == 5.0 && failures(s) >= 2.0
    });
    let (status, body) = exporter.readyz();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("No space left on device"), "{body}");
    disk.free();
    wait_until(WAIT, "ready again", || {
        (exporter.readyz().0 == 200).then_some(())
    });

    disk.fill();
    append(&live, &denials("c", 5));
    let before = failures(&exporter.scrape());
    exporter.wait_for(WAIT, "failing again", |s| {
        denied(s, "c") == 5.0 && failures(s) > before
    });
    let logs_seen = stop_in_grace(exporter);
    assert_eq!(
        logged(&logs_seen, "Cannot save checkpoints").len(),
        1,
        "once a minute"
    );
    for message in [
        "Stopped tailing; the checkpoints could NOT be saved",
        "Cannot save the detector state.",
        "Stopped, with steps failed.",
    ] {
        assert_eq!(
            logged(&logs_seen, message).len(),
            1,
            "{message}: {logs_seen:#?}"
        );
    }
    assert!(
        logged(&logs_seen, "Stopped.").is_empty(),
        "no claim of a clean stop"
    );

    disk.free();
    let exporter = Exporter::start(&yaml);
    append(&live, &denials("d", 1));
    let s = exporter.wait_for(WAIT, "the line written after the restart", |s| {
        denied(s, "d") == 1.0
    });
    assert_eq!(
        (denied(&s, "a"), denied(&s, "b"), denied(&s, "c")),
        (0.0, 0.0, 5.0),
        "exactly the lines read after the last save are counted again"
    );
    stop_in_grace(exporter);
}

#[test]
fn a_read_only_state_filesystem_is_counted_until_it_is_writable_again() {
    let Some(disk) = Tmpfs::mount(256) else {
        return;
    };
    let logs = tempfile::tempdir().unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 10));
    let glob = format!("{}/*.log", logs.path().display());
    let exporter = Exporter::start(&config(&glob, &disk.path().join("tail"), ""));
    exporter.wait_for(WAIT, "the lines", |s| denied(s, "a") == 10.0);
    disk.remount("ro");
    append(&live, &denials("b", 5));
    exporter.wait_for(WAIT, "failed saves", |s| {
        denied(s, "b") == 5.0 && failures(s) >= 2.0
    });
    let (status, body) = exporter.readyz();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Read-only file system"), "{body}");
    disk.remount("rw");
    wait_until(WAIT, "ready again", || {
        (exporter.readyz().0 == 200).then_some(())
    });
    let logs_seen = stop_in_grace(exporter);
    assert_eq!(
        logged(&logs_seen, "Stopped tailing; checkpoints saved.").len(),
        1
    );
}
