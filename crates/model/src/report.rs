//! The device report: the one shape in which device state enters Posture, whether
//! from the synthetic fleet, the Linux agent or the push API.
//!
//! A report is the device's whole current state; applying it replaces what the store
//! held for that device. [`DeviceReport::from_json`] and [`DeviceReport::validate`]
//! refuse a bad report whole, naming the field path and the reason.

use crate::ids::{DeviceId, GroupRef};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest string accepted in any report field.
pub const MAX_FIELD_LEN: usize = 4096;
/// Most software entries accepted in one report.
pub const MAX_SOFTWARE: usize = 20_000;
/// Most settings accepted in one report.
pub const MAX_SETTINGS: usize = 10_000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceReport {
    pub device_id: DeviceId,
    /// Monotonic per device; a report whose sequence is not above the stored one is
    /// acknowledged but changes nothing (idempotent re-delivery).
    pub sequence: u64,
    /// When the device collected this state; becomes the device's last-seen time.
    pub reported_at: DateTime<Utc>,
    #[serde(default)]
    pub device_name: Option<String>,
    pub os: OsInfo,
    #[serde(default)]
    pub group: Option<GroupRef>,
    #[serde(default)]
    pub software: Vec<InstalledSoftware>,
    /// Configuration settings as reported (`name → value`), evaluated by the
    /// configuration catalogue's rules.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    #[serde(default)]
    pub av: Option<AvState>,
    /// Other gathered facts (TLS settings, mitigation states, ...), PascalCase keys,
    /// carried into the InfoGatheringExport record.
    #[serde(default)]
    pub facts: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OsKind {
    Windows,
    Mac,
    Linux,
}
impl OsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OsKind::Windows => "windows",
            OsKind::Mac => "mac",
            OsKind::Linux => "linux",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OsInfo {
    pub kind: OsKind,
    /// MDE platform name: `Windows10`, `Windows11`, `WindowsServer2019`, `macOS`, `Linux`, ...
    pub platform: String,
    pub version: String,
    /// `x64`, `x86`, `arm64`.
    #[serde(default)]
    pub architecture: Option<String>,
    /// Linux distribution id and version (`debian`, `12`), from os-release.
    #[serde(default)]
    pub distro: Option<Distro>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Distro {
    pub id: String,
    pub version_id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstalledSoftware {
    pub vendor: String,
    pub name: String,
    pub version: String,
    /// CPE 2.3 formatted string; software with a CPE is "CPE software", without it
    /// goes to the non-CPE inventory.
    #[serde(default)]
    pub cpe: Option<String>,
    /// Package ecosystem for ecosystem-aware matching (`Debian:12`, `PyPI`, `npm`, ...).
    #[serde(default)]
    pub ecosystem: Option<String>,
    #[serde(default)]
    pub disk_paths: Vec<String>,
    #[serde(default)]
    pub registry_paths: Vec<String>,
    #[serde(default)]
    pub end_of_support: Option<EndOfSupport>,
    /// The source package when it differs from `name`/`version` (dpkg `Source:`):
    /// Debian and Ubuntu advisories are keyed by source package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndOfSupport {
    /// `None`, `EOS Version`, `Upcoming EOS Version`, `EOS Software`, `Upcoming EOS Software`.
    pub status: String,
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

pub const END_OF_SUPPORT_STATUSES: [&str; 5] = [
    "None",
    "EOS Version",
    "Upcoming EOS Version",
    "EOS Software",
    "Upcoming EOS Software",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AvState {
    /// 0 Active, 1 Passive, 2 Disabled, 3 Other, 4 EDRBlocked, 5 PassiveAudit; absent = unknown.
    #[serde(default)]
    pub mode: Option<u8>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub platform_version: Option<String>,
    #[serde(default)]
    pub signature_version: Option<String>,
    #[serde(default)]
    pub engine_updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub platform_updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub signature_updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub signature_published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cloud_protection: Option<String>,
    #[serde(default)]
    pub quick_scan: Option<ScanResult>,
    #[serde(default)]
    pub full_scan: Option<ScanResult>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanResult {
    /// `Completed`, `Canceled` or `Failed`.
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
    pub time: DateTime<Utc>,
}

pub const SCAN_STATUSES: [&str; 3] = ["Completed", "Canceled", "Failed"];

/// Why a report was refused: the JSON path of the offending field and the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{path}: {reason}")]
pub struct ReportError {
    pub path: String,
    pub reason: String,
}

impl ReportError {
    fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        ReportError {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

/// The JSON Schema of a device report (served at `/ingest/v1/schema`).
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(DeviceReport)).unwrap_or_default()
}

impl DeviceReport {
    /// Parses and validates one report. The error names the field path (`software[3].version`).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ReportError> {
        // Most reports are valid, and tracking every value's path costs about as much
        // again as the parse itself: only a report that fails is parsed again, for the
        // path of what failed.
        // UTF-8 is checked once for the whole text (a word at a time) rather than for
        // each of a report's ~1,000 strings as `from_slice` does: a tenth of the parse.
        // Text that is not UTF-8 is parsed as bytes below, for the error's path.
        let parsed = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| serde_json::from_str::<DeviceReport>(text).ok());
        let Some(report) = parsed else {
            return Err(Self::parse_error(bytes));
        };
        report.validate()?;
        Ok(report)
    }

    /// Why `bytes` does not parse as one report, naming the path of the value at fault.
    fn parse_error(bytes: &[u8]) -> ReportError {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        if let Err(e) = serde_path_to_error::deserialize::<_, DeviceReport>(&mut *de) {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_owned() } else { path };
            return ReportError::new(path, e.into_inner().to_string());
        }
        // One report per text: anything after it but whitespace (`{A}\n{B}`, `{A} junk`)
        // would otherwise be dropped silently.
        let trailing = de
            .end()
            .err()
            .map_or_else(String::new, |e| format!(" ({e})"));
        ReportError::new(
            "$",
            format!(
                "unexpected content after the report{trailing}; send several reports as NDJSON"
            ),
        )
    }

    /// Checks what the types alone do not: lengths, enumerations, CPE shape, years.
    pub fn validate(&self) -> Result<(), ReportError> {
        check_time("reportedAt", Some(&self.reported_at))?;
        check_text("deviceName", self.device_name.as_deref(), false)?;
        check_text("os.platform", Some(&self.os.platform), true)?;
        check_text("os.version", Some(&self.os.version), false)?;
        check_text("os.architecture", self.os.architecture.as_deref(), false)?;
        if let Some(g) = &self.group {
            check_text("group.name", Some(&g.name), true)?;
            if g.id == 0 && g.name != GroupRef::UNASSIGNED_NAME {
                return Err(ReportError::new(
                    "group.id",
                    "group id 0 is reserved for \"Unassigned\"",
                ));
            }
        }
        if self.software.len() > MAX_SOFTWARE {
            return Err(ReportError::new(
                "software",
                format!("at most {MAX_SOFTWARE} entries"),
            ));
        }
        for (i, sw) in self.software.iter().enumerate() {
            let p = |f: &str| format!("software[{i}].{f}");
            check_text_at(|| p("vendor"), Some(&sw.vendor), true)?;
            check_text_at(|| p("name"), Some(&sw.name), true)?;
            check_text_at(|| p("version"), Some(&sw.version), false)?;
            check_text_at(|| p("ecosystem"), sw.ecosystem.as_deref(), true)?;
            if let Some(cpe) = &sw.cpe {
                check_cpe23(cpe).map_err(|r| ReportError::new(p("cpe"), r))?;
            }
            for (j, d) in sw.disk_paths.iter().enumerate() {
                check_text_at(|| p(&format!("diskPaths[{j}]")), Some(d), true)?;
            }
            for (j, r) in sw.registry_paths.iter().enumerate() {
                check_text_at(|| p(&format!("registryPaths[{j}]")), Some(r), true)?;
            }
            if let Some(src) = &sw.source {
                check_text_at(|| p("source.name"), Some(&src.name), true)?;
                check_text_at(|| p("source.version"), Some(&src.version), true)?;
            }
            if let Some(date) = sw.end_of_support.as_ref().and_then(|e| e.date) {
                check_year(&p("endOfSupport.date"), date.year())?;
            }
            if let Some(eos) = &sw.end_of_support
                && !END_OF_SUPPORT_STATUSES.contains(&eos.status.as_str())
            {
                return Err(ReportError::new(
                    p("endOfSupport.status"),
                    format!("must be one of {}", END_OF_SUPPORT_STATUSES.join(", ")),
                ));
            }
        }
        if self.settings.len() > MAX_SETTINGS {
            return Err(ReportError::new(
                "settings",
                format!("at most {MAX_SETTINGS} entries"),
            ));
        }
        for (k, v) in &self.settings {
            check_text("settings", Some(k), true)?;
            check_text_at(|| format!("settings.{k}"), Some(v), false)?;
        }
        if let Some(av) = &self.av {
            if let Some(m) = av.mode
                && m > 5
            {
                return Err(ReportError::new("av.mode", "must be 0..5"));
            }
            check_time("av.engineUpdatedAt", av.engine_updated_at.as_ref())?;
            check_time("av.platformUpdatedAt", av.platform_updated_at.as_ref())?;
            check_time("av.signatureUpdatedAt", av.signature_updated_at.as_ref())?;
            check_time(
                "av.signaturePublishedAt",
                av.signature_published_at.as_ref(),
            )?;
            for (name, scan) in [("quickScan", &av.quick_scan), ("fullScan", &av.full_scan)] {
                if let Some(s) = scan {
                    check_time(&format!("av.{name}.time"), Some(&s.time))?;
                }
                if let Some(s) = scan
                    && !SCAN_STATUSES.contains(&s.status.as_str())
                {
                    return Err(ReportError::new(
                        format!("av.{name}.status"),
                        format!("must be one of {}", SCAN_STATUSES.join(", ")),
                    ));
                }
            }
        }
        for k in self.facts.keys() {
            check_text("facts", Some(k), true)?;
        }
        Ok(())
    }
}

/// Years the API's timestamp formats can write (four digits): 0001 to 9999.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Reports that passed [`DeviceReport::validate`], in order: the only way in is through
/// validation, so whoever applies them need not validate again (validation is about
/// half of what parsing a report costs).
#[derive(Clone, Debug, Default)]
pub struct ValidReports(Vec<DeviceReport>);

impl ValidReports {
    pub fn new() -> Self {
        ValidReports(Vec::new())
    }

    /// Parses and validates one report ([`DeviceReport::from_json`]) and adds it.
    pub fn push_json(&mut self, bytes: &[u8]) -> Result<(), ReportError> {
        self.0.push(DeviceReport::from_json(bytes)?);
        Ok(())
    }

    /// Validates `report` and adds it.
    pub fn push(&mut self, report: DeviceReport) -> Result<(), ReportError> {
        report.validate()?;
        self.0.push(report);
        Ok(())
    }

    pub fn as_slice(&self) -> &[DeviceReport] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Takes every report out, leaving the batch empty.
    pub fn drain(&mut self) -> std::vec::Drain<'_, DeviceReport> {
        self.0.drain(..)
    }
}

fn check_year(path: &str, year: i32) -> Result<(), ReportError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(ReportError::new(
            path,
            format!("year {year} is outside 0001..9999"),
        ))
    }
}

fn check_time(path: &str, value: Option<&DateTime<Utc>>) -> Result<(), ReportError> {
    value.map_or(Ok(()), |t| check_year(path, t.year()))
}

fn check_text(path: &str, value: Option<&str>, non_empty: bool) -> Result<(), ReportError> {
    check_text_at(|| path.to_owned(), value, non_empty)
}

/// [`check_text`] for a path that is built only if the value is refused (a report holds
/// thousands of fields; formatting each one's path cost more than the checks).
fn check_text_at(
    path: impl FnOnce() -> String,
    value: Option<&str>,
    non_empty: bool,
) -> Result<(), ReportError> {
    let Some(v) = value else { return Ok(()) };
    if non_empty && v.trim().is_empty() {
        return Err(ReportError::new(path(), "must not be empty"));
    }
    if v.len() > MAX_FIELD_LEN {
        return Err(ReportError::new(
            path(),
            format!("longer than {MAX_FIELD_LEN} bytes"),
        ));
    }
    let control = if v.is_ascii() {
        v.bytes().any(|b| b.is_ascii_control())
    } else {
        v.chars().any(char::is_control)
    };
    if control {
        return Err(ReportError::new(path(), "contains a control character"));
    }
    Ok(())
}

/// Structural check of a CPE 2.3 formatted string: `cpe:2.3:` then 11 components
/// (part, vendor, product, version, update, edition, language, sw_edition,
/// target_sw, target_hw, other), `\` escaping a colon.
pub fn check_cpe23(cpe: &str) -> Result<(), String> {
    let Some(rest) = cpe.strip_prefix("cpe:2.3:") else {
        return Err("must start with \"cpe:2.3:\"".into());
    };
    let mut parts = 1;
    let mut escaped = false;
    for c in rest.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, ':') => parts += 1,
            _ => {}
        }
    }
    if parts != 11 {
        return Err(format!(
            "must have 13 colon-separated components, found {}",
            parts + 2
        ));
    }
    match rest.as_bytes().first() {
        Some(b'a' | b'o' | b'h' | b'*' | b'-') => Ok(()),
        _ => Err("part must be a, o or h".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
      "deviceId": "9eaf3a8b5962e0e6b1af9ec756664a9b823df2d1", "sequence": 1,
      "reportedAt": "2026-11-20T10:00:00Z", "deviceName": "host1.contoso.com",
      "os": {"kind": "windows", "platform": "Windows11", "version": "10.0.22631.4460", "architecture": "x64"},
      "software": [{"vendor": "google", "name": "chrome", "version": "119.0.6045.105",
                    "cpe": "cpe:2.3:a:google:chrome:119.0.6045.105:*:*:*:*:*:*:*"}],
      "settings": {"FirewallEnabled": "1"}
    }"#;

    #[test]
    fn accepts_a_good_report() {
        let r = DeviceReport::from_json(GOOD.as_bytes()).unwrap();
        assert_eq!(r.software.len(), 1);
        assert_eq!(r.group, None);
    }

    #[test]
    fn text_that_is_not_utf8_is_refused_at_its_path_and_utf8_text_is_read_as_bytes_are() {
        // An invalid byte inside the device name: refused, naming the field.
        let mut bad = GOOD.as_bytes().to_vec();
        let at = GOOD.find("host1").unwrap();
        bad[at] = 0xff;
        let e = DeviceReport::from_json(&bad).unwrap_err();
        assert_eq!(e.path, "deviceName");
        assert!(e.reason.contains("unicode"), "{}", e.reason);
        // Non-ASCII text and escapes come out as a parse of the bytes gives them.
        let text = GOOD
            .replace("host1.contoso.com", "h\u{f4}te-\u{1f600}.contoso.com")
            .replace(r#""google""#, r#""goo\u0067le\\x""#);
        let r = DeviceReport::from_json(text.as_bytes()).unwrap();
        let from_bytes: DeviceReport = serde_json::from_slice(text.as_bytes()).unwrap();
        assert_eq!(r, from_bytes);
        assert_eq!(
            r.device_name.as_deref(),
            Some("h\u{f4}te-\u{1f600}.contoso.com")
        );
        assert_eq!(r.software[0].vendor, r"google\x");
    }

    #[test]
    fn names_the_failing_path() {
        let bad = GOOD.replace("\"version\": \"119.0.6045.105\"", "\"version\": 119");
        let e = DeviceReport::from_json(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "software[0].version");
        let bad = GOOD.replace("9eaf3a8b5962e0e6b1af9ec756664a9b823df2d1", "XYZ");
        assert_eq!(
            DeviceReport::from_json(bad.as_bytes()).unwrap_err().path,
            "deviceId"
        );
        let bad = GOOD.replace(
            "cpe:2.3:a:google:chrome:119.0.6045.105:*:*:*:*:*:*:*",
            "cpe:/a:google:chrome",
        );
        let e = DeviceReport::from_json(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "software[0].cpe");
        let bad = GOOD.replace("\"sequence\": 1", "\"sequence\": 1, \"surprise\": true");
        assert!(
            DeviceReport::from_json(bad.as_bytes())
                .unwrap_err()
                .reason
                .contains("surprise")
        );
        let bad = GOOD.replace("\"vendor\": \"google\"", "\"vendor\": \" \"");
        assert_eq!(
            DeviceReport::from_json(bad.as_bytes()).unwrap_err().path,
            "software[0].vendor"
        );
    }

    #[test]
    fn trailing_content_after_a_report_is_refused() {
        let compact =
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(GOOD).unwrap())
                .unwrap();
        for body in [
            format!("{compact}\n{compact}"),
            format!("{compact} GARBAGE"),
            format!("{compact}}}"),
        ] {
            let e = DeviceReport::from_json(body.as_bytes()).unwrap_err();
            assert_eq!(e.path, "$", "{body}");
            assert!(e.reason.contains("after the report"), "{e}");
        }
        // Surrounding whitespace is not content.
        assert!(DeviceReport::from_json(format!(" {compact} \n\n").as_bytes()).is_ok());
    }

    #[test]
    fn years_beyond_four_digits_are_refused() {
        let bad = GOOD.replace("2026-11-20T10:00:00Z", "+99999-01-01T00:00:00Z");
        let e = DeviceReport::from_json(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "reportedAt", "{e}");
        let bad = GOOD.replace(
            "\"settings\"",
            "\"av\": {\"fullScan\": {\"status\": \"Completed\", \"time\": \"-0001-01-01T00:00:00Z\"}}, \"settings\"",
        );
        let e = DeviceReport::from_json(bad.as_bytes()).unwrap_err();
        assert_eq!(e.path, "av.fullScan.time", "{e}");
        let edge = GOOD.replace("2026-11-20T10:00:00Z", "9999-12-31T23:59:59Z");
        assert!(DeviceReport::from_json(edge.as_bytes()).is_ok());
    }

    #[test]
    fn cpe_structure() {
        assert!(check_cpe23("cpe:2.3:a:vendor:prod\\:uct:1.0:*:*:*:*:*:*:*").is_ok());
        assert!(check_cpe23("cpe:2.3:a:vendor:product:1.0:*:*:*:*:*:*").is_err());
        assert!(check_cpe23("cpe:2.3:x:vendor:product:1.0:*:*:*:*:*:*:*").is_err());
    }
}
