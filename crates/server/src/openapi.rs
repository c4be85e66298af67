//! The OpenAPI 3.1 document served at `/openapi.json`, generated from the endpoint
//! table so it can never list a route the dispatcher does not serve (or miss one).

use crate::endpoints::{ENDPOINTS, Handler};
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

/// The record schemas, generated from the wire types (`model::csdl`), so the document
/// names exactly the fields serde writes.
fn record_schemas() -> Value {
    Value::Object(model::csdl::component_schemas())
}

pub fn document(base_url: &str) -> Value {
    let mut paths = serde_json::Map::new();
    for e in ENDPOINTS {
        let (params, entity) = match e.handler {
            Handler::Assessment { entity, .. } => (
                json!([
                    {"name": "pageSize", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200000, "default": 50000}},
                    {"name": "$top", "in": "query", "schema": {"type": "integer", "minimum": 0}, "description": "First N records; no nextLink."},
                    {"name": "$skiptoken", "in": "query", "schema": {"type": "string"}, "description": "Opaque; taken from @odata.nextLink."},
                    {"name": "asOf", "in": "query", "schema": {"type": "string", "format": "date-time"}, "description": "Posture extension: read the newest snapshot published at or before this time (within retention)."},
                ]),
                entity,
            ),
            Handler::Files { .. } => (
                json!([
                    {"name": "sasValidHours", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 24, "default": 3}, "description": "How long the download URLs stay valid, in hours."},
                ]),
                "ExportFilesResponse",
            ),
            Handler::Delta => (
                json!([
                    {"name": "sinceTime", "in": "query", "required": true, "schema": {"type": "string"}, "description": "ISO 8601 date or date-time, at most 14 days back (configurable)."},
                    {"name": "pageSize", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200000, "default": 50000}},
                    {"name": "$top", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                    {"name": "$skiptoken", "in": "query", "schema": {"type": "string"}},
                ]),
                "DeltaAssetVulnerability",
            ),
            Handler::DeviceAv => (
                json!([
                    {"name": "$filter", "in": "query", "schema": {"type": "string"}, "description": "OData v4 filter on the filterable properties."},
                    {"name": "$top", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 20}},
                    {"name": "$skip", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                ]),
                "DeviceAvInfo",
            ),
        };
        let page = if entity == "ExportFilesResponse" {
            json!({"$ref": "#/components/schemas/ExportFilesResponse"})
        } else {
            json!({"type": "object", "properties": {
            "@odata.context": {"type": "string"},
            "value": {"type": "array", "items": {"$ref": format!("#/components/schemas/{entity}")}},
            "@odata.nextLink": {"type": "string"}}})
        };
        let op = json!({"get": {
            "summary": e.summary,
            "operationId": e.path.rsplit('/').next().unwrap_or(e.path),
            "parameters": params,
            "security": [{"bearer": []}],
            "x-permissions": {"application": e.permission.app_role(), "delegated": e.permission.delegated_scope()},
            "responses": {
                "200": {"description": "A page of records.", "content": {"application/json": {"schema": page}}},
                "400": error_response("Invalid parameter (InvalidInput, ODataError, MissingRequiredParameter)."),
                "401": error_response("Missing or invalid token."),
                "403": error_response("The token lacks the required permission."),
                "404": error_response("No snapshot published yet."),
                "429": error_response("Rate limit reached; see Retry-After."),
            }
        }});
        paths.insert(format!("/api/{}", e.path), op);
    }
    // The report API, with the report's JSON Schema: its $defs hoisted into components,
    // every ref (in the report and in the hoisted definitions) rewritten to match.
    let report = model::report::report_schema();
    let mut report = serde_json::from_str::<Value>(
        &report
            .to_string()
            .replace("#/$defs/", "#/components/schemas/"),
    )
    .unwrap_or(report);
    let mut components = record_schemas();
    if let Some(defs) = report
        .as_object_mut()
        .and_then(|o| o.remove("$defs"))
        .and_then(|d| d.as_object().cloned())
    {
        for (name, schema) in defs {
            components[name.as_str()] = schema;
        }
    }
    if let Some(o) = report.as_object_mut() {
        o.remove("$schema");
    }
    components["DeviceReport"] = report;
    paths.insert(
        "/ingest/v1/reports".into(),
        json!({"post": {
            "summary": "Deliver device reports: one JSON report, or NDJSON (application/x-ndjson), optionally gzip.",
            "operationId": "PostReports",
            "security": [{"ingestKey": []}],
            "requestBody": {"required": true, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DeviceReport"}},
                "application/x-ndjson": {"schema": {"type": "string", "description": "One DeviceReport per line."}}}},
            "responses": {
                "200": {"description": "Good reports stored durably; refused ones listed with field path and reason; software of stored reports that cannot be assessed listed as warnings (never a refusal).",
                        "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "accepted": {"type": "integer"},
                            "refused": {"type": "array", "items": {"type": "object", "properties": {
                                "index": {"type": "integer"}, "deviceId": {"type": ["string", "null"]},
                                "path": {"type": "string"}, "reason": {"type": "string"}}}},
                            "results": {"type": "array", "items": {"type": "object", "properties": {
                                "index": {"type": "integer"}, "deviceId": {"type": "string"},
                                "outcome": {"type": "string", "enum": ["applied", "alreadyApplied"]}}}},
                            "warnings": {"type": "array",
                                "description": "Software of stored reports that cannot be assessed, and why; empty when all can be. At most the server's limit (1,000 by default) are listed.",
                                "items": {"type": "object", "required": ["index", "deviceId", "path", "gap", "reason"], "properties": {
                                "index": {"type": "integer", "description": "The report's position in the request (0-based)."},
                                "deviceId": {"type": "string"},
                                "path": {"type": "string", "description": "The software item, e.g. software[3]."},
                                "gap": {"type": "string", "enum": ["noCpeOrEcosystem", "emptyVersion", "unparsableCpe", "unsupportedEcosystem", "unparsableVersion"]},
                                "reason": {"type": "string"}}}},
                            "warningsOmitted": {"type": "integer", "description": "Warnings beyond the listed ones; absent when none were omitted."}},
                            "required": ["accepted", "refused", "results", "warnings"]}}}},
                "400": error_response("Every report refused, or an unreadable body."),
                "401": error_response("Missing or invalid ingest key."),
                "413": error_response("Body larger than the limit."),
            }
        }}),
    );
    paths.insert(
        "/ingest/v1/schema".into(),
        json!({"get": {"summary": "The JSON Schema of a device report.", "operationId": "GetReportSchema",
            "responses": {"200": {"description": "JSON Schema", "content": {"application/json": {}}}}}}),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Posture device-posture export API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Wire-compatible with the Microsoft Defender for Endpoint export APIs. Paths match case-insensitively and also answer under /api/v1.0/."},
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "ingestKey": {"type": "http", "scheme": "bearer", "description": "An ingest key (posture ingest-keys create)."}},
        },
    })
}
