//! The exports as part of a snapshot's lifecycle ([`snapshot::PublishHook`]): files are
//! written and published before the snapshot's commit point, their index is stored in
//! the snapshot directory, files of removed snapshots go with them, and files of a
//! publish that never committed are removed when the hook is attached.

use crate::{BlobBackend, ExportIndex, ExportOptions, INDEX_FILE, publish_exports};
use snapshot::{HookError, PublishHook, Snapshot};
use std::path::PathBuf;
use std::sync::Arc;

pub struct ExportHook {
    backend: Arc<dyn BlobBackend>,
    options: ExportOptions,
    staging_root: PathBuf,
    /// Runs the backends' uploads; owned so the hook works from any thread (the CLI has
    /// no runtime, `serve` publishes on a blocking thread).
    runtime: Option<tokio::runtime::Runtime>,
}

impl ExportHook {
    /// `staging_root` should be on the same filesystem as a local backend's root, so
    /// publishing is a rename.
    pub fn new(
        backend: Arc<dyn BlobBackend>,
        options: ExportOptions,
        staging_root: PathBuf,
    ) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("export-io")
            .enable_all()
            .build()?;
        Ok(ExportHook {
            backend,
            options,
            staging_root,
            runtime: Some(runtime),
        })
    }

    pub fn backend(&self) -> &Arc<dyn BlobBackend> {
        &self.backend
    }

    fn handle(&self) -> Result<&tokio::runtime::Handle, HookError> {
        self.runtime
            .as_ref()
            .map(|r| r.handle())
            .ok_or_else(|| "the export runtime has stopped".into())
    }

    /// Runs `work` (which blocks on the export runtime) on its own thread, so the hook can
    /// be called from async code as well as from plain threads.
    fn blocking<T: Send>(
        &self,
        work: impl FnOnce(&tokio::runtime::Handle) -> Result<T, HookError> + Send,
    ) -> Result<T, HookError> {
        let handle = self.handle()?;
        std::thread::scope(|scope| {
            scope
                .spawn(|| work(handle))
                .join()
                .map_err(|_| HookError::from("export work panicked"))?
        })
    }
}

impl Drop for ExportHook {
    fn drop(&mut self) {
        // Dropping a runtime from async code panics; shutting it down in the background does not.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// The export index stored in a snapshot's directory, if it has one.
pub fn index_of(snapshot: &Snapshot) -> Option<ExportIndex> {
    let path = snapshot.dir().join(INDEX_FILE);
    path.exists()
        .then(|| ExportIndex::read(&path).ok())
        .flatten()
}

impl PublishHook for ExportHook {
    fn before_commit(&self, snapshot: &Snapshot) -> Result<(), HookError> {
        let index = self.blocking(|rt| {
            Ok(publish_exports(
                snapshot,
                &self.staging_root,
                &self.options,
                self.backend.as_ref(),
                rt,
            )?)
        })?;
        index.write(&snapshot.dir().join(INDEX_FILE))?;
        Ok(())
    }

    fn after_remove(&self, snapshot: &Snapshot) -> Result<(), HookError> {
        if let Some(index) = index_of(snapshot) {
            self.blocking(|rt| Ok(rt.block_on(self.backend.remove(&index))?))?;
        }
        Ok(())
    }

    fn reconcile(&self, retained: &[Arc<Snapshot>]) -> Result<(), HookError> {
        if self.staging_root.exists() {
            for entry in std::fs::read_dir(&self.staging_root)?.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".staging-") {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let keep: Vec<ExportIndex> = retained.iter().filter_map(|s| index_of(s)).collect();
        let removed = self.blocking(|rt| {
            Ok(rt.block_on(self.backend.remove_except(&self.options.container, &keep))?)
        })?;
        if !removed.is_empty() {
            tracing::info!(
                count = removed.len(),
                "removed export files of unpublished snapshots"
            );
        }
        Ok(())
    }
}
