//! The console's device search over the latest snapshot: its `snapshot::DeviceSearch`,
//! made once per snapshot and kept for the latest only (about 70 MB at a million
//! devices; kept with every retained snapshot, it would grow with the retention).

use parking_lot::Mutex;
use snapshot::{DeviceSearch, Snapshot};
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct SearchCache {
    /// The search and the sequence number of the snapshot it was made from. Held while
    /// one is made, so a search arriving meanwhile waits for it rather than making it
    /// again.
    latest: Mutex<Option<(u64, Arc<DeviceSearch>)>>,
}

impl SearchCache {
    /// The search over `snapshot`'s devices: the kept one if it was made from this
    /// snapshot, else made now (replacing it).
    pub(crate) fn of(&self, snapshot: &Snapshot) -> Arc<DeviceSearch> {
        let mut latest = self.latest.lock();
        let seq = snapshot.manifest.seq;
        if let Some((made_from, search)) = &*latest
            && *made_from == seq
        {
            return search.clone();
        }
        let started = std::time::Instant::now();
        let search = Arc::new(DeviceSearch::build(
            snapshot.device_count(),
            |d| snapshot.device_id(d),
            |d| snapshot.device_head(d),
        ));
        tracing::debug!(
            snapshot = %snapshot.manifest.time_path,
            devices = snapshot.device_count(),
            bytes = search.heap_bytes(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "device search made"
        );
        *latest = Some((seq, search.clone()));
        search
    }

    /// Whether the kept search was made from the snapshot of sequence number `seq`.
    #[cfg(test)]
    pub(crate) fn made_for(&self, seq: u64) -> bool {
        self.latest.lock().as_ref().is_some_and(|(s, _)| *s == seq)
    }
}
