//! How a device's state is laid out in a store's row: one encoding shared by every
//! `StateStore`, so each store only moves bytes. This module is the only place the
//! layout is defined.
//!
//! A row is [`FORMAT_V2`] (its first byte), the record's length and the length of its
//! LZ4 block (varints), then the record compressed as one LZ4 block. The record is the
//! state's fields in a fixed order, with no field names:
//!
//! * unsigned integers are LEB128 varints, signed ones zigzag varints;
//! * a string is a varint `len << 1` followed by its UTF-8 bytes, or `index << 1 | 1`,
//!   a reference to the `index`-th string written inline earlier in the same record
//!   (vendors, versions, setting values and paths repeat within a device);
//! * a time is seconds (zigzag, relative to the report's `reportedAt`) and nanoseconds;
//! * optional fields of software entries and of the antivirus state are flag bits;
//! * gathered facts (arbitrary JSON values) are tagged values.
//!
//! Compression halves a row (strings such as CPEs repeat parts of other strings, which
//! the record's own back-references cannot share), and with it the bytes every ingest
//! writes and every publish scans; LZ4 decompresses at several GB/s, a small fraction of
//! the decoding.
//!
//! [`decode`] also reads the rows of earlier releases: [`FORMAT_V1`] (the same record,
//! uncompressed, after its format byte; releases up to schema version 1), and the state's
//! JSON (as text or as bytes), a row whose first byte is `{` (or JSON whitespace). The
//! SQLite store re-encodes JSON rows when it opens a data directory (see
//! `sqlite::SqliteStore::open`); [`is_current`] tells which rows still need it. V1 rows
//! stay as they are until their device reports again.

use crate::state_view::Paths;
use crate::{DeviceState, DeviceView, Result, SoftwareView, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use model::report::Distro;
use model::{AvState, DeviceId, GroupRef, InstalledSoftware, OsInfo, OsKind, ScanResult};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The first byte of an uncompressed record (rows written up to schema version 1).
pub const FORMAT_V1: u8 = 0x01;
/// The first byte of a row in the current layout: an LZ4-compressed record.
pub const FORMAT_V2: u8 = 0x02;

/// How deep gathered facts nest at most (serde_json refuses deeper input, so no
/// accepted report comes near it); a deeper record is corrupt.
const MAX_DEPTH: usize = 128;

/// The largest record a row may claim to decompress to. Reports are capped far below
/// this; a larger claim is a damaged row, refused before anything is allocated.
const MAX_RECORD: u64 = 256 << 20;

/// The largest scratch buffer an encoding thread keeps between states (a state's
/// record is about 10 KB).
const SCRATCH_KEPT: usize = 1 << 20;

/// The bytes a store keeps for `state`.
pub fn encode(state: &DeviceState) -> Result<Vec<u8>> {
    encode_parts(&StateParts::of(state))
}

/// A device's state by reference: what [`encode`] writes, without an owned
/// [`DeviceState`] (a batch merge encodes a report it only borrows, see
/// `apply::merge_batch`).
#[derive(Clone, Copy, Debug)]
pub struct StateParts<'a> {
    pub report: &'a model::DeviceReport,
    pub first_seen: DateTime<Utc>,
    /// Parallel to the report's software.
    pub software_first_seen: &'a [DateTime<Utc>],
    pub received_at: DateTime<Utc>,
}

impl<'a> StateParts<'a> {
    pub fn of(state: &'a DeviceState) -> Self {
        StateParts {
            report: &state.report,
            first_seen: state.first_seen,
            software_first_seen: &state.software_first_seen,
            received_at: state.received_at,
        }
    }
}

/// The bytes a store keeps for the state `parts` make up.
pub fn encode_parts(parts: &StateParts<'_>) -> Result<Vec<u8>> {
    thread_local! {
        /// The record and its compressed block, kept by each encoding thread: written
        /// afresh for every state (a batch encodes thousands), they cost an allocation,
        /// a zeroing and fresh pages each.
        static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>)> = const {
            std::cell::RefCell::new((Vec::new(), Vec::new()))
        };
    }
    SCRATCH.with(|scratch| {
        let (record, block) = &mut *scratch.borrow_mut();
        let mut w = Writer::over(std::mem::take(record), parts.report.software.len());
        w.state(parts);
        *record = w.buf;
        let bound = lz4_flex::block::get_maximum_output_size(record.len());
        if block.len() < bound {
            block.resize(bound, 0);
        }
        let n = lz4_flex::block::compress_into(record, block)
            .map_err(|e| StoreError::Corrupt(format!("device state: cannot compress: {e}")))?;
        let mut row = Vec::with_capacity(1 + 20 + n);
        row.push(FORMAT_V2);
        push_uvar(&mut row, record.len() as u64);
        push_uvar(&mut row, n as u64);
        row.extend_from_slice(&block[..n]);
        // An outsized state's buffers are not kept for the thread's lifetime.
        if record.capacity() > SCRATCH_KEPT {
            *record = Vec::new();
            *block = Vec::new();
        }
        Ok(row)
    })
}

/// The state stored as `bytes` (by [`encode`], by an earlier release's `encode`, or the
/// JSON of an earlier release still).
pub fn decode(bytes: &[u8]) -> Result<DeviceState> {
    if is_json(bytes) {
        return Ok(serde_json::from_slice(bytes)?);
    }
    view(&record(bytes)?)?.into_state()
}

/// The record inside a stored row: decompressed ([`FORMAT_V2`]), the row after its
/// format byte ([`FORMAT_V1`]), or for an earlier release's JSON, the record
/// [`encode`] would write for it. What [`view`] reads.
pub fn record(row: &[u8]) -> Result<Cow<'_, [u8]>> {
    match row.first() {
        Some(&FORMAT_V2) => Ok(Cow::Owned(decompress(row)?)),
        Some(&FORMAT_V1) => Ok(Cow::Borrowed(&row[1..])),
        Some(_) if is_json(row) => {
            let state: DeviceState = serde_json::from_slice(row)?;
            let mut w = Writer::over(Vec::new(), state.report.software.len());
            w.state(&StateParts::of(&state));
            Ok(Cow::Owned(w.buf))
        }
        _ => Err(not_a_row(row)),
    }
}

/// Why `row` is in none of the layouts (an unknown first byte, or no byte at all).
fn not_a_row(row: &[u8]) -> StoreError {
    match row.first() {
        Some(other) => {
            StoreError::Corrupt(format!("device state: unknown format byte {other:#04x}"))
        }
        None => StoreError::Corrupt("device state: empty row".into()),
    }
}

/// The state in `record` (a row's record: decompressed, or a version 1 row after its
/// format byte) as a [`DeviceView`] borrowing its strings.
pub fn view(record: &[u8]) -> Result<DeviceView<'_>> {
    let mut r = Reader::of_record(record);
    let view = r.view()?;
    if r.pos != record.len() {
        return Err(r.corrupt("bytes after the record"));
    }
    Ok(view)
}

/// Whether a row is an earlier release's JSON (its first byte `{` or JSON whitespace).
fn is_json(row: &[u8]) -> bool {
    matches!(row.first(), Some(b'{' | b' ' | b'\t' | b'\n' | b'\r'))
}

/// The row as schema version 1 stored it (the record uncompressed after [`FORMAT_V1`]):
/// what a downgrade would write back, and how tests make a version-1 file.
pub fn uncompressed_v1(row: &[u8]) -> Result<Vec<u8>> {
    let record = decompress(row)?;
    let mut v1 = Vec::with_capacity(1 + record.len());
    v1.push(FORMAT_V1);
    v1.extend_from_slice(&record);
    Ok(v1)
}

/// The record inside a [`FORMAT_V2`] row, checked against both lengths the row states.
fn decompress(row: &[u8]) -> Result<Vec<u8>> {
    let (record_len, block) = compressed_block(row)?;
    let record = lz4_flex::block::decompress(block, record_len)
        .map_err(|e| StoreError::Corrupt(format!("device state: bad LZ4 block: {e}")))?;
    if record.len() != record_len {
        return Err(StoreError::Corrupt(
            "device state: record shorter than its length".into(),
        ));
    }
    Ok(record)
}

/// The length a [`FORMAT_V2`] row says its record has, and the row's LZ4 block, both
/// checked against the row.
fn compressed_block(row: &[u8]) -> Result<(usize, &[u8])> {
    if row.first() != Some(&FORMAT_V2) {
        return Err(StoreError::Corrupt(
            "device state: not a compressed row".into(),
        ));
    }
    let mut r = Reader::new(row, 1);
    let record_len = r.uvar()?;
    let block_len = r.uvar()?;
    // LZ4 expands at most about 255 times: a longer claim is damage, refused before
    // allocating for it.
    if record_len > MAX_RECORD || record_len > block_len.saturating_mul(255).saturating_add(16) {
        return Err(r.corrupt("record length out of range"));
    }
    if block_len != (row.len() - r.pos) as u64 {
        return Err(r.corrupt("block length does not match the row"));
    }
    Ok((record_len as usize, &row[r.pos..]))
}

/// The records of one batch of rows (each decompressed, or a version 1 row after its
/// format byte), side by side in one buffer that the next batch reuses. A record is
/// about 10 KB: decompressed each into its own allocation, freed a batch later, they
/// cost the allocator fresh pages from the kernel every batch, about a tenth of reading
/// them. A scan keeps one arena and reads each
/// batch through [`RecordArena::views`].
#[derive(Debug, Default)]
pub struct RecordArena {
    buf: Vec<u8>,
    /// Where each record ends in `buf`.
    ends: Vec<usize>,
}

impl RecordArena {
    /// The views of `rows`, in order: each row's record is written into the arena
    /// (replacing the previous batch's) and read as a view while it is still in the
    /// core's cache, rows in parallel.
    pub fn views<B: AsRef<[u8]> + Sync>(&mut self, rows: &[B]) -> Result<Vec<DeviceView<'_>>> {
        // An earlier release's JSON row becomes a record first (rare: stores re-encode
        // them on open).
        let from_json: Vec<Option<Vec<u8>>> = rows
            .par_iter()
            .map(|row| match is_json(row.as_ref()) {
                true => record(row.as_ref()).map(|r| Some(r.into_owned())),
                false => Ok(None),
            })
            .collect::<Result<_>>()?;
        self.ends.clear();
        let mut end = 0usize;
        for (row, json) in rows.iter().zip(&from_json) {
            let row = row.as_ref();
            let len = match (json, row.first()) {
                (Some(record), _) => record.len(),
                (None, Some(&FORMAT_V2)) => compressed_block(row)?.0,
                (None, Some(&FORMAT_V1)) => row.len() - 1,
                (None, _) => return Err(not_a_row(row)),
            };
            end = end
                .checked_add(len)
                .ok_or_else(|| StoreError::Corrupt("device state: batch too large".into()))?;
            self.ends.push(end);
        }
        // Grown, never shrunk or cleared: each record overwrites its whole slot.
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let mut slots: Vec<&mut [u8]> = Vec::with_capacity(rows.len());
        let (mut rest, mut start) = (&mut self.buf[..end], 0);
        for &e in &self.ends {
            let (slot, tail) = rest.split_at_mut(e - start);
            slots.push(slot);
            (rest, start) = (tail, e);
        }
        slots
            .into_par_iter()
            .zip(rows.par_iter())
            .zip(from_json.par_iter())
            .map(|((slot, row), json)| {
                write_record(row.as_ref(), json.as_deref(), slot)?;
                view(slot)
            })
            .collect()
    }
}

/// Writes `row`'s record (or `json`'s, the record of a JSON row) into `slot`, which is
/// exactly its length.
fn write_record(row: &[u8], json: Option<&[u8]>, slot: &mut [u8]) -> Result<()> {
    match json {
        Some(record) => slot.copy_from_slice(record),
        None if row.first() == Some(&FORMAT_V1) => slot.copy_from_slice(&row[1..]),
        None => {
            let (_, block) = compressed_block(row)?;
            let n = lz4_flex::block::decompress_into(block, slot)
                .map_err(|e| StoreError::Corrupt(format!("device state: bad LZ4 block: {e}")))?;
            if n != slot.len() {
                return Err(StoreError::Corrupt(
                    "device state: record shorter than its length".into(),
                ));
            }
        }
    }
    Ok(())
}

/// Whether `bytes` are in a binary layout (a JSON row of an earlier release is not, and
/// is re-encoded by a store's migration; an uncompressed V1 row is read as it is).
pub fn is_current(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(&(FORMAT_V1 | FORMAT_V2)))
}

fn push_uvar(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Frees a batch of decoded states (or views) on the rayon pool that decoded them. A
/// decoded state is some hundreds of small allocations (strings, lists, the settings
/// map), a view some dozens: freed on the one thread that consumed the batch, they cost
/// about as much as decoding it on every core did, and that thread does nothing else
/// meanwhile. Every consumer of a scan's batches (a publish, the bench's decoded scan)
/// drops them here.
pub fn drop_all<T: Send>(batch: Vec<T>) {
    batch.into_par_iter().for_each(drop);
}

/// Decodes a batch of rows in parallel (the scan path of every store), in order.
pub fn decode_all<B: AsRef<[u8]> + Sync>(rows: &[B]) -> Result<Vec<DeviceState>> {
    rows.par_iter().map(|r| decode(r.as_ref())).collect()
}

struct Writer<'a> {
    buf: Vec<u8>,
    /// Strings written inline so far, by their index.
    seen: FxHashMap<&'a str, u32>,
}

impl<'a> Writer<'a> {
    /// A writer into `buf` (cleared; its capacity kept) for a state of `software`
    /// entries, sized for it: about 200 bytes and four strings an entry.
    fn over(mut buf: Vec<u8>, software: usize) -> Self {
        buf.clear();
        buf.reserve(256 + 200 * software);
        Writer {
            buf,
            seen: FxHashMap::with_capacity_and_hasher(64 + 4 * software, Default::default()),
        }
    }

    fn uvar(&mut self, v: u64) {
        push_uvar(&mut self.buf, v);
    }

    fn ivar(&mut self, v: i64) {
        self.uvar(((v << 1) ^ (v >> 63)) as u64);
    }

    fn len(&mut self, n: usize) {
        self.uvar(n as u64);
    }

    fn str(&mut self, s: &'a str) {
        let next = self.seen.len() as u32;
        match self.seen.entry(s) {
            std::collections::hash_map::Entry::Occupied(e) => {
                let index = u64::from(*e.get());
                self.uvar(index << 1 | 1);
            }
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(next);
                self.uvar((s.len() as u64) << 1);
                self.buf.extend_from_slice(s.as_bytes());
            }
        }
    }

    fn opt_str(&mut self, s: &'a Option<String>) {
        match s {
            Some(s) => {
                self.buf.push(1);
                self.str(s);
            }
            None => self.buf.push(0),
        }
    }

    fn time(&mut self, t: &DateTime<Utc>, base: i64) {
        self.ivar(t.timestamp().wrapping_sub(base));
        self.uvar(u64::from(t.timestamp_subsec_nanos()));
    }

    fn state(&mut self, s: &StateParts<'a>) {
        let r = s.report;
        let base = r.reported_at.timestamp();
        self.str(r.device_id.as_str());
        self.uvar(r.sequence);
        self.ivar(base);
        self.uvar(u64::from(r.reported_at.timestamp_subsec_nanos()));
        self.time(&s.first_seen, base);
        self.time(&s.received_at, base);
        self.opt_str(&r.device_name);
        self.os(&r.os);
        match &r.group {
            Some(g) => {
                self.buf.push(1);
                self.uvar(u64::from(g.id));
                self.str(&g.name);
            }
            None => self.buf.push(0),
        }
        self.len(r.software.len());
        for sw in &r.software {
            self.software(sw);
        }
        self.len(s.software_first_seen.len());
        for t in s.software_first_seen {
            self.time(t, base);
        }
        self.len(r.settings.len());
        for (k, v) in &r.settings {
            self.str(k);
            self.str(v);
        }
        match &r.av {
            Some(av) => {
                self.buf.push(1);
                self.av(av, base);
            }
            None => self.buf.push(0),
        }
        self.len(r.facts.len());
        for (k, v) in &r.facts {
            self.str(k);
            self.value(v);
        }
    }

    fn os(&mut self, os: &'a OsInfo) {
        self.buf.push(match os.kind {
            OsKind::Windows => 0,
            OsKind::Mac => 1,
            OsKind::Linux => 2,
        });
        self.str(&os.platform);
        self.str(&os.version);
        self.opt_str(&os.architecture);
        match &os.distro {
            Some(d) => {
                self.buf.push(1);
                self.str(&d.id);
                self.str(&d.version_id);
            }
            None => self.buf.push(0),
        }
    }

    fn software(&mut self, sw: &'a InstalledSoftware) {
        let mut flags = 0u8;
        for (bit, present) in [
            sw.cpe.is_some(),
            sw.ecosystem.is_some(),
            !sw.disk_paths.is_empty(),
            !sw.registry_paths.is_empty(),
            sw.end_of_support.is_some(),
            sw.end_of_support.as_ref().is_some_and(|e| e.date.is_some()),
            sw.source.is_some(),
        ]
        .into_iter()
        .enumerate()
        {
            flags |= u8::from(present) << bit;
        }
        self.buf.push(flags);
        self.str(&sw.vendor);
        self.str(&sw.name);
        self.str(&sw.version);
        if let Some(cpe) = &sw.cpe {
            self.str(cpe);
        }
        if let Some(e) = &sw.ecosystem {
            self.str(e);
        }
        for paths in [&sw.disk_paths, &sw.registry_paths] {
            if !paths.is_empty() {
                self.len(paths.len());
                for p in paths {
                    self.str(p);
                }
            }
        }
        if let Some(eos) = &sw.end_of_support {
            self.str(&eos.status);
            if let Some(d) = eos.date {
                self.ivar(i64::from(d.num_days_from_ce()));
            }
        }
        if let Some(src) = &sw.source {
            self.str(&src.name);
            self.str(&src.version);
        }
    }

    fn av(&mut self, av: &'a AvState, base: i64) {
        let present = [
            av.mode.is_some(),
            av.engine_version.is_some(),
            av.platform_version.is_some(),
            av.signature_version.is_some(),
            av.engine_updated_at.is_some(),
            av.platform_updated_at.is_some(),
            av.signature_updated_at.is_some(),
            av.signature_published_at.is_some(),
            av.cloud_protection.is_some(),
            av.quick_scan.is_some(),
            av.full_scan.is_some(),
        ];
        let flags = present
            .iter()
            .enumerate()
            .fold(0u64, |f, (bit, p)| f | u64::from(*p) << bit);
        self.uvar(flags);
        if let Some(m) = av.mode {
            self.buf.push(m);
        }
        for s in [
            &av.engine_version,
            &av.platform_version,
            &av.signature_version,
        ]
        .into_iter()
        .flatten()
        {
            self.str(s);
        }
        for t in [
            &av.engine_updated_at,
            &av.platform_updated_at,
            &av.signature_updated_at,
            &av.signature_published_at,
        ]
        .into_iter()
        .flatten()
        {
            self.time(t, base);
        }
        if let Some(c) = &av.cloud_protection {
            self.str(c);
        }
        for scan in [&av.quick_scan, &av.full_scan].into_iter().flatten() {
            self.str(&scan.status);
            self.opt_str(&scan.error);
            self.time(&scan.time, base);
        }
    }

    fn value(&mut self, v: &'a Value) {
        match v {
            Value::Null => self.buf.push(0),
            Value::Bool(false) => self.buf.push(1),
            Value::Bool(true) => self.buf.push(2),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.buf.push(3);
                    self.uvar(u);
                } else if let Some(i) = n.as_i64() {
                    self.buf.push(4);
                    self.ivar(i);
                } else {
                    // Neither integer form: a finite f64 (serde_json holds no other).
                    self.buf.push(5);
                    let f = n.as_f64().unwrap_or(0.0);
                    self.buf.extend_from_slice(&f.to_le_bytes());
                }
            }
            Value::String(s) => {
                self.buf.push(6);
                self.str(s);
            }
            Value::Array(a) => {
                self.buf.push(7);
                self.len(a.len());
                for x in a {
                    self.value(x);
                }
            }
            Value::Object(o) => {
                self.buf.push(8);
                self.len(o.len());
                for (k, x) in o {
                    self.str(k);
                    self.value(x);
                }
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Strings read inline so far, for back-references.
    strings: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    /// A reader of a row's header (no strings).
    fn new(buf: &'a [u8], pos: usize) -> Self {
        Reader {
            buf,
            pos,
            strings: Vec::new(),
        }
    }

    /// A reader of a whole record.
    fn of_record(record: &'a [u8]) -> Self {
        Reader {
            buf: record,
            pos: 0,
            // A record holds a string for about every 32 bytes (ids, versions, paths):
            // sized once, the list is not grown four or five times per record.
            strings: Vec::with_capacity(record.len() / 32 + 8),
        }
    }

    fn corrupt(&self, what: &str) -> StoreError {
        StoreError::Corrupt(format!("device state: {what} at byte {}", self.pos))
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.corrupt("record ends early"))?;
        self.pos += 1;
        Ok(b)
    }

    fn flag(&mut self) -> Result<bool> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt("bad presence byte")),
        }
    }

    fn uvar(&mut self) -> Result<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(self.corrupt("varint overflows"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return Err(self.corrupt("varint overflows"));
            }
        }
    }

    fn ivar(&mut self) -> Result<i64> {
        let u = self.uvar()?;
        Ok((u >> 1) as i64 ^ -((u & 1) as i64))
    }

    fn u32(&mut self) -> Result<u32> {
        u32::try_from(self.uvar()?).map_err(|_| self.corrupt("value out of range"))
    }

    /// A count of items that take at least one byte each (bounded by what is left, so a
    /// corrupt count cannot ask for a huge allocation).
    fn len(&mut self) -> Result<usize> {
        let n = self.uvar()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(self.corrupt("count exceeds the record"));
        }
        Ok(n as usize)
    }

    fn str(&mut self) -> Result<&'a str> {
        let code = self.uvar()?;
        if code & 1 == 1 {
            return usize::try_from(code >> 1)
                .ok()
                .and_then(|i| self.strings.get(i).copied())
                .ok_or_else(|| self.corrupt("string reference out of range"));
        }
        let len = usize::try_from(code >> 1).map_err(|_| self.corrupt("string too long"))?;
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| self.corrupt("string ends past the record"))?;
        let bytes = &self.buf[self.pos..end];
        let s = if bytes.is_ascii() {
            // SAFETY: every byte is ASCII, and ASCII text is valid UTF-8. Almost every
            // string of a report is ASCII, and `is_ascii` checks a word at a time where
            // `from_utf8` goes about a byte at a time: a fifth of reading a record.
            unsafe { std::str::from_utf8_unchecked(bytes) }
        } else {
            std::str::from_utf8(bytes).map_err(|_| self.corrupt("string is not UTF-8"))?
        };
        self.pos = end;
        self.strings.push(s);
        Ok(s)
    }

    fn string(&mut self) -> Result<String> {
        Ok(self.str()?.to_owned())
    }

    fn opt_string(&mut self) -> Result<Option<String>> {
        Ok(if self.flag()? {
            Some(self.string()?)
        } else {
            None
        })
    }

    fn time(&mut self, base: i64) -> Result<DateTime<Utc>> {
        let secs = self.ivar()?.wrapping_add(base);
        let nanos = self.u32()?;
        DateTime::from_timestamp(secs, nanos).ok_or_else(|| self.corrupt("time out of range"))
    }

    fn view(&mut self) -> Result<DeviceView<'a>> {
        let device_id = self.str()?;
        if !DeviceId::is_valid(device_id) {
            return Err(self.corrupt("bad device id"));
        }
        let sequence = self.uvar()?;
        let base = self.ivar()?;
        let reported_at = self.time_at(base)?;
        let first_seen = self.time(base)?;
        let received_at = self.time(base)?;
        let device_name = if self.flag()? {
            Some(self.str()?)
        } else {
            None
        };
        let os = self.os()?;
        let group = if self.flag()? {
            Some(GroupRef {
                id: self.u32()?,
                name: self.string()?,
            })
        } else {
            None
        };
        let n = self.len()?;
        let mut software = Vec::with_capacity(n);
        for _ in 0..n {
            software.push(self.software()?);
        }
        let n = self.len()?;
        let mut software_first_seen = Vec::with_capacity(n);
        for _ in 0..n {
            software_first_seen.push(self.time(base)?);
        }
        let n = self.len()?;
        let mut settings: Vec<(&str, &str)> = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.str()?;
            if settings.last().is_some_and(|(last, _)| *last >= k) {
                return Err(self.corrupt("settings out of order"));
            }
            settings.push((k, self.str()?));
        }
        let av = if self.flag()? {
            Some(self.av(base)?)
        } else {
            None
        };
        let mut facts = BTreeMap::new();
        for _ in 0..self.len()? {
            let k = self.string()?;
            facts.insert(k, self.value(0)?);
        }
        Ok(DeviceView {
            device_id,
            sequence,
            reported_at,
            device_name,
            os,
            group,
            software,
            software_first_seen,
            settings,
            av,
            facts,
            first_seen,
            received_at,
        })
    }

    /// The report's own time: `base` seconds (already read) and nanoseconds.
    fn time_at(&mut self, base: i64) -> Result<DateTime<Utc>> {
        let nanos = self.u32()?;
        DateTime::from_timestamp(base, nanos).ok_or_else(|| self.corrupt("time out of range"))
    }

    fn os(&mut self) -> Result<OsInfo> {
        let kind = match self.byte()? {
            0 => OsKind::Windows,
            1 => OsKind::Mac,
            2 => OsKind::Linux,
            _ => return Err(self.corrupt("bad OS kind")),
        };
        Ok(OsInfo {
            kind,
            platform: self.string()?,
            version: self.string()?,
            architecture: self.opt_string()?,
            distro: if self.flag()? {
                Some(Distro {
                    id: self.string()?,
                    version_id: self.string()?,
                })
            } else {
                None
            },
        })
    }

    fn paths(&mut self, present: bool) -> Result<Paths<'a>> {
        if !present {
            return Ok(Paths::new());
        }
        let n = self.len()?;
        let mut out = Paths::with_capacity(n);
        for _ in 0..n {
            out.push(self.str()?);
        }
        Ok(out)
    }

    fn software(&mut self) -> Result<SoftwareView<'a>> {
        let flags = self.byte()?;
        if flags >> 7 != 0 {
            return Err(self.corrupt("bad software flags"));
        }
        let has = |bit: u8| flags & (1 << bit) != 0;
        let vendor = self.str()?;
        let name = self.str()?;
        let version = self.str()?;
        let cpe = if has(0) { Some(self.str()?) } else { None };
        let ecosystem = if has(1) { Some(self.str()?) } else { None };
        let disk_paths = self.paths(has(2))?;
        let registry_paths = self.paths(has(3))?;
        let end_of_support = if has(4) {
            let status = self.str()?;
            let date = if has(5) {
                let days =
                    i32::try_from(self.ivar()?).map_err(|_| self.corrupt("date out of range"))?;
                Some(
                    NaiveDate::from_num_days_from_ce_opt(days)
                        .ok_or_else(|| self.corrupt("date out of range"))?,
                )
            } else {
                None
            };
            Some((status, date))
        } else if has(5) {
            return Err(self.corrupt("bad software flags"));
        } else {
            None
        };
        let source = if has(6) {
            Some((self.str()?, self.str()?))
        } else {
            None
        };
        Ok(SoftwareView {
            vendor,
            name,
            version,
            cpe,
            ecosystem,
            disk_paths,
            registry_paths,
            end_of_support,
            source,
        })
    }

    fn av(&mut self, base: i64) -> Result<AvState> {
        let flags = self.uvar()?;
        if flags >> 11 != 0 {
            return Err(self.corrupt("bad antivirus flags"));
        }
        let has = |bit: u32| flags & (1 << bit) != 0;
        let mode = if has(0) { Some(self.byte()?) } else { None };
        let text = |r: &mut Self, bit| -> Result<Option<String>> {
            Ok(if has(bit) { Some(r.string()?) } else { None })
        };
        let engine_version = text(self, 1)?;
        let platform_version = text(self, 2)?;
        let signature_version = text(self, 3)?;
        let time = |r: &mut Self, bit| -> Result<Option<DateTime<Utc>>> {
            Ok(if has(bit) { Some(r.time(base)?) } else { None })
        };
        let engine_updated_at = time(self, 4)?;
        let platform_updated_at = time(self, 5)?;
        let signature_updated_at = time(self, 6)?;
        let signature_published_at = time(self, 7)?;
        let cloud_protection = if has(8) { Some(self.string()?) } else { None };
        let scan = |r: &mut Self, bit| -> Result<Option<ScanResult>> {
            Ok(if has(bit) {
                Some(ScanResult {
                    status: r.string()?,
                    error: r.opt_string()?,
                    time: r.time(base)?,
                })
            } else {
                None
            })
        };
        let quick_scan = scan(self, 9)?;
        let full_scan = scan(self, 10)?;
        Ok(AvState {
            mode,
            engine_version,
            platform_version,
            signature_version,
            engine_updated_at,
            platform_updated_at,
            signature_updated_at,
            signature_published_at,
            cloud_protection,
            quick_scan,
            full_scan,
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(self.corrupt("facts nest too deep"));
        }
        Ok(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::from(self.uvar()?),
            4 => Value::from(self.ivar()?),
            5 => {
                let end = self.pos + 8;
                let bytes: [u8; 8] = self
                    .buf
                    .get(self.pos..end)
                    .and_then(|b| b.try_into().ok())
                    .ok_or_else(|| self.corrupt("record ends early"))?;
                self.pos = end;
                serde_json::Number::from_f64(f64::from_le_bytes(bytes))
                    .map(Value::Number)
                    .ok_or_else(|| self.corrupt("number is not finite"))?
            }
            6 => Value::String(self.string()?),
            7 => {
                let n = self.len()?;
                let mut a = Vec::with_capacity(n);
                for _ in 0..n {
                    a.push(self.value(depth + 1)?);
                }
                Value::Array(a)
            }
            8 => {
                let mut o = serde_json::Map::new();
                for _ in 0..self.len()? {
                    let k = self.string()?;
                    o.insert(k, self.value(depth + 1)?);
                }
                Value::Object(o)
            }
            _ => return Err(self.corrupt("bad value tag")),
        })
    }
}
