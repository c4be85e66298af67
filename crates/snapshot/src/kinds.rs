//! The exports a snapshot holds, and what each needs to be named and laid out.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ExportKind {
    SecureConfiguration,
    SoftwareInventory,
    NonCpeSoftware,
    Vulnerabilities,
    DeviceAv,
    InfoGathering,
}

impl ExportKind {
    pub const ALL: [ExportKind; 6] = [
        ExportKind::SecureConfiguration,
        ExportKind::SoftwareInventory,
        ExportKind::NonCpeSoftware,
        ExportKind::Vulnerabilities,
        ExportKind::DeviceAv,
        ExportKind::InfoGathering,
    ];

    /// Size of one record in the row file; 0 when row `i` is simply device `i`.
    pub const fn row_size(self) -> usize {
        match self {
            ExportKind::Vulnerabilities | ExportKind::SoftwareInventory => crate::layout::WIDE_ROW,
            ExportKind::SecureConfiguration | ExportKind::NonCpeSoftware => {
                crate::layout::NARROW_ROW
            }
            ExportKind::DeviceAv | ExportKind::InfoGathering => 0,
        }
    }

    pub const fn file_stem(self) -> &'static str {
        match self {
            ExportKind::SecureConfiguration => "sca",
            ExportKind::SoftwareInventory => "inventory",
            ExportKind::NonCpeSoftware => "noncpe",
            ExportKind::Vulnerabilities => "vulnerabilities",
            ExportKind::DeviceAv => "deviceav",
            ExportKind::InfoGathering => "infogathering",
        }
    }

    /// The `<ExportName>` segment of via-files paths.
    pub const fn export_name(self) -> &'static str {
        match self {
            ExportKind::SecureConfiguration => "ScaExport",
            ExportKind::SoftwareInventory => "SoftwareInventory",
            ExportKind::NonCpeSoftware => "NonCpeSoftwareInventory",
            ExportKind::Vulnerabilities => "VaExport",
            ExportKind::DeviceAv => "DeviceAvInfo",
            ExportKind::InfoGathering => "InfoGatheringExport",
        }
    }

    /// Rough size of one rendered record, for planning part files.
    pub const fn approx_record_bytes(self) -> u64 {
        match self {
            ExportKind::Vulnerabilities => 1000,
            ExportKind::InfoGathering | ExportKind::DeviceAv => 1200,
            _ => 500,
        }
    }
}
