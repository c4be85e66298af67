//! Identifier conventions: 40-hex device ids and RBAC groups.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A device id: exactly 40 lower-case hexadecimal characters, as MDE emits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("device id must be 40 lower-case hexadecimal characters, got {0:?}")]
pub struct InvalidDeviceId(pub String);

impl DeviceId {
    pub fn parse(s: &str) -> Result<Self, InvalidDeviceId> {
        if Self::is_valid(s) {
            Ok(DeviceId(s.to_owned()))
        } else {
            Err(InvalidDeviceId(s.chars().take(64).collect()))
        }
    }
    /// Whether `s` is a device id (what [`DeviceId::parse`] accepts), without copying it.
    pub fn is_valid(s: &str) -> bool {
        s.len() == 40
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl schemars::JsonSchema for DeviceId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DeviceId".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "string", "pattern": "^[0-9a-f]{40}$", "description": "40 lower-case hexadecimal characters"})
    }
}

impl TryFrom<String> for DeviceId {
    type Error = InvalidDeviceId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DeviceId::parse(&s)
    }
}
impl From<DeviceId> for String {
    fn from(d: DeviceId) -> String {
        d.0
    }
}
impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.0)
    }
}

/// A device group (MDE "RBAC group"). A device with no group is reported as
/// [`GroupRef::UNASSIGNED_NAME`] with id 0.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct GroupRef {
    pub id: u32,
    pub name: String,
}

impl GroupRef {
    pub const UNASSIGNED_NAME: &'static str = "Unassigned";
    pub fn unassigned() -> Self {
        GroupRef {
            id: 0,
            name: Self::UNASSIGNED_NAME.to_owned(),
        }
    }
}
