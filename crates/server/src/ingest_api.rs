//! The report API: `POST /ingest/v1/reports`, how real devices and agents deliver their
//! state, and `GET /ingest/v1/schema`, the JSON Schema of a report.
//!
//! * Authentication: `Authorization: Bearer <ingest key>` (see `ingest::keys`), distinct
//!   from the read API's credentials.
//! * Body: one JSON report, or NDJSON (`Content-Type: application/x-ndjson`, one report
//!   per line), optionally `Content-Encoding: gzip`. Size limits apply before and after
//!   decompression (413 beyond them).
//! * Each report is validated on its own; the good ones of a batch are applied in one
//!   transaction and acknowledged only after it commits (SQLite WAL, `synchronous=FULL`:
//!   a 200 survives a crash); the refused ones are listed with their field path and
//!   reason. If every report is refused the answer is 400. Re-delivery is idempotent per
//!   (device, sequence).

use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ingest::{ApplyOutcome, StateStore};
use model::DeviceReport;
use serde::Serialize;
use std::io::Read;
use std::sync::Arc;

pub struct IngestState {
    pub store: Arc<dyn StateStore>,
    /// Largest request body accepted (compressed), bytes.
    pub max_body: usize,
    /// Largest decompressed body accepted, bytes.
    pub max_decompressed: usize,
}

impl IngestState {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        IngestState {
            store,
            max_body: 64 << 20,
            max_decompressed: 512 << 20,
        }
    }
}

pub fn router(state: Arc<IngestState>) -> Router {
    let limit = state.max_body;
    Router::new()
        .route("/ingest/v1/reports", post(post_reports))
        .route("/ingest/v1/schema", get(schema))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn schema() -> Response {
    axum::Json(model::report::report_schema()).into_response()
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Refused {
    index: usize,
    device_id: Option<String>,
    path: String,
    reason: String,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    index: usize,
    device_id: String,
    outcome: ApplyOutcome,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct IngestResponse {
    accepted: usize,
    refused: Vec<Refused>,
    results: Vec<Accepted>,
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn decode_body(headers: &HeaderMap, body: &[u8], max: usize) -> Result<Vec<u8>, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => Ok(body.to_vec()),
        "gzip" => {
            let mut out = Vec::with_capacity(body.len() * 4);
            let mut reader = flate2::read::MultiGzDecoder::new(body).take(max as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| {
                ApiError::invalid_input(format!("The request body is not valid gzip: {e}."))
            })?;
            if out.len() > max {
                let mut e =
                    ApiError::invalid_input(format!("The decompressed body exceeds {max} bytes."));
                e.status = StatusCode::PAYLOAD_TOO_LARGE;
                return Err(e);
            }
            Ok(out)
        }
        other => Err(ApiError::invalid_input(format!(
            "Content-Encoding {other:?} is not supported; use gzip or none."
        ))),
    }
}

/// Splits the body into report texts: NDJSON lines, or the whole body.
fn report_texts<'a>(headers: &HeaderMap, body: &'a [u8]) -> Vec<&'a [u8]> {
    let ndjson = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("ndjson") || t.contains("jsonl") || t.contains("json-seq"));
    if ndjson {
        body.split(|b| *b == b'\n')
            .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
            .collect()
    } else {
        vec![body]
    }
}

fn device_id_of(text: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    v.get("deviceId")?
        .as_str()
        .map(|s| s.chars().take(64).collect())
}

async fn post_reports(
    State(state): State<Arc<IngestState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&state, &headers, &body).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn handle(
    state: &Arc<IngestState>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<IngestResponse, ApiError> {
    let presented = bearer(headers)
        .ok_or_else(|| {
            ApiError::unauthorized("An ingest key is required: Authorization: Bearer <key>.")
        })?
        .to_owned();
    let store = state.store.clone();
    let key =
        tokio::task::spawn_blocking(move || ingest::keys::verify_key(store.as_ref(), &presented))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(|e| ApiError::internal(e.to_string()))?;
    if key.is_none() {
        return Err(ApiError::unauthorized("The ingest key is not valid."));
    }
    let body = decode_body(headers, body, state.max_decompressed)?;
    let mut reports: Vec<(usize, DeviceReport)> = Vec::new();
    let mut refused = Vec::new();
    for (index, text) in report_texts(headers, &body).into_iter().enumerate() {
        match DeviceReport::from_json(text) {
            Ok(r) => reports.push((index, r)),
            Err(e) => refused.push(Refused {
                index,
                device_id: device_id_of(text),
                path: e.path,
                reason: e.reason,
            }),
        }
    }
    if reports.is_empty() {
        return Err(match refused.first() {
            Some(r) if refused.len() == 1 => {
                ApiError::invalid_input(format!("Report refused: {}: {}", r.path, r.reason))
            }
            Some(r) => ApiError::invalid_input(format!(
                "All {} reports were refused; the first (line {}): {}: {}",
                refused.len(),
                r.index + 1,
                r.path,
                r.reason
            )),
            None => ApiError::invalid_input("The request body holds no report."),
        });
    }
    let store = state.store.clone();
    let batch: Vec<DeviceReport> = reports.iter().map(|(_, r)| r.clone()).collect();
    let outcomes = tokio::task::spawn_blocking(move || {
        ingest::apply_reports(store.as_ref(), &batch, chrono::Utc::now())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(|e| {
        ApiError::internal(format!(
            "The reports could not be stored: {e}. Nothing was applied; retry."
        ))
    })?;
    metrics::counter!("posture_reports_ingested_total").increment(reports.len() as u64);
    metrics::counter!("posture_reports_refused_total").increment(refused.len() as u64);
    let results = reports
        .iter()
        .zip(outcomes)
        .map(|((index, r), outcome)| Accepted {
            index: *index,
            device_id: r.device_id.to_string(),
            outcome,
        })
        .collect();
    Ok(IngestResponse {
        accepted: reports.len(),
        refused,
        results,
    })
}
