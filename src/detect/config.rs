//! The `detectors:` section of the config file: every detector on by default with thresholds
//! taken from public SIEM rules, each one tunable and switchable off.
//!
//! ```yaml
//! detectors:
//!   learning_period: 3d            # first-seen detectors stay quiet this long (event time)
//!   max_subjects: 10000            # tracked hosts or principals per detector; more -> __overflow__
//!   brute_force: { threshold: 20, window: 5m }
//!   password_spraying: { distinct_principals: 10, window: 30m }
//!   credential_stuffing: { distinct_hosts: 10, failures: 30, window: 10m }
//!   slow_brute_force: { threshold: 100, window: 24h }
//!   success_after_failures: { failures: 10, window: 30m }
//!   privilege_probing: { distinct_resources: 10, window: 10m }
//!   new_principal: { horizon: 14d }
//!   new_client_for_principal: { horizon: 14d }
//!   log_tampering: { silence: 30m }
//!   log_injection: {}
//!   anomaly: { enabled: false }
//! ```
//!
//! Durations are humantime strings (`30s`, `5m`, `24h`, `14d`). Every windowed detector counts
//! in fixed buckets (`bucket`, default a tenth of the window): memory per subject is fixed.

use std::time::Duration;

use serde::Deserialize;

use super::Severity;

/// A duration written as a humantime string (`5m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(s.trim()).map(Span).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration ({e}); write e.g. 30s, 5m, 24h, 14d"
            ))
        })
    }
}

fn secs(s: u64) -> Span {
    Span(Duration::from_secs(s))
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86400;

/// The whole `detectors:` section.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorsConfig {
    /// Switches every detector off at once.
    pub enabled: bool,
    /// First-seen detectors (`new_principal`, `new_client_for_principal`) and the `anomaly`
    /// baseline stay quiet for this long after the first event they ever saw (event time), so a
    /// new deployment does not announce every principal as new.
    pub learning_period: Span,
    /// Subjects (client hosts, principals) each windowed detector tracks at once; events of
    /// further subjects are tracked together under `__overflow__` and counted.
    pub max_subjects: usize,
    pub brute_force: BruteForce,
    pub password_spraying: PasswordSpraying,
    pub credential_stuffing: CredentialStuffing,
    pub slow_brute_force: SlowBruteForce,
    pub success_after_failures: SuccessAfterFailures,
    pub privilege_probing: PrivilegeProbing,
    pub new_principal: FirstSeen,
    pub new_client_for_principal: FirstSeen,
    pub log_tampering: LogTampering,
    pub log_injection: LogInjection,
    pub anomaly: Anomaly,
}

impl Default for DetectorsConfig {
    fn default() -> Self {
        DetectorsConfig {
            enabled: true,
            learning_period: secs(3 * DAY),
            max_subjects: 10_000,
            brute_force: BruteForce::default(),
            password_spraying: PasswordSpraying::default(),
            credential_stuffing: CredentialStuffing::default(),
            slow_brute_force: SlowBruteForce::default(),
            success_after_failures: SuccessAfterFailures::default(),
            privilege_probing: PrivilegeProbing::default(),
            new_principal: FirstSeen::default(),
            new_client_for_principal: FirstSeen::default(),
            log_tampering: LogTampering::default(),
            log_injection: LogInjection::default(),
            anomaly: Anomaly::default(),
        }
    }
}

/// A window counted in fixed buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub window: Span,
    /// Bucket width; default a tenth of the window.
    pub bucket: Option<Span>,
}

impl Window {
    /// The bucket width in use.
    pub fn bucket(&self) -> Duration {
        self.bucket.map_or(self.window.0 / 10, |b| b.0)
    }

    fn problems(&self, at: &str, out: &mut Vec<String>) {
        let w = self.window.0;
        if w.is_zero() {
            out.push(format!("{at}.window: must be longer than 0"));
            return;
        }
        let b = self.bucket();
        if b.is_zero() {
            out.push(format!("{at}.bucket: must be longer than 0"));
        } else if b > w {
            out.push(format!(
                "{at}.window: {} is shorter than its bucket ({})",
                humantime::format_duration(w),
                humantime::format_duration(b)
            ));
        } else if w.as_millis() / b.as_millis() > 10_000 {
            out.push(format!(
                "{at}.bucket: {} makes more than 10000 buckets per window; use a wider bucket",
                humantime::format_duration(b)
            ));
        }
    }
}

macro_rules! detector_config {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident: $ty:ty = $default:expr),* $(,)? } window = $window:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            pub enabled: bool,
            /// Overrides the detector's severity label.
            pub severity: Option<Severity>,
            /// How far back the detector counts.
            pub window: Span,
            /// Bucket width; default a tenth of the window.
            pub bucket: Option<Span>,
            $($(#[$fdoc])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    enabled: true,
                    severity: None,
                    window: secs($window),
                    bucket: None,
                    $($field: $default,)*
                }
            }
        }

        impl $name {
            /// The window and its bucket width.
            pub fn window(&self) -> Window {
                Window {
                    window: self.window,
                    bucket: self.bucket,
                }
            }
        }
    };
}

detector_config!(
    /// One client host fails many logins in a short window (T1110.001).
    BruteForce { threshold: u64 = 20 } window = 5 * MINUTE
);
detector_config!(
    /// One client host fails as many distinct principals (T1110.003).
    PasswordSpraying { distinct_principals: u64 = 10 } window = 30 * MINUTE
);
detector_config!(
    /// Many client hosts fail, many times in all (T1110.004).
    CredentialStuffing { distinct_hosts: u64 = 10, failures: u64 = 30 } window = 10 * MINUTE
);
detector_config!(
    /// One client host fails steadily over a long window without tripping `brute_force` (T1110).
    SlowBruteForce { threshold: u64 = 100 } window = DAY
);
detector_config!(
    /// A principal or client host succeeds after many failures (T1078).
    SuccessAfterFailures { failures: u64 = 10 } window = 30 * MINUTE
);
detector_config!(
    /// One principal is denied on many distinct resources (T1069).
    PrivilegeProbing { distinct_resources: u64 = 10 } window = 10 * MINUTE
);

/// `new_principal` and `new_client_for_principal` (T1078).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirstSeen {
    pub enabled: bool,
    pub severity: Option<Severity>,
    /// How long a principal (or principal × host pair) stays remembered after it was last seen.
    pub horizon: Span,
    /// How many are remembered at most; when full, the least recently seen eighth is forgotten.
    pub max_remembered: usize,
}

impl Default for FirstSeen {
    fn default() -> Self {
        FirstSeen {
            enabled: true,
            severity: None,
            horizon: secs(14 * DAY),
            max_remembered: 100_000,
        }
    }
}

/// `log_tampering` (T1562.008): a `BrokerLogger` config change, or a broker log that wrote
/// steadily going silent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogTampering {
    pub enabled: bool,
    pub severity: Option<Severity>,
    /// A log stream silent this long (while others go on, or by the wall clock when live) after
    /// writing steadily.
    pub silence: Span,
    /// "Steadily": at least this many entries in the `silence` window before it went quiet.
    pub min_entries: u64,
}

impl Default for LogTampering {
    fn default() -> Self {
        LogTampering {
            enabled: true,
            severity: None,
            silence: secs(30 * MINUTE),
            min_entries: 30,
        }
    }
}

/// `log_injection` (T1070): a log entry with a forged line or field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogInjection {
    pub enabled: bool,
    pub severity: Option<Severity>,
}

impl Default for LogInjection {
    fn default() -> Self {
        LogInjection {
            enabled: true,
            severity: None,
        }
    }
}

/// `anomaly`: failures or denials far above their own hour-of-week baseline.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Anomaly {
    pub enabled: bool,
    pub severity: Option<Severity>,
    /// Counting interval compared with the baseline of its hour of the week.
    pub interval: Span,
    /// How many robust spreads above the baseline's centre an interval must be.
    pub deviations: f64,
    /// An interval below this count never fires, whatever its baseline.
    pub min_count: u64,
    /// Observations per hour-of-week slot before it may fire (the warm-up).
    pub warm_up_weeks: u32,
}

impl Default for Anomaly {
    fn default() -> Self {
        Anomaly {
            enabled: true,
            severity: None,
            interval: secs(HOUR),
            deviations: 6.0,
            min_count: 50,
            warm_up_weeks: 2,
        }
    }
}

impl DetectorsConfig {
    /// Every problem with the section, each naming its path under `at` (`detectors`).
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        let positive = |out: &mut Vec<String>, path: String, v: u64| {
            if v == 0 {
                out.push(format!("{path}: must be at least 1"));
            }
        };
        if self.max_subjects == 0 {
            out.push(format!("{at}.max_subjects: must be at least 1"));
        }
        let windows: [(&str, Window); 6] = [
            ("brute_force", self.brute_force.window()),
            ("password_spraying", self.password_spraying.window()),
            ("credential_stuffing", self.credential_stuffing.window()),
            ("slow_brute_force", self.slow_brute_force.window()),
            (
                "success_after_failures",
                self.success_after_failures.window(),
            ),
            ("privilege_probing", self.privilege_probing.window()),
        ];
        for (name, w) in windows {
            w.problems(&format!("{at}.{name}"), &mut out);
        }
        positive(
            &mut out,
            format!("{at}.brute_force.threshold"),
            self.brute_force.threshold,
        );
        positive(
            &mut out,
            format!("{at}.password_spraying.distinct_principals"),
            self.password_spraying.distinct_principals,
        );
        positive(
            &mut out,
            format!("{at}.credential_stuffing.distinct_hosts"),
            self.credential_stuffing.distinct_hosts,
        );
        positive(
            &mut out,
            format!("{at}.credential_stuffing.failures"),
            self.credential_stuffing.failures,
        );
        positive(
            &mut out,
            format!("{at}.slow_brute_force.threshold"),
            self.slow_brute_force.threshold,
        );
        positive(
            &mut out,
            format!("{at}.success_after_failures.failures"),
            self.success_after_failures.failures,
        );
        positive(
            &mut out,
            format!("{at}.privilege_probing.distinct_resources"),
            self.privilege_probing.distinct_resources,
        );
        for (name, f) in [
            ("new_principal", &self.new_principal),
            ("new_client_for_principal", &self.new_client_for_principal),
        ] {
            if f.horizon.0.is_zero() {
                out.push(format!("{at}.{name}.horizon: must be longer than 0"));
            }
            if f.max_remembered == 0 {
                out.push(format!("{at}.{name}.max_remembered: must be at least 1"));
            }
        }
        if self.log_tampering.silence.0.is_zero() {
            out.push(format!("{at}.log_tampering.silence: must be longer than 0"));
        }
        let a = &self.anomaly;
        if a.interval.0.is_zero() || a.interval.0 > Duration::from_secs(HOUR) {
            out.push(format!(
                "{at}.anomaly.interval: must be longer than 0 and at most 1h (one hour-of-week slot)"
            ));
        }
        if !(a.deviations.is_finite() && a.deviations > 0.0) {
            out.push(format!("{at}.anomaly.deviations: must be a number above 0"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> DetectorsConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = parse("{}");
        assert_eq!(c, DetectorsConfig::default());
        assert_eq!(c.brute_force.threshold, 20);
        assert_eq!(c.brute_force.window.0, Duration::from_secs(300));
        assert_eq!(c.brute_force.window().bucket(), Duration::from_secs(30));
        assert!(c.problems("detectors").is_empty());
    }

    #[test]
    fn nonsense_is_reported_with_its_path() {
        let c = parse(
            "brute_force: {threshold: 0, window: 1m, bucket: 2m}\n\
             privilege_probing: {window: 0s}\n\
             new_principal: {horizon: 0s}\n\
             max_subjects: 0\n",
        );
        assert_eq!(
            c.problems("detectors"),
            [
                "detectors.max_subjects: must be at least 1",
                "detectors.brute_force.window: 1m is shorter than its bucket (2m)",
                "detectors.privilege_probing.window: must be longer than 0",
                "detectors.brute_force.threshold: must be at least 1",
                "detectors.new_principal.horizon: must be longer than 0",
            ]
        );
    }

    #[test]
    fn a_bad_duration_names_the_value() {
        let e = serde_yaml_ng::from_str::<DetectorsConfig>("brute_force: {window: fast}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`fast` is not a duration"), "{e}");
    }
}
