//! Ingest: the doors into the state store. Every write to the store's state goes
//! through this crate; other crates read the store but never write it (the snapshot
//! registry, written by `snapshot` at its commit point, is the one exception).
//!
//! * [`apply_reports`]: validated device reports, one transaction per batch;
//!   [`assessment_warnings`] names a report's software that will be stored but cannot
//!   be assessed (the report API returns them as warnings).
//! * [`import_feed`]: an NVD CVE API 2.0, CISA KEV or OSV file, recognised by its
//!   shape, parsed whole by the `kb` importers (a malformed or truncated file is
//!   refused with file, position and reason, and the store is untouched), then
//!   stored in one transaction (identical content changes nothing).
//! * [`keys`]: the ingest credentials, stored hashed.
//! * [`put_emulator_state`]: the emulator's own setting (its clock), opaque here.
//!
//! The store's handle and outcome types are re-exported, so a caller that only goes
//! through these doors needs no direct dependency on `store`.

pub mod keys;

use chrono::{DateTime, Utc};
use model::DeviceReport;
use serde::Serialize;
use std::path::Path;
use store::KbRecord;

pub use store::{
    ApplyOutcome, KbImportOutcome, SOURCE_KEV, SOURCE_NVD, SOURCE_OSV, StateStore, StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("feed refused: {0}")]
    Feed(#[from] kb::ImportError),
    #[error(
        "{file}: not a recognised feed (expected NVD CVE API 2.0 JSON or the CISA KEV catalogue): {reason}"
    )]
    UnknownFeed { file: String, reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("report {index} refused: {error}")]
    Report {
        index: usize,
        error: model::ReportError,
    },
    #[error("stored knowledge base record {id} is unreadable: {reason}")]
    StoredRecord { id: String, reason: String },
    #[error("an ingest key needs a name of 1 to 200 characters")]
    InvalidKeyName,
}

/// Validates and applies a batch of reports in one transaction; any invalid report
/// refuses the batch whole.
pub fn apply_reports(
    store: &dyn StateStore,
    reports: &[DeviceReport],
    received_at: DateTime<Utc>,
) -> Result<Vec<ApplyOutcome>, IngestError> {
    for (index, r) in reports.iter().enumerate() {
        r.validate()
            .map_err(|error| IngestError::Report { index, error })?;
    }
    Ok(store.apply_reports(reports, received_at)?)
}

/// Software of a report that will be stored but cannot be assessed: a warning to the
/// reporter, never a refusal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareWarning {
    /// The item's path in the report: `software[3]`.
    pub path: String,
    /// The kind of gap (`unsupportedEcosystem`, ...), for grouping.
    pub gap: kb::coverage::Gap,
    /// The reason, with what the reporter needs to fix it.
    pub reason: String,
}

/// The software of one report that cannot be assessed (see [`assessment_warnings`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssessmentWarnings {
    /// The first ones, in report order, with their reasons.
    pub listed: Vec<SoftwareWarning>,
    /// How many more there are (counted, no reason built).
    pub omitted: usize,
}

/// The software items of `report` that cannot be assessed, and why: at most
/// `max_listed` with their reasons, the rest counted (the classification `posture
/// coverage` uses: [`kb::coverage::classify`]).
pub fn assessment_warnings(report: &DeviceReport, max_listed: usize) -> AssessmentWarnings {
    let mut warnings = AssessmentWarnings::default();
    for (index, software) in report.software.iter().enumerate() {
        let fields = kb::coverage::SoftwareFields {
            version: &software.version,
            cpe: software.cpe.as_deref(),
            ecosystem: software.ecosystem.as_deref(),
            source_version: software.source.as_ref().map(|s| s.version.as_str()),
        };
        let Some(gap) = kb::coverage::classify(&fields) else {
            continue;
        };
        if warnings.listed.len() < max_listed {
            warnings.listed.push(SoftwareWarning {
                path: format!("software[{index}]"),
                gap: gap.gap,
                reason: gap.detail(),
            });
        } else {
            warnings.omitted += 1;
        }
    }
    warnings
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedKind {
    Nvd,
    Kev,
    /// OSV records: one record, an array, or the per-ecosystem `all.zip`.
    Osv,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedImport {
    pub file: String,
    pub kind: FeedKind,
    #[serde(flatten)]
    pub outcome: KbImportOutcome,
}

/// Recognises a feed by its first bytes and top-level keys without parsing it twice in full.
fn feed_kind(bytes: &[u8], file: &str) -> Result<FeedKind, IngestError> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(FeedKind::Osv);
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let has = |key: &str| text.contains(&format!("\"{key}\""));
    if has("catalogVersion") {
        Ok(FeedKind::Kev)
    } else if has("vulnerabilities") || has("sourceIdentifier") || has("cve") {
        Ok(FeedKind::Nvd)
    } else if has("modified") && (has("affected") || has("schema_version")) {
        Ok(FeedKind::Osv)
    } else {
        Err(IngestError::UnknownFeed {
            file: file.to_owned(),
            reason: "no NVD, KEV or OSV keys in the first 64 KiB".into(),
        })
    }
}

pub fn import_feed_file(store: &dyn StateStore, path: &Path) -> Result<FeedImport, IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Read {
        path: path.display().to_string(),
        source,
    })?;
    import_feed(store, &bytes, &path.display().to_string())
}

pub fn import_feed(
    store: &dyn StateStore,
    bytes: &[u8],
    file: &str,
) -> Result<FeedImport, IngestError> {
    let kind = feed_kind(bytes, file)?;
    let records: Vec<KbRecord> = match kind {
        FeedKind::Nvd => kb::parse_nvd(bytes, file)?
            .iter()
            .map(|r| {
                Ok(KbRecord {
                    source: SOURCE_NVD.into(),
                    id: r.id.clone(),
                    body: record_body(r, file)?,
                })
            })
            .collect::<Result<_, IngestError>>()?,
        FeedKind::Kev => kb::parse_kev(bytes, file)?
            .entries
            .iter()
            .map(|e| {
                Ok(KbRecord {
                    source: SOURCE_KEV.into(),
                    id: e.cve_id.clone(),
                    body: record_body(e, file)?,
                })
            })
            .collect::<Result<_, IngestError>>()?,
        FeedKind::Osv => {
            let records = if bytes.starts_with(b"PK\x03\x04") {
                kb::osv::parse_osv_zip(bytes, file)?
            } else {
                kb::osv::parse_osv(bytes, file)?
            };
            // The same id twice in one import: the newest `modified` wins.
            let mut newest: std::collections::BTreeMap<String, &kb::osv::OsvRecord> =
                Default::default();
            for r in &records {
                if newest.get(&r.id).is_none_or(|o| o.modified < r.modified) {
                    newest.insert(r.id.clone(), r);
                }
            }
            newest
                .values()
                .map(|r| {
                    Ok(KbRecord {
                        source: SOURCE_OSV.into(),
                        id: r.id.clone(),
                        body: record_body(*r, file)?,
                    })
                })
                .collect::<Result<_, IngestError>>()?
        }
    };
    let outcome = store.kb_import(&store::digest(bytes), file, &records)?;
    Ok(FeedImport {
        file: file.to_owned(),
        kind,
        outcome,
    })
}

/// A parsed feed record as the store keeps it (JSON).
fn record_body<T: Serialize>(record: &T, file: &str) -> Result<String, IngestError> {
    serde_json::to_string(record).map_err(|e| IngestError::StoredRecord {
        id: file.to_owned(),
        reason: e.to_string(),
    })
}

/// The setting the emulator keeps its state (seed, size, clock) in. Ingest stores it
/// as the emulator hands it over, so the emulator writes through this door too. The key
/// is "fleet" so data directories seeded before the emulator crate existed keep working.
const EMULATOR_SETTING: &str = "fleet";

/// Stores the emulator's state (JSON, opaque to ingest).
pub fn put_emulator_state(store: &dyn StateStore, json: &str) -> Result<(), IngestError> {
    Ok(store.put_setting(EMULATOR_SETTING, json)?)
}

/// The emulator's stored state, if this data directory has a seeded fleet.
pub fn emulator_state(store: &dyn StateStore) -> Result<Option<String>, IngestError> {
    Ok(store.get_setting(EMULATOR_SETTING)?)
}
