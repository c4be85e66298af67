//! The one paging-and-streaming mechanism behind every JSON endpoint.
//!
//! * [`SkipToken`]: MDE's `$skiptoken` — standard Base64 of
//!   `{"ExportDefinition":{"TimePath":"YYYY-MM-DD/HHMM/"},"ExportFileIndex":i,"LineStoppedAt":n}`,
//!   a position (part file, line) in a named snapshot, so a walk stays on its snapshot.
//! * [`stream_rows`]: renders a window of rows on a blocking thread into bounded
//!   chunks, so memory stays flat whatever the page size and the first byte leaves
//!   as soon as the first chunk is full.

use crate::error::ApiError;
use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use snapshot::{ExportKind, Snapshot};
use std::sync::Arc;

/// Bytes rendered before a chunk is handed to the connection.
const CHUNK: usize = 128 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipToken {
    #[serde(rename = "ExportDefinition")]
    pub export_definition: ExportDefinition,
    #[serde(rename = "ExportFileIndex")]
    pub export_file_index: u64,
    #[serde(rename = "LineStoppedAt")]
    pub line_stopped_at: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportDefinition {
    #[serde(rename = "TimePath")]
    pub time_path: String,
}

impl SkipToken {
    pub fn encode(&self) -> String {
        STANDARD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<SkipToken, ApiError> {
        let bad =
            || ApiError::invalid_input("Invalid value for $skiptoken: the token is malformed.");
        // `+` may arrive as a space when a client decodes the query as a form.
        let bytes = STANDARD
            .decode(text.trim().replace(' ', "+"))
            .map_err(|_| bad())?;
        let token: SkipToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if model::timefmt::parse_time_path(&token.export_definition.time_path).is_none() {
            return Err(bad());
        }
        Ok(token)
    }
}

/// Where a page of an assessment export starts: which snapshot, which global row.
pub fn resolve_token(
    token: &SkipToken,
    snapshots: &snapshot::Snapshots,
    kind: ExportKind,
) -> Result<(Arc<Snapshot>, u64), ApiError> {
    let snapshot = snapshots.by_time_path(&token.export_definition.time_path).ok_or_else(|| {
        ApiError::invalid_input(format!(
            "Invalid value for $skiptoken: the snapshot {} has expired; start the export again without $skiptoken.",
            token.export_definition.time_path
        ))
    })?;
    let export = snapshot.export(kind);
    let row = usize::try_from(token.export_file_index)
        .ok()
        .and_then(|part| export.position(part, token.line_stopped_at))
        .ok_or_else(|| {
            ApiError::invalid_input(
                "Invalid value for $skiptoken: the position does not exist in its snapshot.",
            )
        })?;
    Ok((snapshot, row))
}

pub fn token_for(snapshot: &Snapshot, kind: ExportKind, row: u64) -> SkipToken {
    let (part, line) = snapshot.export(kind).locate(row);
    SkipToken {
        export_definition: ExportDefinition {
            time_path: snapshot.time_path().to_owned(),
        },
        export_file_index: part as u64,
        line_stopped_at: line,
    }
}

/// The rows a page shows: either a contiguous range, or explicit row numbers (filtered).
pub enum Rows {
    Range(std::ops::Range<u64>),
    List(Vec<u32>),
}

impl Rows {
    pub fn len(&self) -> u64 {
        match self {
            Rows::Range(r) => r.end.saturating_sub(r.start),
            Rows::List(l) => l.len() as u64,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Streams `head`, the rendered rows separated by commas, then `tail`.
pub fn stream_rows(
    snapshot: Arc<Snapshot>,
    kind: ExportKind,
    rows: Rows,
    head: Vec<u8>,
    tail: Vec<u8>,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = Vec::with_capacity(CHUNK + 4096);
        buf.extend_from_slice(&head);
        let mut first = true;
        let send = |buf: &mut Vec<u8>| -> bool {
            let chunk = Bytes::from(std::mem::replace(buf, Vec::with_capacity(CHUNK + 4096)));
            tx.blocking_send(chunk).is_ok()
        };
        let mut emit = |row: u64, buf: &mut Vec<u8>| -> bool {
            if !first {
                buf.push(b',');
            }
            first = false;
            snapshot.render(kind, row, buf);
            buf.len() < CHUNK || send(buf)
        };
        let complete = match rows {
            Rows::Range(r) => r.into_iter().all(|row| emit(row, &mut buf)),
            Rows::List(l) => l.into_iter().all(|row| emit(row as u64, &mut buf)),
        };
        if complete {
            buf.extend_from_slice(&tail);
            send(&mut buf);
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<Bytes, std::convert::Infallible>(chunk), rx))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matches_the_documented_sample() {
        let sample = "eyJFeHBvcnREZWZpbml0aW9uIjp7IlRpbWVQYXRoIjoiMjAyMS0wMS0xMS8xMTAxLyJ9LCJFeHBvcnRGaWxlSW5kZXgiOjAsIkxpbmVTdG9wcGVkQXQiOjV9";
        let t = SkipToken::decode(sample).unwrap();
        assert_eq!(t.export_definition.time_path, "2021-01-11/1101/");
        assert_eq!((t.export_file_index, t.line_stopped_at), (0, 5));
        assert_eq!(t.encode(), sample);
    }

    #[test]
    fn broken_tokens_are_invalid_input() {
        for bad in [
            "",
            "!!!",
            "e30=",
            "eyJhIjoxfQ==",
            &STANDARD.encode(
                r#"{"ExportDefinition":{"TimePath":"x"},"ExportFileIndex":0,"LineStoppedAt":0}"#,
            ),
        ] {
            assert_eq!(
                SkipToken::decode(bad).unwrap_err().code,
                "InvalidInput",
                "{bad}"
            );
        }
    }
}
