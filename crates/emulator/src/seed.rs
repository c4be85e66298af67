//! Seeding: the synthetic fleet and its synthetic knowledge base written into a store
//! through ingest's doors, exactly as real reports and feed files arrive.

use crate::EmulatorError;
use crate::clock::{FleetState, put_fleet_state};
use crate::devices::{FleetConfig, device_report};
use crate::synthetic_kb::synthetic_feeds;
use ingest::{FeedImport, StateStore};
use model::DeviceReport;
use serde::Serialize;
use std::path::Path;

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
/// of devices written so far. The emulator clock starts at `cfg.now`.
pub fn seed_fleet(
    store: &dyn StateStore,
    cfg: &FleetConfig,
    with_kb: bool,
    feeds_dir: Option<&Path>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<SeedOutcome, EmulatorError> {
    use rayon::prelude::*;
    let mut feeds = Vec::new();
    if with_kb {
        let synthetic = synthetic_feeds(cfg.seed, cfg.now);
        for (name, bytes) in [("nvd", &synthetic.nvd), ("kev", &synthetic.kev)] {
            let file = format!("synthetic-{name}-seed{}.json", cfg.seed);
            if let Some(dir) = feeds_dir {
                let path = dir.join(&file);
                std::fs::create_dir_all(dir)
                    .and_then(|_| std::fs::write(&path, bytes))
                    .map_err(|source| EmulatorError::Write {
                        path: path.display().to_string(),
                        source,
                    })?;
            }
            feeds.push(ingest::import_feed(store, bytes, &file)?);
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
                    .map(|i| device_report(cfg, i))
                    .collect();
                if tx.send(batch).is_err() {
                    return;
                }
                start = end;
            }
        });
        let mut done = 0u64;
        for batch in rx {
            ingest::apply_reports(store, &batch, cfg.now)?;
            done += batch.len() as u64;
            progress(done);
        }
        Ok::<(), EmulatorError>(())
    })?;
    // Maintenance, not a write of state: fold the bulk writes' log back in.
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
