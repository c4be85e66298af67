//! How a device's state is laid out in a store's row: one encoding shared by every
//! `StateStore`, so each store only moves bytes.
//!
//! Today the bytes are the state's JSON. Decoding also accepts the bytes of rows written
//! by earlier releases (JSON text), so a data directory keeps opening after an upgrade.

use crate::{DeviceState, Result};

/// The bytes a store keeps for `state`.
pub fn encode(state: &DeviceState) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(state)?)
}

/// The state stored as `bytes` (by [`encode`], or by an earlier release).
pub fn decode(bytes: &[u8]) -> Result<DeviceState> {
    Ok(serde_json::from_slice(bytes)?)
}
