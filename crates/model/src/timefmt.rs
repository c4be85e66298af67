//! The timestamp formats of the API, each written once.
//!
//! The documented examples use several formats; decisions.md assigns one per field:
//! * [`seen`]: first/last-seen fields, `2020-12-30 11:07:15`
//! * [`millis_space`]: secure-config `timestamp` and `softwareLastSeenTimestamp`, `2021-01-11 09:47:58.854`
//! * [`iso_z`]: deviceavinfo times and `eventTimestamp`, `2022-08-02T18:40:15.882Z` (millis only when non-zero)
//! * [`offset_date`]: `endOfSupportDate`, `2021-05-11T00:00:00+00:00`
//! * [`generated`]: `generatedTime`, `2021-01-11T11:01:00Z`
//! * [`time_path`]: snapshot path and skiptoken `TimePath`, `2021-01-11/1101/`
//!
//! The hot formatters write into a caller buffer without allocating.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

fn push2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}
fn push3(out: &mut String, v: u32) {
    out.push((b'0' + (v / 100 % 10) as u8) as char);
    push2(out, v % 100);
}
fn push_date(out: &mut String, t: &DateTime<Utc>, sep: char) {
    let y = t.year().clamp(0, 9999) as u32;
    push2(out, y / 100);
    push2(out, y % 100);
    out.push(sep);
    push2(out, t.month());
    out.push(sep);
    push2(out, t.day());
}
fn push_hms(out: &mut String, t: &DateTime<Utc>) {
    push2(out, t.hour());
    out.push(':');
    push2(out, t.minute());
    out.push(':');
    push2(out, t.second());
}

/// `2020-12-30 11:07:15`
pub fn write_seen(out: &mut String, t: &DateTime<Utc>) {
    push_date(out, t, '-');
    out.push(' ');
    push_hms(out, t);
}
pub fn seen(t: &DateTime<Utc>) -> String {
    let mut s = String::with_capacity(19);
    write_seen(&mut s, t);
    s
}

/// `2021-01-11 09:47:58.854`
pub fn write_millis_space(out: &mut String, t: &DateTime<Utc>) {
    write_seen(out, t);
    out.push('.');
    push3(out, t.timestamp_subsec_millis().min(999));
}
pub fn millis_space(t: &DateTime<Utc>) -> String {
    let mut s = String::with_capacity(23);
    write_millis_space(&mut s, t);
    s
}

/// `2022-08-02T18:40:15.882Z`, or `2022-08-02T18:40:15Z` when the milliseconds are zero
/// (both forms appear in the documented deviceavinfo example).
pub fn write_iso_z(out: &mut String, t: &DateTime<Utc>) {
    push_date(out, t, '-');
    out.push('T');
    push_hms(out, t);
    let ms = t.timestamp_subsec_millis().min(999);
    if ms != 0 {
        out.push('.');
        push3(out, ms);
    }
    out.push('Z');
}
pub fn iso_z(t: &DateTime<Utc>) -> String {
    let mut s = String::with_capacity(24);
    write_iso_z(&mut s, t);
    s
}

/// `2021-05-11T00:00:00+00:00`
pub fn offset_date(d: &NaiveDate) -> String {
    format!("{}T00:00:00+00:00", d.format("%Y-%m-%d"))
}

/// `2021-01-11T11:01:00Z` (minute precision).
pub fn generated(t: &DateTime<Utc>) -> String {
    let t = floor_minute(t);
    t.format("%Y-%m-%dT%H:%M:00Z").to_string()
}

/// `2021-01-11/1101/`
pub fn time_path(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d/%H%M/").to_string()
}

/// Inverse of [`time_path`].
pub fn parse_time_path(s: &str) -> Option<DateTime<Utc>> {
    let trimmed = s.strip_suffix('/')?;
    let naive = NaiveDateTime::parse_from_str(&format!("{trimmed}00"), "%Y-%m-%d/%H%M%S").ok()?;
    Some(Utc.from_utc_datetime(&naive))
}

pub fn floor_minute(t: &DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(60) * 60;
    Utc.timestamp_opt(secs, 0).single().unwrap_or(*t)
}

/// Parses an ISO 8601 date (`2021-05-19`, taken as midnight UTC) or date-time with
/// an offset or `Z` (`2021-05-19T18:35:49.924Z`). A date-time without zone is taken as UTC.
pub fn parse_date_or_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    let date = s.strip_suffix('Z').unwrap_or(s);
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| Utc.from_utc_datetime(&n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn formats_match_documented_examples() {
        assert_eq!(seen(&t("2020-12-30T11:07:15.999Z")), "2020-12-30 11:07:15");
        assert_eq!(
            millis_space(&t("2021-01-11T09:47:58.854Z")),
            "2021-01-11 09:47:58.854"
        );
        assert_eq!(
            iso_z(&t("2022-08-02T18:40:15.882Z")),
            "2022-08-02T18:40:15.882Z"
        );
        assert_eq!(iso_z(&t("2022-08-02T19:40:45Z")), "2022-08-02T19:40:45Z");
        assert_eq!(
            generated(&t("2021-01-11T11:01:59Z")),
            "2021-01-11T11:01:00Z"
        );
        assert_eq!(time_path(&t("2021-01-11T11:01:00Z")), "2021-01-11/1101/");
        assert_eq!(
            parse_time_path("2021-01-11/1101/"),
            Some(t("2021-01-11T11:01:00Z"))
        );
        assert_eq!(
            offset_date(&NaiveDate::from_ymd_opt(2021, 5, 11).unwrap()),
            "2021-05-11T00:00:00+00:00"
        );
    }

    #[test]
    fn parses_since_time_forms() {
        assert_eq!(
            parse_date_or_datetime("2021-05-19"),
            Some(t("2021-05-19T00:00:00Z"))
        );
        assert_eq!(
            parse_date_or_datetime("2021-05-19T18:35:49.924Z"),
            Some(t("2021-05-19T18:35:49.924Z"))
        );
        assert_eq!(
            parse_date_or_datetime("2021-05-19T18:35:49"),
            Some(t("2021-05-19T18:35:49Z"))
        );
        assert_eq!(
            parse_date_or_datetime("2021-05-19T20:35:49+02:00"),
            Some(t("2021-05-19T18:35:49Z"))
        );
        assert_eq!(parse_date_or_datetime("yesterday"), None);
        assert_eq!(parse_date_or_datetime("2021-13-40"), None);
    }
}
