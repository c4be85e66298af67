//! The endpoint table: every API route, its permission and rate family, in one place.
//! The dispatcher looks paths up here case-insensitively; the OpenAPI document reads
//! the same table, and the authentication hook gets each endpoint's [`Route`].

use access::{Permission, RateFamily, Route};
use snapshot::ExportKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    /// A paged assessment export (`pageSize`, `$top`, `$skiptoken`).
    Assessment {
        kind: ExportKind,
        entity: &'static str,
    },
    /// `/api/deviceavinfo` with OData `$filter`/`$top`/`$skip`.
    DeviceAv,
    /// The delta export: changes since `sinceTime` (`pageSize`, `$top`, `$skiptoken`).
    Delta,
    /// Via files: signed URLs of the latest snapshot's export files (`sasValidHours`).
    Files { kind: ExportKind },
}

#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    /// Path after `/api/`, as documented (case preserved for links).
    pub path: &'static str,
    pub permission: Permission,
    pub family: RateFamily,
    pub handler: Handler,
    pub summary: &'static str,
}

impl Endpoint {
    /// What the authenticator and the rate limiter are told about this endpoint.
    pub fn route(&self) -> Route {
        Route {
            path: self.path,
            permission: self.permission,
            family: self.family,
        }
    }
}

pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "machines/SecureConfigurationsAssessmentByMachine",
        permission: Permission::Vulnerability,
        family: RateFamily::Json,
        handler: Handler::Assessment {
            kind: ExportKind::SecureConfiguration,
            entity: "AssetConfiguration",
        },
        summary: "Secure configuration assessment per device (paged JSON).",
    },
    Endpoint {
        path: "machines/SoftwareInventoryByMachine",
        permission: Permission::Software,
        family: RateFamily::Json,
        handler: Handler::Assessment {
            kind: ExportKind::SoftwareInventory,
            entity: "AssetSoftware",
        },
        summary: "Software inventory (software with a CPE) per device (paged JSON).",
    },
    Endpoint {
        path: "machines/SoftwareInventoryNoProductCodeByMachine",
        permission: Permission::Software,
        family: RateFamily::Json,
        handler: Handler::Assessment {
            kind: ExportKind::NonCpeSoftware,
            entity: "AssetNonCpeSoftware",
        },
        summary: "Software inventory without a CPE per device (paged JSON).",
    },
    Endpoint {
        path: "machines/SoftwareVulnerabilitiesByMachine",
        permission: Permission::Vulnerability,
        family: RateFamily::Json,
        handler: Handler::Assessment {
            kind: ExportKind::Vulnerabilities,
            entity: "AssetVulnerability",
        },
        summary: "Software vulnerabilities per device (paged JSON).",
    },
    Endpoint {
        path: "machines/SoftwareVulnerabilityChangesByMachine",
        permission: Permission::Vulnerability,
        family: RateFamily::Json,
        handler: Handler::Delta,
        summary: "Software vulnerability changes (New, Fixed, Updated) since sinceTime (paged JSON).",
    },
    Endpoint {
        path: "machines/SecureConfigurationsAssessmentExport",
        permission: Permission::Vulnerability,
        family: RateFamily::Files,
        handler: Handler::Files {
            kind: ExportKind::SecureConfiguration,
        },
        summary: "Secure configuration assessment via files (signed URLs to gzip NDJSON).",
    },
    Endpoint {
        path: "machines/SoftwareInventoryExport",
        permission: Permission::Software,
        family: RateFamily::Files,
        handler: Handler::Files {
            kind: ExportKind::SoftwareInventory,
        },
        summary: "Software inventory via files.",
    },
    Endpoint {
        path: "machines/SoftwareInventoryNonCpeExport",
        permission: Permission::Software,
        family: RateFamily::Files,
        handler: Handler::Files {
            kind: ExportKind::NonCpeSoftware,
        },
        summary: "Non-CPE software inventory via files.",
    },
    Endpoint {
        path: "machines/SoftwareVulnerabilitiesExport",
        permission: Permission::Vulnerability,
        family: RateFamily::Files,
        handler: Handler::Files {
            kind: ExportKind::Vulnerabilities,
        },
        summary: "Software vulnerabilities via files.",
    },
    Endpoint {
        path: "machines/InfoGatheringExport",
        permission: Permission::Vulnerability,
        family: RateFamily::Files,
        handler: Handler::Files {
            kind: ExportKind::InfoGathering,
        },
        summary: "Information gathering (device antivirus health) via files.",
    },
    Endpoint {
        path: "deviceavinfo",
        permission: Permission::Machine,
        family: RateFamily::Json,
        handler: Handler::DeviceAv,
        summary: "Device antivirus health (OData $filter, $top, $skip).",
    },
];

/// Finds the endpoint for a request path: `/api/<Name>` or `/api/v1.0/<Name>`, any case,
/// a trailing `/` tolerated.
pub fn lookup(path: &str) -> Option<&'static Endpoint> {
    let lower = path.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("/api/v1.0/")
        .or_else(|| lower.strip_prefix("/api/"))?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    ENDPOINTS.iter().find(|e| e.path.eq_ignore_ascii_case(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_case_insensitively_with_or_without_version() {
        for p in [
            "/api/machines/SoftwareVulnerabilitiesByMachine",
            "/api/Machines/softwarevulnerabilitiesbymachine",
            "/api/v1.0/machines/SoftwareVulnerabilitiesByMachine/",
            "/API/V1.0/MACHINES/SOFTWAREVULNERABILITIESBYMACHINE",
        ] {
            assert_eq!(
                lookup(p).map(|e| e.path),
                Some("machines/SoftwareVulnerabilitiesByMachine"),
                "{p}"
            );
        }
        assert!(lookup("/api/deviceavinfo").is_some());
        assert!(lookup("/api/machines/Nope").is_none());
        assert!(lookup("/machines/SoftwareVulnerabilitiesByMachine").is_none());
    }
}
