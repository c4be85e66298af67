//! The data directory: `state.db` (SQLite state store) and `snapshots/`.

use anyhow::{Context, Result};
use snapshot::Snapshots;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::{SqliteStore, StateStore};

#[derive(Clone)]
pub struct DataDir {
    pub path: PathBuf,
    pub store: Arc<dyn StateStore>,
}

impl DataDir {
    pub fn open(path: &Path) -> Result<DataDir> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        let db = path.join("state.db");
        let store = SqliteStore::open(&db)
            .with_context(|| format!("cannot open state store {}", db.display()))?;
        Ok(DataDir {
            path: path.to_owned(),
            store: Arc::new(store),
        })
    }

    pub fn snapshots(&self, retain: usize) -> Result<Snapshots> {
        Snapshots::open(&self.path, self.store.clone(), retain).context("cannot open snapshots")
    }

    pub fn feeds_dir(&self) -> PathBuf {
        self.path.join("feeds")
    }
}
