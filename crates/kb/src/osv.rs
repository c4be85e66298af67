//! Importer for OSV (Open Source Vulnerability) records and the
//! ecosystem-aware package matcher [`OsvIndex`].
//!
//! # Accepted documents
//!
//! * [`parse_osv`]: one OSV record (a JSON object), or a JSON array of
//!   records;
//! * [`parse_osv_zip`]: the per-ecosystem `all.zip` layout (one record per
//!   `*.json` entry; directories and other entries are ignored).
//!
//! Parsing is all-or-nothing, as for the NVD importer: the whole document is
//! checked for JSON syntax first, then every record is decoded and validated,
//! and only if all succeed are the records returned. Errors are
//! [`ImportError`]s (`file:line:column: reason`); inside a zip the file is
//! `all.zip!ENTRY.json`, and archive-level failures (not a zip, a corrupt or
//! truncated entry, an entry over 64 MiB) have line and column 0.
//!
//! Validation: every record needs a non-empty string `id` and a parsable
//! `modified` time (`published` and `withdrawn` are optional but must parse
//! when present); each `affected[].package` needs non-empty `ecosystem` and
//! `name`; each range needs a `type` of `ECOSYSTEM`, `SEMVER` or `GIT`; each
//! event must be an object with exactly one of `introduced`, `fixed`,
//! `last_affected`, `limit` (a string). Unknown fields are ignored; a `null`
//! list is read as empty. `affected` entries without a `package` (GIT-only
//! entries allowed by schema 1.7) are dropped.
//!
//! # Derived fields
//!
//! * `severity` ([`OsvSeverity`]): the first usable of: a `CVSS_V3` vector
//!   (score from [`crate::cvss::base_score_v3`]), a `CVSS_V2` vector, an
//!   `Ubuntu` priority, a `database_specific.severity` text — looked up in
//!   the record's top-level `severity`, then in its `affected[]` entries.
//!   Texts map to levels: `critical` → Critical; `high`, `important` → High;
//!   `medium`, `moderate` → Medium; `low`, `negligible`, `unimportant` → Low;
//!   others are ignored. A malformed vector is skipped, not refused.
//! * `affected[].binaries`: Ubuntu's `ecosystem_specific.binaries[].binary_name`.
//!
//! # Matching
//!
//! [`OsvIndex::match_package`] implements the OSV schema's evaluation for a
//! package (ecosystem + name) at one version, with the ecosystem's own order
//! ([`Ecosystem::compare`]; `SEMVER` ranges always use SemVer):
//!
//! * candidate `affected[]` entries: same ecosystem family, scope covered
//!   ([`Ecosystem::covers`]: `Debian:12` matches `Debian:12` and `Debian`
//!   entries), and the package name equal after
//!   [`Ecosystem::normalize_name`] (PEP 503 for PyPI; exact otherwise) to the
//!   entry's `name` or, for Ubuntu, to one of its `binaries`. Debian and
//!   Ubuntu entries name *source* packages: callers holding a binary package
//!   should query with its source package name (dpkg's `Source:` field).
//! * an entry matches when the version equals one of its `versions`, or lies
//!   in one of its `ECOSYSTEM`/`SEMVER` ranges: events sorted by version
//!   (`introduced: "0"` first), the version is affected after an
//!   `introduced` ≤ v until a `fixed` ≤ v or a `last_affected` < v; with
//!   `limit` events it must also be below one of them (`*` is infinity).
//!   `GIT` ranges are ignored;
//! * withdrawn records never match;
//! * one [`OsvMatch`] per record (its first matching entry), in record order.
//!   Its [`Evidence`] has `feed: "osv"`, the record id, `criteria`
//!   `"<ecosystem>/<name>"` as the entry wrote them (`Debian:12/openssl`),
//!   and `range`: the interval that matched (`"introduced 0, fixed 2.31.0"`,
//!   `"introduced 1.0, last_affected 1.4"`, `"introduced 0"` when unfixed,
//!   with `", limit X"` when the range has limits) or `"listed version V"`.
//!   `fixed_version` is that interval's `fixed` event.
//!
//! # Distro advisories and CPE matches
//!
//! For a package of a distribution ecosystem ([`Ecosystem::is_distro`]),
//! [`OsvIndex::supersedes_cpe`] is true as soon as the distribution's feed
//! has any (non-withdrawn) record for that package in that release: then its
//! verdicts replace the NVD/CPE matches for the package, whatever the
//! version (distributions backport fixes without changing the upstream
//! version, so CPE ranges give false positives there).

use std::collections::{HashMap, HashSet};
use std::io::Read;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::cvss;
use crate::ecosystem::{Ecosystem, Family, VersionOrder};
use crate::import::{ImportError, Source, is_cve_id, nullable};
use crate::matcher::Evidence;
use crate::nvd::{Cvss, parse_timestamp};
use crate::pep440::Pep440Version;

/// Largest zip entry read (uncompressed).
pub const MAX_ZIP_ENTRY: u64 = 64 * 1024 * 1024;

/// One OSV record as Posture stores it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OsvRecord {
    pub id: String,
    pub aliases: Vec<String>,
    /// Upstream ids (Debian, Ubuntu and Alpine records put the CVE here).
    #[serde(default)]
    pub upstream: Vec<String>,
    #[serde(default)]
    pub related: Vec<String>,
    /// UTC.
    pub modified: NaiveDateTime,
    pub published: Option<NaiveDateTime>,
    /// Set when the record was withdrawn; such records never match.
    pub withdrawn: Option<NaiveDateTime>,
    pub summary: String,
    pub details: String,
    pub severity: Option<OsvSeverity>,
    pub affected: Vec<Affected>,
    /// The feed: `"osv"`.
    pub source: String,
}

impl OsvRecord {
    /// The CVE ids this record is about: the id itself when it is one (or
    /// ends in one, as `DEBIAN-CVE-2023-4911`), then aliases, then upstream.
    pub fn cve_ids(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let candidates = std::iter::once(&self.id)
            .chain(&self.aliases)
            .chain(&self.upstream);
        for c in candidates {
            let cve = if is_cve_id(c) {
                Some(c.as_str())
            } else {
                c.find("CVE-").map(|i| &c[i..]).filter(|s| is_cve_id(s))
            };
            if let Some(cve) = cve
                && !out.iter().any(|x| x == cve)
            {
                out.push(cve.to_owned());
            }
        }
        out
    }

    /// The summary, or the first line of the details when there is none.
    pub fn description(&self) -> &str {
        if self.summary.trim().is_empty() {
            self.details.lines().next().unwrap_or("").trim()
        } else {
            self.summary.trim()
        }
    }
}

/// A record's severity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OsvSeverity {
    /// Where it came from: `CVSS_V3`, `CVSS_V2`, `Ubuntu` or `database_specific`.
    pub source: String,
    /// CVSS version (`"3.1"`, `"3.0"`, `"2.0"`) for vectors.
    pub version: Option<String>,
    /// The CVSS vector, for vectors.
    pub vector: Option<String>,
    /// The computed base score, for vectors.
    pub score: Option<f64>,
    /// `None`, `Low`, `Medium`, `High` or `Critical`.
    pub level: String,
}

impl OsvSeverity {
    /// As the NVD importer's [`Cvss`], when there is a non-zero score.
    pub fn cvss(&self) -> Option<Cvss> {
        let score = self.score.filter(|s| *s > 0.0)?;
        Some(Cvss {
            version: self.version.clone().unwrap_or_default(),
            base_score: score,
            severity: self.level.clone(),
            vector: self.vector.clone().unwrap_or_default(),
        })
    }
}

/// One `affected[]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub ecosystem: Ecosystem,
    /// The package name as the record gives it.
    pub name: String,
    pub purl: Option<String>,
    pub ranges: Vec<Range>,
    pub versions: Vec<String>,
    /// Binary package names (Ubuntu's `ecosystem_specific.binaries`).
    #[serde(default)]
    pub binaries: Vec<String>,
    /// Package-level severity, when the record gives one.
    #[serde(default)]
    pub severity: Option<OsvSeverity>,
}

impl Affected {
    /// The package name normalised for the ecosystem (PEP 503 for PyPI,
    /// as given otherwise): the key [`OsvIndex`] looks packages up by.
    pub fn normalized_name(&self) -> String {
        self.ecosystem.normalize_name(&self.name)
    }
}

/// Range type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RangeKind {
    Ecosystem,
    Semver,
    Git,
}

/// One range: a timeline of events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    pub kind: RangeKind,
    pub repo: Option<String>,
    pub events: Vec<Event>,
}

/// One event of a range.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Event::Introduced(_) => "introduced",
            Event::Fixed(_) => "fixed",
            Event::LastAffected(_) => "last_affected",
            Event::Limit(_) => "limit",
        }
    }
}

// ---------------------------------------------------------------------------
// Wire shapes (private).

#[derive(Deserialize)]
struct RawRecord<'a> {
    id: Option<String>,
    modified: Option<String>,
    published: Option<String>,
    withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    upstream: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    related: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    #[serde(borrow, default)]
    affected: Option<Vec<&'a RawValue>>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: Option<String>,
    score: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected<'a> {
    package: Option<RawPackage>,
    #[serde(borrow, default)]
    ranges: Option<Vec<&'a RawValue>>,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    ecosystem_specific: Option<Value>,
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: Option<String>,
    name: Option<String>,
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    repo: Option<String>,
    #[serde(borrow, default)]
    events: Option<Vec<&'a RawValue>>,
}

/// Parses an OSV JSON document: one record or an array of records (see the
/// [module documentation](self)).
pub fn parse_osv(bytes: &[u8], file_name: &str) -> Result<Vec<OsvRecord>, ImportError> {
    let src = Source::decode(bytes, file_name)?;
    let start = src.text.len() - src.text.trim_start().len();
    match src.text[start..].chars().next() {
        Some('[') => {
            let items: Vec<&RawValue> =
                serde_json::from_str(src.text).map_err(|e| src.json_error(&e, 0, "document"))?;
            let mut out = Vec::with_capacity(items.len());
            for (i, raw) in items.iter().enumerate() {
                out.push(convert_record(&src, raw.get(), &format!("[{i}]"))?);
            }
            Ok(out)
        }
        Some('{') | None => {
            // (An empty document fails here as truncated JSON.)
            let raw: &RawValue =
                serde_json::from_str(src.text).map_err(|e| src.json_error(&e, 0, "document"))?;
            Ok(vec![convert_record(&src, raw.get(), "record")?])
        }
        Some(_) => Err(src.error_at(
            start,
            "not an OSV document: expected a record object or an array of records",
        )),
    }
}

/// Parses an OSV `all.zip` (one JSON record per entry; see the
/// [module documentation](self)). All or nothing.
pub fn parse_osv_zip(bytes: &[u8], file_name: &str) -> Result<Vec<OsvRecord>, ImportError> {
    let whole = |reason: String| ImportError {
        file: file_name.to_owned(),
        line: 0,
        column: 0,
        reason,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| whole(format!("not a readable zip archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| whole(format!("zip entry #{i}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .name()
            .map_err(|e| whole(format!("zip entry #{i}: unreadable name: {e}")))?
            .into_owned();
        if !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let entry_file = format!("{file_name}!{name}");
        let entry_err = |reason: String| ImportError {
            file: entry_file.clone(),
            line: 0,
            column: 0,
            reason,
        };
        if entry.size() > MAX_ZIP_ENTRY {
            return Err(entry_err(format!(
                "entry of {} bytes exceeds the {MAX_ZIP_ENTRY}-byte limit",
                entry.size()
            )));
        }
        let mut buf = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        (&mut entry)
            .take(MAX_ZIP_ENTRY + 1)
            .read_to_end(&mut buf)
            .map_err(|e| entry_err(format!("corrupt or truncated zip entry: {e}")))?;
        if buf.len() as u64 > MAX_ZIP_ENTRY {
            return Err(entry_err(format!(
                "entry exceeds the {MAX_ZIP_ENTRY}-byte limit"
            )));
        }
        out.extend(parse_osv(&buf, &entry_file)?);
    }
    Ok(out)
}

fn convert_record(src: &Source<'_>, text: &str, ctx: &str) -> Result<OsvRecord, ImportError> {
    let base = src.offset_of(text);
    let raw: RawRecord<'_> =
        serde_json::from_str(text).map_err(|e| src.json_error(&e, base, ctx))?;
    let id = match raw.id {
        Some(id) if !id.trim().is_empty() => id,
        Some(_) => {
            return Err(src.error_at(src.find_in(text, "\"id\""), format!("{ctx}: empty `id`")));
        }
        None => return Err(src.error_at(base, format!("{ctx}: record without an `id`"))),
    };
    let ctx = format!("{ctx} ({id})");
    let time = |name: &str, v: Option<String>| -> Result<Option<NaiveDateTime>, ImportError> {
        match v {
            None => Ok(None),
            Some(s) => parse_timestamp(&s).map(Some).ok_or_else(|| {
                src.error_at(
                    src.find_in(text, &format!("\"{name}\"")),
                    format!("{ctx}: `{name}` is not a timestamp: `{s}`"),
                )
            }),
        }
    };
    let modified = time("modified", raw.modified)?.ok_or_else(|| {
        src.error_at(
            src.find_in(text, "\"id\""),
            format!("{ctx}: missing `modified`"),
        )
    })?;
    let published = time("published", raw.published)?;
    let withdrawn = time("withdrawn", raw.withdrawn)?;

    let mut affected = Vec::new();
    let mut affected_severity = None;
    let mut affected_text_level = None;
    for (ai, araw) in raw.affected.unwrap_or_default().iter().enumerate() {
        let atext = araw.get();
        let abase = src.offset_of(atext);
        let actx = format!("{ctx}: affected[{ai}]");
        let a: RawAffected<'_> =
            serde_json::from_str(atext).map_err(|e| src.json_error(&e, abase, &actx))?;
        let Some(pkg) = a.package else { continue };
        let field = |v: Option<String>, what: &str| -> Result<String, ImportError> {
            match v {
                Some(s) if !s.trim().is_empty() => Ok(s),
                _ => Err(src.error_at(
                    src.find_in(atext, "\"package\""),
                    format!("{actx}: package without a non-empty `{what}`"),
                )),
            }
        };
        let ecosystem = Ecosystem::parse(&field(pkg.ecosystem, "ecosystem")?);
        let name = field(pkg.name, "name")?;
        let mut ranges = Vec::new();
        for (ri, rraw) in a.ranges.unwrap_or_default().iter().enumerate() {
            let rtext = rraw.get();
            let rbase = src.offset_of(rtext);
            let rctx = format!("{actx}.ranges[{ri}]");
            let r: RawRange<'_> =
                serde_json::from_str(rtext).map_err(|e| src.json_error(&e, rbase, &rctx))?;
            let kind = match r.kind.as_deref() {
                Some("ECOSYSTEM") => RangeKind::Ecosystem,
                Some("SEMVER") => RangeKind::Semver,
                Some("GIT") => RangeKind::Git,
                Some(other) => {
                    return Err(src.error_at(
                        src.find_in(rtext, "\"type\""),
                        format!(
                            "{rctx}: range type must be ECOSYSTEM, SEMVER or GIT, not `{other}`"
                        ),
                    ));
                }
                None => {
                    return Err(src.error_at(rbase, format!("{rctx}: range without a `type`")));
                }
            };
            let mut events = Vec::new();
            for (ei, eraw) in r.events.unwrap_or_default().iter().enumerate() {
                let etext = eraw.get();
                let ebase = src.offset_of(etext);
                let ectx = format!("{rctx}.events[{ei}]");
                let map: serde_json::Map<String, Value> =
                    serde_json::from_str(etext).map_err(|e| src.json_error(&e, ebase, &ectx))?;
                let mut found: Vec<Event> = Vec::new();
                for (k, v) in &map {
                    let make: fn(String) -> Event = match k.as_str() {
                        "introduced" => Event::Introduced,
                        "fixed" => Event::Fixed,
                        "last_affected" => Event::LastAffected,
                        "limit" => Event::Limit,
                        _ => continue,
                    };
                    match v.as_str() {
                        Some(s) if !s.is_empty() => found.push(make(s.to_owned())),
                        _ => {
                            return Err(src.error_at(
                                src.find_in(etext, &format!("\"{k}\"")),
                                format!("{ectx}: `{k}` must be a non-empty string"),
                            ));
                        }
                    }
                }
                if found.len() != 1 {
                    return Err(src.error_at(
                        ebase,
                        format!(
                            "{ectx}: an event needs exactly one of introduced, fixed, last_affected, limit"
                        ),
                    ));
                }
                events.extend(found);
            }
            ranges.push(Range {
                kind,
                repo: r.repo,
                events,
            });
        }
        let binaries = a
            .ecosystem_specific
            .as_ref()
            .and_then(|e| e.get("binaries"))
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|b| b.get("binary_name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let severity = pick_severity(&a.severity);
        if affected_severity.is_none() {
            affected_severity.clone_from(&severity);
        }
        if affected_text_level.is_none() {
            affected_text_level = [&a.database_specific, &a.ecosystem_specific]
                .into_iter()
                .find_map(|v| text_level(v.as_ref()?.get("severity")?.as_str()?));
        }
        affected.push(Affected {
            ecosystem,
            name,
            purl: pkg.purl,
            ranges,
            versions: a.versions,
            binaries,
            severity,
        });
    }

    let db_level = raw
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str)
        .and_then(text_level);
    let text_severity = |level: &'static str| OsvSeverity {
        source: "database_specific".to_owned(),
        version: None,
        vector: None,
        score: None,
        level: level.to_owned(),
    };
    let severity = pick_severity(&raw.severity)
        .or(affected_severity)
        .or_else(|| db_level.map(text_severity))
        .or_else(|| affected_text_level.map(text_severity));

    Ok(OsvRecord {
        id,
        aliases: raw.aliases,
        upstream: raw.upstream,
        related: raw.related,
        modified,
        published,
        withdrawn,
        summary: raw.summary.unwrap_or_default(),
        details: raw.details.unwrap_or_default(),
        severity,
        affected,
        source: "osv".to_owned(),
    })
}

/// A severity level from a text (see the module documentation).
fn text_level(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" => Some("Critical"),
        "high" | "important" => Some("High"),
        "medium" | "moderate" => Some("Medium"),
        "low" | "negligible" | "unimportant" => Some("Low"),
        _ => None,
    }
}

/// The first usable entry of a `severity` list: CVSS v3, CVSS v2, Ubuntu.
fn pick_severity(list: &[RawSeverity]) -> Option<OsvSeverity> {
    fn of<'a>(list: &'a [RawSeverity], kind: &'a str) -> impl Iterator<Item = &'a str> {
        list.iter()
            .filter(move |s| s.kind.as_deref() == Some(kind))
            .filter_map(|s| s.score.as_deref())
    }
    if let Some((vector, score, version)) = of(list, "CVSS_V3").find_map(|v| {
        cvss::base_score_v3(v)
            .ok()
            .map(|(score, version)| (v, score, version))
    }) {
        return Some(OsvSeverity {
            source: "CVSS_V3".to_owned(),
            version: Some(version.to_owned()),
            vector: Some(vector.to_owned()),
            score: Some(score),
            level: cvss::level_v3(score).to_owned(),
        });
    }
    if let Some((vector, score)) =
        of(list, "CVSS_V2").find_map(|v| cvss::base_score_v2(v).ok().map(|s| (v, s)))
    {
        return Some(OsvSeverity {
            source: "CVSS_V2".to_owned(),
            version: Some("2.0".to_owned()),
            vector: Some(vector.to_owned()),
            score: Some(score),
            level: cvss::level_v2(score).to_owned(),
        });
    }
    of(list, "Ubuntu")
        .find_map(text_level)
        .map(|level| OsvSeverity {
            source: "Ubuntu".to_owned(),
            version: None,
            vector: None,
            score: None,
            level: level.to_owned(),
        })
}

// ---------------------------------------------------------------------------
// Matching.

/// One record that a package version is affected by.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OsvMatch {
    /// Index of the record in the slice the index was built from.
    pub record_index: usize,
    pub id: String,
    /// The record's aliases, then its upstream ids.
    pub aliases: Vec<String>,
    /// [`OsvRecord::cve_ids`].
    pub cve_ids: Vec<String>,
    pub evidence: Evidence,
    /// The `fixed` event that ends the matching interval, if any.
    pub fixed_version: Option<String>,
}

#[derive(Clone, Debug)]
struct Entry {
    id: String,
    aliases: Vec<String>,
    cve_ids: Vec<String>,
    withdrawn: bool,
    affected: Vec<Affected>,
    /// Per affected entry, for PyPI: the [`Pep440Version::equality_key`]s of
    /// its `versions` list (long lists; a lookup instead of a scan).
    version_keys: Vec<Option<HashSet<String>>>,
}

/// The key under which a PyPI version is looked up in a versions list.
fn pep440_key(v: &str) -> String {
    Pep440Version::parse(v).map_or_else(|_| v.trim().to_owned(), |p| p.equality_key())
}

/// An index over OSV records by (ecosystem family, normalised package name).
/// It owns copies of what it needs, so it has no lifetime tie to the records.
#[derive(Clone, Debug, Default)]
pub struct OsvIndex {
    entries: Vec<Entry>,
    by_package: HashMap<(Family, String), Vec<(usize, usize)>>,
}

impl OsvIndex {
    /// Indexes `records` (see the [module documentation](self)).
    pub fn new(records: &[OsvRecord]) -> OsvIndex {
        let mut by_package: HashMap<(Family, String), Vec<(usize, usize)>> = HashMap::new();
        let mut entries = Vec::with_capacity(records.len());
        for (ri, r) in records.iter().enumerate() {
            for (ai, a) in r.affected.iter().enumerate() {
                let fam = a.ecosystem.family();
                let names = std::iter::once(&a.name).chain(&a.binaries);
                for n in names {
                    let list = by_package
                        .entry((fam, a.ecosystem.normalize_name(n)))
                        .or_default();
                    if list.last() != Some(&(ri, ai)) {
                        list.push((ri, ai));
                    }
                }
            }
            let mut aliases = r.aliases.clone();
            for u in &r.upstream {
                if !aliases.contains(u) {
                    aliases.push(u.clone());
                }
            }
            let version_keys = r
                .affected
                .iter()
                .map(|a| {
                    (a.ecosystem.version_order() == VersionOrder::Pep440)
                        .then(|| a.versions.iter().map(|v| pep440_key(v)).collect())
                })
                .collect();
            entries.push(Entry {
                id: r.id.clone(),
                aliases,
                cve_ids: r.cve_ids(),
                withdrawn: r.withdrawn.is_some(),
                affected: r.affected.clone(),
                version_keys,
            });
        }
        OsvIndex {
            entries,
            by_package,
        }
    }

    /// Number of records indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when built from no records.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The (record, affected entry) pairs for this package in this
    /// ecosystem's scope, withdrawn records left out.
    fn candidates<'s>(
        &'s self,
        ecosystem: &'s Ecosystem,
        name: &str,
    ) -> impl Iterator<Item = (usize, &'s Entry, usize)> + 's {
        let key = (ecosystem.family(), ecosystem.normalize_name(name));
        self.by_package
            .get(&key)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter_map(move |&(ri, ai)| {
                let e = self.entries.get(ri)?;
                let a = e.affected.get(ai)?;
                (!e.withdrawn && ecosystem.covers(&a.ecosystem)).then_some((ri, e, ai))
            })
    }

    /// The records that `name` at `version` in `ecosystem` is affected by
    /// (see the [module documentation](self)).
    pub fn match_package(&self, ecosystem: &Ecosystem, name: &str, version: &str) -> Vec<OsvMatch> {
        let mut out: Vec<OsvMatch> = Vec::new();
        for (ri, e, ai) in self.candidates(ecosystem, name) {
            if out.last().is_some_and(|m| m.record_index == ri) {
                continue;
            }
            let Some(a) = e.affected.get(ai) else {
                continue;
            };
            let keys = e.version_keys.get(ai).and_then(Option::as_ref);
            if let Some(hit) = affected_hit(a, keys, version) {
                out.push(OsvMatch {
                    record_index: ri,
                    id: e.id.clone(),
                    aliases: e.aliases.clone(),
                    cve_ids: e.cve_ids.clone(),
                    evidence: Evidence {
                        feed: "osv".to_owned(),
                        record_id: e.id.clone(),
                        criteria: format!("{}/{}", a.ecosystem, a.name),
                        range: hit.range,
                    },
                    fixed_version: hit.fixed,
                });
            }
        }
        out
    }

    /// `true` when some non-withdrawn record lists this package (any
    /// version) in this ecosystem's scope.
    pub fn knows_package(&self, ecosystem: &Ecosystem, name: &str) -> bool {
        self.candidates(ecosystem, name).next().is_some()
    }

    /// `true` when the distribution's advisories decide for this package, so
    /// that NVD/CPE matches for it should be dropped: `ecosystem` is a
    /// distribution and [`knows_package`](Self::knows_package).
    pub fn supersedes_cpe(&self, ecosystem: &Ecosystem, name: &str) -> bool {
        ecosystem.is_distro() && self.knows_package(ecosystem, name)
    }
}

struct Hit {
    range: String,
    fixed: Option<String>,
}

/// Does this affected entry cover `v`? Ranges first (their evidence is
/// richer), then the explicit versions list.
fn affected_hit(a: &Affected, keys: Option<&HashSet<String>>, v: &str) -> Option<Hit> {
    let eco_order = a.ecosystem.version_order();
    for r in &a.ranges {
        let order = match r.kind {
            RangeKind::Git => continue,
            RangeKind::Semver => VersionOrder::SemVer,
            RangeKind::Ecosystem => eco_order,
        };
        if let Some(hit) = range_hit(&r.events, order, v) {
            return Some(hit);
        }
    }
    let listed = match keys {
        Some(keys) => keys.contains(&pep440_key(v)),
        None => a
            .versions
            .iter()
            .any(|x| x.as_str() == v || eco_order.compare(x, v).is_eq()),
    };
    listed.then(|| Hit {
        range: format!("listed version {v}"),
        fixed: None,
    })
}

/// Event order for sorting: `introduced: "0"` before everything, then by version.
fn event_cmp(order: VersionOrder, a: &Event, b: &Event) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let zero = |e: &Event| matches!(e, Event::Introduced(v) if v == "0");
    match (zero(a), zero(b)) {
        (true, true) => Equal,
        (true, false) => Less,
        (false, true) => Greater,
        (false, false) => order.compare(a.version(), b.version()),
    }
}

/// The OSV evaluation of one range (limits, then sorted events).
fn range_hit(events: &[Event], order: VersionOrder, v: &str) -> Option<Hit> {
    use std::cmp::Ordering::*;
    let limits: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) => Some(l.as_str()),
            _ => None,
        })
        .collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|l| l.contains('*') || order.compare(v, l) == Less)
    {
        return None;
    }
    // Stable insertion sort: never panics, whatever the comparator does.
    let mut sorted: Vec<&Event> = Vec::with_capacity(events.len());
    for e in events.iter().filter(|e| !matches!(e, Event::Limit(_))) {
        let pos = sorted
            .iter()
            .rposition(|x| event_cmp(order, x, e) != Greater)
            .map_or(0, |p| p + 1);
        sorted.insert(pos, e);
    }
    let mut vulnerable = false;
    let mut from: Option<usize> = None;
    for (i, e) in sorted.iter().enumerate() {
        match e {
            Event::Introduced(x) if x == "0" || order.compare(v, x) != Less => {
                vulnerable = true;
                from = Some(i);
            }
            Event::Fixed(x) if order.compare(v, x) != Less => vulnerable = false,
            Event::LastAffected(x) if order.compare(v, x) == Greater => vulnerable = false,
            _ => {}
        }
    }
    if !vulnerable {
        return None;
    }
    let start = from?;
    let mut range = format!("introduced {}", sorted[start].version());
    let mut fixed = None;
    if let Some(end) = sorted[start + 1..]
        .iter()
        .find(|e| matches!(e, Event::Fixed(_) | Event::LastAffected(_)))
    {
        range.push_str(&format!(", {} {}", end.label(), end.version()));
        if let Event::Fixed(f) = end {
            fixed = Some(f.clone());
        }
    }
    for l in limits {
        range.push_str(&format!(", limit {l}"));
    }
    Some(Hit { range, fixed })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evs(list: &[(&str, &str)]) -> Vec<Event> {
        list.iter()
            .map(|&(k, v)| match k {
                "i" => Event::Introduced(v.into()),
                "f" => Event::Fixed(v.into()),
                "l" => Event::LastAffected(v.into()),
                _ => Event::Limit(v.into()),
            })
            .collect()
    }

    #[test]
    fn ranges() {
        let o = VersionOrder::Pep440;
        let r = evs(&[("i", "2.0.0"), ("f", "2.0.7"), ("i", "0"), ("f", "1.26.18")]);
        let hit = range_hit(&r, o, "1.26.5").expect("affected");
        assert_eq!(hit.range, "introduced 0, fixed 1.26.18");
        assert_eq!(hit.fixed.as_deref(), Some("1.26.18"));
        assert!(range_hit(&r, o, "1.26.18").is_none());
        assert!(range_hit(&r, o, "2.0.7").is_none());
        assert_eq!(
            range_hit(&r, o, "2.0.0").map(|h| h.range),
            Some("introduced 2.0.0, fixed 2.0.7".into())
        );
        let r = evs(&[("i", "1.0"), ("l", "1.4")]);
        assert_eq!(
            range_hit(&r, o, "1.4").map(|h| h.range),
            Some("introduced 1.0, last_affected 1.4".into())
        );
        assert!(range_hit(&r, o, "1.4.1").is_none());
        assert!(range_hit(&r, o, "0.9").is_none());
        let r = evs(&[("i", "0"), ("m", "2.0")]);
        assert!(range_hit(&r, o, "1.9").is_some());
        assert!(range_hit(&r, o, "2.0").is_none());
        let r = evs(&[("i", "0")]);
        assert_eq!(
            range_hit(&r, o, "99").map(|h| h.range),
            Some("introduced 0".into())
        );
        // dpkg: `0` introduced is below `~` versions too.
        let r = evs(&[("i", "0"), ("f", "1.0")]);
        assert!(range_hit(&r, VersionOrder::Dpkg, "~~0").is_some());
    }
}
