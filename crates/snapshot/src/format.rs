//! On-disk building blocks of a snapshot: fixed-width row files and fragment tables.
//!
//! * A **row file** is a flat array of little-endian fixed-size records; row `i`
//!   is at byte `i * size`, so any page starts with one multiplication.
//! * A **fragment table** is a data file of concatenated byte strings plus an
//!   index file of `u64` offsets (`count + 1` of them): fragment `i` is
//!   `data[idx[i]..idx[i+1]]`. Fragments are pieces of JSON rendered once at publish.
//!
//! Both are written once, fsynced, and then only ever memory-mapped read-only.

use memmap2::Mmap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct FormatError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn err(path: &Path) -> impl FnOnce(std::io::Error) -> FormatError + '_ {
    move |source| FormatError {
        path: path.to_owned(),
        source,
    }
}

/// A read-only mapping; empty files are represented without a map (mmap of 0 bytes fails).
/// Every mapping is registered with [`crate::resident`], whose budget may drop its pages
/// from the process's resident set. In a lazy directory ([`crate::lazy`]) the file is
/// sparse and each read first makes the bytes it reads present.
pub struct Mapped {
    map: Option<std::sync::Arc<Mmap>>,
    lazy: Option<std::sync::Arc<crate::lazy::LazyFile>>,
}

impl Mapped {
    pub fn open(path: &Path) -> Result<Mapped, FormatError> {
        let file = File::open(path).map_err(err(path))?;
        let len = file.metadata().map_err(err(path))?.len();
        if len == 0 {
            return Ok(Mapped {
                map: None,
                lazy: None,
            });
        }
        // SAFETY: snapshot files are immutable once published (written to a temporary
        // directory, fsynced, renamed into place, never modified); a retained file is
        // only ever unlinked, which leaves existing mappings valid. A lazy file's chunks
        // are written once, before any read of them (`LazyFile::ensure`).
        let map = std::sync::Arc::new(unsafe { Mmap::map(&file) }.map_err(err(path))?);
        crate::resident::register(&map);
        let lazy = crate::lazy::file_for(path, len);
        Ok(Mapped {
            map: Some(map),
            lazy,
        })
    }
    /// The file's length (nothing is fetched).
    pub fn len(&self) -> usize {
        self.map.as_deref().map_or(0, |m| m.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The whole file (fetching what is missing of a lazy one).
    pub fn bytes(&self) -> &[u8] {
        if let Some(lazy) = &self.lazy {
            lazy.ensure(0..self.len() as u64);
        }
        self.map.as_deref().map_or(&[], |map| &map[..])
    }
    /// Asks the kernel to start reading the whole file into the page cache, for a reader
    /// about to go through all of it (the delta's diff), rather than leaving it to the
    /// kernel's read-around of each missing page. Free when the file is cached (see
    /// docs/scale.md for what is and is not measured). Only a hint: a lazy file (fetched
    /// from object storage chunk by chunk) is left alone, and a refusal changes nothing.
    pub fn read_ahead(&self) {
        if let (Some(map), None) = (&self.map, &self.lazy) {
            let _ = map.advise(memmap2::Advice::WillNeed);
        }
    }
    /// `len` bytes at `at`, fewer (or none) past the end; only these are fetched.
    pub fn range(&self, at: usize, len: usize) -> &[u8] {
        let all = self.map.as_deref().map_or(&[][..], |map| &map[..]);
        let end = at.saturating_add(len).min(all.len());
        if at >= end {
            return &[];
        }
        if let Some(lazy) = &self.lazy {
            lazy.ensure(at as u64..end as u64);
        }
        &all[at..end]
    }
}

pub struct RowWriter {
    path: PathBuf,
    out: BufWriter<File>,
    rows: u64,
}

impl RowWriter {
    pub fn create(path: &Path) -> Result<RowWriter, FormatError> {
        let file = File::create(path).map_err(err(path))?;
        Ok(RowWriter {
            path: path.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
            rows: 0,
        })
    }
    pub fn push(&mut self, row: &[u8]) -> Result<(), FormatError> {
        self.rows += 1;
        self.out.write_all(row).map_err(err(&self.path))
    }
    pub fn rows(&self) -> u64 {
        self.rows
    }
    pub fn finish(self) -> Result<u64, FormatError> {
        let file = self.out.into_inner().map_err(|e| FormatError {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(err(&self.path))?;
        Ok(self.rows)
    }
}

pub struct FragWriter {
    data: RowWriter,
    index: RowWriter,
    offset: u64,
}

impl FragWriter {
    /// Creates `<stem>.frag` and `<stem>.fidx` in `dir`.
    pub fn create(dir: &Path, stem: &str) -> Result<FragWriter, FormatError> {
        let mut index = RowWriter::create(&dir.join(format!("{stem}.fidx")))?;
        index.push(&0u64.to_le_bytes())?;
        Ok(FragWriter {
            data: RowWriter::create(&dir.join(format!("{stem}.frag")))?,
            index,
            offset: 0,
        })
    }
    pub fn push(&mut self, fragment: &[u8]) -> Result<(), FormatError> {
        self.data
            .out
            .write_all(fragment)
            .map_err(err(&self.data.path))?;
        self.offset += fragment.len() as u64;
        self.index.push(&self.offset.to_le_bytes())
    }
    pub fn len(&self) -> u64 {
        self.index.rows() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn finish(self) -> Result<u64, FormatError> {
        self.data.finish()?;
        Ok(self.index.finish()? - 1)
    }
}

pub struct FragTable {
    data: Mapped,
    index: Mapped,
}

impl FragTable {
    pub fn open(dir: &Path, stem: &str) -> Result<FragTable, FormatError> {
        Ok(FragTable {
            data: Mapped::open(&dir.join(format!("{stem}.frag")))?,
            index: Mapped::open(&dir.join(format!("{stem}.fidx")))?,
        })
    }
    pub fn len(&self) -> usize {
        (self.index.len() / 8).saturating_sub(1)
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fragment `i`; an out-of-range index yields an empty fragment (callers index
    /// with ids the same snapshot wrote, so this only guards against corruption).
    pub fn get(&self, i: usize) -> &[u8] {
        let idx = self.index.range(i.saturating_mul(8), 16);
        let at = |k: usize| -> Option<usize> {
            let b = idx.get(k * 8..k * 8 + 8)?;
            usize::try_from(u64::from_le_bytes(b.try_into().ok()?)).ok()
        };
        match (at(0), at(1)) {
            (Some(a), Some(b)) if a <= b => {
                let f = self.data.range(a, b - a);
                if f.len() == b - a { f } else { &[] }
            }
            _ => &[],
        }
    }
}

pub fn read_u32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes)
}
pub fn read_u16(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..at + 2)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u16::from_le_bytes)
}

/// Fsyncs a directory so a rename into it is durable.
pub fn sync_dir(path: &Path) -> Result<(), FormatError> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(err(path))
}
