//! Seeding: the synthetic fleet and its synthetic knowledge base written into a store
//! through ingest's doors, exactly as real reports and feed files arrive.

use crate::EmulatorError;
use crate::clock::{FleetState, put_fleet_state};
use crate::devices::{FleetConfig, device_key, device_report};
use crate::synthetic_kb::synthetic_feeds;
use ingest::{FeedImport, StateStore};
use model::DeviceReport;
use serde::Serialize;
use std::path::Path;

/// The fleet's device indexes in the order the stores keep devices: (group id, device
/// id). A seed is a bulk load, and like any bulk load it writes in the table's key
/// order: each row lands at the end of what is written already instead of at a random
/// place in a B-tree (SQLite's clustered table, PostgreSQL's indexes), and PostgreSQL's
/// heap comes out in the order publishing scans it. Reports that arrive by the API come
/// in any order; `posture bench-ingest` measures that path.
fn store_order(cfg: &FleetConfig) -> Vec<u32> {
    use rayon::prelude::*;
    // `DeviceId` orders as its text, byte by byte: the stores' order.
    let mut keys: Vec<(u32, model::DeviceId, u32)> = (0..cfg.devices)
        .into_par_iter()
        .map(|i| {
            let (group, id) = device_key(cfg, i);
            (group, id, i)
        })
        .collect();
    keys.par_sort_unstable();
    keys.into_iter().map(|(_, _, i)| i).collect()
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
    const BATCH: usize = 1000;
    let order = store_order(cfg);
    let bulk_load = store.begin_bulk_load()?;
    let mut done = 0u64;
    ingest::one_batch_ahead(
        |send| {
            for indexes in order.chunks(BATCH) {
                let batch: Vec<_> = indexes.par_iter().map(|&i| device_report(cfg, i)).collect();
                if !send(batch) {
                    break;
                }
            }
            Ok(())
        },
        |batch: Vec<DeviceReport>| {
            ingest::apply_reports(store, &batch, cfg.now)?;
            done += batch.len() as u64;
            progress(done);
            // Some thousand allocations per report: freed on every core, not on the
            // one thread that writes.
            ingest::drop_all(batch);
            Ok(())
        },
        || EmulatorError::BadState("the thread making the reports panicked".into()),
    )?;
    if bulk_load {
        store.end_bulk_load()?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's order is the stores' (group id, device id) order, over every device
    /// once, and each key is the one its report carries.
    #[test]
    fn the_seed_writes_devices_in_the_stores_key_order() {
        let cfg = FleetConfig::new(3000, 7, chrono::Utc::now());
        let order = store_order(&cfg);
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..3000).collect::<Vec<u32>>());
        let keys: Vec<(u32, String)> = order
            .iter()
            .map(|&i| {
                let r = device_report(&cfg, i);
                (r.group.map_or(0, |g| g.id), r.device_id.as_str().to_owned())
            })
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "not in key order");
        let groups: std::collections::BTreeSet<u32> = keys.iter().map(|k| k.0).collect();
        assert!(groups.len() > 3, "a fleet of several groups: {groups:?}");
    }
}
