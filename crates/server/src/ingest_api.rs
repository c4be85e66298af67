//! The report API: `POST /ingest/v1/reports`, how real devices and agents deliver their
//! state, and `GET /ingest/v1/schema`, the JSON Schema of a report.
//!
//! * Authentication: `Authorization: Bearer <ingest key>` (see `ingest::keys`), distinct
//!   from the read API's credentials. The key is checked from the headers before a byte
//!   of the body is read: an unauthenticated upload is refused at once.
//! * Body: one JSON report, or NDJSON (`Content-Type: application/x-ndjson`, one report
//!   per line), optionally `Content-Encoding: gzip`. Limits (413 `RequestEntityTooLarge`
//!   beyond them): the body as sent ([`IngestState::max_body`]), decompressed
//!   ([`IngestState::max_decompressed`]), one report's text
//!   ([`IngestState::max_report_bytes`]) and the reports of one request
//!   ([`IngestState::max_reports`]).
//! * Streaming: the body is never held whole. Chunks go through a small bounded channel
//!   to a blocking thread that decompresses, splits lines, parses and validates, and
//!   writes in batches (at most [`IngestState::batch_reports`] reports or
//!   [`IngestState::batch_bytes`] of text). Memory per request is bounded by these
//!   limits, whatever the body; the async workers only move chunks, so `/healthz` and
//!   the read API stay responsive during a gzip bomb.
//! * Batches: each batch of good reports is one transaction, committed in order. A 200
//!   acknowledges every batch (each committed: SQLite WAL, `synchronous=FULL`, so a 200
//!   survives a crash). If the body fails partway (a limit, broken gzip, a dropped
//!   connection) the batches committed before stay committed, the error says how many
//!   reports that was, and re-delivering the whole body is safe (idempotent per
//!   (device, sequence)). A request within [`IngestState::batch_reports`] reports is
//!   all or nothing, as before.
//! * Refused reports are listed with their field path and reason; if every report is
//!   refused the answer is 400.
//! * Warnings: software of a stored report that cannot be assessed (no CPE and no
//!   ecosystem, an unsupported ecosystem, an unparsable CPE, an empty version or one
//!   its ecosystem's version order refuses) is listed in `warnings` with its path
//!   (`software[3]`) and reason ([`ingest::assessment_warnings`], the classification
//!   `posture coverage` uses). The report is stored and acknowledged all the same.
//!   `warnings` is always present (empty when everything can be assessed); at most
//!   [`IngestState::max_warnings`] are listed, the rest counted in `warningsOmitted`.
//! * Concurrency: at most [`IngestState::max_concurrent`] requests are processed at once;
//!   others wait up to [`IngestState::queue_wait`] (holding no body), then get 503 with
//!   `Retry-After`. A busy store (another writer holding the lock beyond the busy timeout
//!   and retries) is also 503 with `Retry-After`, never 500.

use access::ApiError;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use ingest::{ApplyOutcome, StateStore};
use model::ValidReports;
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};

pub struct IngestState {
    pub store: Arc<dyn StateStore>,
    /// Largest request body accepted (as sent, compressed or not), bytes.
    pub max_body: usize,
    /// Largest decompressed body accepted, bytes.
    pub max_decompressed: usize,
    /// Most reports (non-blank NDJSON lines) in one request.
    pub max_reports: usize,
    /// Largest text of one report (one NDJSON line, or a whole JSON body), bytes.
    pub max_report_bytes: usize,
    /// Most reports written in one transaction.
    pub batch_reports: usize,
    /// Most report text (bytes) parsed into one batch before it is written.
    pub batch_bytes: usize,
    /// How long a request may wait for a processing slot before 503.
    pub queue_wait: Duration,
    /// How long the body may stall (no bytes) before 408.
    pub body_idle_timeout: Duration,
    /// Most warnings listed in one answer; further ones are only counted.
    pub max_warnings: usize,
    max_concurrent: usize,
    slots: Arc<Semaphore>,
}

impl IngestState {
    pub fn new(store: Arc<dyn StateStore>) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        IngestState {
            store,
            max_body: 64 << 20,
            max_decompressed: 512 << 20,
            max_reports: 10_000,
            max_report_bytes: 32 << 20,
            batch_reports: 500,
            batch_bytes: 8 << 20,
            queue_wait: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            max_warnings: 1_000,
            max_concurrent: 1,
            slots: Arc::new(Semaphore::new(1)),
        }
        .with_max_concurrent(cores / 2)
    }

    /// Ingest requests processed at once (at least 1); default: half the cores.
    pub fn with_max_concurrent(mut self, requests: usize) -> Self {
        let requests = requests.max(1);
        self.max_concurrent = requests;
        self.slots = Arc::new(Semaphore::new(requests));
        self
    }

    pub fn max_concurrent(&self) -> usize {
        self.max_concurrent
    }
}

pub fn router(state: Arc<IngestState>) -> Router {
    Router::new()
        .route("/ingest/v1/reports", post(post_reports))
        .route("/ingest/v1/schema", get(schema))
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

/// Software of a stored report that cannot be assessed.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Warning {
    index: usize,
    device_id: String,
    #[serde(flatten)]
    software: ingest::SoftwareWarning,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct IngestResponse {
    accepted: usize,
    refused: Vec<Refused>,
    results: Vec<Accepted>,
    warnings: Vec<Warning>,
    /// Warnings beyond `max_warnings`, counted but not listed.
    #[serde(skip_serializing_if = "is_zero")]
    warnings_omitted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// How the body is framed and encoded, from the headers alone.
#[derive(Clone, Copy, Debug)]
struct BodyFormat {
    ndjson: bool,
    gzip: bool,
}

impl BodyFormat {
    fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("identity");
        let gzip = match encoding.trim().to_ascii_lowercase().as_str() {
            "identity" | "" => false,
            "gzip" => true,
            other => {
                return Err(ApiError::invalid_input(format!(
                    "Content-Encoding {other:?} is not supported; use gzip or none."
                )));
            }
        };
        let ndjson = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("ndjson") || t.contains("jsonl") || t.contains("json-seq"));
        Ok(BodyFormat { ndjson, gzip })
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
    body: Body,
) -> Response {
    match handle(&state, &headers, body).await {
        Ok(r) => axum::Json(r).into_response(),
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(code = e.code, reason = %e.message, "ingest request failed");
            }
            e.into_response()
        }
    }
}

/// Checks the ingest key from the headers; the body is not touched.
async fn authenticate(state: &IngestState, headers: &HeaderMap) -> Result<(), ApiError> {
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
            .map_err(|e| match e {
                ingest::IngestError::Store(s) if s.is_busy() => store_busy(),
                e => ApiError::internal(e.to_string()),
            })?;
    match key {
        Some(_) => Ok(()),
        None => Err(ApiError::unauthorized("The ingest key is not valid.")),
    }
}

fn store_busy() -> ApiError {
    ApiError::service_unavailable(
        "The state store is busy with another writer; nothing of this batch was applied. Retry.",
        2,
    )
}

/// What the async side hands the worker: body bytes, or word that the body failed.
enum Chunk {
    Data(Bytes),
    Failed,
}

async fn handle(
    state: &Arc<IngestState>,
    headers: &HeaderMap,
    body: Body,
) -> Result<IngestResponse, ApiError> {
    authenticate(state, headers).await?;
    let format = BodyFormat::of(headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        return Err(too_large_body(state.max_body));
    }
    let _slot = tokio::time::timeout(state.queue_wait, state.slots.clone().acquire_owned())
        .await
        .map_err(|_| {
            ApiError::service_unavailable(
                "Too many report uploads are being processed; retry shortly.",
                5,
            )
        })?
        .map_err(|e| ApiError::internal(e.to_string()))?;

    // Small channel: at most a few chunks wait between the socket and the worker.
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let limits = Limits::of(state);
    let store = state.store.clone();
    let worker = tokio::task::spawn_blocking(move || {
        let reader = ChannelReader {
            rx,
            current: Bytes::new(),
        };
        process(reader, format, &limits, store.as_ref())
    });
    let fed = feed(state, body, &tx).await;
    if fed.is_err() {
        // The worker must not take a truncated body for a complete one.
        let _ = tx.send(Chunk::Failed).await;
    }
    drop(tx);
    let processed = worker
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    match (fed, processed) {
        // The body's own failure explains best; the worker only saw it cut short.
        (Err(e), Err(failure)) => Err(with_applied(e, failure.applied)),
        (Err(e), Ok(response)) => Err(with_applied(e, response.accepted)),
        (Ok(()), Err(failure)) => Err(with_applied(failure.error, failure.applied)),
        (Ok(()), Ok(response)) => Ok(response),
    }
}

/// Moves the body's chunks to the worker, enforcing the size limit and the stall timeout.
async fn feed(state: &IngestState, body: Body, tx: &mpsc::Sender<Chunk>) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    let mut received = 0usize;
    loop {
        let next = tokio::time::timeout(state.body_idle_timeout, stream.next())
            .await
            .map_err(|_| {
                ApiError::request_timeout(format!(
                    "The request body stalled for {} s.",
                    state.body_idle_timeout.as_secs()
                ))
            })?;
        match next {
            None => return Ok(()),
            Some(Ok(chunk)) => {
                received += chunk.len();
                if received > state.max_body {
                    return Err(too_large_body(state.max_body));
                }
                if tx.send(Chunk::Data(chunk)).await.is_err() {
                    // The worker stopped early (a limit or a bad body): its error answers.
                    return Ok(());
                }
            }
            Some(Err(e)) => {
                return Err(ApiError::invalid_input(format!(
                    "The request body could not be read: {e}."
                )));
            }
        }
    }
}

fn too_large_body(max: usize) -> ApiError {
    ApiError::payload_too_large(format!("The request body exceeds {max} bytes."))
}

fn with_applied(mut e: ApiError, applied: usize) -> ApiError {
    if applied > 0 {
        e.message = format!(
            "{} {applied} report(s) of this request were applied before the failure, in committed batches; re-delivering the whole body is safe.",
            e.message
        );
    }
    e
}

/// The limits the worker needs, copied out of the shared state.
struct Limits {
    max_decompressed: usize,
    max_reports: usize,
    max_report_bytes: usize,
    batch_reports: usize,
    batch_bytes: usize,
    max_warnings: usize,
}

impl Limits {
    fn of(s: &IngestState) -> Self {
        Limits {
            max_decompressed: s.max_decompressed,
            max_reports: s.max_reports.max(1),
            max_report_bytes: s.max_report_bytes.max(1),
            batch_reports: s.batch_reports.max(1),
            batch_bytes: s.batch_bytes.max(1),
            max_warnings: s.max_warnings,
        }
    }
}

/// A blocking `Read` over the chunks the async side sends.
struct ChannelReader {
    rx: mpsc::Receiver<Chunk>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Chunk::Data(b)) => self.current = b,
                Some(Chunk::Failed) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "the request body failed",
                    ));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Counts decompressed bytes and stops at the limit.
struct Counted<R> {
    inner: R,
    read: usize,
    max: usize,
    exceeded: bool,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        if self.read > self.max {
            self.exceeded = true;
            return Err(std::io::Error::other("decompressed body over the limit"));
        }
        Ok(n)
    }
}

/// A worker failure, with how many reports were committed before it.
struct Failure {
    error: ApiError,
    applied: usize,
}

/// Where the good reports of the current batch wait for their transaction.
struct Batch {
    indices: Vec<usize>,
    reports: ValidReports,
    bytes: usize,
}

/// Decompresses, splits, parses, validates and writes the body in bounded batches.
/// Runs on a blocking thread.
fn process(
    reader: ChannelReader,
    format: BodyFormat,
    limits: &Limits,
    store: &dyn StateStore,
) -> Result<IngestResponse, Failure> {
    let decoded: Box<dyn Read> = if format.gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut input = BufReader::with_capacity(
        64 << 10,
        Counted {
            inner: decoded,
            read: 0,
            max: limits.max_decompressed,
            exceeded: false,
        },
    );
    let mut response = IngestResponse {
        accepted: 0,
        refused: Vec::new(),
        results: Vec::new(),
        warnings: Vec::new(),
        warnings_omitted: 0,
    };
    let mut batch = Batch {
        indices: Vec::new(),
        reports: ValidReports::new(),
        bytes: 0,
    };
    let mut text = Vec::new();
    let mut index = 0usize;
    let fail = |error: ApiError, response: &IngestResponse| Failure {
        error,
        applied: response.accepted,
    };
    loop {
        text.clear();
        let more = read_report_text(
            &mut input,
            &mut text,
            format.ndjson,
            limits.max_report_bytes,
        )
        .map_err(|e| fail(body_error(e, &input, limits), &response))?;
        if text.iter().any(|b| !b.is_ascii_whitespace()) {
            if index == limits.max_reports {
                return Err(fail(
                    ApiError::payload_too_large(format!(
                        "The request holds more than {} reports; send at most {} per request.",
                        limits.max_reports, limits.max_reports
                    )),
                    &response,
                ));
            }
            match batch.reports.push_json(&text) {
                Ok(()) => {
                    batch.indices.push(index);
                    batch.bytes += text.len();
                }
                Err(e) => response.refused.push(Refused {
                    index,
                    device_id: device_id_of(&text),
                    path: e.path,
                    reason: e.reason,
                }),
            }
            index += 1;
            if batch.reports.len() >= limits.batch_reports || batch.bytes >= limits.batch_bytes {
                write_batch(store, &mut batch, &mut response, limits.max_warnings)
                    .map_err(|e| fail(e, &response))?;
            }
        }
        if !more {
            break;
        }
    }
    write_batch(store, &mut batch, &mut response, limits.max_warnings)
        .map_err(|e| fail(e, &response))?;
    metrics::counter!("posture_reports_ingested_total").increment(response.accepted as u64);
    metrics::counter!("posture_reports_refused_total").increment(response.refused.len() as u64);
    if response.accepted == 0 {
        let refused = &response.refused;
        return Err(fail(
            match refused.first() {
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
            },
            &response,
        ));
    }
    Ok(response)
}

/// Why reading the body failed, as the client should hear it.
fn body_error(
    e: ReadError,
    input: &BufReader<Counted<Box<dyn Read>>>,
    limits: &Limits,
) -> ApiError {
    match e {
        ReadError::TooLong => ApiError::payload_too_large(format!(
            "A report exceeds {} bytes.",
            limits.max_report_bytes
        )),
        ReadError::Io(_) if input.get_ref().exceeded => ApiError::payload_too_large(format!(
            "The decompressed body exceeds {} bytes.",
            limits.max_decompressed
        )),
        ReadError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {
            ApiError::invalid_input("The request body was not received whole.")
        }
        ReadError::Io(e) => {
            ApiError::invalid_input(format!("The request body is not valid gzip: {e}."))
        }
    }
}

enum ReadError {
    TooLong,
    Io(std::io::Error),
}

/// Reads the next report text into `out`: up to and excluding the next newline (NDJSON)
/// or the whole body, refusing texts over `max` bytes without buffering them.
/// Returns whether more input may follow.
fn read_report_text(
    input: &mut impl BufRead,
    out: &mut Vec<u8>,
    ndjson: bool,
    max: usize,
) -> Result<bool, ReadError> {
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if available.is_empty() {
            return Ok(false);
        }
        let (take, found) = match ndjson.then(|| memchr::memchr(b'\n', available)).flatten() {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        if out.len() + take > max {
            return Err(ReadError::TooLong);
        }
        out.extend_from_slice(&available[..take]);
        input.consume(take + usize::from(found));
        if found {
            return Ok(true);
        }
    }
}

/// Writes the batch's reports in one transaction and records their outcomes and the
/// warnings about their software (at most `max_warnings` listed in the whole answer).
fn write_batch(
    store: &dyn StateStore,
    batch: &mut Batch,
    response: &mut IngestResponse,
    max_warnings: usize,
) -> Result<(), ApiError> {
    if batch.reports.is_empty() {
        return Ok(());
    }
    let outcomes = ingest::apply_valid_reports(store, &batch.reports, chrono::Utc::now()).map_err(
        |e| match e {
            ingest::IngestError::Store(s) if s.is_busy() => store_busy(),
            e => ApiError::internal(format!(
                "The reports could not be stored: {e}. Nothing of this batch was applied; retry."
            )),
        },
    )?;
    response.accepted += batch.reports.len();
    let mut unassessable = 0u64;
    for ((index, r), outcome) in batch
        .indices
        .drain(..)
        .zip(batch.reports.drain())
        .zip(outcomes)
    {
        let device_id = r.device_id.to_string();
        let room = max_warnings.saturating_sub(response.warnings.len());
        let found = ingest::assessment_warnings(&r, room);
        unassessable += (found.listed.len() + found.omitted) as u64;
        response.warnings_omitted += found.omitted;
        response
            .warnings
            .extend(found.listed.into_iter().map(|software| Warning {
                index,
                device_id: device_id.clone(),
                software,
            }));
        response.results.push(Accepted {
            index,
            device_id,
            outcome,
        });
    }
    metrics::counter!("posture_report_software_unassessable_total").increment(unassessable);
    batch.bytes = 0;
    Ok(())
}
