//! A device's state borrowed from its decoded record: what a publish reads.
//!
//! A state owns some hundreds of strings (vendors, names, versions, CPEs, paths,
//! settings); allocating and freeing them cost several times what reading the record
//! does. A [`DeviceView`] keeps those as slices of the record instead, and owns only the
//! few small parts a publish keeps past the device (the OS, group, antivirus state and
//! gathered facts). [`crate::state_codec::view`] reads one; [`DeviceView::into_state`]
//! makes the owned [`DeviceState`] (the codec's `decode` is exactly that), so the record
//! layout is read in one place.

use crate::{DeviceState, Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use model::{
    AvState, DeviceId, DeviceReport, EndOfSupport, GroupRef, InstalledSoftware, OsInfo,
    SourcePackage,
};
use serde_json::Value;
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// A device's state over its decoded record (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceView<'a> {
    /// 40 lower-case hexadecimal characters (checked when read).
    pub device_id: &'a str,
    pub sequence: u64,
    pub reported_at: DateTime<Utc>,
    pub device_name: Option<&'a str>,
    pub os: OsInfo,
    pub group: Option<GroupRef>,
    pub software: Vec<SoftwareView<'a>>,
    /// Parallel to `software`: when each entry was first reported.
    pub software_first_seen: Vec<DateTime<Utc>>,
    /// The report's settings, strictly ascending by name (checked when read).
    pub settings: Vec<(&'a str, &'a str)>,
    pub av: Option<AvState>,
    pub facts: BTreeMap<String, Value>,
    pub first_seen: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// An entry's disk or registry paths: most entries have none, one or two, held inline
/// (a list of their own for each entry was a tenth of reading a record).
pub type Paths<'a> = SmallVec<[&'a str; 2]>;

/// One installed software entry of a [`DeviceView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SoftwareView<'a> {
    pub vendor: &'a str,
    pub name: &'a str,
    pub version: &'a str,
    pub cpe: Option<&'a str>,
    pub ecosystem: Option<&'a str>,
    pub disk_paths: Paths<'a>,
    pub registry_paths: Paths<'a>,
    /// End-of-support status and date.
    pub end_of_support: Option<(&'a str, Option<NaiveDate>)>,
    /// Source package name and version.
    pub source: Option<(&'a str, &'a str)>,
}

fn owned(strings: &[&str]) -> Vec<String> {
    strings.iter().map(|s| (*s).to_owned()).collect()
}

impl SoftwareView<'_> {
    /// The entry as the report model holds it.
    pub fn to_installed(&self) -> InstalledSoftware {
        InstalledSoftware {
            vendor: self.vendor.to_owned(),
            name: self.name.to_owned(),
            version: self.version.to_owned(),
            cpe: self.cpe.map(str::to_owned),
            ecosystem: self.ecosystem.map(str::to_owned),
            disk_paths: owned(&self.disk_paths),
            registry_paths: owned(&self.registry_paths),
            end_of_support: self.end_of_support.map(|(status, date)| EndOfSupport {
                status: status.to_owned(),
                date,
            }),
            source: self.source.map(|(name, version)| SourcePackage {
                name: name.to_owned(),
                version: version.to_owned(),
            }),
        }
    }
}

impl DeviceView<'_> {
    /// The owned state (every string copied out of the record).
    pub fn into_state(self) -> Result<DeviceState> {
        let device_id = DeviceId::parse(self.device_id)
            .map_err(|e| StoreError::Corrupt(format!("device state: {e}")))?;
        Ok(DeviceState {
            report: DeviceReport {
                device_id,
                sequence: self.sequence,
                reported_at: self.reported_at,
                device_name: self.device_name.map(str::to_owned),
                os: self.os,
                group: self.group,
                software: self
                    .software
                    .iter()
                    .map(SoftwareView::to_installed)
                    .collect(),
                // Ascending already: the tree is built in one pass, without searching.
                settings: self
                    .settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                av: self.av,
                facts: self.facts,
            },
            first_seen: self.first_seen,
            software_first_seen: self.software_first_seen,
            received_at: self.received_at,
        })
    }
}
