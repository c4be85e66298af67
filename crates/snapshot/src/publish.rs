//! Publishing from the store, the one entry point: load the knowledge base the store
//! holds (stored feed records plus the shipped configuration catalogue), then publish a
//! snapshot at a given time. The CLI, the serve loop, tests and benchmarks all publish
//! through [`publish_from_store`].

use crate::{BuildOptions, Progress, PublishReport, SnapshotError, Snapshots};
use assess::{Catalog, KnowledgeBase};
use chrono::{DateTime, Utc};
use store::{KbRecord, SOURCE_EPSS, SOURCE_KEV, SOURCE_NVD, SOURCE_OSV, StateStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeBaseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored knowledge base record {id} is unreadable: {reason}")]
    StoredRecord { id: String, reason: String },
    #[error(transparent)]
    Catalog(#[from] assess::catalog::CatalogError),
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("cannot load the knowledge base: {0}")]
    KnowledgeBase(#[from] KnowledgeBaseError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
}

/// Loads every stored feed record and the shipped configuration catalogue.
pub fn load_knowledge_base(store: &dyn StateStore) -> Result<KnowledgeBase, KnowledgeBaseError> {
    let version = store.kb_version()?;
    let cves = decode_all(store.kb_records(SOURCE_NVD)?)?;
    let kev = decode_all(store.kb_records(SOURCE_KEV)?)?;
    let osv = decode_all(store.kb_records(SOURCE_OSV)?)?;
    let epss = decode_all(store.kb_records(SOURCE_EPSS)?)?;
    Ok(KnowledgeBase::new(cves, kev, osv, Catalog::embedded()?, version).with_epss(epss))
}

fn decode_all<T: serde::de::DeserializeOwned>(
    records: Vec<KbRecord>,
) -> Result<Vec<T>, KnowledgeBaseError> {
    records
        .iter()
        .map(|r| {
            serde_json::from_str(&r.body).map_err(|e| KnowledgeBaseError::StoredRecord {
                id: r.id.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Loads the knowledge base from the store `snapshots` publishes from, and publishes a
/// snapshot of every device at `at` (see [`Snapshots::publish`] for how `at` becomes
/// the snapshot's time).
pub fn publish_from_store(
    snapshots: &Snapshots,
    at: DateTime<Utc>,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> Result<PublishReport, PublishError> {
    publish_from_store_as(snapshots, snapshots.store(), at, opts, progress)
}

/// [`publish_from_store`] through `writer` ([`Snapshots::publish_as`]: a publishing
/// leader's fenced handle on the same store).
pub fn publish_from_store_as(
    snapshots: &Snapshots,
    writer: &dyn StateStore,
    at: DateTime<Utc>,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> Result<PublishReport, PublishError> {
    let kb = load_knowledge_base(writer)?;
    Ok(snapshots.publish_as(writer, &kb, at, opts, progress)?)
}
