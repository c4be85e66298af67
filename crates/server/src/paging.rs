//! The one paging-and-streaming mechanism behind every JSON endpoint.
//!
//! * [`SkipToken`]: MDE's `$skiptoken` — standard Base64 of
//!   `{"ExportDefinition":{"TimePath":"YYYY-MM-DD/HHMM/"},"ExportFileIndex":i,"LineStoppedAt":n}`,
//!   a position (part file, line) in a named snapshot, so a walk stays on its snapshot.
//! * [`stream_rows`]: renders a window of rows on a blocking thread into bounded
//!   chunks, so memory stays flat whatever the page size and the first byte leaves
//!   as soon as the first chunk is full.

use access::ApiError;
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

/// Anything a page can render rows from: an export of a snapshot, or a change log.
pub trait RowSource: Send + Sync {
    fn render_row(&self, row: u64, out: &mut Vec<u8>);
    /// Makes what rendering `rows` reads present (a snapshot still arriving from object
    /// storage); most sources have everything at hand.
    fn prefetch(&self, _rows: &Rows) -> Result<(), String> {
        Ok(())
    }
    /// Whether [`RowSource::prefetch`] has nothing to do.
    fn is_complete(&self) -> bool {
        true
    }
}

/// One export of one snapshot as a [`RowSource`].
pub struct ExportRows {
    pub snapshot: Arc<Snapshot>,
    pub kind: ExportKind,
}

impl RowSource for ExportRows {
    fn render_row(&self, row: u64, out: &mut Vec<u8>) {
        self.snapshot.render(self.kind, row, out);
    }
    fn is_complete(&self) -> bool {
        self.snapshot.is_complete()
    }
    fn prefetch(&self, rows: &Rows) -> Result<(), String> {
        match rows {
            Rows::Ranges(ranges) => ranges
                .iter()
                .try_for_each(|r| self.snapshot.prefetch_rows(self.kind, r.clone())),
            // Scattered rows (a filtered page): each run of consecutive rows on its own,
            // not everything between the first and the last.
            Rows::List(list) => runs(list)
                .into_iter()
                .try_for_each(|r| self.snapshot.prefetch_rows(self.kind, r)),
        }
    }
}

/// `rows` (ascending) as ranges of consecutive rows.
fn runs(rows: &[u32]) -> Vec<std::ops::Range<u64>> {
    let mut out: Vec<std::ops::Range<u64>> = Vec::new();
    for &row in rows {
        let row = u64::from(row);
        match out.last_mut() {
            Some(r) if r.end == row => r.end = row + 1,
            _ => out.push(row..row + 1),
        }
    }
    out
}

/// Runs every segment's [`RowSource::prefetch`] on a blocking thread; a failure is a 503
/// with `Retry-After` (the object store did not answer), so no page is served with holes.
pub async fn prefetch(
    segments: Vec<(Arc<dyn RowSource>, Rows)>,
) -> Result<Vec<(Arc<dyn RowSource>, Rows)>, ApiError> {
    if segments.iter().all(|(source, _)| source.is_complete()) {
        return Ok(segments);
    }
    tokio::task::spawn_blocking(move || {
        for (source, rows) in &segments {
            if let Err(e) = source.prefetch(rows) {
                tracing::warn!(error = %e, "cannot fetch what a page reads");
                return Err(ApiError::service_unavailable(
                    "The snapshot is still being fetched from storage; retry shortly.",
                    2,
                ));
            }
        }
        Ok(segments)
    })
    .await
    .map_err(|e| ApiError::internal(format!("page preparation failed: {e}")))?
}

impl RowSource for snapshot::ChangeLog {
    fn render_row(&self, row: u64, out: &mut Vec<u8>) {
        self.render(row, out);
    }
}

/// The rows a page shows from one source: ranges of row numbers, or explicit rows (filtered).
pub enum Rows {
    Ranges(Vec<std::ops::Range<u64>>),
    List(Vec<u32>),
}

impl Rows {
    pub fn len(&self) -> u64 {
        match self {
            Rows::Ranges(r) => r.iter().map(|r| r.end.saturating_sub(r.start)).sum(),
            Rows::List(l) => l.len() as u64,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The rows of an export a caller may see: all of them, or the parts of its groups
/// (rows are grouped by RBAC group, so this is a short list of ranges).
pub fn scope_ranges(
    export: &snapshot::ExportManifest,
    groups: Option<&[u32]>,
) -> Vec<std::ops::Range<u64>> {
    let Some(groups) = groups else {
        return vec![0..export.rows];
    };
    let mut ranges: Vec<std::ops::Range<u64>> = Vec::new();
    for p in export.parts.iter().filter(|p| groups.contains(&p.group_id)) {
        let r = p.start_row..p.start_row + p.rows;
        match ranges.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => ranges.push(r),
        }
    }
    ranges
}

/// Up to `count` rows of `ranges` from the first allowed row at or after `start`,
/// and the row after them (the next page's start), if any.
pub fn take_from(
    ranges: &[std::ops::Range<u64>],
    start: u64,
    count: u64,
) -> (Vec<std::ops::Range<u64>>, Option<u64>) {
    let mut out = Vec::new();
    let mut left = count;
    let mut next = None;
    for r in ranges.iter().filter(|r| r.end > start) {
        let from = r.start.max(start);
        if left == 0 {
            next = Some(from);
            break;
        }
        let to = from.saturating_add(left).min(r.end);
        out.push(from..to);
        left -= to - from;
        if to < r.end {
            next = Some(to);
            break;
        }
    }
    if next.is_none() && left == 0 {
        // Exactly filled at a range end: the next page starts at the next range, if any.
        let end = out.last().map_or(start, |r| r.end);
        next = ranges
            .iter()
            .find(|r| r.start >= end && r.end > r.start)
            .map(|r| r.start);
    }
    (out, next)
}

/// Skips `skip` allowed rows, then takes up to `count` (OData `$skip`/`$top` over a scope).
pub fn skip_take(
    ranges: &[std::ops::Range<u64>],
    skip: u64,
    count: u64,
) -> Vec<std::ops::Range<u64>> {
    let mut left_skip = skip;
    for r in ranges {
        let len = r.end - r.start;
        if left_skip < len {
            return take_from(ranges, r.start + left_skip, count).0;
        }
        left_skip -= len;
    }
    Vec::new()
}

/// Streams `head`, the rendered rows of each segment separated by commas, then `tail`.
pub fn stream_rows(
    segments: Vec<(Arc<dyn RowSource>, Rows)>,
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
        let mut emit = |source: &dyn RowSource, row: u64, buf: &mut Vec<u8>| -> bool {
            if !first {
                buf.push(b',');
            }
            first = false;
            source.render_row(row, buf);
            buf.len() < CHUNK || send(buf)
        };
        let mut complete = true;
        for (source, rows) in segments {
            complete = match rows {
                Rows::Ranges(ranges) => ranges
                    .into_iter()
                    .flatten()
                    .all(|row| emit(source.as_ref(), row, &mut buf)),
                Rows::List(l) => l
                    .into_iter()
                    .all(|row| emit(source.as_ref(), row as u64, &mut buf)),
            };
            if !complete {
                break;
            }
        }
        if complete {
            buf.extend_from_slice(&tail);
            send(&mut buf);
        }
        // The snapshot pages this response read stay resident in the process until
        // the budget says otherwise.
        snapshot::resident::trim_if_over_budget();
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
    fn scattered_rows_prefetch_as_runs() {
        assert_eq!(runs(&[]), Vec::<std::ops::Range<u64>>::new());
        assert_eq!(runs(&[3, 4, 5, 9, 11, 12]), vec![3..6, 9..10, 11..13]);
    }

    #[test]
    fn token_matches_the_documented_sample() {
        let sample = "eyJFeHBvcnREZWZpbml0aW9uIjp7IlRpbWVQYXRoIjoiMjAyMS0wMS0xMS8xMTAxLyJ9LCJFeHBvcnRGaWxlSW5kZXgiOjAsIkxpbmVTdG9wcGVkQXQiOjV9";
        let t = SkipToken::decode(sample).unwrap();
        assert_eq!(t.export_definition.time_path, "2021-01-11/1101/");
        assert_eq!((t.export_file_index, t.line_stopped_at), (0, 5));
        assert_eq!(t.encode(), sample);
    }

    #[test]
    fn scoped_windows() {
        let ranges = vec![0..3, 10..12, 20..25];
        assert_eq!(take_from(&ranges, 0, 4), (vec![0..3, 10..11], Some(11)));
        assert_eq!(take_from(&ranges, 11, 1), (vec![11..12], Some(20)));
        assert_eq!(take_from(&ranges, 5, 100), (vec![10..12, 20..25], None));
        assert_eq!(take_from(&ranges, 3, 2), (vec![10..12], Some(20)));
        assert_eq!(take_from(&ranges, 24, 1), (vec![24..25], None));
        assert_eq!(skip_take(&ranges, 4, 3), vec![11..12, 20..22]);
        assert_eq!(
            skip_take(&ranges, 10, 3),
            Vec::<std::ops::Range<u64>>::new()
        );
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
