//! The records of the export API, exactly as they appear on the wire.
//!
//! Field order follows the documented example JSON of each record; fields that are
//! in the property tables but not in the examples (`rbacGroupId`, `cvssScore`)
//! come last. Times are kept as the strings the API emits (see [`crate::timefmt`]),
//! so a record deserialises and re-serialises byte for byte.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The entity type names used in `@odata.context`.
pub mod entity {
    pub const ASSET_CONFIGURATION: &str = "AssetConfiguration";
    pub const ASSET_SOFTWARE: &str = "AssetSoftware";
    pub const ASSET_NON_CPE_SOFTWARE: &str = "AssetNonCpeSoftware";
    pub const ASSET_VULNERABILITY: &str = "AssetVulnerability";
    pub const DELTA_ASSET_VULNERABILITY: &str = "DeltaAssetVulnerability";
    pub const DEVICE_AV_INFO: &str = "DeviceAvInfo";
    pub const EXPORT_FILES_RESPONSE: &str = "ExportFilesResponse";
}

/// The OData namespace of every record type (`@odata.context` and `$metadata`).
pub const NAMESPACE: &str = "microsoft.windowsDefenderATP.api";

/// A record type served on the wire: its OData type name and key. Its properties come
/// from its [`JsonSchema`], which serde's own attributes shape, so the OpenAPI
/// components and the CSDL `$metadata` can never disagree with what is serialised.
pub trait WireRecord: JsonSchema {
    /// The OData type name (`@odata.context` uses `NAMESPACE.ENTITY`).
    const ENTITY: &'static str;
    /// Key properties of the entity type; empty for a complex type (no identity).
    const KEY: &'static [&'static str];
}

impl WireRecord for AssetConfiguration {
    const ENTITY: &'static str = entity::ASSET_CONFIGURATION;
    const KEY: &'static [&'static str] = &["deviceId", "configurationId"];
}
impl WireRecord for AssetSoftware {
    const ENTITY: &'static str = entity::ASSET_SOFTWARE;
    const KEY: &'static [&'static str] = &[
        "deviceId",
        "softwareVendor",
        "softwareName",
        "softwareVersion",
    ];
}
impl WireRecord for AssetNonCpeSoftware {
    const ENTITY: &'static str = entity::ASSET_NON_CPE_SOFTWARE;
    const KEY: &'static [&'static str] = &[
        "deviceId",
        "softwareVendor",
        "softwareName",
        "softwareVersion",
    ];
}
impl WireRecord for AssetVulnerability {
    const ENTITY: &'static str = entity::ASSET_VULNERABILITY;
    const KEY: &'static [&'static str] = &["id"];
}
impl WireRecord for DeltaAssetVulnerability {
    const ENTITY: &'static str = entity::DELTA_ASSET_VULNERABILITY;
    const KEY: &'static [&'static str] = &["id"];
}
impl WireRecord for DeviceAvInfo {
    const ENTITY: &'static str = entity::DEVICE_AV_INFO;
    const KEY: &'static [&'static str] = &["id"];
}
impl WireRecord for ExportFilesResponse {
    const ENTITY: &'static str = entity::EXPORT_FILES_RESPONSE;
    const KEY: &'static [&'static str] = &[];
}

/// Secure configuration assessment record (`SecureConfigurationsAssessmentByMachine`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetConfiguration {
    pub device_id: String,
    pub rbac_group_name: String,
    pub device_name: Option<String>,
    pub os_platform: String,
    #[serde(default)]
    pub os_version: Option<String>,
    pub timestamp: String,
    pub configuration_id: String,
    pub configuration_category: String,
    pub configuration_subcategory: String,
    pub configuration_impact: u8,
    pub is_compliant: bool,
    pub is_applicable: bool,
    pub is_expected_user_impact: bool,
    pub configuration_name: String,
    pub recommendation_reference: String,
    /// In the property tables, absent from most documented examples.
    #[serde(default)]
    pub rbac_group_id: i64,
}

/// Software inventory record, software with a CPE (`SoftwareInventoryByMachine`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetSoftware {
    pub device_id: String,
    pub rbac_group_name: String,
    pub device_name: Option<String>,
    pub os_platform: String,
    pub software_vendor: String,
    pub software_name: String,
    pub software_version: String,
    pub number_of_weaknesses: u32,
    pub disk_paths: Vec<String>,
    pub registry_paths: Vec<String>,
    pub software_first_seen_timestamp: String,
    pub end_of_support_status: String,
    /// `YYYY-MM-DDT00:00:00+00:00`: a real date-time, unlike the space-separated stamps.
    #[schemars(extend("format" = "date-time"))]
    pub end_of_support_date: Option<String>,
    /// In the property tables, absent from most documented examples.
    #[serde(default)]
    pub rbac_group_id: i64,
}

/// Software inventory record, software without a CPE (`SoftwareInventoryNoProductCodeByMachine`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetNonCpeSoftware {
    pub device_id: String,
    pub rbac_group_id: i64,
    pub rbac_group_name: String,
    pub device_name: Option<String>,
    pub os_platform: String,
    pub software_vendor: String,
    pub software_name: String,
    pub software_version: String,
    pub software_last_seen_timestamp: String,
}

/// Software vulnerability record (`SoftwareVulnerabilitiesByMachine`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssetVulnerability {
    pub id: String,
    pub device_id: String,
    pub rbac_group_name: String,
    pub device_name: Option<String>,
    pub os_platform: String,
    pub os_version: Option<String>,
    pub os_architecture: Option<String>,
    pub software_vendor: String,
    pub software_name: String,
    pub software_version: String,
    pub cve_id: Option<String>,
    pub vulnerability_severity_level: Option<String>,
    pub recommended_security_update: Option<String>,
    pub recommended_security_update_id: Option<String>,
    pub recommended_security_update_url: Option<String>,
    pub disk_paths: Vec<String>,
    pub registry_paths: Vec<String>,
    pub last_seen_timestamp: String,
    pub first_seen_timestamp: String,
    pub exploitability_level: String,
    pub recommendation_reference: String,
    /// Absent from the documented delta example.
    #[serde(default)]
    pub security_update_available: bool,
    /// In the property table, absent from the documented example.
    #[serde(default)]
    pub cvss_score: Option<f64>,
    /// In the property tables, absent from most documented examples.
    #[serde(default)]
    pub rbac_group_id: i64,
}

impl AssetVulnerability {
    /// `<deviceId>_<softwareName>_<softwareVersion>_<cveId>_` (an empty cveId leaves `__`).
    pub fn record_id(
        device_id: &str,
        software_name: &str,
        software_version: &str,
        cve_id: Option<&str>,
    ) -> String {
        format!(
            "{device_id}_{software_name}_{software_version}_{}_",
            cve_id.unwrap_or("")
        )
    }
}

/// Delta status of a vulnerability change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ChangeStatus {
    New,
    Fixed,
    Updated,
}

/// Delta record (`SoftwareVulnerabilityChangesByMachine`): a full vulnerability record
/// plus `status` and `eventTimestamp`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeltaAssetVulnerability {
    #[serde(flatten)]
    pub record: AssetVulnerability,
    pub status: ChangeStatus,
    pub event_timestamp: String,
}

/// Device antivirus health record (`/api/deviceavinfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceAvInfo {
    pub id: String,
    pub machine_id: String,
    pub computer_dns_name: Option<String>,
    pub os_kind: String,
    pub os_platform: String,
    pub os_version: Option<String>,
    /// String-typed integer "0".."5", or "" when unknown.
    pub av_mode: String,
    pub av_signature_version: Option<String>,
    pub av_engine_version: Option<String>,
    pub av_platform_version: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub last_seen_time: Option<String>,
    pub quick_scan_result: String,
    pub quick_scan_error: String,
    #[schemars(extend("format" = "date-time"))]
    pub quick_scan_time: Option<String>,
    pub full_scan_result: String,
    pub full_scan_error: String,
    #[schemars(extend("format" = "date-time"))]
    pub full_scan_time: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub data_refresh_timestamp: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub av_engine_update_time: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub av_signature_update_time: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub av_platform_update_time: Option<String>,
    /// "True", "False" or "Unknown".
    pub av_is_signature_up_to_date: String,
    pub av_is_engine_up_to_date: String,
    pub av_is_platform_up_to_date: String,
    #[schemars(extend("format" = "date-time"))]
    pub av_signature_publish_time: Option<String>,
    pub rbac_group_name: String,
    /// In the property tables, absent from most documented examples.
    #[serde(default)]
    pub rbac_group_id: i64,
}

/// The up-to-date tri-state of deviceavinfo, as its strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpToDate {
    True,
    False,
    Unknown,
}
impl UpToDate {
    pub fn as_str(self) -> &'static str {
        match self {
            UpToDate::True => "True",
            UpToDate::False => "False",
            UpToDate::Unknown => "Unknown",
        }
    }
}

/// The via-files response (`ExportFilesResponse`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportFilesResponse {
    #[serde(rename = "@odata.context")]
    pub odata_context: String,
    #[serde(rename = "exportFiles")]
    pub export_files: Vec<String>,
    #[serde(rename = "generatedTime")]
    #[schemars(extend("format" = "date-time"))]
    pub generated_time: String,
}

/// The MDE error body: `{"error":{"code","message","target"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub target: String,
}
