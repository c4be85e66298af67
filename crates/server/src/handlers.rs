//! The endpoint handlers: small functions over the shared query, scoping, paging and
//! streaming mechanisms.

use crate::AppState;
use crate::endpoints::{Endpoint, Handler};
use crate::paging::{
    ExportDefinition, ExportRows, RowSource, Rows, SkipToken, resolve_token, scope_ranges,
    skip_take, stream_rows, take_from, token_for,
};
use crate::query::{Query, positive, query_string};
use access::{ApiError, Principal};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use model::timefmt;
use model::wire::DeviceAvInfo;
use odata::{Filter, PropType, Record, Schema, Value};
use snapshot::{ChangeLog, ExportKind, Snapshot};
use std::sync::Arc;

const JSON_CONTENT_TYPE: &str =
    "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8";

pub async fn handle(
    state: &AppState,
    endpoint: &'static Endpoint,
    principal: &Principal,
    query: Option<&str>,
    effects: crate::faults::Effects,
) -> Result<Response, ApiError> {
    let groups = principal.groups.as_deref();
    match endpoint.handler {
        Handler::Assessment { kind, entity } => {
            assessment_page(state, endpoint, kind, entity, groups, query)?
                .into_response()
                .await
        }
        Handler::DeviceAv => device_av_page(state, groups, query)?.into_response().await,
        Handler::Delta => {
            delta_page(state, endpoint, groups, query)?
                .into_response()
                .await
        }
        Handler::Files { kind } => export_files(state, kind, groups, query, effects).await,
    }
}

fn latest(state: &AppState) -> Result<Arc<Snapshot>, ApiError> {
    state.snapshots.latest().ok_or_else(|| {
        ApiError::resource_not_found(
            "No snapshot has been published yet; run `posture publish` (or `posture demo`).",
        )
    })
}

/// The service's present (see [`crate::Clock`]).
fn service_now(state: &AppState) -> DateTime<Utc> {
    let newest = state.snapshots.latest().map(|s| s.manifest.generated_at);
    state.config.clock.service_now(newest)
}

/// A page ready to stream: its rows' sources, the JSON before and after them.
struct Page {
    segments: Vec<(Arc<dyn RowSource>, Rows)>,
    head: String,
    next: Option<String>,
    endpoint: &'static str,
}

fn respond(
    segments: Vec<(Arc<dyn RowSource>, Rows)>,
    head: String,
    next: Option<String>,
    endpoint: &'static str,
) -> Page {
    Page {
        segments,
        head,
        next,
        endpoint,
    }
}

impl Page {
    /// Streams the page, once every byte it renders is present (a snapshot still
    /// arriving from object storage fetches what the page reads first; a failure is a
    /// 503 the client retries, never a page with holes).
    async fn into_response(self) -> Result<Response, ApiError> {
        let Page {
            segments,
            head,
            next,
            endpoint,
        } = self;
        let segments = crate::paging::prefetch(segments).await?;
        let rows: u64 = segments.iter().map(|(_, r)| r.len()).sum();
        metrics::counter!("posture_rows_served_total", "endpoint" => endpoint.to_owned())
            .increment(rows);
        let mut tail = b"]".to_vec();
        if let Some(link) = next {
            tail.extend_from_slice(b",\"@odata.nextLink\":");
            tail.extend_from_slice(&serde_json::to_vec(&link).unwrap_or_default());
        }
        tail.push(b'}');
        let mut response = Response::new(stream_rows(segments, head.into_bytes(), tail));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(JSON_CONTENT_TYPE),
        );
        headers.insert("OData-Version", HeaderValue::from_static("4.0"));
        // Streamed pages honour Accept-Encoding (see `compression`).
        response
            .extensions_mut()
            .insert(crate::compression::Compressible);
        Ok(response)
    }
}

fn collection_head(base: &str, entity: &str) -> String {
    format!(
        "{{\"@odata.context\":\"{base}/api/$metadata#Collection(microsoft.windowsDefenderATP.api.{entity})\",\"value\":["
    )
}

fn next_link(base: &str, path: &str, q: &Query, token: &SkipToken) -> String {
    let echoed = q.echo(&["$skiptoken"]);
    let sep = if echoed.is_empty() { "" } else { "&" };
    let skip = query_string(&[("$skiptoken", &token.encode())]);
    format!("{base}/api/{path}?{echoed}{sep}{skip}")
}

fn page_size(state: &AppState, q: &Query) -> Result<(u64, Option<u64>), ApiError> {
    let cfg = &state.config;
    let size = match q.get("pagesize") {
        Some(v) => positive("pageSize", v, cfg.max_page_size)?,
        None => cfg.default_page_size,
    };
    let top = q
        .get("$top")
        .map(|v| odata::parse_top(v, cfg.max_page_size))
        .transpose()
        .map_err(|e| ApiError::odata(e.to_string()))?;
    Ok((size, top))
}

fn parse_time(name: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    timefmt::parse_date_or_datetime(value).ok_or_else(|| {
        ApiError::invalid_input(format!(
            "Invalid value '{value}' for parameter {name}: expected an ISO 8601 date (2021-05-19) or date-time (2021-05-19T18:35:49Z)."
        ))
    })
}

/// The snapshot a first page reads: the latest, or with `asOf` the newest published at or before it.
fn snapshot_for(state: &AppState, q: &Query) -> Result<Arc<Snapshot>, ApiError> {
    let Some(as_of) = q.get("asof") else {
        return latest(state);
    };
    let t = parse_time("asOf", as_of)?;
    state.snapshots.as_of(t).ok_or_else(|| {
        let oldest = state.snapshots.list().first().map(|s| timefmt::generated(&s.manifest.generated_at));
        ApiError::invalid_input(match oldest {
            Some(o) => format!("Invalid value '{as_of}' for parameter asOf: it is before the oldest retained snapshot ({o})."),
            None => "No snapshot has been published yet.".to_owned(),
        })
    })
}

fn assessment_page(
    state: &AppState,
    endpoint: &Endpoint,
    kind: ExportKind,
    entity: &str,
    groups: Option<&[u32]>,
    query: Option<&str>,
) -> Result<Page, ApiError> {
    let q = Query::parse(query, &["$top", "$skiptoken"], &["pagesize", "asof"])?;
    let (size, top) = page_size(state, &q)?;
    let (snapshot, start) = match q.get("$skiptoken") {
        Some(t) => resolve_token(&SkipToken::decode(t)?, &state.snapshots, kind)?,
        None => (snapshot_for(state, &q)?, 0),
    };
    let allowed = scope_ranges(snapshot.export(kind), groups);
    let (ranges, next_row) = take_from(&allowed, start, top.unwrap_or(size));
    let next = match (top, next_row) {
        (None, Some(row)) => Some(next_link(
            &state.config.base_url,
            endpoint.path,
            &q,
            &token_for(&snapshot, kind, row),
        )),
        _ => None,
    };
    let source: Arc<dyn RowSource> = Arc::new(ExportRows { snapshot, kind });
    Ok(respond(
        vec![(source, Rows::Ranges(ranges))],
        collection_head(&state.config.base_url, entity),
        next,
        endpoint.path,
    ))
}

/// The change logs a delta query covers: from the start of the snapshot interval that
/// contains `since` up to the newest (or, on later pages, the one the token pinned).
fn delta_logs(
    state: &AppState,
    since: DateTime<Utc>,
    pinned: Option<&str>,
) -> Result<Vec<Arc<ChangeLog>>, ApiError> {
    let start = state
        .snapshots
        .publish_times()
        .into_iter()
        .rfind(|t| *t <= since)
        .unwrap_or(since);
    let mut logs = state.snapshots.changes_since(start);
    if let Some(tp) = pinned {
        let Some(last) = logs.iter().position(|l| l.meta.time_path == tp) else {
            return Err(ApiError::invalid_input(format!(
                "Invalid value for $skiptoken: the changes of {tp} have expired; start again without $skiptoken."
            )));
        };
        logs.truncate(last + 1);
    }
    Ok(logs)
}

fn delta_page(
    state: &AppState,
    endpoint: &Endpoint,
    groups: Option<&[u32]>,
    query: Option<&str>,
) -> Result<Page, ApiError> {
    let cfg = &state.config;
    let q = Query::parse(query, &["$top", "$skiptoken"], &["pagesize", "sincetime"])?;
    let since_text = q
        .get("sincetime")
        .ok_or_else(|| ApiError::missing_parameter("sinceTime"))?;
    let since = parse_time("sinceTime", since_text)?;
    let now = service_now(state);
    if since > now {
        return Err(ApiError::invalid_input(format!(
            "Invalid value '{since_text}' for parameter sinceTime: it is in the future."
        )));
    }
    if since < now - cfg.delta_window {
        return Err(ApiError::invalid_input(format!(
            "Invalid value '{since_text}' for parameter sinceTime: it must be within the last {} days.",
            cfg.delta_window.num_days()
        )));
    }
    let (size, top) = page_size(state, &q)?;
    let token = q.get("$skiptoken").map(SkipToken::decode).transpose()?;
    let logs = delta_logs(
        state,
        since,
        token
            .as_ref()
            .map(|t| t.export_definition.time_path.as_str()),
    )?;
    let (mut log_index, mut line) = match &token {
        Some(t) => (t.export_file_index as usize, t.line_stopped_at),
        None => (0, 0),
    };
    if token.is_some() && logs.get(log_index).is_none_or(|l| line > l.len()) {
        return Err(ApiError::invalid_input(
            "Invalid value for $skiptoken: the position does not exist.",
        ));
    }
    let mut left = top.unwrap_or(size);
    let mut segments: Vec<(Arc<dyn RowSource>, Rows)> = Vec::new();
    let mut next = None;
    while let Some(log) = logs.get(log_index) {
        let allowed = match groups {
            None => vec![0..log.len()],
            Some(g) => scoped_change_ranges(log, g),
        };
        let (ranges, next_line) = take_from(&allowed, line, left);
        let taken: u64 = ranges.iter().map(|r| r.end - r.start).sum();
        left -= taken;
        if taken > 0 {
            segments.push((log.clone() as Arc<dyn RowSource>, Rows::Ranges(ranges)));
        }
        match next_line {
            Some(l) => {
                next = Some((log_index, l));
                break;
            }
            None => {
                log_index += 1;
                line = 0;
            }
        }
    }
    // A page that ends exactly at a log's end continues with the next non-empty log.
    if next.is_none() && left == 0 && logs.get(log_index).is_some() {
        next = Some((log_index, 0));
    }
    let next = match (top, next, logs.last()) {
        (None, Some((i, l)), Some(newest)) => {
            let token = SkipToken {
                export_definition: ExportDefinition {
                    time_path: newest.meta.time_path.clone(),
                },
                export_file_index: i as u64,
                line_stopped_at: l,
            };
            Some(next_link(&cfg.base_url, endpoint.path, &q, &token))
        }
        _ => None,
    };
    Ok(respond(
        segments,
        collection_head(&cfg.base_url, "DeltaAssetVulnerability"),
        next,
        endpoint.path,
    ))
}

/// Change-log records of the allowed groups (records are ordered by group).
fn scoped_change_ranges(log: &ChangeLog, groups: &[u32]) -> Vec<std::ops::Range<u64>> {
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for i in 0..log.len() {
        if groups.contains(&log.group(i)) {
            match out.last_mut() {
                Some(r) if r.end == i => r.end = i + 1,
                _ => out.push(i..i + 1),
            }
        }
    }
    out
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

fn device_av_page(
    state: &AppState,
    groups: Option<&[u32]>,
    query: Option<&str>,
) -> Result<Page, ApiError> {
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
    let allowed = scope_ranges(snapshot.export(ExportKind::DeviceAv), groups);
    let (rows, total) = match &filter {
        None => {
            let total = allowed.iter().map(|r| r.end - r.start).sum::<u64>();
            (Rows::Ranges(skip_take(&allowed, skip, page)), total)
        }
        Some(f) => {
            let records = snapshot.av_records();
            let matching: Vec<u32> = allowed
                .iter()
                .flat_map(|r| r.clone())
                .filter(|&i| {
                    records
                        .get(i as usize)
                        .is_some_and(|r| f.matches(&AvRecord(r)))
                })
                .map(|i| i as u32)
                .collect();
            let total = matching.len() as u64;
            (
                Rows::List(
                    matching
                        .into_iter()
                        .skip(skip.min(total) as usize)
                        .take(page as usize)
                        .collect(),
                ),
                total,
            )
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
        format!("{}/api/deviceavinfo?{}", cfg.base_url, query_string(&pairs))
    });
    let head = format!(
        "{{\"@odata.context\":\"{}/api/$metadata#DeviceAvInfo\",\"value\":[",
        cfg.base_url
    );
    let source: Arc<dyn RowSource> = Arc::new(ExportRows {
        snapshot,
        kind: ExportKind::DeviceAv,
    });
    Ok(respond(vec![(source, rows)], head, next, "deviceavinfo"))
}

/// The via-files response: signed, expiring URLs of the latest snapshot's files of one
/// export (only the caller's groups' files when it is scoped).
async fn export_files(
    state: &AppState,
    kind: ExportKind,
    groups: Option<&[u32]>,
    query: Option<&str>,
    effects: crate::faults::Effects,
) -> Result<Response, ApiError> {
    let q = Query::parse(query, &[], &["sasvalidhours", "asof"])?;
    let hours = export::parse_sas_valid_hours(q.get("sasvalidhours"))
        .map_err(|e| ApiError::invalid_input(e.to_string()))?;
    let backend = state.exports.clone().ok_or_else(|| {
        ApiError::resource_not_found("Export files are not enabled on this server.")
    })?;
    // With `asOf`, the files of the retained snapshot it selects (as the JSON pages).
    let snapshot = snapshot_for(state, &q)?;
    let mut index = export::index_of(&snapshot).ok_or_else(|| {
        ApiError::resource_not_found(format!(
            "Snapshot {} has no export files (it was published without them).",
            snapshot.time_path()
        ))
    })?;
    if let Some(allowed) = groups {
        for files in index.exports.values_mut() {
            files.files.retain(|f| allowed.contains(&f.group_id));
        }
    }
    let valid = std::time::Duration::from_secs(u64::from(hours) * 3600);
    // An injected expiry signs the URLs as if they had been handed out `valid` + 1 h ago.
    let signed_at = if effects.expire_file_urls {
        Utc::now() - chrono::Duration::hours(i64::from(hours) + 1)
    } else {
        Utc::now()
    };
    let urls = backend
        .signed_urls(&index, kind, valid, signed_at)
        .await
        .map_err(|e| ApiError::internal(format!("The download URLs could not be signed: {e}")))?;
    let body = model::wire::ExportFilesResponse {
        odata_context: format!(
            "{}/api/$metadata#microsoft.windowsDefenderATP.api.ExportFilesResponse",
            state.config.base_url
        ),
        export_files: urls,
        generated_time: timefmt::generated(&snapshot.manifest.generated_at),
    };
    metrics::counter!("posture_export_file_lists_total").increment(1);
    Ok(axum::Json(body).into_response())
}
