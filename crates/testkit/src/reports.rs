//! Device reports for store and ingest tests: Linux device `n` and its packages.

use chrono::{DateTime, Utc};
use model::{DeviceId, DeviceReport, GroupRef, InstalledSoftware, OsInfo, OsKind};

/// The device id of test device `n` (40 hex digits).
pub fn device_id(n: u32) -> String {
    format!("{n:040x}")
}

/// A package without CPE or ecosystem.
pub fn package(vendor: &str, name: &str, version: &str) -> InstalledSoftware {
    InstalledSoftware {
        vendor: vendor.into(),
        name: name.into(),
        version: version.into(),
        cpe: None,
        ecosystem: None,
        disk_paths: vec![],
        registry_paths: vec![],
        end_of_support: None,
        source: None,
    }
}

/// Packages by `(name, version)`, all of vendor `v`.
pub fn packages(software: &[(&str, &str)]) -> Vec<InstalledSoftware> {
    software.iter().map(|(n, v)| package("v", n, v)).collect()
}

/// A report of Linux device `n` (`d<n>.contoso.com`, group 7 "Seven") holding `software`.
pub fn linux_report(
    n: u32,
    sequence: u64,
    reported_at: DateTime<Utc>,
    software: Vec<InstalledSoftware>,
) -> DeviceReport {
    DeviceReport {
        device_id: DeviceId::parse(&device_id(n)).expect("40 hex digits"),
        sequence,
        reported_at,
        device_name: Some(format!("d{n}.contoso.com")),
        os: OsInfo {
            kind: OsKind::Linux,
            platform: "Linux".into(),
            version: "12".into(),
            architecture: None,
            distro: None,
        },
        group: Some(GroupRef {
            id: 7,
            name: "Seven".into(),
        }),
        software,
        settings: Default::default(),
        av: None,
        facts: Default::default(),
    }
}
