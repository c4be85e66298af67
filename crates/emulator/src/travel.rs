//! Time travel: the whole synthetic fleet moved forward through ingest's doors.

use crate::EmulatorError;
use crate::clock::{fleet_state, put_fleet_state};
use crate::devices::FleetConfig;
use crate::evolve::{Advance, evolve_report};
use crate::synthetic_kb::feed_update;
use chrono::{DateTime, Utc};
use ingest::{FeedImport, StateStore};
use model::DeviceReport;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceOutcome {
    pub step: u64,
    pub now: DateTime<Utc>,
    pub reports: u64,
    pub quiet_devices: u64,
    pub feed: FeedImport,
}

/// Moves the synthetic fleet `hours` forward from the later of the emulator clock and
/// `wall_clock` (the CLI passes the real clock; tests pass a fixed one, so nothing
/// depends on today's date). Every device evolves through the report path
/// ([`evolve_report`]) and the synthetic feed receives its update ([`feed_update`]),
/// imported through the real importer.
pub fn advance_fleet(
    store: &dyn StateStore,
    hours: u32,
    wall_clock: DateTime<Utc>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<AdvanceOutcome, EmulatorError> {
    use rayon::prelude::*;
    let Some(mut state) = fleet_state(store)? else {
        return Err(EmulatorError::NoFleet);
    };
    let now = state.clock.max(wall_clock) + chrono::Duration::hours(i64::from(hours));
    let adv = Advance {
        step: state.step + 1,
        hours,
        now,
    };
    let cfg = FleetConfig::new(state.devices, state.seed, state.base_now);
    let (mut reports, mut quiet, mut done) = (0u64, 0u64, 0u64);
    // Short reads by id rather than one long scan: a read transaction held across the
    // writes would stop SQLite from checkpointing and let the log grow without bound.
    // The next chunk is read and evolved while this one is written.
    let ids = store.device_ids()?;
    ingest::one_batch_ahead(
        |send| {
            for ids in ids.chunks(2000) {
                let batch = store.devices(ids)?;
                let next: Vec<DeviceReport> = batch
                    .par_iter()
                    .filter_map(|s| evolve_report(&cfg, &adv, &s.report))
                    .collect();
                let read = batch.len() as u64;
                ingest::drop_all(batch);
                if !send((read, next)) {
                    break;
                }
            }
            Ok(())
        },
        |(read, next): (u64, Vec<DeviceReport>)| {
            quiet += read - next.len() as u64;
            done += read;
            reports += next.len() as u64;
            ingest::apply_reports(store, &next, now)?;
            progress(done);
            ingest::drop_all(next);
            Ok(())
        },
        || EmulatorError::BadState("the thread making the reports panicked".into()),
    )?;
    store.checkpoint()?;
    let update = feed_update(state.seed, state.base_now, adv.step, now, hours);
    let feed = ingest::import_feed(
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
