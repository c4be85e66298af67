//! The error of the scale and ingest benchmarks (the export benchmark answers `ExportError`).

/// An error from an operation the caller provides (`scale::Operations`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Export(#[from] export::ExportError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Snapshot(#[from] snapshot::SnapshotError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    /// Seeding, publishing or advancing, as the caller runs them, failed.
    #[error(transparent)]
    Operation(BoxError),
    /// A measurement that did not come out as it must (the server did not start, a walk
    /// returned the wrong number of records, ...).
    #[error("{0}")]
    Failed(String),
}

impl BenchError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BenchError {
        let what = what.into();
        move |source| BenchError::Io { what, source }
    }
}
