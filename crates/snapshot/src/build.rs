//! Building a snapshot: one streaming pass over the state store.
//!
//! Devices arrive ordered by (group, device id). Each batch is handled in three steps:
//! 1. intern every installed software version (with the device's OS kind, because
//!    feed configurations can be platform-qualified) and collect the new ones;
//! 2. assess the new software versions in parallel — the only matching work, so the
//!    cost grows with the distinct catalogue, not the fleet;
//! 3. append each device's rows and fragments in order.
//!
//! The JSON fragments of each record kind are written through [`crate::render`] (which
//! the reader also uses to assemble rows); the slot and row layout is
//! [`crate::layout`]; first-seen carry-over from the previous snapshot is
//! [`crate::first_seen`].

use crate::first_seen::PreviousRows;
use crate::format::{FormatError, FragWriter, RowWriter};
use crate::layout::{
    FindingMeta, VulnRow, encode_configuration_row, encode_noncpe_row, slot, unix_secs,
};
use crate::reader::Snapshot;
use crate::render::{self, RenderError, av::AvPending};
use crate::summary::{SUMMARY_FILE, SummaryBuilder};

use crate::manifest::{ExportManifest, FORMAT_VERSION, GroupEntry, Manifest, PartPlanner};
use crate::{ExportKind, Progress};
use assess::av::AvReference;
use assess::{Finding, KnowledgeBase};
use chrono::{DateTime, Utc};
use model::{GroupRef, InstalledSoftware, OsInfo, OsKind};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use store::{DeviceView, SoftwareView, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("JSON rendering failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("snapshot exceeds format limits: {0}")]
    TooLarge(&'static str),
}

#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Target uncompressed size of one part file.
    pub part_target_bytes: u64,
    /// Devices decoded and processed per batch.
    pub batch: usize,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            part_target_bytes: 256 << 20,
            batch: 2048,
        }
    }
}

/// Disk paths, registry paths, and the fragment id they were interned as.
type LastPaths = (Vec<String>, Vec<String>, u32);

struct Builder<'a> {
    dir: &'a Path,
    /// Group id of each device (`devices.rows`), for diffs and scoping.
    device_groups: RowWriter,
    /// `vendor\0name\0version` of each software entry, for diffs across snapshots.
    software_keys: FragWriter,
    /// The values of each finding that a delta compares (see [`FindingMeta`]).
    finding_meta: FragWriter,
    previous: Option<PreviousRows<'a>>,
    kb: &'a KnowledgeBase,
    generated_at: DateTime<Utc>,
    devices: u32,
    device_frags: FragWriter,
    software_frags: FragWriter,
    software_index: HashMap<Box<str>, u32>,
    /// Finding ids of each software entry (empty for non-CPE software).
    software_findings: Vec<Vec<u32>>,
    software_is_cpe: Vec<bool>,
    finding_frags: FragWriter,
    finding_software: RowWriter,
    finding_published: Vec<u32>,
    /// (vendor, name, CVE) of each finding, to carry first-seen times across versions.
    finding_cve: Vec<Option<Box<str>>>,
    evidence: std::io::BufWriter<std::fs::File>,
    paths_frags: FragWriter,
    paths_index: HashMap<Vec<u8>, u32>,
    /// The install paths last seen for each software entry and their fragment id: most
    /// installs of a version share paths, so this skips rendering them again.
    last_paths: Vec<Option<LastPaths>>,
    rows: BTreeMap<ExportKind, RowWriter>,
    planners: BTreeMap<ExportKind, PartPlanner>,
    groups: BTreeMap<u32, String>,
    av_pending: Vec<AvPending>,
    av_reference: AvReference,
    key: String,
    /// Time spent matching software and evaluating configuration rules.
    assess_time: std::time::Duration,
    /// The per-group summary tables (`summary.json`).
    summary: SummaryBuilder,
}

fn software_key(buf: &mut String, sw: &SoftwareView<'_>, kind: OsKind) {
    buf.clear();
    for part in [
        sw.vendor,
        sw.name,
        sw.version,
        sw.cpe.unwrap_or(""),
        kind.as_str(),
    ] {
        buf.push_str(part);
        buf.push('\u{0}');
    }
}

impl<'a> Builder<'a> {
    fn new(
        dir: &'a Path,
        kb: &'a KnowledgeBase,
        generated_at: DateTime<Utc>,
        opts: &BuildOptions,
        previous: Option<&'a Snapshot>,
    ) -> Result<Self, BuildError> {
        let mut rows = BTreeMap::new();
        let mut planners = BTreeMap::new();
        for kind in ExportKind::ALL {
            if kind.row_size() > 0 {
                rows.insert(
                    kind,
                    RowWriter::create(&dir.join(format!("{}.rows", kind.file_stem())))?,
                );
            }
            planners.insert(
                kind,
                PartPlanner::new(opts.part_target_bytes / kind.approx_record_bytes()),
            );
        }
        let evidence_path = dir.join("evidence.ndjson");
        let evidence = std::fs::File::create(&evidence_path).map_err(|source| BuildError::Io {
            path: evidence_path.display().to_string(),
            source,
        })?;
        let mut b = Builder {
            dir,
            kb,
            generated_at,
            devices: 0,
            device_frags: FragWriter::create(dir, "devices")?,
            device_groups: RowWriter::create(&dir.join("devices.rows"))?,
            software_keys: FragWriter::create(dir, "software_keys")?,
            finding_meta: FragWriter::create(dir, "finding_meta")?,
            previous: previous.map(PreviousRows::new),
            software_frags: FragWriter::create(dir, "software")?,
            software_index: HashMap::default(),
            software_findings: Vec::new(),
            software_is_cpe: Vec::new(),
            finding_frags: FragWriter::create(dir, "findings")?,
            finding_software: RowWriter::create(&dir.join("findings.rows"))?,
            finding_published: Vec::new(),
            finding_cve: Vec::new(),
            evidence: std::io::BufWriter::new(evidence),
            paths_frags: FragWriter::create(dir, "paths")?,
            paths_index: HashMap::default(),
            last_paths: Vec::new(),
            rows,
            planners,
            groups: BTreeMap::new(),
            av_pending: Vec::new(),
            av_reference: AvReference::default(),
            key: String::new(),
            assess_time: std::time::Duration::ZERO,
            summary: SummaryBuilder::default(),
        };
        b.write_configurations()?;
        Ok(b)
    }

    fn write_configurations(&mut self) -> Result<(), BuildError> {
        let mut frags = FragWriter::create(self.dir, "configurations")?;
        render::configuration::write_fragments(&mut frags, &self.kb.catalog.configurations)?;
        frags.finish()?;
        Ok(())
    }

    fn intern_paths(&mut self, sw_id: u32, sw: &SoftwareView<'_>) -> Result<u32, BuildError> {
        let same = |held: &[String], seen: &[&str]| {
            held.iter().map(String::as_str).eq(seen.iter().copied())
        };
        if let Some(Some((disk, registry, id))) = self.last_paths.get(sw_id as usize)
            && same(disk, &sw.disk_paths)
            && same(registry, &sw.registry_paths)
        {
            return Ok(*id);
        }
        let id = self.render_paths(sw)?;
        let slot = sw_id as usize;
        if self.last_paths.len() <= slot {
            self.last_paths.resize(slot + 1, None);
        }
        let owned = |paths: &[&str]| paths.iter().map(|p| (*p).to_owned()).collect();
        self.last_paths[slot] = Some((owned(&sw.disk_paths), owned(&sw.registry_paths), id));
        Ok(id)
    }

    fn render_paths(&mut self, sw: &SoftwareView<'_>) -> Result<u32, BuildError> {
        let out = render::vulnerability::paths_fragment(&sw.disk_paths, &sw.registry_paths)?;
        if let Some(id) = self.paths_index.get(&out) {
            return Ok(*id);
        }
        let id = u32::try_from(self.paths_frags.len())
            .map_err(|_| BuildError::TooLarge("install paths"))?;
        self.paths_frags.push(&out)?;
        self.paths_index.insert(out, id);
        Ok(id)
    }

    fn process_batch(&mut self, mut batch: Vec<DeviceView<'_>>) -> Result<(), BuildError> {
        // Step 1: intern software versions, collecting the ones never seen before (as
        // owned entries: they outlive the batch in the assessment's findings).
        let mut pending: Vec<(u32, InstalledSoftware, &OsInfo)> = Vec::new();
        let mut device_software: Vec<Vec<(usize, u32)>> = Vec::with_capacity(batch.len());
        for r in &batch {
            let mut order: Vec<usize> = (0..r.software.len()).collect();
            // Installs differing only in CPE update/edition are distinct software (and
            // get distinct record ids: see `render::software::cpe_qualifier`).
            let qualifiers: Vec<Option<String>> = r
                .software
                .iter()
                .map(|sw| render::software::cpe_qualifier(sw.cpe))
                .collect();
            let identity = |i: usize| {
                let sw = &r.software[i];
                (sw.vendor, sw.name, sw.version, &qualifiers[i])
            };
            order.sort_by(|&a, &b| identity(a).cmp(&identity(b)));
            order.dedup_by(|a, b| identity(*a) == identity(*b));
            let mut ids = Vec::with_capacity(order.len());
            for i in order {
                let sw = &r.software[i];
                software_key(&mut self.key, sw, r.os.kind);
                let id = match self.software_index.get(self.key.as_str()) {
                    Some(id) => *id,
                    None => {
                        let id = u32::try_from(self.software_findings.len())
                            .map_err(|_| BuildError::TooLarge("distinct software"))?;
                        self.software_index.insert(self.key.as_str().into(), id);
                        self.software_findings.push(Vec::new());
                        self.software_is_cpe.push(sw.cpe.is_some());
                        pending.push((id, sw.to_installed(), &r.os));
                        id
                    }
                };
                ids.push((i, id));
            }
            device_software.push(ids);
        }
        // Step 2: assess new software versions in parallel.
        let kb = self.kb;
        let assess_started = std::time::Instant::now();
        let assessed: Vec<(u32, &InstalledSoftware, Vec<Finding>)> = pending
            .par_iter()
            .map(|(id, sw, os)| {
                let findings =
                    if sw.cpe.is_some() || sw.ecosystem.is_some() || sw.end_of_support.is_some() {
                        kb.assess_software(sw, os)
                    } else {
                        Vec::new()
                    };
                (*id, sw, findings)
            })
            .collect();
        self.assess_time += assess_started.elapsed();
        for (id, sw, findings) in assessed {
            self.register_software(id, sw, findings)?;
        }
        drop(pending);
        // Step 3: rows and fragments, in device order.
        for (view, software) in batch.iter_mut().zip(device_software) {
            self.write_device(view, &software)?;
        }
        store::state_codec::drop_all(batch);
        Ok(())
    }

    fn register_software(
        &mut self,
        id: u32,
        sw: &InstalledSoftware,
        findings: Vec<Finding>,
    ) -> Result<(), BuildError> {
        debug_assert_eq!(
            id as u64,
            self.software_frags.len() / slot::SOFTWARE_SLOTS as u64
        );
        self.summary.software(sw, &findings);
        let mut ids = Vec::with_capacity(findings.len());
        let mut out = Vec::with_capacity(256);
        for f in &findings {
            let fid = u32::try_from(self.finding_published.len())
                .map_err(|_| BuildError::TooLarge("findings"))?;
            ids.push(fid);
            self.finding_published
                .push(f.published.as_ref().map_or(0, unix_secs));
            self.finding_cve.push(f.cve_id.as_deref().map(Into::into));
            self.finding_software.push(&id.to_le_bytes())?;
            let meta = FindingMeta {
                cve_id: f.cve_id.clone(),
                severity: f.severity.clone(),
                cvss_score: f.cvss_score,
                exploitability: f.exploitability.clone(),
                recommended_update: f.recommended_update.clone(),
            };
            self.finding_meta.push(&serde_json::to_vec(&meta)?)?;
            render::vulnerability::write_finding_fragments(
                &mut self.finding_frags,
                sw,
                f,
                &mut out,
            )?;
            serde_json::to_writer(
                &mut self.evidence,
                &serde_json::json!({"finding": fid, "software": [sw.vendor, sw.name, sw.version], "cveId": f.cve_id, "evidence": f.evidence}),
            )?;
            self.evidence
                .write_all(b"\n")
                .map_err(|source| BuildError::Io {
                    path: "evidence.ndjson".into(),
                    source,
                })?;
        }
        // Software fragments.
        let qualifier = render::software::cpe_qualifier(sw.cpe.as_deref());
        let mut key = format!("{}\0{}\0{}", sw.vendor, sw.name, sw.version);
        if let Some(q) = &qualifier {
            key.push('\0');
            key.push_str(q);
        }
        self.software_keys.push(key.as_bytes())?;
        let weaknesses = findings.iter().filter(|f| f.cve_id.is_some()).count();
        render::software::write_fragments(
            &mut self.software_frags,
            sw,
            qualifier.as_deref(),
            weaknesses,
        )?;
        if let Some(slot) = self.software_findings.get_mut(id as usize) {
            *slot = ids;
        }
        Ok(())
    }

    fn add_row(&mut self, kind: ExportKind, group: u32, row: &[u8]) -> Result<(), BuildError> {
        if let Some(w) = self.rows.get_mut(&kind) {
            w.push(row)?;
        }
        if let Some(p) = self.planners.get_mut(&kind) {
            p.add_row(group);
        }
        Ok(())
    }

    /// Takes the antivirus state and facts out of `r` (a publish keeps them to the end).
    fn write_device(
        &mut self,
        r: &mut DeviceView<'_>,
        software: &[(usize, u32)],
    ) -> Result<(), BuildError> {
        let d = self.devices;
        self.devices = d.checked_add(1).ok_or(BuildError::TooLarge("devices"))?;
        let group = r.group.clone().unwrap_or_else(GroupRef::unassigned);
        self.groups
            .entry(group.id)
            .or_insert_with(|| group.name.clone());
        let g = group.id;
        // First-seen times this device's CVEs had in the previous snapshot, by (vendor, name, CVE):
        // a version upgrade that stays vulnerable keeps the original first-seen time.
        let carried = self.previous.as_ref().map(|p| p.first_seen_of(r.device_id));
        for &(i, sw_id) in software {
            let sw = &r.software[i];
            let first_seen = r
                .software_first_seen
                .get(i)
                .copied()
                .unwrap_or(r.reported_at);
            let paths = self.intern_paths(sw_id, sw)?;
            self.summary.install(&group, sw_id);
            let is_cpe = self
                .software_is_cpe
                .get(sw_id as usize)
                .copied()
                .unwrap_or(false);
            if is_cpe {
                let row = VulnRow {
                    device: d,
                    finding: sw_id,
                    paths,
                    first_seen: unix_secs(&first_seen),
                };
                self.add_row(ExportKind::SoftwareInventory, g, &row.encode())?;
            } else {
                self.add_row(ExportKind::NonCpeSoftware, g, &encode_noncpe_row(d, sw_id))?;
            }
            // By index rather than a clone of the list: this runs once per install (millions).
            let count = self
                .software_findings
                .get(sw_id as usize)
                .map_or(0, Vec::len);
            for k in 0..count {
                let Some(f) = self
                    .software_findings
                    .get(sw_id as usize)
                    .and_then(|v| v.get(k))
                    .copied()
                else {
                    break;
                };
                // A CVE is first seen on the device when both the software and the record existed.
                let published = self.finding_published.get(f as usize).copied().unwrap_or(0);
                let mut seen = unix_secs(&first_seen).max(published);
                if let Some(c) = &carried {
                    let cve = self.finding_cve.get(f as usize).and_then(|c| c.as_deref());
                    match c.seen.get(&(sw.vendor, sw.name, cve)) {
                        Some(earlier) => seen = *earlier,
                        // Newly found on a device the previous snapshot knew: found at this publish at the earliest.
                        None if c.known_device => seen = seen.max(c.previous_publish),
                        None => {}
                    }
                }
                let seen = seen.min(unix_secs(&self.generated_at));
                self.summary.vulnerability(sw_id, f);
                let row = VulnRow {
                    device: d,
                    finding: f,
                    paths,
                    first_seen: seen,
                };
                self.add_row(ExportKind::Vulnerabilities, g, &row.encode())?;
            }
        }
        let kb = self.kb;
        let rules_started = std::time::Instant::now();
        for (ci, conf) in kb.catalog.for_os(r.os.kind) {
            let outcome = conf.evaluate(r.settings.as_slice());
            let variant = (outcome.applicable as u16) | ((outcome.compliant as u16) << 1);
            self.summary
                .configuration(&group, ci as u32, outcome.applicable, outcome.compliant);
            let sca = encode_configuration_row(d, ci as u16, variant);
            self.add_row(ExportKind::SecureConfiguration, g, &sca)?;
        }
        self.assess_time += rules_started.elapsed();
        self.summary.end_device(&group);
        for kind in [ExportKind::DeviceAv, ExportKind::InfoGathering] {
            self.add_row(kind, g, &[])?;
        }
        self.device_groups.push(&group.id.to_le_bytes())?;
        render::device::write_fragments(&mut self.device_frags, r, &group)?;
        if let Some(av) = &r.av {
            self.av_reference
                .observe(r.os.kind, assess::av::product_of(&r.facts), av);
        }
        self.av_pending.push(AvPending {
            device_id: r.device_id.to_owned(),
            name: r.device_name.map(str::to_owned),
            os: r.os.clone(),
            group,
            reported_at: r.reported_at,
            received_at: r.received_at,
            av: r.av.take(),
            facts: std::mem::take(&mut r.facts),
        });
        Ok(())
    }

    fn finish(
        mut self,
        seq: u64,
        time_path: String,
        progress: &dyn Progress,
    ) -> Result<(Manifest, BuildStats), BuildError> {
        progress.stage("antivirus health");
        let mut av_frags = FragWriter::create(self.dir, "deviceav")?;
        let mut info_frags = FragWriter::create(self.dir, "infogathering")?;
        for p in std::mem::take(&mut self.av_pending) {
            let (av_record, info_record) = render::av::render(&self.av_reference, &p)?;
            let health = self.av_reference.health(
                p.os.kind,
                assess::av::product_of(&p.facts),
                p.av.as_ref(),
            );
            self.summary.av(&p.group, &health);
            av_frags.push(&av_record)?;
            info_frags.push(&info_record)?;
        }
        av_frags.finish()?;
        info_frags.finish()?;
        let summary = std::mem::take(&mut self.summary).finish(&self.kb.catalog);
        let summary_path = self.dir.join(SUMMARY_FILE);
        let text = serde_json::to_vec(&summary)?;
        std::fs::write(&summary_path, text).map_err(|source| BuildError::Io {
            path: summary_path.display().to_string(),
            source,
        })?;
        std::fs::File::open(&summary_path)
            .and_then(|f| f.sync_all())
            .map_err(|source| BuildError::Io {
                path: summary_path.display().to_string(),
                source,
            })?;
        let distinct_software = self.software_findings.len() as u64;
        let findings = self.finding_published.len() as u64;
        self.device_frags.finish()?;
        self.device_groups.finish()?;
        self.software_keys.finish()?;
        self.finding_meta.finish()?;
        self.software_frags.finish()?;
        self.finding_frags.finish()?;
        self.finding_software.finish()?;
        self.paths_frags.finish()?;
        let file = self.evidence.into_inner().map_err(|e| BuildError::Io {
            path: "evidence.ndjson".into(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| BuildError::Io {
            path: "evidence.ndjson".into(),
            source,
        })?;
        for (_, w) in std::mem::take(&mut self.rows) {
            w.finish()?;
        }
        let vulnerability_rows = self
            .dir
            .join(format!("{}.rows", ExportKind::Vulnerabilities.file_stem()));
        crate::by_finding::write(self.dir, &vulnerability_rows)?;
        let exports: BTreeMap<ExportKind, ExportManifest> = std::mem::take(&mut self.planners)
            .into_iter()
            .map(|(k, p)| (k, p.finish()))
            .collect();
        let stats = BuildStats {
            assess_seconds: self.assess_time.as_secs_f64(),
        };
        let manifest = Manifest {
            format: FORMAT_VERSION,
            seq,
            time_path,
            generated_at: self.generated_at,
            kb_version: self.kb.version,
            catalog_version: self.kb.catalog.version.clone(),
            devices: self.devices as u64,
            distinct_software,
            findings,
            groups: self
                .groups
                .into_iter()
                .map(|(id, name)| GroupEntry { id, name })
                .collect(),
            exports,
        };
        Ok((manifest, stats))
    }
}

/// Measurements of one build.
#[derive(Clone, Copy, Debug, Default)]
pub struct BuildStats {
    /// Seconds spent matching software versions and evaluating configuration rules.
    pub assess_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishBuildError {
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Store(#[from] store::ScanError),
}

/// What a build reads: device state, the knowledge base, and the previous snapshot
/// (for first-seen times), plus the new snapshot's identity.
pub struct BuildRequest<'a> {
    pub state: &'a dyn StateStore,
    pub kb: &'a KnowledgeBase,
    pub seq: u64,
    pub generated_at: DateTime<Utc>,
    pub previous: Option<&'a Snapshot>,
}

/// Builds a complete snapshot into `dir` (which must exist and be empty).
pub fn build_snapshot(
    dir: &Path,
    request: &BuildRequest<'_>,
    opts: &BuildOptions,
    progress: &dyn Progress,
) -> Result<(Manifest, BuildStats), PublishBuildError> {
    let BuildRequest {
        state,
        kb,
        seq,
        generated_at,
        previous,
    } = *request;
    let mut builder = Builder::new(dir, kb, generated_at, opts, previous)?;
    progress.stage("assessing devices");
    let mut done = 0u64;
    state.scan_views(opts.batch, &mut |batch| {
        done += batch.len() as u64;
        builder
            .process_batch(batch)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
        progress.devices(done);
        Ok(())
    })?;
    Ok(builder.finish(seq, model::timefmt::time_path(&generated_at), progress)?)
}
