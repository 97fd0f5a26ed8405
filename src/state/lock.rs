//! One process per `state_dir`: an exclusive lock on `<state_dir>/state.lock`, held for the
//! process's life.
//!
//! Two exporters sharing a state directory (a restart that overlaps the old process's last
//! seconds, two replicas given one volume) would each write snapshots of their own counts over
//! the other's: the offsets one commits would be backed by counts the other's snapshot no longer
//! holds, and records would be lost from every series. The lock is an advisory `flock`, which
//! the kernel releases when its holder dies however it dies (kill -9 included), so a crashed
//! process never leaves a stale lock behind. The file holds the holder's process id, for the
//! message a second process gets.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The lock file's name inside `state_dir`.
pub const LOCK_FILE: &str = "state.lock";

/// How often a waiting process tries the lock again.
const RETRY: Duration = Duration::from_millis(100);

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot lock the state directory with {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the state directory {dir} is in use by another process ({holder}) and was not released within {waited:?}: two processes on one state_dir overwrite each other's snapshots and lose counts; stop the other one or give each its own state_dir")]
    InUse {
        dir: PathBuf,
        holder: String,
        waited: Duration,
    },
}

/// The held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Locks `dir` (which must exist). When another process holds it, waits up to `wait` for
    /// it to let go — a process shutting down gracefully writes its last snapshot first — and
    /// logs once that it is waiting.
    pub fn acquire(dir: &Path, wait: Duration) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        let started = Instant::now();
        let mut warned = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if started.elapsed() >= wait {
                        return Err(LockError::InUse {
                            dir: dir.to_path_buf(),
                            holder: holder(&mut file),
                            waited: wait,
                        });
                    }
                    if !warned {
                        warned = true;
                        let holder = holder(&mut file);
                        tracing::warn!(dir = %dir.display(), %holder, wait = ?wait, "The state directory is locked by another process; waiting for it to let go.");
                    }
                    std::thread::sleep(RETRY);
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DirLock { _file: file })
    }
}

/// Who holds the lock, as its file says.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let read = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.take(32).read_to_string(&mut text));
    match read.ok().map(|_| text.trim().to_string()) {
        Some(pid) if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) => {
            format!("pid {pid}")
        }
        _ => "pid unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_then_names_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let started = Instant::now();
        let error = DirLock::acquire(dir.path(), Duration::from_millis(300)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        let message = error.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("in use by another process"), "{message}");
        drop(first);
        DirLock::acquire(dir.path(), Duration::ZERO).expect("released when dropped");
    }

    #[test]
    fn a_lock_let_go_while_waiting_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        DirLock::acquire(dir.path(), Duration::from_secs(10)).expect("taken once let go");
        letting_go.join().unwrap();
        let pid = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(pid.trim(), std::process::id().to_string());
    }
}
