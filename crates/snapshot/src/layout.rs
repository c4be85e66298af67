//! The on-disk layout shared by the builder, the renderers and the reader: fragment slot
//! ids, row widths and row encodings, and the stored values of a finding. Nothing here
//! renders JSON or reads the store.

use crate::format::read_u32;
use chrono::{DateTime, Utc};

/// Width of a vulnerability or inventory row: device, software/finding, paths, first seen.
pub const WIDE_ROW: usize = 16;
/// Width of a configuration or non-CPE row: device and configuration/software.
pub const NARROW_ROW: usize = 8;

/// Per-device fragment slots in `devices.frag` (device `d` uses `d * DEVICE_SLOTS + slot`).
pub(crate) mod slot {
    pub const ID: usize = 0;
    pub const VULN_HEAD: usize = 1;
    pub const SCA_HEAD: usize = 2;
    pub const INVENTORY_HEAD: usize = 3;
    pub const NONCPE_HEAD: usize = 4;
    pub const TAIL: usize = 5;
    pub const LAST_SEEN: usize = 6;
    pub const NONCPE_TAIL: usize = 7;
    pub const DEVICE_SLOTS: usize = 8;

    pub const SW_ID_PART: usize = 0;
    pub const SW_FIELDS: usize = 1;
    pub const SW_INVENTORY_FIELDS: usize = 2;
    pub const SW_INVENTORY_TAIL: usize = 3;
    pub const SOFTWARE_SLOTS: usize = 4;

    pub const FINDING_CVE: usize = 0;
    pub const FINDING_MID: usize = 1;
    pub const FINDING_TAIL: usize = 2;
    pub const FINDING_SLOTS: usize = 3;

    /// Configuration fragments: 4 variants (applicable × compliant) per configuration.
    pub const CONFIG_VARIANTS: usize = 4;
}

/// Unix seconds as stored in rows (clamped to `u32`).
pub(crate) fn unix_secs(t: &DateTime<Utc>) -> u32 {
    t.timestamp().clamp(0, u32::MAX as i64) as u32
}

/// One vulnerability row: device, finding (software × CVE), install paths, first seen (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VulnRow {
    pub device: u32,
    pub finding: u32,
    pub paths: u32,
    pub first_seen: u32,
}

impl VulnRow {
    /// Decodes a [`WIDE_ROW`]-byte row (inventory rows share the layout, with software for finding).
    pub(crate) fn decode(r: &[u8]) -> VulnRow {
        VulnRow {
            device: read_u32(r, 0),
            finding: read_u32(r, 4),
            paths: read_u32(r, 8),
            first_seen: read_u32(r, 12),
        }
    }

    pub(crate) fn encode(&self) -> [u8; WIDE_ROW] {
        let mut row = [0u8; WIDE_ROW];
        row[0..4].copy_from_slice(&self.device.to_le_bytes());
        row[4..8].copy_from_slice(&self.finding.to_le_bytes());
        row[8..12].copy_from_slice(&self.paths.to_le_bytes());
        row[12..16].copy_from_slice(&self.first_seen.to_le_bytes());
        row
    }
}

/// A configuration row: device, configuration index, variant (applicable | compliant << 1).
pub(crate) fn encode_configuration_row(
    device: u32,
    configuration: u16,
    variant: u16,
) -> [u8; NARROW_ROW] {
    let mut row = [0u8; NARROW_ROW];
    row[0..4].copy_from_slice(&device.to_le_bytes());
    row[4..6].copy_from_slice(&configuration.to_le_bytes());
    row[6..8].copy_from_slice(&variant.to_le_bytes());
    row
}

/// A non-CPE software row: device, software.
pub(crate) fn encode_noncpe_row(device: u32, software: u32) -> [u8; NARROW_ROW] {
    let mut row = [0u8; NARROW_ROW];
    row[0..4].copy_from_slice(&device.to_le_bytes());
    row[4..8].copy_from_slice(&software.to_le_bytes());
    row
}

/// The values of a finding that the delta export compares.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FindingMeta {
    #[serde(rename = "c")]
    pub cve_id: Option<String>,
    #[serde(rename = "s")]
    pub severity: Option<String>,
    #[serde(rename = "v")]
    pub cvss_score: Option<f64>,
    #[serde(rename = "e")]
    pub exploitability: String,
    #[serde(rename = "u")]
    pub recommended_update: Option<String>,
}
