//! The exporter's wall clock: the system clock, without its jumps.
//!
//! Detector windows, first-seen horizons, the silence of log streams, the time at which an event
//! without a time of its own was observed, and the event delay histogram all need "now". Taken
//! straight from the system clock, a jump (a mis-set clock stepped by NTP, a VM resumed from a
//! snapshot, an operator's `date -s`, an attacker) would move all of them at once: a day forward
//! expires every window and first-seen memory (every principal is then "new", a brute force in
//! progress is forgotten) and inflates every delay; coming back, events look a day old.
//!
//! So [`now`] runs on the monotonic clock from an anchor on the system clock. Every second,
//! [`Watch::check`] compares the two: a difference of up to [`DRIFT`] (NTP's slewing) is taken
//! at once; a larger one is a **jump**, reported once ([`Jump`]: counted in
//! `kafka_security_clock_jumps_total{direction}` and logged as a WARN) and taken only if it holds
//! for [`ADOPT_AFTER`] (a clock corrected for good), so a jump that is undone within that time
//! never reaches the detectors. The times of OTLP pushes (metric points, batch timestamps) keep
//! the system clock: a collector correlates them with other systems' records by it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A difference to the system clock taken without notice (NTP slews by less).
pub const DRIFT: Duration = Duration::from_secs(2);
/// How long a jumped system clock must stay where it jumped to before it is followed.
pub const ADOPT_AFTER: Duration = Duration::from_secs(600);

/// The process's clock.
static CLOCK: OnceLock<Anchor> = OnceLock::new();

/// A wall clock running on the monotonic clock from an anchor on the system clock.
#[derive(Debug)]
struct Anchor {
    /// The monotonic instant the anchor is measured from.
    start: Instant,
    /// Unix nanoseconds of the system clock at `start`, as last anchored.
    wall_at_start: AtomicI64,
}

impl Anchor {
    fn new() -> Anchor {
        let start = Instant::now();
        Anchor {
            start,
            wall_at_start: AtomicI64::new(unix_nanos(SystemTime::now())),
        }
    }

    fn elapsed_nanos(&self) -> i64 {
        i64::try_from(self.start.elapsed().as_nanos()).unwrap_or(i64::MAX)
    }

    fn now(&self) -> SystemTime {
        let wall = self.wall_at_start.load(Ordering::Relaxed);
        from_unix_nanos(wall.saturating_add(self.elapsed_nanos()))
    }

    /// Re-anchors on `wall`, the system clock's time now.
    fn anchor(&self, wall: SystemTime) {
        self.wall_at_start.store(
            unix_nanos(wall).saturating_sub(self.elapsed_nanos()),
            Ordering::Relaxed,
        );
    }
}

fn clock() -> &'static Anchor {
    CLOCK.get_or_init(Anchor::new)
}

fn unix_nanos(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

fn from_unix_nanos(n: i64) -> SystemTime {
    let magnitude = Duration::from_nanos(n.unsigned_abs());
    if n >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

/// Now, by the exporter's clock.
pub fn now() -> SystemTime {
    clock().now()
}

/// Which way the system clock jumped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Backward,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Forward, Direction::Backward];

    /// The `direction` label of `kafka_security_clock_jumps_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Forward => "forward",
            Direction::Backward => "backward",
        }
    }
}

/// What [`Watch::check`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// The system clock jumped by `by` (away from the exporter's clock).
    Jumped { direction: Direction, by: Duration },
    /// A jump held for [`ADOPT_AFTER`]: the exporter's clock now follows it.
    Adopted { direction: Direction, by: Duration },
}

/// Compares the system clock with [`now`] (see the module doc). One per process.
#[derive(Debug, Default)]
pub struct Watch {
    /// A jump seen and not yet adopted: its offset (system − ours, nanoseconds) and since when.
    pending: Option<(i64, Instant)>,
}

impl Watch {
    /// Checks the system clock against [`now`]; what changed, if anything.
    pub fn check(&mut self) -> Option<Jump> {
        self.check_at(clock(), SystemTime::now(), Instant::now())
    }

    fn check_at(&mut self, clock: &Anchor, wall: SystemTime, mono: Instant) -> Option<Jump> {
        let offset = unix_nanos(wall).saturating_sub(unix_nanos(clock.now()));
        let drift = i64::try_from(DRIFT.as_nanos()).unwrap_or(i64::MAX);
        let describe = |offset: i64| {
            let direction = if offset > 0 {
                Direction::Forward
            } else {
                Direction::Backward
            };
            (direction, Duration::from_nanos(offset.unsigned_abs()))
        };
        if offset.abs() <= drift {
            clock.anchor(wall);
            self.pending = None;
            return None;
        }
        match self.pending {
            Some((seen, since)) if (seen - offset).abs() <= drift => {
                if mono.duration_since(since) < ADOPT_AFTER {
                    return None;
                }
                clock.anchor(wall);
                self.pending = None;
                let (direction, by) = describe(offset);
                Some(Jump::Adopted { direction, by })
            }
            _ => {
                self.pending = Some((offset, mono));
                let (direction, by) = describe(offset);
                Some(Jump::Jumped { direction, by })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jumps_are_reported_and_followed_only_once_they_hold() {
        let clock = Anchor::new();
        let now = || clock.now();
        let mut watch = Watch::default();
        let t0 = Instant::now();
        let ours = now();
        // NTP-sized drift: taken at once, silently.
        assert_eq!(
            watch.check_at(&clock, ours + Duration::from_secs(1), t0),
            None
        );
        let ours = now();
        assert!(
            ours.duration_since(SystemTime::now()).unwrap_or_default() > Duration::from_millis(900)
        );
        let day = Duration::from_secs(86_400);
        // A day forward: reported once, not followed.
        let jumped = watch.check_at(&clock, ours + day, t0);
        assert!(
            matches!(jumped, Some(Jump::Jumped { direction: Direction::Forward, by }) if by.abs_diff(day) < Duration::from_millis(100)),
            "{jumped:?}"
        );
        assert!(now() < ours + Duration::from_secs(60), "not followed");
        assert_eq!(
            watch.check_at(&clock, now() + day, t0 + ADOPT_AFTER / 2),
            None
        );
        // Undone within ADOPT_AFTER: never followed.
        assert_eq!(watch.check_at(&clock, now(), t0 + ADOPT_AFTER / 2), None);
        assert!(watch.pending.is_none());
        // An hour back, held for ADOPT_AFTER: reported, then followed.
        let hour = Duration::from_secs(3600);
        let ours = now();
        let jumped = watch.check_at(&clock, ours - hour, t0);
        assert!(
            matches!(jumped, Some(Jump::Jumped { direction: Direction::Backward, by }) if by.abs_diff(hour) < Duration::from_millis(100)),
            "{jumped:?}"
        );
        let held = watch.check_at(&clock, now() - hour, t0 + ADOPT_AFTER);
        assert!(
            matches!(held, Some(Jump::Adopted { direction: Direction::Backward, by }) if by.abs_diff(hour) < Duration::from_millis(100)),
            "{held:?}"
        );
        let behind = ours.duration_since(now()).unwrap_or_default();
        assert!(
            behind > hour - Duration::from_secs(60),
            "followed: {behind:?}"
        );
    }

    #[test]
    fn the_process_clock_follows_the_system_clock() {
        let diff = unix_nanos(SystemTime::now()) - unix_nanos(now());
        assert!(diff.abs() < 1_000_000_000, "{diff} ns");
    }
}
