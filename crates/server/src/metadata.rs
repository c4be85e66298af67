//! `GET /api/$metadata` (also under `/api/v1.0/`, any case): the OData v4 CSDL document
//! of every record type Posture serves. The types come from the wire types
//! (`model::csdl`); the entity container comes from the endpoint table, so every
//! `@odata.context` the handlers write resolves against it:
//! `$metadata#Collection(<ns>.<Entity>)` to a declared type (each paged endpoint is a
//! function import returning that collection), `$metadata#<ns>.ExportFilesResponse` to
//! the complex type, and deviceavinfo's `$metadata#DeviceAvInfo` to the entity set.
//!
//! Served beside `/openapi.json` rather than in the endpoint table: it holds no data,
//! so, like the OpenAPI document, it needs no token, no rate limit and no faults.

use crate::endpoints::{ENDPOINTS, Handler};
use model::csdl::{Container, CsdlError, Function};
use model::wire::entity;

/// The entity set deviceavinfo's `@odata.context` (`$metadata#DeviceAvInfo`) names.
pub const DEVICE_AV_SET: &str = "DeviceAvInfo";

/// Whether `path` is `/api/$metadata` or `/api/v1.0/$metadata` (any case, trailing `/`).
pub fn is_metadata_path(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("/api/v1.0/")
        .or_else(|| lower.strip_prefix("/api/"))
    else {
        return false;
    };
    rest.strip_suffix('/').unwrap_or(rest) == "$metadata"
}

/// The container the endpoint table implies: one function import per paged or files
/// endpoint (named by its last path segment), one entity set for deviceavinfo.
pub fn container() -> Container {
    let mut container = Container {
        name: "Posture".into(),
        ..Container::default()
    };
    for e in ENDPOINTS {
        let name = e.path.rsplit('/').next().unwrap_or(e.path).to_owned();
        let (returns, collection) = match e.handler {
            Handler::Assessment { entity, .. } => (entity, true),
            Handler::Delta => (entity::DELTA_ASSET_VULNERABILITY, true),
            Handler::Files { .. } => (entity::EXPORT_FILES_RESPONSE, false),
            Handler::DeviceAv => {
                container
                    .entity_sets
                    .push((DEVICE_AV_SET.into(), entity::DEVICE_AV_INFO.into()));
                continue;
            }
        };
        container.functions.push(Function {
            name,
            returns: returns.into(),
            collection,
        });
    }
    container
}

/// The CSDL XML document.
pub fn document() -> Result<String, CsdlError> {
    model::csdl::document(&container())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_paths() {
        for p in [
            "/api/$metadata",
            "/api/v1.0/$metadata",
            "/API/V1.0/$METADATA/",
            "/api/$Metadata",
        ] {
            assert!(is_metadata_path(p), "{p}");
        }
        for p in ["/$metadata", "/api/machines/$metadata", "/api/metadata"] {
            assert!(!is_metadata_path(p), "{p}");
        }
    }

    #[test]
    fn every_endpoint_has_a_container_member() {
        let c = container();
        assert_eq!(
            c.functions.len() + c.entity_sets.len(),
            ENDPOINTS.len(),
            "{c:?}"
        );
        let xml = document().expect("generates");
        for f in &c.functions {
            assert!(xml.contains(&format!(r#"<FunctionImport Name="{}""#, f.name)));
        }
    }
}
