//! Importer for NVD CVE API 2.0 JSON.
//!
//! Accepted documents:
//!
//! * the API response / feed shape `{"vulnerabilities": [{"cve": {...}}, ...], ...}`
//!   (other top-level keys such as `resultsPerPage` or `timestamp` are ignored);
//! * a single `{"cve": {...}}` item;
//! * a single bare `cve` object (`{"id": "CVE-...", ...}`), as
//!   `fkie-cad/nvd-json-data-feeds` stores one record per file.
//!
//! Only the fields Posture needs are read; unknown fields are ignored, and a
//! `null` list is read as empty. Parsing is all-or-nothing: the whole document
//! is checked for JSON syntax first, then every record is decoded and
//! validated, and only if all succeed are the records returned. Errors carry
//! the file name, line and column and, for a record, its index in
//! `vulnerabilities` and its CVE id.
//!
//! Validation: every record needs an `id` of the shape `CVE-YYYY-NNNN…`,
//! parsable `published`/`lastModified` timestamps, operators `AND`/`OR`, and
//! every `criteria` must be a valid CPE 2.3 name.
//!
//! # Derived fields
//!
//! * `description`: the first description with `lang` `en` (else the first
//!   description, else empty).
//! * `cvss`: from `cvssMetricV31`, else `cvssMetricV30`, else `cvssMetricV2`
//!   (CVSS v4.0 is not used); within the chosen list the metric with `"type":
//!   "Primary"`, else the first. Severity is normalised to `Low`, `Medium`,
//!   `High`, `Critical` (v3: `cvssData.baseSeverity`; v2: the metric's
//!   `baseSeverity`, which has no Critical; if missing or unknown it is
//!   derived from the score). A chosen metric with score 0 or severity `NONE`
//!   yields `cvss: None` (no fallback to an older CVSS version).
//! * `cwes`: the distinct `weaknesses[].description[].value` strings, in order
//!   (including NVD's `NVD-CWE-Other` / `NVD-CWE-noinfo`).
//! * `exploit_referenced`: some reference carries the tag `Exploit`.
//! * `cisa_exploit_add`: NVD's copy of the KEV `dateAdded`, when present.

use std::io::Read;

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::cpe::Cpe;
use crate::import::{ImportError, Source, is_cve_id, nullable};

/// One CVE as Posture stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    pub id: String,
    /// NVD publication time (UTC; NVD gives no zone).
    pub published: NaiveDateTime,
    pub last_modified: NaiveDateTime,
    /// `Analyzed`, `Modified`, `Received`, `Rejected`, ... as published.
    pub vuln_status: String,
    /// English description.
    pub description: String,
    pub cvss: Option<Cvss>,
    pub cwes: Vec<String>,
    pub configurations: Vec<Configuration>,
    /// Some reference is tagged `Exploit`.
    pub exploit_referenced: bool,
    /// NVD's `cisaExploitAdd` (the date CISA added the CVE to KEV), if present.
    #[serde(default)]
    pub cisa_exploit_add: Option<NaiveDate>,
    /// The feed the record came from: `"nvd"`.
    pub source: String,
}

/// The chosen CVSS metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `"3.1"`, `"3.0"` or `"2.0"`.
    pub version: String,
    pub base_score: f64,
    /// `Low`, `Medium`, `High` or `Critical`.
    pub severity: String,
    pub vector: String,
}

/// Boolean operator of a configuration or node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operator {
    And,
    Or,
}

/// One entry of a CVE's `configurations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    /// How the nodes combine; `None` (absent) means OR.
    pub operator: Option<Operator>,
    pub negate: bool,
    pub nodes: Vec<Node>,
}

/// A node: a list of CPE matches combined by `operator`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub operator: Operator,
    pub negate: bool,
    pub cpe_match: Vec<CpeMatch>,
}

/// One `cpeMatch` entry: a criteria CPE name, optionally with a version range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpeMatch {
    pub vulnerable: bool,
    pub criteria: Cpe,
    /// The criteria exactly as the feed wrote it.
    pub criteria_text: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
    pub match_criteria_id: Option<String>,
}

impl CpeMatch {
    /// `true` when any of the four range bounds is present.
    pub fn has_range(&self) -> bool {
        self.version_start_including.is_some()
            || self.version_start_excluding.is_some()
            || self.version_end_including.is_some()
            || self.version_end_excluding.is_some()
    }
}

// ---------------------------------------------------------------------------
// Wire shapes (private).

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    cve: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct RawItem {
    cve: Option<RawCve>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: Option<String>,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    cisa_exploit_add: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    descriptions: Vec<RawLangString>,
    #[serde(default, deserialize_with = "nullable")]
    metrics: RawMetrics,
    #[serde(default, deserialize_with = "nullable")]
    weaknesses: Vec<RawWeakness>,
    #[serde(default, deserialize_with = "nullable")]
    configurations: Vec<RawConfiguration>,
    #[serde(default, deserialize_with = "nullable")]
    references: Vec<RawReference>,
}

#[derive(Deserialize)]
struct RawLangString {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetrics {
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v31: Vec<RawMetricV3>,
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v30: Vec<RawMetricV3>,
    #[serde(default, deserialize_with = "nullable")]
    cvss_metric_v2: Vec<RawMetricV2>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetricV3 {
    #[serde(rename = "type")]
    kind: Option<String>,
    cvss_data: RawCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetricV2 {
    #[serde(rename = "type")]
    kind: Option<String>,
    cvss_data: RawCvssData,
    base_severity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: Option<String>,
    base_score: Option<f64>,
    base_severity: Option<String>,
}

#[derive(Deserialize)]
struct RawWeakness {
    #[serde(default, deserialize_with = "nullable")]
    description: Vec<RawLangString>,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(default, deserialize_with = "nullable")]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfiguration {
    operator: Option<String>,
    negate: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    operator: Option<String>,
    negate: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    cpe_match: Vec<RawCpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCpeMatch {
    vulnerable: bool,
    criteria: String,
    match_criteria_id: Option<String>,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

// ---------------------------------------------------------------------------

/// Parses an NVD CVE API 2.0 document (see the [module documentation](self)).
///
/// `file_name` is only used in errors. On any error nothing is returned.
pub fn parse_nvd(bytes: &[u8], file_name: &str) -> Result<Vec<CveRecord>, ImportError> {
    let src = Source::decode(bytes, file_name)?;
    // Pass 1: syntax of the whole document, and the slices of the records.
    let top: Top<'_> =
        serde_json::from_str(src.text).map_err(|e| src.json_error(&e, 0, "document"))?;

    if let Some(items) = top.vulnerabilities {
        let mut out = Vec::with_capacity(items.len());
        for (i, raw) in items.iter().enumerate() {
            let text = raw.get();
            let base = src.offset_of(text);
            let ctx = format!("vulnerabilities[{i}]");
            let item: RawItem =
                serde_json::from_str(text).map_err(|e| src.json_error(&e, base, &ctx))?;
            let Some(cve) = item.cve else {
                return Err(src.error_at(base, format!("{ctx}: missing `cve` object")));
            };
            out.push(convert(cve, &src, text, &ctx)?);
        }
        Ok(out)
    } else if let Some(raw) = top.cve {
        let text = raw.get();
        let base = src.offset_of(text);
        let cve: RawCve =
            serde_json::from_str(text).map_err(|e| src.json_error(&e, base, "cve"))?;
        Ok(vec![convert(cve, &src, text, "cve")?])
    } else if top.id.is_some() {
        let cve: RawCve =
            serde_json::from_str(src.text).map_err(|e| src.json_error(&e, 0, "cve"))?;
        Ok(vec![convert(cve, &src, src.text, "cve")?])
    } else {
        let start = src.text.len() - src.text.trim_start().len();
        Err(src.error_at(
            start,
            "not an NVD CVE document: expected a `vulnerabilities` array, a `cve` object or a bare CVE object with an `id`",
        ))
    }
}

/// Reads all of `reader` and parses it with [`parse_nvd`]. (The document is
/// buffered: validation is all-or-nothing anyway.)
pub fn parse_nvd_reader(
    mut reader: impl Read,
    file_name: &str,
) -> Result<Vec<CveRecord>, ImportError> {
    let mut buf = Vec::new();
    reader.read_to_end(&mut buf).map_err(|e| ImportError {
        file: file_name.to_owned(),
        line: 0,
        column: 0,
        reason: format!("read error: {e}"),
    })?;
    parse_nvd(&buf, file_name)
}

/// Parses NVD's timestamps (`2023-04-14T19:15:09.867`, also with a zone).
pub(crate) fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| {
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.naive_utc())
        })
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.strip_suffix('Z')?, "%Y-%m-%dT%H:%M:%S%.f").ok()
        })
}

fn convert(cve: RawCve, src: &Source<'_>, text: &str, ctx: &str) -> Result<CveRecord, ImportError> {
    let base = src.offset_of(text);
    let id_pos = || src.find_in(text, "\"id\"");
    let id = match cve.id {
        Some(id) => id,
        None => return Err(src.error_at(base, format!("{ctx}: cve without an `id`"))),
    };
    if !is_cve_id(&id) {
        return Err(src.error_at(
            id_pos(),
            format!("{ctx}: `{id}` is not a CVE id (CVE-YYYY-NNNN)"),
        ));
    }
    let ctx = format!("{ctx} ({id})");
    let time = |name: &str, v: Option<String>| -> Result<NaiveDateTime, ImportError> {
        let key = format!("\"{name}\"");
        match v {
            None => Err(src.error_at(id_pos(), format!("{ctx}: missing `{name}`"))),
            Some(s) => parse_timestamp(&s).ok_or_else(|| {
                src.error_at(
                    src.find_in(text, &key),
                    format!("{ctx}: `{name}` is not a timestamp: `{s}`"),
                )
            }),
        }
    };
    let published = time("published", cve.published)?;
    let last_modified = time("lastModified", cve.last_modified)?;
    let cisa_exploit_add = match cve.cisa_exploit_add {
        None => None,
        Some(s) => Some(
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
                src.error_at(
                    src.find_in(text, "\"cisaExploitAdd\""),
                    format!("{ctx}: `cisaExploitAdd` is not a date: `{s}`"),
                )
            })?,
        ),
    };

    let description = cve
        .descriptions
        .iter()
        .find(|d| d.lang.eq_ignore_ascii_case("en"))
        .or(cve.descriptions.first())
        .map(|d| d.value.clone())
        .unwrap_or_default();

    let mut cwes: Vec<String> = Vec::new();
    for w in &cve.weaknesses {
        for d in &w.description {
            if !d.value.is_empty() && !cwes.contains(&d.value) {
                cwes.push(d.value.clone());
            }
        }
    }

    let exploit_referenced = cve.references.iter().any(|r| {
        r.tags
            .iter()
            .any(|t| t.trim().eq_ignore_ascii_case("exploit"))
    });

    let mut configurations = Vec::with_capacity(cve.configurations.len());
    for (ci, c) in cve.configurations.into_iter().enumerate() {
        let op_err = |op: &str| {
            src.error_at(
                src.find_in(text, &format!("\"{op}\"")),
                format!("{ctx}: configurations[{ci}]: operator must be AND or OR, not `{op}`"),
            )
        };
        let operator = match c.operator.as_deref() {
            None => None,
            Some(op) => Some(parse_operator(op).ok_or_else(|| op_err(op))?),
        };
        let mut nodes = Vec::with_capacity(c.nodes.len());
        for n in c.nodes {
            let operator = match n.operator.as_deref() {
                None => Operator::Or,
                Some(op) => parse_operator(op).ok_or_else(|| op_err(op))?,
            };
            let mut cpe_match = Vec::with_capacity(n.cpe_match.len());
            for m in n.cpe_match {
                let criteria = Cpe::parse(&m.criteria).map_err(|e| {
                    let needle = serde_json::to_string(&m.criteria).unwrap_or_default();
                    src.error_at(
                        src.find_in(text, &needle),
                        format!("{ctx}: configurations[{ci}]: {e}"),
                    )
                })?;
                cpe_match.push(CpeMatch {
                    vulnerable: m.vulnerable,
                    criteria,
                    criteria_text: m.criteria,
                    version_start_including: m.version_start_including,
                    version_start_excluding: m.version_start_excluding,
                    version_end_including: m.version_end_including,
                    version_end_excluding: m.version_end_excluding,
                    match_criteria_id: m.match_criteria_id,
                });
            }
            nodes.push(Node {
                operator,
                negate: n.negate.unwrap_or(false),
                cpe_match,
            });
        }
        configurations.push(Configuration {
            operator,
            negate: c.negate.unwrap_or(false),
            nodes,
        });
    }

    Ok(CveRecord {
        id,
        published,
        last_modified,
        vuln_status: cve.vuln_status.unwrap_or_default(),
        description,
        cvss: pick_cvss(&cve.metrics),
        cwes,
        configurations,
        exploit_referenced,
        cisa_exploit_add,
        source: "nvd".to_owned(),
    })
}

fn parse_operator(s: &str) -> Option<Operator> {
    if s.eq_ignore_ascii_case("and") {
        Some(Operator::And)
    } else if s.eq_ignore_ascii_case("or") {
        Some(Operator::Or)
    } else {
        None
    }
}

fn pick<T>(list: &[T], kind: impl Fn(&T) -> Option<&str>) -> Option<&T> {
    list.iter()
        .find(|m| kind(m).is_some_and(|k| k.eq_ignore_ascii_case("primary")))
        .or(list.first())
}

fn pick_cvss(m: &RawMetrics) -> Option<Cvss> {
    if let Some(x) = pick(&m.cvss_metric_v31, |x| x.kind.as_deref()) {
        return make_cvss(
            "3.1",
            &x.cvss_data,
            x.cvss_data.base_severity.as_deref(),
            true,
        );
    }
    if let Some(x) = pick(&m.cvss_metric_v30, |x| x.kind.as_deref()) {
        return make_cvss(
            "3.0",
            &x.cvss_data,
            x.cvss_data.base_severity.as_deref(),
            true,
        );
    }
    if let Some(x) = pick(&m.cvss_metric_v2, |x| x.kind.as_deref()) {
        let sev = x
            .base_severity
            .as_deref()
            .or(x.cvss_data.base_severity.as_deref());
        return make_cvss("2.0", &x.cvss_data, sev, false);
    }
    None
}

fn make_cvss(version: &str, data: &RawCvssData, severity: Option<&str>, v3: bool) -> Option<Cvss> {
    let score = data.base_score?;
    if score.is_nan() || score <= 0.0 {
        return None;
    }
    let severity = match severity.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("NONE") => return None,
        Some("LOW") => "Low",
        Some("MEDIUM") => "Medium",
        Some("HIGH") => "High",
        Some("CRITICAL") if v3 => "Critical",
        _ => severity_from_score(score, v3),
    };
    Some(Cvss {
        version: version.to_owned(),
        base_score: score,
        severity: severity.to_owned(),
        vector: data.vector_string.clone().unwrap_or_default(),
    })
}

/// Qualitative rating of a score (CVSS v3 bands; v2 has no Critical band).
fn severity_from_score(score: f64, v3: bool) -> &'static str {
    if score >= 9.0 && v3 {
        "Critical"
    } else if score >= 7.0 {
        "High"
    } else if score >= 4.0 {
        "Medium"
    } else {
        "Low"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2023-04-14T19:15:09.867").is_some());
        assert!(parse_timestamp("2023-04-14T19:15:09").is_some());
        assert!(parse_timestamp("2023-04-14T19:15:09.867Z").is_some());
        assert!(parse_timestamp("2023-04-14T19:15:09+02:00").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn severity_bands() {
        assert_eq!(severity_from_score(9.8, true), "Critical");
        assert_eq!(severity_from_score(9.8, false), "High");
        assert_eq!(severity_from_score(4.0, true), "Medium");
        assert_eq!(severity_from_score(0.1, true), "Low");
    }
}
