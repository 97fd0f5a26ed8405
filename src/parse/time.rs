//! Every timestamp, UTC-offset, zone and epoch form the parsers read, in one place.
//!
//! - [`parse_utc_offset`]: a configured offset (`+01:00`, `-0530`, `+2`, `Z`), for the
//!   `utc_offset` of a log source and `replay --utc-offset`.
//! - [`parse_rfc3339`]: an RFC 3339 time (`…Z`, `…+01:00`, `…+0100`), as CloudEvents, log
//!   shippers and container runtimes write it; [`is_rfc3339`] checks the shape without reading.
//! - [`parse_rfc3339_or_epoch`]: an RFC 3339 time or epoch seconds/ms/µs/ns (applications' JSON).
//! - [`parse_stamp`] / [`parse_stamp_any`]: log4j's `%d` (`yyyy-MM-dd HH:mm:ss,SSS`, the
//!   default of every Kafka version) and its ISO 8601 variants, read with a per-thread date cache
//!   because every log line has one.
//! - [`DatePattern`]: a configured `%d{pattern}{zone}` of a log4j `PatternLayout`, in either
//!   dialect: a named format means what log4j 1.x (`log4j.properties`, Kafka before 4.0) or Log4j2
//!   (`log4j2.yaml`, Kafka 4.x) print for it, whichever the line shows.
//!
//! A stamp without a zone is in the zone `utc_offset_secs` east of UTC (the broker JVM's zone,
//! which Kafka's layout does not print).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// English month abbreviations, as syslog and `%d{MMM}` print them.
pub(crate) const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses a UTC offset: `+01:00`, `-0530`, `+2`, `Z`. Returns seconds east of UTC.
pub fn parse_utc_offset(s: &str) -> Result<i32, String> {
    let bad = || format!("`{s}` is not a UTC offset; expected e.g. +01:00, -05:30 or Z");
    if s == "Z" || s == "z" {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().map_err(|_| bad())?, 0)
    } else {
        let split = digits.len() - 2;
        (
            digits[..split].parse::<i32>().map_err(|_| bad())?,
            digits[split..].parse::<i32>().map_err(|_| bad())?,
        )
    };
    if h > 18 || m > 59 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// A zone at the start of `s`: `Z`, `±hh`, `±hhmm` or `±hh:mm`; its offset in seconds east of
/// UTC and the bytes it took.
pub(crate) fn read_zone(s: &[u8]) -> Option<(i32, usize)> {
    match s.first()? {
        b'Z' | b'z' => Some((0, 1)),
        sign @ (b'+' | b'-') => {
            let mut at = 1;
            let h = digits(s, &mut at, 2)?;
            if s.get(at) == Some(&b':') {
                at += 1;
            }
            let m = digits(s, &mut at, 2).unwrap_or(0);
            let secs = (h * 3600 + m * 60) as i32;
            Some((if *sign == b'+' { secs } else { -secs }, at))
        }
        _ => None,
    }
}

/// `s` is exactly a full zone: `Z`, `±hh:mm` or `±hhmm` (not `±hh`), as RFC 3339 times and
/// ISO 8601 log stamps end.
fn zone_suffix(s: &[u8]) -> Option<i32> {
    let (secs, used) = read_zone(s)?;
    (used == s.len() && matches!(used, 1 | 5 | 6)).then_some(secs)
}

/// A `%d{…}{zone}` option: `UTC`, `GMT`, `Z`, `GMT+01:00`, `UTC-05`, `+01:00`.
pub(crate) fn parse_zone(z: &str) -> Option<i32> {
    let z = z.trim();
    let rest = z
        .strip_prefix("UTC")
        .or_else(|| z.strip_prefix("GMT"))
        .unwrap_or(z);
    if rest.is_empty() || rest == "Z" {
        return Some(0);
    }
    let (secs, used) = read_zone(rest.as_bytes())?;
    (used == rest.len()).then_some(secs)
}

/// Parses an RFC 3339 timestamp (`2023-02-21T10:26:58.886604Z`, `2025-03-18T10:15:30+01:00`,
/// or `…+0100` as journalctl's `short-iso` writes it). Without a zone it is read as UTC.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s)
        .ok()
        .filter(|_| s.ends_with('Z') || s.ends_with('z'))
        .or_else(|| parse_rfc3339_offset(s))
}

/// RFC 3339 with a numeric offset, which humantime does not read.
fn parse_rfc3339_offset(s: &str) -> Option<SystemTime> {
    let Some(i) = s.rfind(['+', '-']).filter(|&i| i >= 19) else {
        // No zone: read as UTC.
        return humantime::parse_rfc3339_weak(s).ok();
    };
    let secs = zone_suffix(&s.as_bytes()[i..])?;
    let t = humantime::parse_rfc3339_weak(&s[..i]).ok()?;
    let shift = Duration::from_secs(u64::from(secs.unsigned_abs()));
    if secs >= 0 {
        t.checked_sub(shift)
    } else {
        t.checked_add(shift)
    }
}

/// `yyyy-mm-ddThh:mm:ss[.fff…](Z|±hh:mm)`: the shape of an RFC 3339 stamp, checked without
/// reading it (a line prefix is one only if it has this shape).
pub fn is_rfc3339(s: &[u8]) -> bool {
    if s.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    let shape = digits(0..4)
        && s[4] == b'-'
        && digits(5..7)
        && s[7] == b'-'
        && digits(8..10)
        && s[10] == b'T'
        && digits(11..13)
        && s[13] == b':'
        && digits(14..16)
        && s[16] == b':'
        && digits(17..19);
    shape
        && s[19..]
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'Z' | b'+' | b'-' | b':'))
}

/// An RFC 3339 time or an epoch number in seconds, milliseconds, microseconds or nanoseconds
/// (told apart by magnitude), as a number or a numeric string.
pub fn parse_rfc3339_or_epoch(text: &str) -> Option<SystemTime> {
    if let Some(t) = parse_rfc3339(text) {
        return Some(t);
    }
    let text = text.trim();
    if let Ok(n) = text.parse::<u64>() {
        let since_epoch = if n < 100_000_000_000 {
            Duration::from_secs(n)
        } else if n < 100_000_000_000_000 {
            Duration::from_millis(n)
        } else if n < 100_000_000_000_000_000 {
            Duration::from_micros(n)
        } else {
            Duration::from_nanos(n)
        };
        return UNIX_EPOCH.checked_add(since_epoch);
    }
    let n: f64 = text
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = if n < 1e11 {
        n
    } else if n < 1e14 {
        n / 1e3
    } else if n < 1e17 {
        n / 1e6
    } else {
        n / 1e9
    };
    UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

/// `yyyy-mm-dd hh:mm:ss,SSS` (23 bytes, log4j's default `%d`) in a zone `utc_offset_secs` east
/// of UTC. The hot path of every log line.
pub fn parse_stamp(s: &[u8], utc_offset_secs: i32) -> Option<SystemTime> {
    if s.len() != 23
        || s[4] != b'-'
        || s[7] != b'-'
        || s[10] != b' '
        || s[13] != b':'
        || s[16] != b':'
        || s[19] != b','
    {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (h, mi, sec, ms) = (
        num(&s[11..13])?,
        num(&s[14..16])?,
        num(&s[17..19])?,
        num(&s[20..23])?,
    );
    from_civil(
        [y, mo, d, h, mi, sec],
        ms as u32 * 1_000_000,
        utc_offset_secs,
    )
}

/// `yyyy-mm-dd[ T]hh:mm:ss[,.]fraction` with an optional zone (`Z`, `±hh:mm`, `±hhmm`); without
/// a zone, the stamp is in the zone `utc_offset_secs` east of UTC. Milliseconds are kept.
pub fn parse_stamp_any(s: &[u8], utc_offset_secs: i32) -> Option<SystemTime> {
    if s.len() < 19 || !(s[10] == b' ' || s[10] == b'T') {
        return None;
    }
    let mut base = [0u8; 23];
    base[..19].copy_from_slice(&s[..19]);
    base[10] = b' ';
    base[19] = b',';
    let mut rest = &s[19..];
    let mut ms = [b'0'; 3];
    if let Some((&sep, frac)) = rest.split_first() {
        if sep == b',' || sep == b'.' {
            let digits = frac.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            for (i, d) in frac[..digits.min(3)].iter().enumerate() {
                ms[i] = *d;
            }
            rest = &frac[digits..];
        }
    }
    base[20..23].copy_from_slice(&ms);
    let offset = match rest {
        [] => utc_offset_secs,
        _ => zone_suffix(rest)?,
    };
    parse_stamp(&base, offset)
}

/// `[year, month, day, hour, minute, second]` and nanoseconds in a zone `offset_secs` east of
/// UTC; `None` for an impossible field (month 13, hour 24, …) or a time before 1970.
#[inline]
pub(crate) fn from_civil(ymdhms: [i64; 6], nanos: u32, offset_secs: i32) -> Option<SystemTime> {
    let [y, mo, d, h, mi, sec] = ymdhms;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = days_cached(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - i64::from(offset_secs);
    UNIX_EPOCH.checked_add(Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// A time of day in a zone `offset_secs` east of UTC, on the latest day that puts it no later
/// than [`TIME_ONLY_SLACK_SECS`] after `reference` (now when `None`).
fn date_time_of_day(
    hms: [i64; 3],
    nanos: u32,
    offset_secs: i32,
    reference: Option<SystemTime>,
) -> Option<SystemTime> {
    let [h, mi, sec] = hms;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let reference = reference.unwrap_or_else(SystemTime::now);
    let ref_secs = i64::try_from(reference.duration_since(UNIX_EPOCH).ok()?.as_secs()).ok()?;
    let local_day = (ref_secs + i64::from(offset_secs)).div_euclid(86_400);
    let mut secs = local_day * 86_400 + h * 3600 + mi * 60 + sec - i64::from(offset_secs);
    if secs > ref_secs + TIME_ONLY_SLACK_SECS {
        secs -= 86_400;
    }
    UNIX_EPOCH.checked_add(Duration::new(u64::try_from(secs).ok()?, nanos))
}

/// [`days_from_civil`] for the last date seen on this thread: log lines come in date order.
fn days_cached(y: i64, m: i64, d: i64) -> i64 {
    use std::cell::Cell;
    thread_local! {
        static LAST: Cell<(i64, i64)> = const { Cell::new((-1, 0)) };
    }
    let key = (y * 100 + m) * 100 + d;
    LAST.with(|last| {
        let (k, days) = last.get();
        if k == key {
            return days;
        }
        let days = days_from_civil(y, m, d);
        last.set((key, days));
        days
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The number `b` spells in ASCII digits (all of them digits).
#[inline]
fn num(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// `n` ASCII digits at `*at`, advancing past them.
fn digits(s: &[u8], at: &mut usize, n: usize) -> Option<i64> {
    let v = num(s.get(*at..*at + n)?)?;
    *at += n;
    Some(v)
}

/// A compiled `%d{…}` pattern of a log4j `PatternLayout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern {
    parts: Vec<DatePart>,
    /// The parts are Kafka's `yyyy-MM-dd HH:mm:ss,SSS`: read by [`parse_stamp`].
    kafka_shape: bool,
    /// The zone from `%d{…}{UTC}`, in seconds east of UTC.
    zone_secs: Option<i32>,
    /// The pattern prints the time of day only (`ABSOLUTE`, `HH:mm:ss,SSS`): the date comes
    /// from a reference time (see [`DatePattern::read`]).
    time_only: bool,
}

/// Slack for a clock a little ahead of the reference time when a time-only stamp is dated.
const TIME_ONLY_SLACK_SECS: i64 = 3600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DatePart {
    Year,
    Month,
    MonthName,
    Day,
    Hour,
    Minute,
    Second,
    /// `S…` / `n…`: so many fraction digits.
    Fraction(u8),
    /// `X` (`Z` or `+hh`), `XX` / `Z` (`+hhmm`), `XXX` (`+hh:mm`): all read leniently.
    Zone,
    Lit(u8),
    /// `%d{UNIX}` / `%d{UNIX_MILLIS}`.
    UnixSecs,
    UnixMillis,
    /// Between date and time in `%d{ISO8601…}`: log4j 1.x prints a space, Log4j2 a `T`; either
    /// is read.
    DateTimeSep,
}
impl DatePattern {
    /// `%d`'s options: `{pattern or name}` and an optional `{zone}`.
    pub fn parse(options: &[&str]) -> Result<DatePattern, String> {
        let format = options.first().copied().unwrap_or("DEFAULT");
        // The named formats of log4j 1.x (`org.apache.log4j.helpers.*DateFormat`: ISO8601,
        // ABSOLUTE, DATE) and Log4j2 (`FixedDateFormat.FixedFormat`). They differ only for
        // `ISO8601`: `yyyy-MM-dd HH:mm:ss,SSS` in log4j 1.x, `yyyy-MM-dd'T'HH:mm:ss,SSS` in
        // Log4j2; the `T` stands for either (`DatePart::DateTimeSep`).
        let named = match format {
            "DEFAULT" | "" => Some("yyyy-MM-dd HH:mm:ss,SSS"),
            "DEFAULT_PERIOD" => Some("yyyy-MM-dd HH:mm:ss.SSS"),
            "DEFAULT_MICROS" => Some("yyyy-MM-dd HH:mm:ss,SSSSSS"),
            "DEFAULT_NANOS" => Some("yyyy-MM-dd HH:mm:ss,SSSSSSSSS"),
            "ISO8601" => Some("yyyy-MM-dd'T'HH:mm:ss,SSS"),
            "ISO8601_BASIC" => Some("yyyyMMdd'T'HHmmss,SSS"),
            "ISO8601_BASIC_PERIOD" => Some("yyyyMMdd'T'HHmmss.SSS"),
            "ISO8601_PERIOD" => Some("yyyy-MM-dd'T'HH:mm:ss.SSS"),
            "ISO8601_PERIOD_MICROS" => Some("yyyy-MM-dd'T'HH:mm:ss.SSSSSS"),
            "ISO8601_OFFSET_DATE_TIME_HH" => Some("yyyy-MM-dd'T'HH:mm:ss,SSSX"),
            "ISO8601_OFFSET_DATE_TIME_HHMM" => Some("yyyy-MM-dd'T'HH:mm:ss,SSSXX"),
            "ISO8601_OFFSET_DATE_TIME_HHCMM" => Some("yyyy-MM-dd'T'HH:mm:ss,SSSXXX"),
            "DATE" => Some("dd MMM yyyy HH:mm:ss,SSS"),
            "DATE_PERIOD" => Some("dd MMM yyyy HH:mm:ss.SSS"),
            "COMPACT" => Some("yyyyMMddHHmmssSSS"),
            "ABSOLUTE" => Some("HH:mm:ss,SSS"),
            "ABSOLUTE_PERIOD" => Some("HH:mm:ss.SSS"),
            "ABSOLUTE_MICROS" => Some("HH:mm:ss,SSSSSS"),
            "ABSOLUTE_NANOS" => Some("HH:mm:ss,SSSSSSSSS"),
            _ => None,
        };
        let either_sep = named.is_some_and(|n| n.contains("dd'T'HH"));
        let mut parts = match format {
            "UNIX" => vec![DatePart::UnixSecs],
            "UNIX_MILLIS" => vec![DatePart::UnixMillis],
            _ => Self::compile(named.unwrap_or(format))?,
        };
        if either_sep {
            if let Some(t) = parts.iter().position(|p| *p == DatePart::Lit(b'T')) {
                parts[t] = DatePart::DateTimeSep;
            }
        }
        let zone_secs = match options.get(1) {
            None => None,
            Some(z) => Some(parse_zone(z).ok_or_else(|| {
                format!("%d zone `{z}`: use UTC, GMT, GMT+hh:mm or ±hh:mm (named zones are not read; set utc_offset)")
            })?),
        };
        if options.len() > 2 {
            return Err("%d takes at most a pattern and a zone".to_string());
        }
        let kafka_shape = Self::compile("yyyy-MM-dd HH:mm:ss,SSS").is_ok_and(|k| k == parts);
        let time_only = !parts.contains(&DatePart::Year)
            && !matches!(parts[..], [DatePart::UnixSecs] | [DatePart::UnixMillis]);
        Ok(DatePattern {
            parts,
            kafka_shape,
            zone_secs,
            time_only,
        })
    }

    /// A `SimpleDateFormat` / `DateTimeFormatter` pattern of fixed-width numeric fields.
    fn compile(p: &str) -> Result<Vec<DatePart>, String> {
        let b = p.as_bytes();
        let mut parts = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'\'' {
                let close = p[i + 1..]
                    .find('\'')
                    .ok_or_else(|| format!("%d{{{p}}}: unclosed quote"))?;
                if close == 0 {
                    parts.push(DatePart::Lit(b'\''));
                }
                parts.extend(p[i + 1..i + 1 + close].bytes().map(DatePart::Lit));
                i += close + 2;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                parts.push(DatePart::Lit(c));
                i += 1;
                continue;
            }
            let n = b[i..].iter().take_while(|&&x| x == c).count();
            let part = match (c, n) {
                (b'y', 4) | (b'u', 4) => DatePart::Year,
                (b'M', 2) => DatePart::Month,
                (b'M', 3) => DatePart::MonthName,
                (b'd', 2) => DatePart::Day,
                (b'H', 2) => DatePart::Hour,
                (b'm', 2) => DatePart::Minute,
                (b's', 2) => DatePart::Second,
                (b'S' | b'n', 1..=9) => DatePart::Fraction(n as u8),
                (b'X', 1..=3) | (b'Z', 1..=2) | (b'x', 1..=3) => DatePart::Zone,
                _ => {
                    return Err(format!(
                        "%d{{{p}}}: `{}` is not supported (use yyyy, MM, MMM, dd, HH, mm, ss, S…, X…/Z and fixed text)",
                        &p[i..i + n]
                    ))
                }
            };
            parts.push(part);
            i += n;
        }
        let has = |p: DatePart| parts.contains(&p);
        let has_month = has(DatePart::Month) || has(DatePart::MonthName);
        let has_date = has(DatePart::Year) || has_month || has(DatePart::Day);
        let mut need = vec![
            (DatePart::Hour, "HH"),
            (DatePart::Minute, "mm"),
            (DatePart::Second, "ss"),
        ];
        // A time of day alone (`ABSOLUTE`) is dated by the reader; a partial date is refused.
        if has_date {
            need.extend([(DatePart::Year, "yyyy"), (DatePart::Day, "dd")]);
            if !has_month {
                return Err(format!(
                    "%d{{{p}}} has no `MM`; the exporter needs the full date (or only the time of day)"
                ));
            }
        }
        for (part, name) in need {
            if !has(part) {
                return Err(format!(
                    "%d{{{p}}} has no `{name}`; the exporter needs the full date and time (or only the time of day)"
                ));
            }
        }
        Ok(parts)
    }

    /// Reads a stamp at the start of `s`: the time and the bytes it took. A time of day without
    /// a date (`%d{ABSOLUTE}`) is put on the latest day that does not place it more than an hour
    /// after `reference` (the time the line was read when `None`; a replay passes the file's
    /// modification time): log lines are written before they are read.
    pub fn read(
        &self,
        s: &[u8],
        utc_offset_secs: i32,
        reference: Option<SystemTime>,
    ) -> Option<(SystemTime, usize)> {
        if self.kafka_shape {
            let t = parse_stamp(s.get(..23)?, self.zone_secs.unwrap_or(utc_offset_secs))?;
            return Some((t, 23));
        }
        let mut at = 0;
        let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut nanos) = (0, 0, 0, 0, 0, 0, 0u32);
        let mut zone = None;
        for part in &self.parts {
            match *part {
                DatePart::Lit(c) => {
                    if s.get(at) != Some(&c) {
                        return None;
                    }
                    at += 1;
                }
                DatePart::DateTimeSep => {
                    if !matches!(s.get(at), Some(b' ' | b'T')) {
                        return None;
                    }
                    at += 1;
                }
                DatePart::Year => y = digits(s, &mut at, 4)?,
                DatePart::Month => mo = digits(s, &mut at, 2)?,
                DatePart::MonthName => {
                    let name = s.get(at..at + 3)?;
                    mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))? as i64 + 1;
                    at += 3;
                }
                DatePart::Day => d = digits(s, &mut at, 2)?,
                DatePart::Hour => h = digits(s, &mut at, 2)?,
                DatePart::Minute => mi = digits(s, &mut at, 2)?,
                DatePart::Second => sec = digits(s, &mut at, 2)?,
                DatePart::Fraction(n) => {
                    let v = digits(s, &mut at, usize::from(n))?;
                    nanos = (v * 10i64.pow(9 - u32::from(n))) as u32;
                }
                DatePart::Zone => {
                    let (secs, used) = read_zone(&s[at..])?;
                    zone = Some(secs);
                    at += used;
                }
                DatePart::UnixSecs | DatePart::UnixMillis => {
                    let n = s.iter().take(16).take_while(|b| b.is_ascii_digit()).count();
                    let v: u64 = std::str::from_utf8(&s[..n]).ok()?.parse().ok()?;
                    let d = if *part == DatePart::UnixSecs {
                        Duration::from_secs(v)
                    } else {
                        Duration::from_millis(v)
                    };
                    return Some((UNIX_EPOCH.checked_add(d)?, n));
                }
            }
        }
        let offset = zone.or(self.zone_secs).unwrap_or(utc_offset_secs);
        if self.time_only {
            let t = date_time_of_day([h, mi, sec], nanos, offset, reference)?;
            return Some((t, at));
        }
        let t = from_civil([y, mo, d, h, mi, sec], nanos, offset)?;
        Some((t, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+01:00"), Ok(3600));
        assert_eq!(parse_utc_offset("-0530"), Ok(-19800));
        assert_eq!(parse_utc_offset("+2"), Ok(7200));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert!(parse_utc_offset("01:00").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
    }

    #[test]
    fn rfc3339_with_zone_or_offset() {
        let z = parse_rfc3339("2021-01-01T12:34:56.789Z").unwrap();
        assert_eq!(
            z.duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_millis(1_609_504_496_789)
        );
        let off = parse_rfc3339("2021-01-01T13:34:56.789+01:00").unwrap();
        assert_eq!(off, z);
        let neg = parse_rfc3339("2021-01-01T11:34:56.789-01:00").unwrap();
        assert_eq!(neg, z);
        assert_eq!(parse_rfc3339("2021-01-01T13:34:56.789+0100"), Some(z));
        assert_eq!(
            parse_rfc3339("2021-01-01T12:34:56"),
            Some(UNIX_EPOCH + Duration::from_secs(1_609_504_496))
        );
        assert!(parse_rfc3339("yesterday").is_none());
    }

    #[test]
    fn epoch_units() {
        let t = |s: &str| {
            parse_rfc3339_or_epoch(s)
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
        };
        assert_eq!(t("1704164645"), Duration::from_secs(1_704_164_645));
        assert_eq!(t("1704164645.5"), Duration::from_millis(1_704_164_645_500));
        assert_eq!(
            t("1704164645123456789"),
            Duration::from_nanos(1_704_164_645_123_456_789)
        );
        assert_eq!(t("1704164645123"), Duration::from_millis(1_704_164_645_123));
        assert_eq!(
            t("1704164645123456"),
            Duration::from_micros(1_704_164_645_123_456)
        );
        assert!(parse_rfc3339_or_epoch("-5").is_none());
        assert!(parse_rfc3339_or_epoch("soon").is_none());
    }

    #[test]
    fn log4j_stamps_in_a_zone() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_701_976_546);
        assert_eq!(parse_stamp(b"2026-11-26 14:06:16,546", 0), Some(t));
        assert_eq!(
            parse_stamp(b"2026-11-26 15:06:16,546", 3600),
            Some(t),
            "an offset east of UTC is subtracted"
        );
        assert_eq!(parse_stamp(b"2026-13-26 14:06:16,546", 0), None);
        assert_eq!(parse_stamp_any(b"2026-11-26T14:06:16.546Z", 3600), Some(t));
        assert_eq!(
            parse_stamp_any(b"2026-11-26T15:06:16.546+01:00", 0),
            Some(t)
        );
        assert_eq!(
            parse_stamp_any(b"2026-11-26T15:06:16.546123+0100", 0),
            Some(t)
        );
        assert_eq!(parse_stamp_any(b"2026-11-26 15:06:16,546", 3600), Some(t));
        assert_eq!(parse_stamp_any(b"2026-11-26T15:06:16.546+01", 0), None);
        assert_eq!(parse_stamp_any(b"2026-11-26T15:06:16.546+01:", 0), None);
    }

    #[test]
    fn zones() {
        assert_eq!(parse_zone("UTC"), Some(0));
        assert_eq!(parse_zone("GMT+01:00"), Some(3600));
        assert_eq!(parse_zone("UTC-05"), Some(-18000));
        assert_eq!(parse_zone("+0130"), Some(5400));
        assert_eq!(parse_zone("Europe/Paris"), None);
        assert_eq!(read_zone(b"+01:00 INFO"), Some((3600, 6)));
    }
}
