//! The log's own time, as found in a record.
//!
//! Some formats carry a zone (RFC 3339 high-resolution timestamps, CEF `rt=`
//! in GMT); PAN-OS CSV times carry none and are read in a configured zone
//! later, so parsing stays free of configuration.

use jiff::{Timestamp, civil::DateTime, tz::TimeZone};

/// A time taken from a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTime {
    /// A point in time (the text named its offset or zone).
    Zoned(Timestamp),
    /// A wall-clock time without zone, to be read in the configured zone.
    Civil(DateTime),
}

impl LogTime {
    /// Seconds since the Unix epoch, reading civil times in `tz`.
    pub fn to_unix_seconds(self, tz: &TimeZone) -> Option<f64> {
        let ts = match self {
            LogTime::Zoned(ts) => ts,
            LogTime::Civil(dt) => tz.to_timestamp(dt).ok()?,
        };
        Some(ts.as_millisecond() as f64 / 1000.0)
    }
}

/// `YYYY/MM/DD HH:MM:SS` (PAN-OS receive and generate times).
pub fn parse_panos(text: &str) -> Option<LogTime> {
    let text = text.trim();
    if text.len() != 19 {
        return None;
    }
    let dt = DateTime::strptime("%Y/%m/%d %H:%M:%S", text).ok()?;
    Some(LogTime::Civil(dt))
}

/// RFC 3339 with an offset (`2021-10-26T15:05:03.440-07:00`).
pub fn parse_rfc3339(text: &str) -> Option<LogTime> {
    text.trim().parse::<Timestamp>().ok().map(LogTime::Zoned)
}

/// CEF/LEEF `Mmm dd yyyy HH:MM:SS ZONE` (`Mar 12 2024 10:15:02 GMT`); a zone
/// other than GMT/UTC/Z is not trusted and the time is read as civil.
pub fn parse_cef(text: &str) -> Option<LogTime> {
    let text = text.trim();
    let (clock, zone) = match text.rsplit_once(' ') {
        Some((clock, zone)) if zone.chars().all(|c| c.is_ascii_alphabetic()) => (clock, Some(zone)),
        _ => (text, None),
    };
    let dt = DateTime::strptime("%b %d %Y %H:%M:%S", clock).ok()?;
    match zone {
        Some(z) if ["GMT", "UTC", "Z"].contains(&z.to_ascii_uppercase().as_str()) => {
            TimeZone::UTC.to_timestamp(dt).ok().map(LogTime::Zoned)
        }
        _ => Some(LogTime::Civil(dt)),
    }
}

/// Any of the formats above, tried in turn (GUI exports vary).
pub fn parse_any(text: &str) -> Option<LogTime> {
    parse_panos(text)
        .or_else(|| parse_rfc3339(text))
        .or_else(|| parse_cef(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_panos_is_civil_and_read_in_zone() {
        let t = parse_panos("2021/07/06 18:05:12").unwrap();
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(t.to_unix_seconds(&tokyo), Some(1625562312.0));
    }

    #[test]
    fn time_rfc3339_keeps_milliseconds() {
        let t = parse_rfc3339("2025-06-02T18:50:09.162-03:00").unwrap();
        assert_eq!(t.to_unix_seconds(&TimeZone::UTC), Some(1748901009.162));
    }

    #[test]
    fn time_cef_gmt_is_zoned() {
        let t = parse_cef("Mar 12 2024 10:15:02 GMT").unwrap();
        let tokyo = TimeZone::get("Asia/Tokyo").unwrap();
        assert_eq!(t.to_unix_seconds(&tokyo), Some(1710238502.0));
    }

    #[test]
    fn time_rejects_impossible_dates() {
        assert_eq!(parse_panos("2020/00/00 00:00:00"), None);
        assert_eq!(parse_any("yesterday"), None);
    }
}
