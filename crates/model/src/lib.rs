//! Wire model of Posture.
//!
//! * [`wire`]: the five record kinds the seeds define (plus the delta record and the
//!   information-gathering file record), with exact key names, key order and types
//!   as settled in `shared/spec/decisions.md`.
//! * [`report`]: the device report, the one way device state enters Posture, with
//!   validation that names the failing field path.
//! * [`timefmt`]: the several timestamp formats the API uses, in one place.
//! * [`ids`]: device id and group conventions.
//! * [`csdl`]: the record types as JSON Schema components and as the OData CSDL
//!   `$metadata` document, generated from the wire types.
//!
//! This crate does no I/O; every other crate depends on it.

pub mod csdl;
pub mod ids;
pub mod percent;
pub mod report;
pub mod timefmt;
pub mod wire;

pub use ids::{DeviceId, GroupRef, InvalidDeviceId};
pub use report::{
    AvState, DeviceReport, EndOfSupport, InstalledSoftware, OsInfo, OsKind, ReportError,
    ScanResult, SourcePackage, ValidReports,
};
