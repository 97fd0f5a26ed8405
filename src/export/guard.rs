//! The web configuration in force ([`WebGuard`]) and what it enforces on each request: basic
//! authentication against bcrypt hashes, the rate limit. [`watch`] reloads it when the file or
//! the certificate, key or CA files it names change; a bad change keeps the last good
//! configuration, logged as an error and counted.
//!
//! bcrypt is slow on purpose (cost 10 is about 70 ms), so, as exporter-toolkit does, a verdict is
//! cached per (user, hash, password) — keyed by their SHA-256, so no password is kept in memory —
//! and verifications run one at a time off the async workers. An unknown user is checked against
//! a fixed hash so that timing does not tell which users exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hyper::header::HeaderValue;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use super::web_config::{self, Fingerprint, RateLimit, WebSettings};
use crate::metrics::internal::{InternalEvent, WebConfigReloadFailed, WebConfigReloaded};
use crate::metrics::Metrics;

/// How often [`watch`] looks at the files.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// How many verdicts the bcrypt cache holds (exporter-toolkit's `cacheSize`).
const CACHE_SIZE: usize = 100;

/// The bcrypt hash (cost 10) of "fakepassword" that exporter-toolkit checks an unknown user
/// against: https://github.com/prometheus/exporter-toolkit/blob/master/web/handler.go
const UNKNOWN_USER_HASH: &str = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";

/// The web configuration in force and the state that enforces it.
pub struct WebGuard {
    /// `None`: no web config file; the endpoint is open.
    file: Option<PathBuf>,
    current: RwLock<Arc<WebSettings>>,
    /// The files as they were at the last load attempt, good or bad (a bad file is reported
    /// once, not at every look).
    seen: Mutex<Fingerprint>,
    /// `/healthz` and `/readyz` answer without authentication and outside the rate limit.
    open_probes: bool,
    verdicts: Mutex<HashMap<[u8; 32], bool>>,
    /// One bcrypt verification at a time: each takes a core for tens of milliseconds.
    bcrypt: Mutex<()>,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl WebGuard {
    /// No web config file: plain HTTP, no authentication.
    pub fn open() -> WebGuard {
        WebGuard::new(None, WebSettings::default(), Fingerprint::default(), true)
    }

    /// Loads `file`; every problem is returned, naming its key.
    pub fn load(file: &Path, open_probes: bool) -> Result<WebGuard, Vec<String>> {
        let (settings, seen) = web_config::load(file)?;
        Ok(WebGuard::new(
            Some(file.to_path_buf()),
            settings,
            seen,
            open_probes,
        ))
    }

    fn new(
        file: Option<PathBuf>,
        settings: WebSettings,
        seen: Fingerprint,
        open_probes: bool,
    ) -> WebGuard {
        let burst = settings.rate_limit.map_or(0, |l| l.burst);
        WebGuard {
            file,
            current: RwLock::new(Arc::new(settings)),
            seen: Mutex::new(seen),
            open_probes,
            verdicts: Mutex::new(HashMap::new()),
            bcrypt: Mutex::new(()),
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: Instant::now(),
            }),
        }
    }

    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The configuration in force now.
    pub fn settings(&self) -> Arc<WebSettings> {
        self.current.read().clone()
    }

    /// Whether `path` is a probe that is served without authentication.
    pub fn is_open_probe(&self, path: &str) -> bool {
        self.open_probes && matches!(path, "/healthz" | "/readyz")
    }

    /// Reloads when a file changed since the last attempt: `None` when nothing changed, else
    /// whether the new configuration is now in force (on `Err` the last good one stays).
    pub fn reload_if_changed(&self) -> Option<Result<(), Vec<String>>> {
        let file = self.file.as_ref()?;
        let now = self.seen.lock().reread();
        if now == *self.seen.lock() {
            return None;
        }
        let loaded = web_config::load(file);
        let mut seen = self.seen.lock();
        match loaded {
            Err(problems) => {
                // The bytes read when deciding: a file that keeps changing is tried again.
                *seen = now;
                Some(Err(problems))
            }
            Ok((settings, files)) => {
                *seen = files;
                drop(seen);
                let old = self.settings();
                if old.tls.is_some() != settings.tls.is_some() {
                    let change = if old.tls.is_some() { "off" } else { "on" };
                    return Some(Err(vec![format!(
                        "tls_server_config: turning TLS {change} takes a restart"
                    )]));
                }
                if old.http2 != settings.http2 {
                    return Some(Err(vec![
                        "http_server_config.http2: a change takes a restart".into(),
                    ]));
                }
                if old.rate_limit != settings.rate_limit {
                    let mut bucket = self.bucket.lock();
                    bucket.tokens = f64::from(settings.rate_limit.map_or(0, |l| l.burst));
                    bucket.at = Instant::now();
                }
                *self.current.write() = Arc::new(settings);
                Some(Ok(()))
            }
        }
    }

    /// Takes a token from the rate limit's bucket; `false` when it is empty.
    pub fn allow(&self, limit: Option<RateLimit>) -> bool {
        let Some(limit) = limit else { return true };
        let mut bucket = self.bucket.lock();
        let now = Instant::now();
        let refill = now.duration_since(bucket.at).as_secs_f64() / limit.interval.as_secs_f64();
        bucket.tokens = (bucket.tokens + refill).min(f64::from(limit.burst));
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the `Authorization` header names a user of `settings` with the right password.
    /// Always true when `settings` has no users.
    pub async fn authorized(
        self: &Arc<Self>,
        settings: &Arc<WebSettings>,
        header: Option<&HeaderValue>,
    ) -> bool {
        if settings.users.is_empty() {
            return true;
        }
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return false;
        };
        let known = settings.users.get(&user);
        let hash = known.map_or(UNKNOWN_USER_HASH, String::as_str).to_string();
        let key = cache_key(&user, &hash, &password);
        if let Some(ok) = self.verdicts.lock().get(&key) {
            return *ok && known.is_some();
        }
        let guard = self.clone();
        let verdict = tokio::task::spawn_blocking(move || {
            let _one_at_a_time = guard.bcrypt.lock();
            bcrypt::verify(&password, &hash).unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        self.remember(key, verdict);
        verdict && known.is_some()
    }

    fn remember(&self, key: [u8; 32], verdict: bool) {
        let mut verdicts = self.verdicts.lock();
        if verdicts.len() >= CACHE_SIZE {
            // Random eviction of a tenth, as exporter-toolkit: cheap, and not skewed.
            let drop = (verdicts.len() / 10).max(1);
            for _ in 0..drop {
                let i = fastrand::usize(..verdicts.len());
                if let Some(k) = verdicts.keys().nth(i).copied() {
                    verdicts.remove(&k);
                }
            }
        }
        verdicts.insert(key, verdict);
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.verdicts.lock().len()
    }
}

/// `Basic base64(user:password)` → (user, password). The scheme is case-insensitive (RFC 7617).
fn basic_credentials(header: &HeaderValue) -> Option<(String, Vec<u8>)> {
    let text = header.to_str().ok()?;
    let (scheme, encoded) = text.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some((user, decoded[colon + 1..].to_vec()))
}

/// SHA-256 of the three parts, each length-prefixed so no two triples share a key.
fn cache_key(user: &str, hash: &str, password: &[u8]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user.as_bytes(), hash.as_bytes(), password] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// Looks at the files every `every` until `stop`, reloading when they change; each outcome is a
/// [`WebConfigReloaded`] or [`WebConfigReloadFailed`].
pub async fn watch(
    guard: Arc<WebGuard>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
    every: Duration,
) {
    let Some(file) = guard.file().map(Path::to_path_buf) else {
        return;
    };
    metrics.init_web_config();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let g = guard.clone();
        let Ok(outcome) = tokio::task::spawn_blocking(move || g.reload_if_changed()).await else {
            continue;
        };
        match outcome {
            None => {}
            Some(Ok(())) => WebConfigReloaded { file: &file }.emit(&metrics),
            Some(Err(problems)) => WebConfigReloadFailed {
                file: &file,
                problems: &problems,
            }
            .emit(&metrics),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cost-4 hash (the cheapest bcrypt allows), so the tests stay fast.
    fn hash(password: &str) -> String {
        bcrypt::hash(password, 4).unwrap()
    }

    fn basic(user: &str, password: &str) -> HeaderValue {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        HeaderValue::from_str(&format!("Basic {b64}")).unwrap()
    }

    fn guard_with(users: &[(&str, &str)]) -> (Arc<WebGuard>, Arc<WebSettings>) {
        let settings = WebSettings {
            users: users
                .iter()
                .map(|(u, p)| (u.to_string(), hash(p)))
                .collect(),
            ..WebSettings::default()
        };
        let guard = Arc::new(WebGuard::new(None, settings, Fingerprint::default(), true));
        let settings = guard.settings();
        (guard, settings)
    }

    #[tokio::test]
    async fn only_the_right_user_and_password_pass_and_verdicts_are_cached() {
        let (guard, s) = guard_with(&[("prometheus", "s3cret"), ("other", "pw")]);
        assert!(!guard.authorized(&s, None).await);
        assert!(
            !guard
                .authorized(&s, Some(&HeaderValue::from_static("Bearer x")))
                .await
        );
        assert!(
            !guard
                .authorized(&s, Some(&HeaderValue::from_static("Basic !!!")))
                .await
        );
        assert!(
            !guard
                .authorized(&s, Some(&basic("prometheus", "wrong")))
                .await
        );
        assert!(!guard.authorized(&s, Some(&basic("prometheus", "pw"))).await);
        assert!(!guard.authorized(&s, Some(&basic("nobody", "s3cret"))).await);
        assert!(
            guard
                .authorized(&s, Some(&basic("prometheus", "s3cret")))
                .await
        );
        assert!(guard.authorized(&s, Some(&basic("other", "pw"))).await);
        // Every (user, password) pair that reached bcrypt is cached: the 5 above.
        assert_eq!(guard.cached(), 5);
        assert!(
            guard
                .authorized(&s, Some(&basic("prometheus", "s3cret")))
                .await
        );
        assert!(!guard.authorized(&s, Some(&basic("nobody", "s3cret"))).await);
        assert_eq!(guard.cached(), 5);
        let lower = HeaderValue::from_str(
            &basic("prometheus", "s3cret")
                .to_str()
                .unwrap()
                .replace("Basic", "basic"),
        )
        .unwrap();
        assert!(guard.authorized(&s, Some(&lower)).await);
    }

    #[tokio::test]
    async fn a_password_containing_colons_is_whole() {
        let (guard, s) = guard_with(&[("u", "a:b:c")]);
        assert!(guard.authorized(&s, Some(&basic("u", "a:b:c"))).await);
        assert!(!guard.authorized(&s, Some(&basic("u", "a"))).await);
    }

    #[tokio::test]
    async fn without_users_everything_passes() {
        let (guard, s) = guard_with(&[]);
        assert!(guard.authorized(&s, None).await);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let (guard, _) = guard_with(&[]);
        for i in 0..1000u32 {
            guard.remember(cache_key("u", "h", &i.to_be_bytes()), false);
            assert!(guard.cached() <= CACHE_SIZE);
        }
        assert!(guard.cached() > CACHE_SIZE / 2);
    }

    #[test]
    fn cache_keys_do_not_collide_across_part_boundaries() {
        assert_ne!(cache_key("ab", "c", b"d"), cache_key("a", "bc", b"d"));
        assert_ne!(cache_key("a", "b", b"cd"), cache_key("a", "bc", b"d"));
    }

    #[test]
    fn the_unknown_user_hash_is_a_cost_10_bcrypt_hash() {
        let parts: bcrypt::HashParts = UNKNOWN_USER_HASH.parse().unwrap();
        assert_eq!(parts.get_cost(), 10);
        assert!(bcrypt::verify("fakepassword", UNKNOWN_USER_HASH).unwrap());
    }

    #[test]
    fn the_rate_limit_allows_a_burst_then_one_per_interval() {
        let limit = RateLimit {
            interval: Duration::from_secs(3600),
            burst: 3,
        };
        let settings = WebSettings {
            rate_limit: Some(limit),
            ..WebSettings::default()
        };
        let guard = WebGuard::new(None, settings, Fingerprint::default(), true);
        let allowed = (0..10).filter(|_| guard.allow(Some(limit))).count();
        assert_eq!(allowed, 3);
        assert!(guard.allow(None));
    }

    #[test]
    fn a_changed_file_is_reloaded_and_a_bad_one_keeps_the_last_good_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("web.yml");
        let users = |p: &str| format!("basic_auth_users:\n  u: '{}'\n", hash(p));
        std::fs::write(&file, users("one")).unwrap();
        let guard = WebGuard::load(&file, true).unwrap();
        let first = guard.settings().users["u"].clone();
        assert!(guard.reload_if_changed().is_none(), "nothing changed");
        std::fs::write(&file, users("two")).unwrap();
        assert_eq!(guard.reload_if_changed(), Some(Ok(())));
        let second = guard.settings().users["u"].clone();
        assert!(second != first && bcrypt::verify("two", &second).unwrap());
        std::fs::write(&file, "basic_auth_users: {u: nope}\n").unwrap();
        let failed = guard.reload_if_changed().unwrap().unwrap_err();
        assert!(
            failed[0].contains("basic_auth_users.u: not a bcrypt hash"),
            "{failed:?}"
        );
        assert_eq!(
            guard.settings().users["u"],
            second,
            "the last good one stays"
        );
        assert!(
            guard.reload_if_changed().is_none(),
            "a bad file is reported once"
        );
        std::fs::remove_file(&file).unwrap();
        let failed = guard.reload_if_changed().unwrap().unwrap_err();
        assert!(failed[0].contains("cannot read it"), "{failed:?}");
        assert_eq!(guard.settings().users["u"], second);
    }

    #[test]
    fn turning_tls_on_or_off_takes_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        super::super::web_config::tests::self_signed(dir.path(), "server");
        let file = dir.path().join("web.yml");
        let tls = "tls_server_config: {cert_file: server.pem, key_file: server.key}\n";
        std::fs::write(&file, tls).unwrap();
        let guard = WebGuard::load(&file, true).unwrap();
        std::fs::write(&file, "").unwrap();
        let failed = guard.reload_if_changed().unwrap().unwrap_err();
        assert_eq!(
            failed,
            ["tls_server_config: turning TLS off takes a restart"]
        );
        assert!(guard.settings().tls.is_some());
        std::fs::write(
            &file,
            format!("{tls}http_server_config: {{http2: false}}\n"),
        )
        .unwrap();
        let failed = guard.reload_if_changed().unwrap().unwrap_err();
        assert_eq!(
            failed,
            ["http_server_config.http2: a change takes a restart"]
        );
        // A renewed certificate is picked up.
        super::super::web_config::tests::self_signed(dir.path(), "server");
        std::fs::write(&file, tls).unwrap();
        assert_eq!(guard.reload_if_changed(), Some(Ok(())));
    }

    #[test]
    fn probes_are_open_only_when_configured() {
        let open = WebGuard::new(None, WebSettings::default(), Fingerprint::default(), true);
        let closed = WebGuard::new(None, WebSettings::default(), Fingerprint::default(), false);
        assert!(open.is_open_probe("/healthz") && open.is_open_probe("/readyz"));
        assert!(!open.is_open_probe("/metrics") && !open.is_open_probe("/"));
        assert!(!closed.is_open_probe("/healthz"));
    }
}
