//! The local backend: export files under a root directory, SAS-like signed URLs
//! (HMAC-SHA256 under a key kept in a 0600 file), and the download route that serves them.
//!
//! URL: `<base_url>/<container>/<path>?sv=<SAS_VERSION>&st=<start>&se=<expiry>&sr=b&sp=r&sig=<sig>`,
//! `st`/`se` as `YYYY-MM-DDTHH:MM:SSZ` (URL-encoded), `sig` the standard base64 of
//! HMAC-SHA256(key, `sv \n sp \n st \n se \n sr \n /<container>/<path>`) (URL-encoded).
//!
//! The route checks, in this order and before any filesystem access: the path is plain
//! (see [`check_resource`]), the six SAS parameters are each present exactly once and
//! well formed, `sv`/`sr`/`sp` are the ones we issue, the signature verifies (constant
//! time), `st` is not in the future (5 minutes of clock skew allowed), `se` has not
//! passed and `se` is at most [`MAX_URL_VALIDITY`] (24 h, the largest `sasValidHours`)
//! after `st`: whoever holds the key could otherwise sign URLs that never expire. Every refusal is the same `403 Forbidden` MDE error body with one generic
//! message; the reason goes to the debug log only. A valid URL whose file is gone is a
//! generic `404`.

use crate::backend::{BlobBackend, BoxFuture};
use crate::{ExportError, ExportIndex, io_err};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The `sv` of the URLs we issue (a storage service version MDE's URLs carry).
pub const SAS_VERSION: &str = "2020-08-04";
/// Clock skew tolerated on `st`.
pub const START_SKEW: Duration = Duration::from_secs(300);
/// The message of every refusal: it names neither the key nor the path rules.
pub const FORBIDDEN_MESSAGE: &str =
    "Server failed to authenticate the request. Make sure the URL is complete and has not expired.";
const NOT_FOUND_MESSAGE: &str = "The specified resource does not exist.";
const MAX_RESOURCE_LEN: usize = 1024;
/// The longest validity a URL may carry, from its `st` to its `se` (as
/// `sasValidHours`: 24 h). A URL signed for longer is refused like a tampered one.
pub const MAX_URL_VALIDITY: Duration =
    Duration::from_secs(crate::MAX_SAS_VALID_HOURS as u64 * 3600);
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

type HmacSha256 = Hmac<Sha256>;

/// The HMAC key of local URLs.
#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner { key: <redacted> }")
    }
}

impl UrlSigner {
    /// A signer with this key (at least 16 bytes).
    pub fn from_key(key: &[u8]) -> Result<UrlSigner, ExportError> {
        if key.len() < 16 {
            return Err(ExportError::Config(
                "the URL signing key must have at least 16 bytes".into(),
            ));
        }
        Ok(UrlSigner { key: key.to_vec() })
    }

    /// Loads the key from `path` (hex), or generates a 256-bit key and writes it there
    /// with mode 0600. An existing file readable by others is narrowed to 0600.
    pub fn load_or_create(path: &Path) -> Result<UrlSigner, ExportError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let meta = std::fs::metadata(path).map_err(io_err(path))?;
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(path = %path.display(), "URL signing key was readable by others; setting mode 0600");
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io_err(path))?;
                }
                let key = hex_decode(text.trim()).ok_or_else(|| {
                    ExportError::Config(format!("{}: not a hex key", path.display()))
                })?;
                UrlSigner::from_key(&key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
                }
                let mut key = [0u8; 32];
                rand::Rng::fill(&mut rand::rng(), &mut key[..]);
                let created = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path);
                match created {
                    Ok(mut f) => {
                        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                        f.write_all(hex.as_bytes()).map_err(io_err(path))?;
                        f.sync_all().map_err(io_err(path))?;
                        UrlSigner::from_key(&key)
                    }
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        UrlSigner::load_or_create(path)
                    }
                    Err(e) => Err(io_err(path)(e)),
                }
            }
            Err(e) => Err(io_err(path)(e)),
        }
    }

    fn mac(&self, sv: &str, sp: &str, st: &str, se: &str, sr: &str, resource: &str) -> HmacSha256 {
        // `new_from_slice` accepts keys of any length for HMAC.
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        for part in [sv, sp, st, se, sr] {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac.update(b"/");
        mac.update(resource.as_bytes());
        mac
    }

    /// The query string (`sv=..&st=..&se=..&sr=b&sp=r&sig=..`) of a URL for `resource`
    /// (`<container>/<path>`), valid from `now` for `valid` (at most
    /// [`MAX_URL_VALIDITY`]: the verifier refuses anything longer).
    pub fn query(&self, resource: &str, now: DateTime<Utc>, valid: Duration) -> String {
        let st = now.format(TIME_FORMAT).to_string();
        let valid = chrono::Duration::from_std(valid.min(MAX_URL_VALIDITY))
            .unwrap_or(chrono::Duration::hours(24));
        let se = (now + valid).format(TIME_FORMAT).to_string();
        let sig = B64.encode(
            self.mac(SAS_VERSION, "r", &st, &se, "b", resource)
                .finalize()
                .into_bytes(),
        );
        format!(
            "sv={SAS_VERSION}&st={}&se={}&sr=b&sp=r&sig={}",
            model::percent::encode(&st),
            model::percent::encode(&se),
            model::percent::encode(&sig)
        )
    }

    /// Checks the SAS query of a request for `resource` (already passed through
    /// [`check_resource`]). `Err` carries the reason, for logs only.
    pub fn verify(
        &self,
        resource: &str,
        raw_query: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let mut params: [Option<String>; 6] = Default::default();
        const NAMES: [&str; 6] = ["sv", "st", "se", "sr", "sp", "sig"];
        for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if let Some(i) = NAMES.iter().position(|n| *n == name) {
                if params[i].is_some() {
                    return Err(Refusal::RepeatedParameter);
                }
                params[i] = Some(pct_decode(value).ok_or(Refusal::BadEncoding)?);
            }
        }
        let [Some(sv), Some(st), Some(se), Some(sr), Some(sp), Some(sig)] = params else {
            return Err(Refusal::MissingParameter);
        };
        if sv != SAS_VERSION || sr != "b" || sp != "r" {
            return Err(Refusal::UnsupportedParameters);
        }
        let sig = B64
            .decode(sig.as_bytes())
            .map_err(|_| Refusal::BadSignature)?;
        self.mac(&sv, &sp, &st, &se, &sr, resource)
            .verify_slice(&sig)
            .map_err(|_| Refusal::BadSignature)?;
        let start = parse_time(&st).ok_or(Refusal::BadTime)?;
        let expiry = parse_time(&se).ok_or(Refusal::BadTime)?;
        let skew = chrono::Duration::from_std(START_SKEW).unwrap_or_default();
        if now + skew < start {
            return Err(Refusal::NotYetValid);
        }
        let longest = chrono::Duration::from_std(MAX_URL_VALIDITY).unwrap_or_default();
        if expiry - start > longest {
            return Err(Refusal::ValidityTooLong);
        }
        if now >= expiry {
            return Err(Refusal::Expired);
        }
        Ok(())
    }
}

/// Why a download was refused (logged, never sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    BadPath,
    MissingParameter,
    RepeatedParameter,
    BadEncoding,
    UnsupportedParameters,
    BadSignature,
    BadTime,
    NotYetValid,
    Expired,
    /// Validly signed, but for longer than [`MAX_URL_VALIDITY`].
    ValidityTooLong,
    OutsideRoot,
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if s.len() != 20 {
        return None;
    }
    NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Strict percent-decoding of a query value (`+` stays `+`); `None` on a bad escape or
/// a result that is not UTF-8.
fn pct_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Accepts only plain relative paths `<container>/<segment>/...`: at least two segments,
/// each non-empty, not `.` or `..`, made of `[A-Za-z0-9._=-]`. Anything percent-encoded,
/// a backslash, NUL, a leading `/` or a control byte is refused, which covers `..`,
/// `%2e%2e`, `%252e%252e`, `..%2f`, `%5c` and the like without decoding anything.
pub fn check_resource(raw: &str) -> Result<&str, Refusal> {
    if raw.is_empty() || raw.len() > MAX_RESOURCE_LEN {
        return Err(Refusal::BadPath);
    }
    let mut segments = 0;
    for seg in raw.split('/') {
        segments += 1;
        let plain = !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'=' | b'-'));
        if !plain {
            return Err(Refusal::BadPath);
        }
    }
    if segments < 2 {
        return Err(Refusal::BadPath);
    }
    Ok(raw)
}

/// What the download route needs.
#[derive(Debug)]
pub struct LocalState {
    root: PathBuf,
    canonical_root: PathBuf,
    /// Path of `base_url` (`/files`), where the route is mounted; empty for the root.
    route_prefix: String,
    signer: UrlSigner,
}

impl LocalState {
    /// `root` is created if missing. `base_url` is the public URL prefix of downloads,
    /// e.g. `http://127.0.0.1:8080/files`; its path is where the route is mounted.
    pub fn new(root: &Path, base_url: &str, signer: UrlSigner) -> Result<LocalState, ExportError> {
        std::fs::create_dir_all(root).map_err(io_err(root))?;
        let canonical_root = std::fs::canonicalize(root).map_err(io_err(root))?;
        Ok(LocalState {
            root: root.to_owned(),
            canonical_root,
            route_prefix: url_path(base_url)?,
            signer,
        })
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// The path part of an absolute `http(s)://host[:port][/path]` URL, without trailing `/`.
fn url_path(base_url: &str) -> Result<String, ExportError> {
    let rest = base_url
        .strip_prefix("http://")
        .or_else(|| base_url.strip_prefix("https://"))
        .ok_or_else(|| {
            ExportError::Config(format!("base URL {base_url:?} must start with http(s)://"))
        })?;
    let path = rest.find('/').map_or("", |i| &rest[i..]);
    let path = path.trim_end_matches('/');
    if path.contains(['?', '#', '{', '}', '*']) {
        return Err(ExportError::Config(format!(
            "base URL {base_url:?} must not have a query, fragment or route syntax"
        )));
    }
    Ok(path.to_owned())
}

/// The axum router serving `GET`/`HEAD <route prefix>/<container>/<path>?<sas>`.
/// Merge it into the application router (it only claims paths under the prefix).
pub fn download_router(state: Arc<LocalState>) -> Router {
    let route = format!("{}/{{*resource}}", state.route_prefix);
    let mut router = Router::new().route(
        &route,
        axum::routing::get(download).fallback(method_not_allowed),
    );
    if !state.route_prefix.is_empty() {
        // `<prefix>/` and `<prefix>` name no file: refused like any other bad URL.
        for bare in [
            format!("{}/", state.route_prefix),
            state.route_prefix.clone(),
        ] {
            router = router.route(
                &bare,
                axum::routing::get(download).fallback(method_not_allowed),
            );
        }
    }
    router.with_state(state)
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

fn error(status: StatusCode, code: &str, message: &str, target: String) -> Response {
    let body = model::wire::ErrorBody {
        error: model::wire::ErrorDetail {
            code: code.to_owned(),
            message: message.to_owned(),
            target: target.clone(),
        },
    };
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn forbidden(reason: Refusal, target: String) -> Response {
    tracing::debug!(?reason, request_id = %target, "export download refused");
    error(
        StatusCode::FORBIDDEN,
        "Forbidden",
        FORBIDDEN_MESSAGE,
        target,
    )
}

async fn method_not_allowed(method: Method, headers: HeaderMap) -> Response {
    let mut resp = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "BadRequest",
        &format!("Method {method} is not allowed; use GET."),
        request_id(&headers),
    );
    resp.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    resp
}

/// A single byte range of a `len`-byte file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No usable `Range` header: the whole file (invalid or multi-range headers are ignored, as RFC 9110 allows).
    Full,
    /// Inclusive byte range.
    Part(u64, u64),
    /// `416 Range Not Satisfiable`.
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b`, `bytes=a-` and `bytes=-n` against a file of `len` bytes.
pub fn parse_range(value: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Full;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeRequest::Full;
    };
    let num = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    match (a.trim(), b.trim()) {
        ("", n) => match num(n) {
            None => RangeRequest::Full,
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(n) => RangeRequest::Part(len.saturating_sub(n), len - 1),
        },
        (a, "") => match num(a) {
            None => RangeRequest::Full,
            Some(a) if a >= len => RangeRequest::Unsatisfiable,
            Some(a) => RangeRequest::Part(a, len - 1),
        },
        (a, b) => match (num(a), num(b)) {
            (Some(a), Some(b)) if a <= b => {
                if a >= len {
                    RangeRequest::Unsatisfiable
                } else {
                    RangeRequest::Part(a, b.min(len - 1))
                }
            }
            _ => RangeRequest::Full,
        },
    }
}

async fn download(State(st): State<Arc<LocalState>>, headers: HeaderMap, uri: Uri) -> Response {
    let target = request_id(&headers);
    // The raw (undecoded) path: the router matched it under the prefix.
    let raw = uri
        .path()
        .strip_prefix(st.route_prefix.as_str())
        .and_then(|p| p.strip_prefix('/'))
        .unwrap_or("");
    let resource = match check_resource(raw) {
        Ok(r) => r,
        Err(reason) => return forbidden(reason, target),
    };
    if let Err(reason) = st.signer.verify(resource, uri.query(), Utc::now()) {
        return forbidden(reason, target);
    }
    let path = st.root.join(resource);
    let not_found = |target| error(StatusCode::NOT_FOUND, "NotFound", NOT_FOUND_MESSAGE, target);
    let canonical = match tokio::fs::canonicalize(&path).await {
        Ok(p) => p,
        Err(_) => return not_found(target),
    };
    if !canonical.starts_with(&st.canonical_root) {
        return forbidden(Refusal::OutsideRoot, target);
    }
    let mut file = match tokio::fs::File::open(&canonical).await {
        Ok(f) => f,
        Err(_) => return not_found(target),
    };
    let len = match file.metadata().await {
        Ok(m) if m.is_file() => m.len(),
        _ => return not_found(target),
    };
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    );
    let (status, start, count) = match range {
        RangeRequest::Full => (StatusCode::OK, 0, len),
        RangeRequest::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        RangeRequest::Unsatisfiable => {
            let mut resp = error(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
                target,
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return resp;
        }
    };
    if start > 0 && file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return not_found(target);
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(count), 256 * 1024);
    let mut resp = Response::new(Body::from_stream(stream));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/gzip"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&target) {
        h.insert("x-request-id", v);
    }
    resp
}

/// The local backend: files under `root/<container>/`, published by renaming the
/// staging directory into place (atomic and O(1) on one filesystem), URLs signed with
/// [`UrlSigner`] and served by [`download_router`].
#[derive(Debug)]
pub struct LocalBackend {
    state: Arc<LocalState>,
    base_url: String,
}

impl LocalBackend {
    pub fn new(
        root: &Path,
        base_url: &str,
        signer: UrlSigner,
    ) -> Result<LocalBackend, ExportError> {
        Ok(LocalBackend {
            state: Arc::new(LocalState::new(root, base_url, signer)?),
            base_url: base_url.trim_end_matches('/').to_owned(),
        })
    }

    pub fn state(&self) -> Arc<LocalState> {
        self.state.clone()
    }

    /// The signed URL of `<container>/<path>`.
    pub fn url(&self, container: &str, path: &str, valid: Duration, now: DateTime<Utc>) -> String {
        let resource = format!("{container}/{path}");
        let query = self.state.signer.query(&resource, now, valid);
        format!("{}/{resource}?{query}", self.base_url)
    }

    fn publish_sync(&self, staging: &Path, index: &ExportIndex) -> Result<(), ExportError> {
        let src = staging.join(&index.container).join(&index.prefix);
        let dst = self.state.root.join(&index.container).join(&index.prefix);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        if dst.exists() {
            // Left by a publish that crashed before its commit point.
            std::fs::remove_dir_all(&dst).map_err(io_err(&dst))?;
        }
        match std::fs::rename(&src, &dst) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(18) => {
                // EXDEV: staging on another filesystem; copy, then drop the staging copy.
                copy_tree(&src, &dst)?;
                std::fs::remove_dir_all(&src).map_err(io_err(&src))?;
            }
            Err(e) => return Err(io_err(&src)(e)),
        }
        for file in index.all_files() {
            let p = self.state.root.join(&index.container).join(&file.path);
            let len = std::fs::metadata(&p).map_err(io_err(&p))?.len();
            if len != file.bytes {
                return Err(ExportError::Io {
                    path: p,
                    source: std::io::Error::other(format!(
                        "has {len} bytes, index says {}",
                        file.bytes
                    )),
                });
            }
        }
        let mut cur = dst.parent();
        while let Some(dir) = cur {
            crate::writer::sync_dir(dir)?;
            if dir == self.state.root {
                break;
            }
            cur = dir.parent();
        }
        Ok(())
    }

    fn remove_sync(&self, index: &ExportIndex) -> Result<(), ExportError> {
        let dir = self.state.root.join(&index.container).join(&index.prefix);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&dir)(e)),
        }
        if let Some(date_dir) = dir.parent() {
            // Only succeeds when empty, which is what we want.
            let _ = std::fs::remove_dir(date_dir);
        }
        Ok(())
    }

    fn remove_except_sync(
        &self,
        container: &str,
        keep: &[ExportIndex],
    ) -> Result<Vec<String>, ExportError> {
        let base = self.state.root.join(container);
        let mut removed = Vec::new();
        let Ok(dates) = std::fs::read_dir(&base) else {
            return Ok(removed);
        };
        for date in dates.flatten() {
            let date_name = date.file_name().to_string_lossy().into_owned();
            let Ok(times) = std::fs::read_dir(date.path()) else {
                continue;
            };
            for time in times.flatten() {
                let prefix = format!("{date_name}/{}", time.file_name().to_string_lossy());
                if crate::writer::prefix_of(&format!("{prefix}/")).is_err() {
                    continue;
                }
                let kept = keep
                    .iter()
                    .any(|k| k.container == container && k.prefix == prefix);
                if !kept {
                    let p = time.path();
                    std::fs::remove_dir_all(&p).map_err(io_err(&p))?;
                    removed.push(prefix);
                }
            }
            let _ = std::fs::remove_dir(date.path());
        }
        Ok(removed)
    }
}

fn copy_tree(src: &Path, dst: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(dst).map_err(io_err(dst))?;
    for entry in std::fs::read_dir(src).map_err(io_err(src))? {
        let entry = entry.map_err(io_err(src))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if entry.file_type().map_err(io_err(&from))?.is_dir() {
            copy_tree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(io_err(&from))?;
            std::fs::File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(io_err(&to))?;
        }
    }
    crate::writer::sync_dir(dst)
}

impl BlobBackend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn publish<'a>(
        &'a self,
        staging: &'a Path,
        index: &'a ExportIndex,
    ) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move { self.publish_sync(staging, index) })
    }

    fn signed_urls<'a>(
        &'a self,
        index: &'a ExportIndex,
        kind: snapshot::ExportKind,
        valid: Duration,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>> {
        let urls = index
            .files(kind)
            .iter()
            .map(|f| self.url(&index.container, &f.path, valid, now))
            .collect();
        Box::pin(async move { Ok(urls) })
    }

    fn remove<'a>(&'a self, index: &'a ExportIndex) -> BoxFuture<'a, Result<(), ExportError>> {
        Box::pin(async move { self.remove_sync(index) })
    }

    fn remove_except<'a>(
        &'a self,
        container: &'a str,
        keep: &'a [ExportIndex],
    ) -> BoxFuture<'a, Result<Vec<String>, ExportError>> {
        Box::pin(async move { self.remove_except_sync(container, keep) })
    }

    fn download_router(&self) -> Option<Router> {
        Some(download_router(self.state.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signer() -> UrlSigner {
        UrlSigner::from_key(&[7u8; 32]).unwrap()
    }

    #[test]
    fn resource_paths_must_be_plain() {
        assert!(check_resource("tvm-export/2026-11-20/1300/VaExport/json/OrgId=x/_RbacGroupId=0/part-00000-u.c000.json.gz").is_ok());
        for bad in [
            "",
            "a",
            "/a/b",
            "a//b",
            "a/../b",
            "a/./b",
            "..",
            "a/..",
            "a/%2e%2e/b",
            "a/%2E%2E/b",
            "a/%252e%252e/b",
            "a/..%2fb",
            "a/..\\b",
            "a\\..\\b",
            "a/%5c/b",
            "a/b%00",
            "a/b\0",
            "a/b c",
            "a/b/",
            "a/é",
        ] {
            assert_eq!(check_resource(bad), Err(Refusal::BadPath), "{bad:?}");
        }
    }

    #[test]
    fn signatures_verify_and_expire() {
        let s = signer();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 13, 0, 0).unwrap();
        let q = s.query("c1/a/b.gz", now, Duration::from_secs(3600));
        assert!(q.starts_with(
            "sv=2020-08-04&st=2026-11-20T13%3A00%3A00Z&se=2026-11-20T14%3A00%3A00Z&sr=b&sp=r&sig="
        ));
        assert_eq!(s.verify("c1/a/b.gz", Some(&q), now), Ok(()));
        let later = now + chrono::Duration::minutes(59);
        assert_eq!(s.verify("c1/a/b.gz", Some(&q), later), Ok(()));
        let expired = now + chrono::Duration::hours(1);
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&q), expired),
            Err(Refusal::Expired)
        );
        let early = now - chrono::Duration::minutes(6);
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&q), early),
            Err(Refusal::NotYetValid)
        );
        assert_eq!(
            s.verify("c1/a/c.gz", Some(&q), now),
            Err(Refusal::BadSignature)
        );
        let other = UrlSigner::from_key(&[8u8; 32]).unwrap();
        assert_eq!(
            other.verify("c1/a/b.gz", Some(&q), now),
            Err(Refusal::BadSignature)
        );
        let longer = q.replace("se=2026-11-20T14", "se=2026-11-20T18");
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&longer), now),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&q.replace("sp=r", "sp=rw")), now),
            Err(Refusal::UnsupportedParameters)
        );
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&format!("{q}&sig=x")), now),
            Err(Refusal::RepeatedParameter)
        );
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&q.replace("&sr=b", "")), now),
            Err(Refusal::MissingParameter)
        );
        assert_eq!(
            s.verify("c1/a/b.gz", None, now),
            Err(Refusal::MissingParameter)
        );
        assert_eq!(
            s.verify("c1/a/b.gz", Some(&format!("{q}%zz")), now),
            Err(Refusal::BadEncoding)
        );
    }

    /// Whoever holds the key could sign a URL valid for years; such a URL is refused
    /// whatever its signature, and the signer never issues one.
    #[test]
    fn a_signed_validity_beyond_24_hours_is_refused() {
        let s = signer();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 13, 0, 0).unwrap();
        let day = s.query("c1/a/b.gz", now, MAX_URL_VALIDITY);
        assert_eq!(s.verify("c1/a/b.gz", Some(&day), now), Ok(()));
        let hour = Duration::from_secs(3600);
        for valid in [MAX_URL_VALIDITY + Duration::from_secs(1), 365 * 24 * hour] {
            let se = (now + chrono::Duration::from_std(valid).unwrap())
                .format(TIME_FORMAT)
                .to_string();
            let st = now.format(TIME_FORMAT).to_string();
            let sig = B64.encode(
                s.mac(SAS_VERSION, "r", &st, &se, "b", "c1/a/b.gz")
                    .finalize()
                    .into_bytes(),
            );
            let forged = format!(
                "sv={SAS_VERSION}&st={}&se={}&sr=b&sp=r&sig={}",
                model::percent::encode(&st),
                model::percent::encode(&se),
                model::percent::encode(&sig)
            );
            assert_eq!(
                s.verify("c1/a/b.gz", Some(&forged), now),
                Err(Refusal::ValidityTooLong),
                "{valid:?}"
            );
        }
        // Asking the signer for longer gives a 24-hour URL, which verifies.
        let capped = s.query("c1/a/b.gz", now, 48 * hour);
        assert!(capped.contains("se=2026-11-21T13%3A00%3A00Z"), "{capped}");
        assert_eq!(s.verify("c1/a/b.gz", Some(&capped), now), Ok(()));
    }

    #[test]
    fn ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(parse_range(Some("bytes=0-4"), 10), Part(0, 4));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Part(5, 9));
        assert_eq!(parse_range(Some("bytes=-3"), 10), Part(7, 9));
        assert_eq!(parse_range(Some("bytes=-30"), 10), Part(0, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Part(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=10-12"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=a-b"), 10), Full);
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/export-url.key");
        let a = UrlSigner::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = UrlSigner::load_or_create(&path).unwrap();
        assert_eq!(a.key, b.key);
        assert_eq!(a.key.len(), 32);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        UrlSigner::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!format!("{a:?}").contains("07"));
    }

    #[test]
    fn base_url_paths() {
        assert_eq!(url_path("http://127.0.0.1:8080/files/").unwrap(), "/files");
        assert_eq!(url_path("https://h").unwrap(), "");
        assert!(url_path("ftp://h/x").is_err());
    }
}
