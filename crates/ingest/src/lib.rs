//! Ingest: the doors into the state store.
//!
//! * [`apply_reports`]: validated device reports, one transaction per batch.
//! * [`import_feed`]: an NVD CVE API 2.0 or CISA KEV JSON file, recognised by its
//!   shape, parsed whole by the `kb` importers (a malformed or truncated file is
//!   refused with file, position and reason, and the store is untouched), then
//!   stored in one transaction (identical content changes nothing).
//! * [`load_knowledge_base`]: the stored feeds and the shipped configuration
//!   catalogue, indexed for assessment.

pub mod keys;

use assess::{Catalog, KnowledgeBase};
use chrono::{DateTime, Utc};
use model::DeviceReport;
use serde::Serialize;
use std::path::Path;
use store::{ApplyOutcome, KbImportOutcome, KbRecord, StateStore, StoreError};

pub const SOURCE_NVD: &str = "nvd";
pub const SOURCE_KEV: &str = "kev";
pub const SOURCE_OSV: &str = "osv";

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
    #[error(transparent)]
    Catalog(#[from] assess::catalog::CatalogError),
    #[error(
        "this data directory has no synthetic fleet (run `posture seed` first); time travel works on seeded fleets"
    )]
    NoFleet,
    #[error("advance failed: {0}")]
    Advance(String),
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

/// Loads every stored feed record and the shipped configuration catalogue.
pub fn load_knowledge_base(store: &dyn StateStore) -> Result<KnowledgeBase, IngestError> {
    let version = store.kb_version()?;
    let cves = decode_all(store.kb_records(SOURCE_NVD)?)?;
    let kev = decode_all(store.kb_records(SOURCE_KEV)?)?;
    let osv = decode_all(store.kb_records(SOURCE_OSV)?)?;
    Ok(KnowledgeBase::new(
        cves,
        kev,
        osv,
        Catalog::embedded()?,
        version,
    ))
}

fn decode_all<T: serde::de::DeserializeOwned>(
    records: Vec<KbRecord>,
) -> Result<Vec<T>, IngestError> {
    records
        .iter()
        .map(|r| {
            serde_json::from_str(&r.body).map_err(|e| IngestError::StoredRecord {
                id: r.id.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// What [`seed_fleet`] did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedOutcome {
    pub devices: u32,
    pub feeds: Vec<FeedImport>,
}

/// Writes the deterministic synthetic fleet through the report path (generation in
/// parallel, overlapping the store's writes) and, with `with_kb`, imports the
/// synthetic NVD and KEV feeds through the real importers. `feeds_dir`, when given,
/// keeps a copy of the generated feed files. `progress` is called with the number
/// of devices written so far.
pub fn seed_fleet(
    store: &dyn StateStore,
    cfg: &fleet::FleetConfig,
    with_kb: bool,
    feeds_dir: Option<&Path>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeedOutcome, IngestError> {
    use rayon::prelude::*;
    let mut feeds = Vec::new();
    if with_kb {
        let synthetic = fleet::synthetic_feeds(cfg.seed, cfg.now);
        for (name, bytes) in [("nvd", &synthetic.nvd), ("kev", &synthetic.kev)] {
            let file = format!("synthetic-{name}-seed{}.json", cfg.seed);
            if let Some(dir) = feeds_dir {
                let path = dir.join(&file);
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, bytes))
                    .map_err(|source| IngestError::Read {
                        path: path.display().to_string(),
                        source,
                    })?;
            }
            feeds.push(import_feed(store, bytes, &file)?);
        }
    }
    const BATCH: u32 = 1000;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<DeviceReport>>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut start = 0;
            while start < cfg.devices {
                let end = start.saturating_add(BATCH).min(cfg.devices);
                let batch: Vec<_> = (start..end)
                    .into_par_iter()
                    .map(|i| fleet::device_report(cfg, i))
                    .collect();
                if tx.send(batch).is_err() {
                    return;
                }
                start = end;
            }
        });
        let mut done = 0u64;
        for batch in rx {
            apply_reports(store, &batch, cfg.now)?;
            done += batch.len() as u64;
            progress(done);
        }
        Ok::<(), IngestError>(())
    })?;
    store.checkpoint()?;
    let state = FleetState {
        seed: cfg.seed,
        devices: cfg.devices,
        base_now: cfg.now,
        clock: cfg.now,
        step: 0,
    };
    put_fleet_state(store, &state)?;
    Ok(SeedOutcome {
        devices: cfg.devices,
        feeds,
    })
}

const FLEET_SETTING: &str = "fleet";

/// The synthetic fleet of a data directory and its emulator clock.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetState {
    pub seed: u64,
    pub devices: u32,
    /// The clock at seeding (the synthetic KB's reference time).
    pub base_now: DateTime<Utc>,
    /// The emulator's present after the last advance.
    pub clock: DateTime<Utc>,
    /// Advances so far.
    pub step: u64,
}

fn put_fleet_state(store: &dyn StateStore, state: &FleetState) -> Result<(), IngestError> {
    let text = serde_json::to_string(state).map_err(|e| IngestError::StoredRecord {
        id: FLEET_SETTING.into(),
        reason: e.to_string(),
    })?;
    Ok(store.put_setting(FLEET_SETTING, &text)?)
}

pub fn fleet_state(store: &dyn StateStore) -> Result<Option<FleetState>, IngestError> {
    match store.get_setting(FLEET_SETTING)? {
        None => Ok(None),
        Some(text) => {
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| IngestError::StoredRecord {
                    id: FLEET_SETTING.into(),
                    reason: e.to_string(),
                })
        }
    }
}

/// The service's present: the wall clock, or the emulator clock when time travel
/// has moved it ahead.
pub fn service_now(store: &dyn StateStore) -> Result<DateTime<Utc>, IngestError> {
    let now = Utc::now();
    Ok(fleet_state(store)?.map_or(now, |f| f.clock.max(now)))
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceOutcome {
    pub step: u64,
    pub now: DateTime<Utc>,
    pub reports: u64,
    pub quiet_devices: u64,
    pub feed: FeedImport,
}

/// Moves the synthetic fleet `hours` forward: every device evolves through the report
/// path ([`fleet::evolve_report`]) and the synthetic feed receives its update
/// ([`fleet::feed_update`]), imported through the real importer.
pub fn advance_fleet(
    store: &dyn StateStore,
    hours: u32,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<AdvanceOutcome, IngestError> {
    use rayon::prelude::*;
    let Some(mut state) = fleet_state(store)? else {
        return Err(IngestError::NoFleet);
    };
    let now = state.clock.max(Utc::now()) + chrono::Duration::hours(i64::from(hours));
    let adv = fleet::Advance {
        step: state.step + 1,
        hours,
        now,
    };
    let cfg = fleet::FleetConfig::new(state.devices, state.seed, state.base_now);
    let (mut reports, mut quiet, mut done) = (0u64, 0u64, 0u64);
    // Short reads by id rather than one long scan: a read transaction held across the
    // writes would stop SQLite from checkpointing and let the log grow without bound.
    for ids in store.device_ids()?.chunks(2000) {
        let batch = store.devices(ids)?;
        let next: Vec<DeviceReport> = batch
            .par_iter()
            .filter_map(|s| fleet::evolve_report(&cfg, &adv, &s.report))
            .collect();
        quiet += (batch.len() - next.len()) as u64;
        done += batch.len() as u64;
        reports += next.len() as u64;
        apply_reports(store, &next, now)?;
        progress(done);
    }
    store.checkpoint()?;
    let update = fleet::feed_update(state.seed, state.base_now, adv.step, now, hours);
    let feed = import_feed(
        store,
        &update,
        &format!("synthetic-update-step{}.json", adv.step),
    )?;
    state.clock = now;
    state.step = adv.step;
    put_fleet_state(store, &state)?;
    Ok(AdvanceOutcome {
        step: adv.step,
        now,
        reports,
        quiet_devices: quiet,
        feed,
    })
}
