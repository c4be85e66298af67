//! The state scan (`posture bench`, stage "state"): how fast the store gives back every
//! device's state, raw and decoded, on the data directory the benchmark just published.
//!
//! * raw: [`StateStore::scan_state_bytes`], the rows' stored bytes without decoding —
//!   the store's own scan rate;
//! * decoded: [`StateStore::scan_views`] at the batch size publish uses, the very read a
//!   publish does (records and views of them made in parallel by the state codec, and
//!   the batches freed as a publish frees them);
//! * the codec alone on a sample of the same states: decode of the binary layout against
//!   decode of the JSON the previous release stored, in memory.
//!
//! The target is reported as `decoded_over_raw` (decoded rows per second over raw
//! rows per second, ≥ 0.5 wanted).

use crate::error::BenchError;
use serde::Serialize;
use std::path::Path;
use std::time::Instant;
use store::{DeviceState, StateStore, state_codec};

/// States taken for the in-memory codec comparison.
const CODEC_SAMPLE: usize = 4096;

#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct StateScan {
    pub rows: u64,
    /// Bytes of the state column over all rows.
    pub state_bytes: u64,
    /// `state.db` plus its write-ahead log, after a checkpoint.
    pub db_file_bytes: u64,
    pub raw_seconds: f64,
    pub raw_rows_per_s: f64,
    pub raw_mb_per_s: f64,
    pub decoded_seconds: f64,
    pub decoded_rows_per_s: f64,
    /// State bytes per second through the decoded scan.
    pub decoded_mb_per_s: f64,
    /// The ratio: decoded scan rate over raw scan rate.
    pub decoded_over_raw: f64,
    pub codec: CodecSample,
}

/// The codec alone, on the first [`CODEC_SAMPLE`] states, decoded in parallel as a scan does.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct CodecSample {
    pub rows: usize,
    pub binary_bytes: u64,
    /// The same states as the previous release stored them (JSON).
    pub json_bytes: u64,
    pub binary_decode_seconds: f64,
    /// The same binary rows read as views (what a publish reads), freed as a publish does.
    pub binary_view_seconds: f64,
    pub json_decode_seconds: f64,
}

/// Measures the scans of `store` (whose file is `db`), reading with `batch` rows per batch.
pub fn measure(store: &dyn StateStore, db: &Path, batch: usize) -> Result<StateScan, BenchError> {
    store.checkpoint()?;
    let db_file_bytes = [db.to_owned(), db.with_extension("db-wal")]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    // Once unmeasured, so both measured scans find the file in the page cache; its first
    // rows are the codec's sample.
    let mut sample_rows: Vec<Vec<u8>> = Vec::new();
    store
        .scan_state_bytes(batch, &mut |b| {
            let take = CODEC_SAMPLE.saturating_sub(sample_rows.len()).min(b.len());
            sample_rows.extend(b.into_iter().take(take));
            Ok(())
        })
        .map_err(scan_error)?;
    let sample = state_codec::decode_all(&sample_rows)?;
    drop(sample_rows);

    let (mut rows, mut state_bytes) = (0u64, 0u64);
    let started = Instant::now();
    store
        .scan_state_bytes(batch, &mut |b| {
            rows += b.len() as u64;
            state_bytes += b.iter().map(|r| r.len() as u64).sum::<u64>();
            Ok(())
        })
        .map_err(scan_error)?;
    let raw_seconds = started.elapsed().as_secs_f64();

    let mut decoded = 0u64;
    let started = Instant::now();
    store
        .scan_views(batch, &mut |b| {
            decoded += b.len() as u64;
            // As a publish frees its batches.
            state_codec::drop_all(b);
            Ok(())
        })
        .map_err(scan_error)?;
    let decoded_seconds = started.elapsed().as_secs_f64();
    if decoded != rows {
        return Err(BenchError::Failed(format!(
            "the decoded scan saw {decoded} devices, the raw scan {rows}"
        )));
    }
    let per_s = |n: f64, s: f64| n / s.max(1e-9);
    let raw_rows_per_s = per_s(rows as f64, raw_seconds);
    let decoded_rows_per_s = per_s(rows as f64, decoded_seconds);
    Ok(StateScan {
        rows,
        state_bytes,
        db_file_bytes,
        raw_seconds,
        raw_rows_per_s,
        raw_mb_per_s: per_s(state_bytes as f64 / 1e6, raw_seconds),
        decoded_seconds,
        decoded_rows_per_s,
        decoded_mb_per_s: per_s(state_bytes as f64 / 1e6, decoded_seconds),
        decoded_over_raw: decoded_rows_per_s / raw_rows_per_s.max(1e-9),
        codec: codec_sample(&sample)?,
    })
}

fn codec_sample(states: &[DeviceState]) -> Result<CodecSample, BenchError> {
    let binary = states
        .iter()
        .map(state_codec::encode)
        .collect::<Result<Vec<_>, _>>()?;
    let json = states
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<Vec<_>, _>>()?;
    let time = |rows: &[Vec<u8>]| -> Result<f64, BenchError> {
        let started = Instant::now();
        let back = state_codec::decode_all(rows)?;
        let seconds = started.elapsed().as_secs_f64();
        if back.as_slice() != states {
            return Err(BenchError::Failed(
                "the codec sample did not decode to its states".into(),
            ));
        }
        Ok(seconds)
    };
    let started = Instant::now();
    let mut records = state_codec::RecordArena::default();
    let views = records.views(&binary)?;
    let view_ids = views.iter().map(|v| v.device_id);
    if !view_ids.eq(states.iter().map(|s| s.report.device_id.as_str())) {
        return Err(BenchError::Failed(
            "the codec sample's views are not its states".into(),
        ));
    }
    state_codec::drop_all(views);
    let binary_view_seconds = started.elapsed().as_secs_f64();
    Ok(CodecSample {
        binary_view_seconds,
        rows: states.len(),
        binary_bytes: binary.iter().map(|r| r.len() as u64).sum(),
        json_bytes: json.iter().map(|r| r.len() as u64).sum(),
        binary_decode_seconds: time(&binary)?,
        json_decode_seconds: time(&json)?,
    })
}

fn scan_error(e: store::ScanError) -> BenchError {
    match e {
        store::ScanError::Store(e) => BenchError::Store(e),
        store::ScanError::Visitor(e) => BenchError::Operation(e),
    }
}

impl StateScan {
    pub fn summary(&self) -> String {
        let c = &self.codec;
        format!(
            "state: {} rows, {:.1} MB in the state column ({:.0} B/device), state.db {:.1} MB; raw scan {:.2}s ({:.0} rows/s, {:.0} MB/s); decoded scan {:.2}s ({:.0} rows/s, {:.0} MB/s) = {:.2}x the raw rate\ncodec on {} states: binary {:.1} MB decodes in {:.3}s (as views in {:.3}s), the previous release's JSON {:.1} MB in {:.3}s ({:.1}x smaller, {:.1}x faster)",
            self.rows,
            self.state_bytes as f64 / 1e6,
            self.state_bytes as f64 / (self.rows.max(1) as f64),
            self.db_file_bytes as f64 / 1e6,
            self.raw_seconds,
            self.raw_rows_per_s,
            self.raw_mb_per_s,
            self.decoded_seconds,
            self.decoded_rows_per_s,
            self.decoded_mb_per_s,
            self.decoded_over_raw,
            c.rows,
            c.binary_bytes as f64 / 1e6,
            c.binary_decode_seconds,
            c.binary_view_seconds,
            c.json_bytes as f64 / 1e6,
            c.json_decode_seconds,
            c.json_bytes as f64 / (c.binary_bytes.max(1) as f64),
            c.json_decode_seconds / c.binary_decode_seconds.max(1e-9),
        )
    }
}
