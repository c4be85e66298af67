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
//! * [`import_feed_files`]: several files as one change (one KB version).
//! * [`commit_feed_syncs`] and the staging doors: what `feeds` (the feed syncer)
//!   fetched, committed in one transaction per sync with each feed's cursor; pages of
//!   a sync in progress are staged outside the KB so an interrupted sync resumes.
//! * [`keys`]: the ingest credentials, stored hashed.
//! * [`put_emulator_state`]: the emulator's own setting (its clock), opaque here.
//!
//! The store's handle and outcome types are re-exported, so a caller that only goes
//! through these doors needs no direct dependency on `store`.

pub mod keys;

use chrono::{DateTime, Utc};
use model::DeviceReport;
use rayon::prelude::*;
use serde::Serialize;
use std::path::Path;

pub use store::{
    ApplyOutcome, FeedCommit, FeedState, KbChange, KbFile, KbImportOutcome, KbRecord, SOURCE_EPSS,
    SOURCE_KEV, SOURCE_NVD, SOURCE_OSV, StateStore, StoreError, one_batch_ahead,
    state_codec::drop_all,
};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("feed refused: {0}")]
    Feed(#[from] kb::ImportError),
    #[error(
        "{file}: not a recognised feed (expected NVD CVE API 2.0 JSON, the CISA KEV catalogue, OSV or EPSS): {reason}"
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
    // In parallel (a batch is validated before its write transaction), reporting the
    // first invalid report.
    let invalid = reports
        .par_iter()
        .enumerate()
        .find_map_first(|(index, r)| r.validate().err().map(|error| (index, error)));
    if let Some((index, error)) = invalid {
        return Err(IngestError::Report { index, error });
    }
    Ok(store.apply_reports(reports, received_at)?)
}

/// [`apply_reports`] for reports already validated (the report API parses them with
/// [`model::DeviceReport::from_json`], which validates): one transaction, no second
/// validation.
pub fn apply_valid_reports(
    store: &dyn StateStore,
    reports: &model::ValidReports,
    received_at: DateTime<Utc>,
) -> Result<Vec<ApplyOutcome>, IngestError> {
    Ok(store.apply_reports(reports.as_slice(), received_at)?)
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
    /// FIRST EPSS daily scores (`epss_scores-YYYY-MM-DD.csv.gz`, or the CSV itself).
    Epss,
}

impl FeedKind {
    /// The store `source` (and feed name) of this kind's records.
    pub fn source(self) -> &'static str {
        match self {
            FeedKind::Nvd => SOURCE_NVD,
            FeedKind::Kev => SOURCE_KEV,
            FeedKind::Osv => SOURCE_OSV,
            FeedKind::Epss => SOURCE_EPSS,
        }
    }
}

/// Every format `import_feed` recognises, for help texts.
pub const ACCEPTED_FORMATS: &str = "NVD CVE API 2.0 JSON (a response page or a file of them), \
the CISA KEV JSON catalogue, OSV JSON (one record, an array of records, or an ecosystem's \
all.zip), and FIRST EPSS daily scores (epss_scores-YYYY-MM-DD.csv.gz or the plain CSV)";

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedImport {
    pub file: String,
    pub kind: FeedKind,
    #[serde(flatten)]
    pub outcome: KbImportOutcome,
}

/// A feed file parsed whole, not yet stored.
#[derive(Clone, Debug)]
pub struct ParsedFeed {
    pub file: String,
    pub kind: FeedKind,
    pub records: Vec<KbRecord>,
    pub digest: String,
}

/// One file of a [`FeedImports`].
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportedFile {
    pub file: String,
    pub kind: FeedKind,
    pub records: usize,
}

/// Several files imported as one knowledge-base change (one KB version).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedImports {
    pub files: Vec<ImportedFile>,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub kb_version: u64,
}

/// Largest decompressed EPSS file accepted (today's is about 15 MB).
const MAX_DECOMPRESSED: u64 = 1 << 30;

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
    } else if text.starts_with("#model_version") || text.starts_with("cve,epss,percentile") {
        Ok(FeedKind::Epss)
    } else {
        Err(IngestError::UnknownFeed {
            file: file.to_owned(),
            reason: "no NVD, KEV, OSV or EPSS shape in the first 64 KiB".into(),
        })
    }
}

fn gunzip(bytes: &[u8], file: &str) -> Result<Vec<u8>, IngestError> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| IngestError::UnknownFeed {
            file: file.to_owned(),
            reason: format!("corrupt gzip: {e}"),
        })?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(IngestError::UnknownFeed {
            file: file.to_owned(),
            reason: format!("decompresses to more than {MAX_DECOMPRESSED} bytes"),
        });
    }
    Ok(out)
}

/// Parses a feed file whole (recognised by its shape; gzip is decompressed first).
/// Nothing is stored.
pub fn parse_feed(bytes: &[u8], file: &str) -> Result<ParsedFeed, IngestError> {
    let digest = store::digest(bytes);
    let decompressed;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        decompressed = gunzip(bytes, file)?;
        &decompressed[..]
    } else {
        bytes
    };
    let kind = feed_kind(bytes, file)?;
    let record = |id: &str, body: String| KbRecord {
        source: kind.source().into(),
        id: id.to_owned(),
        body,
    };
    let records: Vec<KbRecord> = match kind {
        FeedKind::Nvd => kb::parse_nvd(bytes, file)?
            .iter()
            .map(|r| Ok(record(&r.id, record_body(r, file)?)))
            .collect::<Result<_, IngestError>>()?,
        FeedKind::Kev => kb::parse_kev(bytes, file)?
            .entries
            .iter()
            .map(|e| Ok(record(&e.cve_id, record_body(e, file)?)))
            .collect::<Result<_, IngestError>>()?,
        FeedKind::Epss => kb::parse_epss(bytes, file)?
            .iter()
            .map(|e| Ok(record(&e.cve_id, record_body(e, file)?)))
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
                .map(|r| Ok(record(&r.id, record_body(*r, file)?)))
                .collect::<Result<_, IngestError>>()?
        }
    };
    Ok(ParsedFeed {
        file: file.to_owned(),
        kind,
        records,
        digest,
    })
}

pub fn import_feed_file(store: &dyn StateStore, path: &Path) -> Result<FeedImport, IngestError> {
    let bytes = read_file(path)?;
    import_feed(store, &bytes, &path.display().to_string())
}

fn read_file(path: &Path) -> Result<Vec<u8>, IngestError> {
    std::fs::read(path).map_err(|source| IngestError::Read {
        path: path.display().to_string(),
        source,
    })
}

pub fn import_feed(
    store: &dyn StateStore,
    bytes: &[u8],
    file: &str,
) -> Result<FeedImport, IngestError> {
    let parsed = parse_feed(bytes, file)?;
    let kind = parsed.kind;
    let imports = commit_parsed(store, vec![parsed])?;
    Ok(FeedImport {
        file: file.to_owned(),
        kind,
        outcome: KbImportOutcome {
            file_digest: store::digest(bytes),
            records_in_file: imports.files.iter().map(|f| f.records).sum(),
            inserted: imports.inserted,
            updated: imports.updated,
            unchanged: imports.unchanged,
            kb_version: imports.kb_version,
        },
    })
}

/// Imports several feed files as ONE knowledge-base change: every file is parsed
/// whole first (any refusal leaves the store untouched), then all records are stored
/// in one transaction, so the KB version moves once at most.
pub fn import_feed_files(
    store: &dyn StateStore,
    paths: &[std::path::PathBuf],
) -> Result<FeedImports, IngestError> {
    let mut parsed = Vec::with_capacity(paths.len());
    for path in paths {
        parsed.push(parse_feed(&read_file(path)?, &path.display().to_string())?);
    }
    commit_parsed(store, parsed)
}

fn commit_parsed(
    store: &dyn StateStore,
    parsed: Vec<ParsedFeed>,
) -> Result<FeedImports, IngestError> {
    let now = chrono::Utc::now();
    let mut change = KbChange::default();
    let mut files = Vec::with_capacity(parsed.len());
    for p in parsed {
        if !change.feeds.iter().any(|f| f.feed == p.kind.source()) {
            change.feeds.push(FeedCommit {
                feed: p.kind.source().into(),
                cursor: None,
                synced_at: None,
                imported_at: Some(now),
            });
        }
        change.files.push(KbFile {
            digest: p.digest,
            name: p.file.clone(),
            records: p.records.len(),
        });
        files.push(ImportedFile {
            file: p.file,
            kind: p.kind,
            records: p.records.len(),
        });
        change.records.extend(p.records);
    }
    let outcome = store.kb_commit(&change)?;
    Ok(FeedImports {
        files,
        inserted: outcome.inserted,
        updated: outcome.updated,
        unchanged: outcome.unchanged,
        kb_version: outcome.kb_version,
    })
}

/// One feed's successful sync, ready to commit: its records (parsed whole) and the
/// cursor to resume from next time.
#[derive(Clone, Debug)]
pub struct FeedSync {
    pub feed: FeedKind,
    pub records: Vec<KbRecord>,
    pub cursor: Option<String>,
}

/// Commits the feeds a sync fetched successfully in one transaction (one KB version
/// at most), recording each feed's sync time and cursor and clearing its staging.
pub fn commit_feed_syncs(
    store: &dyn StateStore,
    syncs: Vec<FeedSync>,
    synced_at: DateTime<Utc>,
) -> Result<KbImportOutcome, IngestError> {
    let mut change = KbChange::default();
    for s in syncs {
        change.feeds.push(FeedCommit {
            feed: s.feed.source().into(),
            cursor: s.cursor,
            synced_at: Some(synced_at),
            imported_at: None,
        });
        change.records.extend(s.records);
    }
    Ok(store.kb_commit(&change)?)
}

/// Every feed's sync state (cursor, last sync, last import, record count).
pub fn feed_states(store: &dyn StateStore) -> Result<Vec<FeedState>, IngestError> {
    Ok(store.feed_states()?)
}

/// Persists a feed's in-progress cursor; the KB is untouched until the sync commits.
pub fn save_feed_cursor(
    store: &dyn StateStore,
    feed: FeedKind,
    cursor: &str,
) -> Result<(), IngestError> {
    Ok(store.put_feed_cursor(feed.source(), cursor)?)
}

/// Keeps a fetched, already validated part of a sync in progress (resumable).
pub fn stage_feed_part(
    store: &dyn StateStore,
    feed: FeedKind,
    part: u64,
    body: &[u8],
) -> Result<(), IngestError> {
    Ok(store.stage_feed_part(feed.source(), part, body)?)
}

/// The staged parts of a feed's sync in progress, in order.
pub fn staged_feed_parts(
    store: &dyn StateStore,
    feed: FeedKind,
) -> Result<Vec<(u64, Vec<u8>)>, IngestError> {
    Ok(store.staged_feed_parts(feed.source())?)
}

/// Drops a feed's staged parts (a sync restarting from scratch).
pub fn clear_feed_staging(store: &dyn StateStore, feed: FeedKind) -> Result<(), IngestError> {
    Ok(store.clear_feed_staging(feed.source())?)
}

/// What `kb status` shows.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KbSummary {
    pub kb_version: u64,
    /// Records per source (`nvd`, `kev`, `osv`, `epss`).
    pub records: std::collections::BTreeMap<String, u64>,
    /// OSV records per ecosystem (a record naming two ecosystems counts in both).
    pub osv_ecosystems: std::collections::BTreeMap<String, u64>,
    pub feeds: Vec<FeedState>,
}

pub fn kb_summary(store: &dyn StateStore) -> Result<KbSummary, IngestError> {
    let mut osv_ecosystems = std::collections::BTreeMap::new();
    for r in store.kb_records(SOURCE_OSV)? {
        let record: kb::OsvRecord =
            serde_json::from_str(&r.body).map_err(|e| IngestError::StoredRecord {
                id: r.id.clone(),
                reason: e.to_string(),
            })?;
        let names: std::collections::BTreeSet<String> = record
            .affected
            .iter()
            .map(|a| a.ecosystem.to_string())
            .collect();
        for name in names {
            *osv_ecosystems.entry(name).or_insert(0) += 1;
        }
    }
    Ok(KbSummary {
        kb_version: store.kb_version()?,
        records: store.kb_source_counts()?.into_iter().collect(),
        osv_ecosystems,
        feeds: store.feed_states()?,
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
