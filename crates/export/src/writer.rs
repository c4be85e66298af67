//! Writing a snapshot's file exports into a staging directory.

use crate::gzip::{DEFLATE_WINDOW, Output, Pipeline, Task};
use crate::index::{ExportFile, ExportFiles, ExportIndex, INDEX_FORMAT};
use crate::{BlobBackend, DEFAULT_CONTAINER, ExportError, FILE_EXPORTS, io_err};
use sha2::{Digest, Sha256};
use snapshot::{ExportKind, Snapshot};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// How exports are written.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// gzip level, 0..=9 (default 1: the fastest, as MDE-sized exports want).
    pub level: u32,
    /// The tenant GUID of the `OrgId=` segment.
    pub org_id: String,
    /// First path segment (default `tvm-export`); `[a-z0-9-]`, 3..=63 characters.
    pub container: String,
    /// Uncompressed bytes per compressed block (default 4 MiB): the unit of parallel work.
    /// Every file is one gzip member whatever this is (blocks are joined pigz-style).
    pub member_bytes: usize,
    /// Worker threads; 0 means every available core.
    pub threads: usize,
    /// fsync every file and directory written (default true).
    pub fsync: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            level: 1,
            org_id: uuid::Uuid::nil().to_string(),
            container: DEFAULT_CONTAINER.to_owned(),
            member_bytes: 4 << 20,
            threads: 0,
            fsync: true,
        }
    }
}

impl ExportOptions {
    pub fn new(org_id: impl Into<String>) -> Self {
        ExportOptions {
            org_id: org_id.into(),
            ..ExportOptions::default()
        }
    }

    /// The worker threads to use: `threads`, or every available core when it is 0.
    pub fn threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ExportError> {
        if self.level > 9 {
            return Err(ExportError::Option(format!(
                "gzip level {} is not 0..=9",
                self.level
            )));
        }
        let org_ok = !self.org_id.is_empty()
            && self.org_id.len() <= 64
            && self
                .org_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !org_ok {
            return Err(ExportError::Option(format!(
                "org id {:?} must be 1..=64 of [A-Za-z0-9-]",
                self.org_id
            )));
        }
        validate_container(&self.container)
    }
}

/// Azure's container rules (which also suit S3 buckets and directory names).
pub(crate) fn validate_container(c: &str) -> Result<(), ExportError> {
    let ok = (3..=63).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !c.starts_with('-')
        && !c.ends_with('-')
        && !c.contains("--");
    if ok {
        Ok(())
    } else {
        Err(ExportError::Option(format!(
            "container {c:?} must be 3..=63 of [a-z0-9-], no leading, trailing or double '-'"
        )))
    }
}

/// `YYYY-MM-DD/HHMM/` → `YYYY-MM-DD/HHMM`, refusing anything else.
pub(crate) fn prefix_of(time_path: &str) -> Result<String, ExportError> {
    let b = time_path.as_bytes();
    let shape_ok = b.len() == 16
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 | 15 => *c == b'/',
            _ => c.is_ascii_digit(),
        });
    if shape_ok {
        Ok(time_path[..15].to_owned())
    } else {
        Err(ExportError::Option(format!(
            "snapshot time path {time_path:?} is not YYYY-MM-DD/HHMM/"
        )))
    }
}

/// The uuid of an export's part names: derived from (org, time path, export), so the
/// same snapshot always gets the same file names, and it looks like Spark's.
fn part_uuid(org: &str, time_path: &str, kind: ExportKind) -> uuid::Uuid {
    let digest = Sha256::digest(
        format!("posture-export\0{org}\0{time_path}\0{}", kind.export_name()).as_bytes(),
    );
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The path (below the container) of part `index` of `kind`.
pub fn part_path(
    prefix: &str,
    kind: ExportKind,
    org: &str,
    group_id: u32,
    index: usize,
    uuid: &uuid::Uuid,
) -> String {
    format!(
        "{prefix}/{}/json/OrgId={org}/_RbacGroupId={group_id}/part-{index:05}-{uuid}.c000.json.gz",
        kind.export_name()
    )
}

struct PlannedFile {
    kind: ExportKind,
    rel: String,
    group_id: u32,
    start_row: u64,
    rows: u64,
    blocks: u32,
}

struct RowTask {
    output: usize,
    seq: u32,
    kind: ExportKind,
    /// First row of the task's output (the dictionary never reaches before it).
    floor: u64,
    start: u64,
    end: u64,
}

/// Renders rows `t.start..t.end` as NDJSON lines.
fn render_rows(snapshot: &Snapshot, t: &RowTask, out: &mut Vec<u8>) -> u64 {
    for row in t.start..t.end {
        snapshot.render(t.kind, row, out);
        out.push(b'\n');
    }
    t.end - t.start
}

/// Renders the lines just before `t.start` (down to `t.floor`) until they cover deflate's
/// window: the block's dictionary, exactly the bytes that precede it in the file.
fn render_dictionary(snapshot: &Snapshot, t: &RowTask, out: &mut Vec<u8>) {
    let mut first = t.start;
    let mut covered = 0;
    let mut line = Vec::new();
    while first > t.floor && covered < DEFLATE_WINDOW {
        first -= 1;
        line.clear();
        snapshot.render(t.kind, first, &mut line);
        covered += line.len() + 1;
    }
    for row in first..t.start {
        snapshot.render(t.kind, row, out);
        out.push(b'\n');
    }
}

impl Task for RowTask {
    fn output(&self) -> usize {
        self.output
    }
    fn seq(&self) -> u32 {
        self.seq
    }
}

/// Average rendered line length of `kind`, from up to 64 rows spread over the export.
fn sample_line_bytes(snapshot: &Snapshot, kind: ExportKind) -> usize {
    let rows = snapshot.rows(kind);
    if rows == 0 {
        return 1;
    }
    let samples = rows.min(64);
    let mut buf = Vec::new();
    for i in 0..samples {
        snapshot.render(kind, i * rows / samples, &mut buf);
        buf.push(b'\n');
    }
    (buf.len() / samples as usize).max(1)
}

/// Plan of one write: outputs (files) and tasks (blocks), in export and part order.
struct Plan {
    outputs: Vec<Output>,
    tasks: Vec<RowTask>,
    /// What each output is.
    files: Vec<PlannedFile>,
    line_bytes: usize,
}

fn plan(
    snapshot: &Snapshot,
    root: &Path,
    prefix: &str,
    opts: &ExportOptions,
    kinds: &[ExportKind],
) -> Plan {
    let mut plan = Plan {
        outputs: Vec::new(),
        tasks: Vec::new(),
        files: Vec::new(),
        line_bytes: 0,
    };
    for &kind in kinds {
        let line = sample_line_bytes(snapshot, kind);
        plan.line_bytes = plan.line_bytes.max(line);
        let rows_per_block = (opts.member_bytes / line).max(1) as u64;
        let uuid = part_uuid(&opts.org_id, snapshot.time_path(), kind);
        for (i, part) in snapshot.export(kind).parts.iter().enumerate() {
            let rel = part_path(prefix, kind, &opts.org_id, part.group_id, i, &uuid);
            let blocks = part.rows.div_ceil(rows_per_block).max(1);
            let output = plan.outputs.len();
            for k in 0..blocks {
                plan.tasks.push(RowTask {
                    output,
                    seq: k as u32,
                    kind,
                    floor: part.start_row,
                    start: part.start_row + k * part.rows / blocks,
                    end: part.start_row + (k + 1) * part.rows / blocks,
                });
            }
            plan.outputs.push(Output {
                path: root.join(&rel),
                blocks: blocks as u32,
            });
            plan.files.push(PlannedFile {
                kind,
                rel,
                group_id: part.group_id,
                start_row: part.start_row,
                rows: part.rows,
                blocks: blocks as u32,
            });
        }
    }
    plan
}

/// Renders every row of `kinds` as NDJSON lines into the files of `plan`, in parallel.
fn run_plan(
    snapshot: &Snapshot,
    plan: &Plan,
    opts: &ExportOptions,
    hash: bool,
) -> Result<Vec<crate::gzip::Written>, ExportError> {
    let mut dirs = BTreeSet::new();
    for o in &plan.outputs {
        if let Some(parent) = o.path.parent() {
            dirs.insert(parent.to_owned());
        }
    }
    for d in &dirs {
        std::fs::create_dir_all(d).map_err(io_err(d))?;
    }
    let pipeline = Pipeline {
        threads: opts.threads(),
        level: opts.level,
        fsync: opts.fsync,
        hash,
        block_capacity: opts.member_bytes + 2 * plan.line_bytes + 4096,
    };
    let written = pipeline.run(
        &plan.tasks,
        &plan.outputs,
        &|t: &RowTask, out| Ok(render_rows(snapshot, t, out)),
        &|t: &RowTask, out| {
            render_dictionary(snapshot, t, out);
            Ok(())
        },
    )?;
    if opts.fsync {
        // Make the new directory entries durable: every directory holding a file, and
        // their parents up to the staging root.
        let mut synced = BTreeSet::new();
        for d in &dirs {
            let mut cur = Some(d.as_path());
            while let Some(p) = cur {
                if !synced.insert(p.to_owned()) {
                    break;
                }
                sync_dir(p)?;
                cur = p.parent();
            }
        }
    }
    Ok(written)
}

pub(crate) fn sync_dir(p: &Path) -> Result<(), ExportError> {
    std::fs::File::open(p)
        .and_then(|f| f.sync_all())
        .map_err(io_err(p))
}

/// Writes the five file exports of `snapshot` under `staging/<container>/<YYYY-MM-DD>/<HHMM>/`
/// (replacing whatever a previous attempt left there) and returns their index.
///
/// Rendering and compression run on `opts.threads` workers (all cores by default) over
/// blocks of about `opts.member_bytes` uncompressed bytes, joined into one gzip member
/// per file; memory stays at a few blocks per worker whatever the export's size.
pub fn write_exports(
    snapshot: &Snapshot,
    staging: &Path,
    opts: &ExportOptions,
) -> Result<ExportIndex, ExportError> {
    write_kinds(snapshot, staging, opts, &FILE_EXPORTS)
}

/// [`write_exports`] for some of the file exports (the benchmark writes VaExport alone).
pub fn write_kinds(
    snapshot: &Snapshot,
    staging: &Path,
    opts: &ExportOptions,
    kinds: &[ExportKind],
) -> Result<ExportIndex, ExportError> {
    if let Some(kind) = kinds.iter().find(|k| !FILE_EXPORTS.contains(k)) {
        return Err(ExportError::NotAFileExport { kind: *kind });
    }
    opts.validate()?;
    let prefix = prefix_of(snapshot.time_path())?;
    let root = staging.join(&opts.container);
    let time_dir = root.join(&prefix);
    if time_dir.exists() {
        std::fs::remove_dir_all(&time_dir).map_err(io_err(&time_dir))?;
    }
    let plan = plan(snapshot, &root, &prefix, opts, kinds);
    let written = match run_plan(snapshot, &plan, opts, true) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&time_dir);
            return Err(e);
        }
    };
    let mut exports: BTreeMap<ExportKind, ExportFiles> = kinds
        .iter()
        .map(|k| {
            (
                *k,
                ExportFiles {
                    name: k.export_name().to_owned(),
                    ..ExportFiles::default()
                },
            )
        })
        .collect();
    for (f, w) in plan.files.into_iter().zip(written) {
        let e = exports.entry(f.kind).or_default();
        e.rows += w.rows;
        e.uncompressed_bytes += w.uncompressed;
        e.compressed_bytes += w.bytes;
        let mut sha = String::with_capacity(64);
        for b in w.sha256.unwrap_or_default() {
            let _ = write!(sha, "{b:02x}");
        }
        e.files.push(ExportFile {
            path: f.rel,
            group_id: f.group_id,
            start_row: f.start_row,
            rows: f.rows,
            bytes: w.bytes,
            uncompressed_bytes: w.uncompressed,
            blocks: f.blocks,
            sha256: sha,
        });
    }
    Ok(ExportIndex {
        format: INDEX_FORMAT,
        container: opts.container.clone(),
        org_id: opts.org_id.clone(),
        prefix,
        time_path: snapshot.time_path().to_owned(),
        level: opts.level,
        exports,
    })
}

/// One block of [`compress_members`]: a byte range of the input.
struct ByteTask {
    seq: u32,
    start: usize,
    end: usize,
}

impl Task for ByteTask {
    fn output(&self) -> usize {
        0
    }
    fn seq(&self) -> u32 {
        self.seq
    }
}

/// Gzips `data` into the file `path` as one gzip member made of blocks of
/// `opts.member_bytes` uncompressed bytes, through the writer's parallel block pipeline
/// (same level, threads, fsync, hashing, and the same priming of each block with the
/// preceding 32 KiB), so compression can be measured apart from rendering (the
/// benchmark's "compression alone").
pub fn compress_members(data: &[u8], path: &Path, opts: &ExportOptions) -> Result<(), ExportError> {
    let block = opts.member_bytes.max(1);
    let blocks = data.len().div_ceil(block);
    let tasks: Vec<ByteTask> = (0..blocks)
        .map(|k| ByteTask {
            seq: k as u32,
            start: k * block,
            end: ((k + 1) * block).min(data.len()),
        })
        .collect();
    let outputs = [Output {
        path: path.to_owned(),
        blocks: blocks as u32,
    }];
    let pipeline = Pipeline {
        threads: opts.threads(),
        level: opts.level,
        fsync: opts.fsync,
        hash: true,
        block_capacity: opts.member_bytes,
    };
    pipeline.run(
        &tasks,
        &outputs,
        &|t: &ByteTask, out| {
            out.extend_from_slice(&data[t.start..t.end]);
            Ok(0)
        },
        &|t: &ByteTask, out| {
            out.extend_from_slice(&data[t.start.saturating_sub(DEFLATE_WINDOW)..t.start]);
            Ok(())
        },
    )?;
    Ok(())
}

/// Writes the exports into a fresh staging directory under `staging_root`, publishes them
/// to `backend`, and removes the staging directory. Returns the index to store in the
/// snapshot directory ([`ExportIndex::write`]) before the snapshot's commit point.
///
/// Blocking (call it from the publish thread, not from async code); `rt` runs the
/// backend's upload.
pub fn publish_exports(
    snapshot: &Snapshot,
    staging_root: &Path,
    opts: &ExportOptions,
    backend: &dyn BlobBackend,
    rt: &tokio::runtime::Handle,
) -> Result<ExportIndex, ExportError> {
    let staging = staging_root.join(format!(".staging-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&staging).map_err(io_err(&staging))?;
    let result = write_exports(snapshot, &staging, opts).and_then(|index| {
        rt.block_on(backend.publish(&staging, &index))
            .map(|()| index)
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_members_writes_the_input_as_one_gzip_member() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let opts = ExportOptions {
            member_bytes: 7_000,
            threads: 3,
            fsync: false,
            ..ExportOptions::default()
        };
        let path = dir.path().join("out.gz");
        compress_members(&data, &path, &opts).unwrap();
        let compressed = std::fs::read(&path).unwrap();
        // One member, in 58 blocks: a single-member decoder reads all of it and nothing
        // is left after its trailer.
        let mut decoder = flate2::read::GzDecoder::new(&compressed[..]);
        let mut back = Vec::new();
        decoder.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        let mut rest = Vec::new();
        decoder.into_inner().read_to_end(&mut rest).unwrap();
        assert!(
            rest.is_empty(),
            "{} bytes after the first member",
            rest.len()
        );

        compress_members(&[], &dir.path().join("empty.gz"), &opts).unwrap();
        assert_eq!(std::fs::read(dir.path().join("empty.gz")).unwrap(), b"");
    }

    #[test]
    fn time_path_and_names() {
        assert_eq!(prefix_of("2026-11-20/1300/").unwrap(), "2026-11-20/1300");
        for bad in ["2026-11-20/1300", "2026-11-20/13:0/", "../../etc/1300/", ""] {
            assert!(prefix_of(bad).is_err(), "{bad}");
        }
        let u = part_uuid("org", "2026-11-20/1300/", ExportKind::Vulnerabilities);
        assert_eq!(
            u,
            part_uuid("org", "2026-11-20/1300/", ExportKind::Vulnerabilities)
        );
        assert_ne!(
            u,
            part_uuid("org", "2026-11-20/1300/", ExportKind::InfoGathering)
        );
        assert_eq!(
            part_path(
                "2026-11-20/1300",
                ExportKind::Vulnerabilities,
                "o",
                3,
                7,
                &u
            ),
            format!(
                "2026-11-20/1300/VaExport/json/OrgId=o/_RbacGroupId=3/part-00007-{u}.c000.json.gz"
            )
        );
        assert!(validate_container("tvm-export").is_ok());
        for bad in ["TVM", "a", "a--b", "-ab", "ab-", "a/b", "a.b"] {
            assert!(validate_container(bad).is_err(), "{bad}");
        }
    }
}
