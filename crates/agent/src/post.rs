//! The ingest protocol, client side.
//!
//! `POST <server>/ingest/v1/reports`, `Authorization: Bearer <key>`, body: NDJSON
//! (one report per line), gzip-compressed (`Content-Type: application/x-ndjson`,
//! `Content-Encoding: gzip`). The body of given reports is always the same bytes
//! (serde's serialisation is deterministic and the gzip header carries no time),
//! so a retry re-sends exactly what failed.

use flate2::{Compression, GzBuilder};
use model::DeviceReport;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub const INGEST_PATH: &str = "/ingest/v1/reports";

/// The server's answer to an accepted request (HTTP 200).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostOutcome {
    pub accepted: usize,
    #[serde(default)]
    pub refused: Vec<Refusal>,
    #[serde(default)]
    pub results: Vec<ReportResult>,
    /// Software of stored reports the server cannot assess, and why (stored anyway).
    #[serde(default)]
    pub warnings: Vec<ServerWarning>,
    /// Warnings beyond those listed (the server caps the list).
    #[serde(default)]
    pub warnings_omitted: usize,
}

/// Software of an accepted report that the server stored but cannot assess.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerWarning {
    pub index: usize,
    #[serde(default)]
    pub device_id: Option<String>,
    /// The item, e.g. `software[3]`.
    pub path: String,
    /// The kind of gap (`unsupportedEcosystem`, ...), if the server names one.
    #[serde(default)]
    pub gap: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    pub index: usize,
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportResult {
    pub index: usize,
    #[serde(default)]
    pub device_id: Option<String>,
    /// `applied` or `alreadyApplied`.
    pub outcome: String,
}

impl PostOutcome {
    /// One line per server warning (`software[3] cannot be assessed: reason`), and
    /// a last line counting the omitted ones, if any. `reports` are the reports of the
    /// body, to name the item (`vendor name version`) when its index is known.
    pub fn warning_lines(&self, reports: &[DeviceReport]) -> Vec<String> {
        let mut lines: Vec<String> = self
            .warnings
            .iter()
            .map(|w| {
                let item = reports
                    .get(w.index)
                    .and_then(|r| software_at(r, &w.path))
                    .map(|s| format!(" ({} {} {})", s.vendor, s.name, s.version))
                    .unwrap_or_default();
                format!("{}{item} cannot be assessed: {}", w.path, w.reason)
            })
            .collect();
        if self.warnings_omitted > 0 {
            lines.push(format!(
                "{} more software item(s) cannot be assessed (not listed by the server)",
                self.warnings_omitted
            ));
        }
        lines
    }

    /// The refusal of the report at `index`, if the server refused it.
    pub fn refusal(&self, index: usize) -> Option<&Refusal> {
        self.refused.iter().find(|r| r.index == index)
    }
}

/// The software item a warning's path (`software[3]`) names in `report`.
fn software_at<'a>(report: &'a DeviceReport, path: &str) -> Option<&'a model::InstalledSoftware> {
    let index: usize = path
        .strip_prefix("software[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    report.software.get(index)
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// 401: the ingest key is missing or wrong.
    #[error("the server refused the ingest key (401 Unauthorized): {0}")]
    Unauthorized(String),
    /// 400: the body was unreadable or every report was refused.
    #[error("the server refused the reports (400 {code}): {message}{}", target.as_deref().map(|t| format!(" [{t}]")).unwrap_or_default())]
    Refused {
        code: String,
        message: String,
        target: Option<String>,
    },
    /// Any other HTTP status.
    #[error("the server answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    /// No answer: connection refused, timeout, TLS failure.
    #[error("could not reach the server: {0}")]
    Transport(String),
    #[error("the server's answer is not the ingest response: {0}")]
    BadResponse(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    State(String),
}

impl AgentError {
    /// Whether sending the same body again may succeed (no answer, 408, 429, 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            AgentError::Transport(_) => true,
            AgentError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// The request body for reports: NDJSON, gzip-compressed, deterministic.
pub fn encode_body(reports: &[DeviceReport]) -> Vec<u8> {
    let mut ndjson = Vec::new();
    for r in reports {
        serde_json::to_writer(&mut ndjson, r).expect("a report serialises");
        ndjson.push(b'\n');
    }
    gzip(&ndjson)
}

pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    enc.write_all(data).expect("writing to memory");
    enc.finish().expect("writing to memory")
}

/// A connection to one ingest server.
pub struct Sender {
    client: reqwest::blocking::Client,
    url: String,
    key: String,
}

impl Sender {
    /// `ca_cert`: an extra PEM root certificate (a self-hosted server's private CA).
    pub fn new(server: &str, key: &str, ca_cert: Option<&Path>) -> Result<Sender, AgentError> {
        let server = server.trim().trim_end_matches('/');
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(AgentError::Config(format!(
                "--server must be an http:// or https:// URL, got {server:?}"
            )));
        }
        if key.trim().is_empty() {
            return Err(AgentError::Config("the ingest key is empty".into()));
        }
        let mut b = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("posture-agent/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca_cert {
            let pem = std::fs::read(ca)
                .map_err(|e| AgentError::Config(format!("could not read {}: {e}", ca.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                AgentError::Config(format!("{}: not a PEM certificate: {e}", ca.display()))
            })?;
            b = b.add_root_certificate(cert);
        }
        let client = b
            .build()
            .map_err(|e| AgentError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Sender {
            client,
            url: format!("{server}{INGEST_PATH}"),
            key: key.trim().to_owned(),
        })
    }

    pub fn post(&self, reports: &[DeviceReport]) -> Result<PostOutcome, AgentError> {
        self.post_body(&encode_body(reports))
    }

    /// Sends an already encoded body (gzip NDJSON).
    pub fn post_body(&self, body: &[u8]) -> Result<PostOutcome, AgentError> {
        let resp = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .header(reqwest::header::CONTENT_ENCODING, "gzip")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body.to_vec())
            .send()
            .map_err(|e| AgentError::Transport(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .map_err(|e| AgentError::Transport(error_chain(&e)))?;
        match status {
            200 => serde_json::from_str(&text)
                .map_err(|e| AgentError::BadResponse(format!("{e}: {}", snippet(&text)))),
            400 => {
                #[derive(Deserialize)]
                struct Body {
                    error: ErrorBody,
                }
                #[derive(Deserialize)]
                struct ErrorBody {
                    code: String,
                    message: String,
                    #[serde(default)]
                    target: Option<String>,
                }
                match serde_json::from_str::<Body>(&text) {
                    Ok(b) => Err(AgentError::Refused {
                        code: b.error.code,
                        message: b.error.message,
                        target: b.error.target,
                    }),
                    Err(_) => Err(AgentError::Refused {
                        code: "BadRequest".into(),
                        message: snippet(&text),
                        target: None,
                    }),
                }
            }
            401 => Err(AgentError::Unauthorized(snippet(&text))),
            _ => Err(AgentError::Http {
                status,
                body: snippet(&text),
            }),
        }
    }
}

/// Posts reports once (no retry): `POST <server>/ingest/v1/reports`.
pub fn post(server: &str, key: &str, reports: &[DeviceReport]) -> Result<PostOutcome, AgentError> {
    Sender::new(server, key, None)?.post(reports)
}

fn snippet(s: &str) -> String {
    let s = s.trim();
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        src = c.source();
    }
    s
}
