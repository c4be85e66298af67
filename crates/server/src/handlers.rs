//! The endpoint handlers: small functions over the shared query, paging and
//! streaming mechanisms.

use crate::AppState;
use crate::auth::Principal;
use crate::endpoints::{Endpoint, Handler};
use crate::error::ApiError;
use crate::paging::{Rows, SkipToken, resolve_token, stream_rows, token_for};
use crate::query::{Query, positive, query_string};
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use model::wire::DeviceAvInfo;
use odata::{Filter, PropType, Record, Schema, Value};
use snapshot::{ExportKind, Snapshot};
use std::sync::Arc;

const JSON_CONTENT_TYPE: &str =
    "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8";

pub async fn handle(
    state: &AppState,
    endpoint: &'static Endpoint,
    principal: &Principal,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let _ = principal;
    match endpoint.handler {
        Handler::Assessment { kind, entity } => {
            assessment_page(state, endpoint, kind, entity, query)
        }
        Handler::DeviceAv => device_av_page(state, query),
    }
}

fn latest(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    state.snapshots.latest().ok_or_else(|| {
        ApiError::resource_not_found(
            "No snapshot has been published yet; run `posture publish` (or `posture demo`).",
        )
    })
}

fn respond(body: Body, rows: u64, endpoint: &str) -> Response {
    metrics::counter!("posture_rows_served_total", "endpoint" => endpoint.to_owned())
        .increment(rows);
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    headers.insert("OData-Version", HeaderValue::from_static("4.0"));
    response
}

fn link(base: &str, path: &str, echoed: &str, extra: &str) -> String {
    let sep = if echoed.is_empty() { "" } else { "&" };
    format!("{base}/api/{path}?{echoed}{sep}{extra}")
}

fn tail(next_link: Option<String>) -> Vec<u8> {
    match next_link {
        Some(link) => {
            let mut t = b"],\"@odata.nextLink\":".to_vec();
            t.extend_from_slice(&serde_json::to_vec(&link).unwrap_or_default());
            t.push(b'}');
            t
        }
        None => b"]}".to_vec(),
    }
}

fn assessment_page(
    state: &AppState,
    endpoint: &Endpoint,
    kind: ExportKind,
    entity: &str,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let cfg = &state.config;
    let q = Query::parse(query, &["$top", "$skiptoken"], &["pagesize"])?;
    let page_size = match q.get("pagesize") {
        Some(v) => positive("pageSize", v, cfg.max_page_size)?,
        None => cfg.default_page_size,
    };
    let top = q
        .get("$top")
        .map(|v| odata::parse_top(v, cfg.max_page_size))
        .transpose()
        .map_err(|e| ApiError::odata(e.to_string()))?;
    let (snapshot, start) = match q.get("$skiptoken") {
        Some(t) => resolve_token(&SkipToken::decode(t)?, &state.snapshots, kind)?,
        None => (latest(state)?, 0),
    };
    let total = snapshot.rows(kind);
    let end = start.saturating_add(top.unwrap_or(page_size)).min(total);
    let next = (top.is_none() && end < total).then(|| {
        let token = token_for(&snapshot, kind, end).encode();
        let extra = query_string(&[("$skiptoken", &token)]);
        link(
            &cfg.base_url,
            endpoint.path,
            &q.echo(&["$skiptoken"]),
            &extra,
        )
    });
    let head = format!(
        "{{\"@odata.context\":\"{}/api/$metadata#Collection(microsoft.windowsDefenderATP.api.{entity})\",\"value\":[",
        cfg.base_url
    );
    let rows = Rows::Range(start..end);
    let n = rows.len();
    Ok(respond(
        stream_rows(snapshot, kind, rows, head.into_bytes(), tail(next)),
        n,
        endpoint.path,
    ))
}

/// deviceavinfo's filterable properties (the seed's list; `rbacGroupName` and `id` are not filterable).
pub static AV_SCHEMA: Schema = Schema::new(
    &[
        ("machineId", PropType::String),
        ("computerDnsName", PropType::String),
        ("osKind", PropType::String),
        ("osPlatform", PropType::String),
        ("osVersion", PropType::String),
        ("avMode", PropType::String),
        ("avSignatureVersion", PropType::String),
        ("avEngineVersion", PropType::String),
        ("avPlatformVersion", PropType::String),
        ("quickScanResult", PropType::String),
        ("quickScanError", PropType::String),
        ("fullScanResult", PropType::String),
        ("fullScanError", PropType::String),
        ("avIsSignatureUpToDate", PropType::String),
        ("avIsEngineUpToDate", PropType::String),
        ("avIsPlatformUpToDate", PropType::String),
        ("rbacGroupId", PropType::Int),
    ],
    &["rbacGroupName", "id"],
);

struct AvRecord<'a>(&'a DeviceAvInfo);

fn s(v: &Option<String>) -> Value<'_> {
    v.as_deref().map_or(Value::Null, Value::Str)
}

impl Record for AvRecord<'_> {
    fn get(&self, prop_index: usize) -> Value<'_> {
        let r = self.0;
        match prop_index {
            0 => Value::Str(&r.machine_id),
            1 => s(&r.computer_dns_name),
            2 => Value::Str(&r.os_kind),
            3 => Value::Str(&r.os_platform),
            4 => s(&r.os_version),
            5 => Value::Str(&r.av_mode),
            6 => s(&r.av_signature_version),
            7 => s(&r.av_engine_version),
            8 => s(&r.av_platform_version),
            9 => Value::Str(&r.quick_scan_result),
            10 => Value::Str(&r.quick_scan_error),
            11 => Value::Str(&r.full_scan_result),
            12 => Value::Str(&r.full_scan_error),
            13 => Value::Str(&r.av_is_signature_up_to_date),
            14 => Value::Str(&r.av_is_engine_up_to_date),
            15 => Value::Str(&r.av_is_platform_up_to_date),
            16 => Value::Int(r.rbac_group_id),
            _ => Value::Null,
        }
    }
}

fn device_av_page(state: &AppState, query: Option<&str>) -> Result<Response, ApiError> {
    let cfg = &state.config;
    let q = Query::parse(query, &["$filter", "$top", "$skip"], &[])?;
    let odata_err = |e: &dyn std::fmt::Display| ApiError::odata(e.to_string());
    let top = q
        .get("$top")
        .map(|v| odata::parse_top(v, cfg.av_max_top))
        .transpose()
        .map_err(|e| odata_err(&e))?;
    let skip = q
        .get("$skip")
        .map(odata::parse_skip)
        .transpose()
        .map_err(|e| odata_err(&e))?
        .unwrap_or(0);
    let filter = q
        .get("$filter")
        .map(|f| Filter::parse(f, &AV_SCHEMA))
        .transpose()
        .map_err(|e| odata_err(&e))?;
    let snapshot = latest(state)?;
    let page = top.unwrap_or(cfg.av_default_top);
    let (rows, total) = match &filter {
        None => {
            let total = snapshot.rows(ExportKind::DeviceAv);
            let start = skip.min(total);
            (
                Rows::Range(start..start.saturating_add(page).min(total)),
                total,
            )
        }
        Some(f) => {
            let matching: Vec<u32> = snapshot
                .av_records()
                .iter()
                .enumerate()
                .filter(|(_, r)| f.matches(&AvRecord(r)))
                .map(|(i, _)| i as u32)
                .collect();
            let total = matching.len() as u64;
            let window = matching
                .into_iter()
                .skip(skip.min(total) as usize)
                .take(page as usize)
                .collect();
            (Rows::List(window), total)
        }
    };
    let next = (skip.saturating_add(page) < total && page > 0).then(|| {
        let (top_text, skip_text) = (top.map(|t| t.to_string()), (skip + page).to_string());
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        if let Some(f) = &filter {
            pairs.push(("$filter", f.source()));
        }
        if let Some(t) = &top_text {
            pairs.push(("$top", t));
        }
        pairs.push(("$skip", &skip_text));
        let query = query_string(&pairs);
        format!("{}/api/deviceavinfo?{query}", cfg.base_url)
    });
    let head = format!(
        "{{\"@odata.context\":\"{}/api/$metadata#DeviceAvInfo\",\"value\":[",
        cfg.base_url
    );
    let n = rows.len();
    Ok(respond(
        stream_rows(
            snapshot,
            ExportKind::DeviceAv,
            rows,
            head.into_bytes(),
            tail(next),
        ),
        n,
        "deviceavinfo",
    ))
}
