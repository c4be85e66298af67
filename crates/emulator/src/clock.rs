//! The emulator clock: which synthetic fleet a data directory holds and how far time
//! travel has moved its present. Kept as one setting, written through
//! [`ingest::put_emulator_state`].

use crate::EmulatorError;
use chrono::{DateTime, Utc};
use ingest::StateStore;
use serde::{Deserialize, Serialize};

/// The synthetic fleet of a data directory and its emulator clock.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

pub(crate) fn put_fleet_state(
    store: &dyn StateStore,
    state: &FleetState,
) -> Result<(), EmulatorError> {
    let text = serde_json::to_string(state).map_err(|e| EmulatorError::BadState(e.to_string()))?;
    Ok(ingest::put_emulator_state(store, &text)?)
}

/// The stored emulator state, or `None` when the data directory was never seeded.
pub fn fleet_state(store: &dyn StateStore) -> Result<Option<FleetState>, EmulatorError> {
    match ingest::emulator_state(store)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| EmulatorError::BadState(e.to_string())),
    }
}

/// The service's present: `wall_clock`, or the emulator clock when time travel has
/// moved it ahead.
pub fn service_now(
    store: &dyn StateStore,
    wall_clock: DateTime<Utc>,
) -> Result<DateTime<Utc>, EmulatorError> {
    Ok(fleet_state(store)?.map_or(wall_clock, |f| f.clock.max(wall_clock)))
}
