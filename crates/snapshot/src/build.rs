//! Building a snapshot: one streaming pass over the state store.
//!
//! Devices arrive ordered by (group, device id). Each batch is handled in three steps:
//! 1. intern every installed software version (with the device's OS kind, because
//!    feed configurations can be platform-qualified) and collect the new ones;
//! 2. assess the new software versions in parallel — the only matching work, so the
//!    cost grows with the distinct catalogue, not the fleet;
//! 3. append each device's rows and fragments in order.
//!
//! Rendering pieces (device, software, finding, configuration and install-path
//! fragments) are written once here; reading a row later is concatenation.

use crate::format::{FormatError, FragWriter, RowWriter};
use crate::reader::{FindingMeta, Snapshot};

use crate::manifest::{ExportManifest, FORMAT_VERSION, GroupEntry, Manifest, PartPlanner};
use crate::{ExportKind, Progress};
use assess::av::AvReference;
use assess::{Finding, KnowledgeBase};
use chrono::{DateTime, Utc};
use model::timefmt;
use model::wire::DeviceAvInfo;
use model::{AvState, GroupRef, InstalledSoftware, OsInfo, OsKind};
use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use store::{DeviceState, StateStore};

/// Per-device fragment slots in `devices.frag` (device `d` uses `d * DEVICE_SLOTS + slot`).
pub(crate) mod slot {
    pub const ID: usize = 0;
    pub const VULN_HEAD: usize = 1;
    pub const SCA_HEAD: usize = 2;
    pub const INVENTORY_HEAD: usize = 3;
    pub const NONCPE_HEAD: usize = 4;
    pub const TAIL: usize = 5;
    pub const LAST_SEEN: usize = 6;
    pub const NONCPE_TAIL: usize = 7;
    pub const DEVICE_SLOTS: usize = 8;

    pub const SW_ID_PART: usize = 0;
    pub const SW_FIELDS: usize = 1;
    pub const SW_INVENTORY_FIELDS: usize = 2;
    pub const SW_INVENTORY_TAIL: usize = 3;
    pub const SOFTWARE_SLOTS: usize = 4;

    pub const FINDING_CVE: usize = 0;
    pub const FINDING_MID: usize = 1;
    pub const FINDING_TAIL: usize = 2;
    pub const FINDING_SLOTS: usize = 3;

    /// Configuration fragments: 4 variants (applicable × compliant) per configuration.
    pub const CONFIG_VARIANTS: usize = 4;
}

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

fn js(out: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
fn js_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => js(out, s),
        None => out.extend_from_slice(b"null"),
    }
}
/// JSON-escaped content of `s`, without the quotes (for pieces of a larger string).
fn js_inner(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 2);
    js(&mut v, s);
    v.pop();
    v.remove(0);
    v
}
fn field(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

pub(crate) fn secs(t: &DateTime<Utc>) -> u32 {
    t.timestamp().clamp(0, u32::MAX as i64) as u32
}

struct AvPending {
    device_id: String,
    name: Option<String>,
    os: OsInfo,
    group: GroupRef,
    reported_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
    av: Option<AvState>,
    facts: BTreeMap<String, serde_json::Value>,
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
}

/// The CPE `update`, `edition` and `sw_edition` of `sw` as `update:edition:sw_edition`
/// (`*` for ANY, `-` for NA) when any of them is a concrete value: what tells apart two
/// installs of one name and version (log4j `2.0` and `2.0` update `beta9`, Firefox and
/// Firefox with sw_edition `esr`). `None` for most software.
fn cpe_qualifier(sw: &InstalledSoftware) -> Option<String> {
    let cpe = kb::Cpe::parse(sw.cpe.as_deref()?).ok()?;
    let parts = [&cpe.update, &cpe.edition, &cpe.sw_edition];
    if !parts.iter().any(|c| c.value().is_some()) {
        return None;
    }
    let text: Vec<&str> = parts
        .iter()
        .map(|c| match c {
            kb::Component::Any => "*",
            kb::Component::NotApplicable => "-",
            kb::Component::Value(v) => v.as_str(),
        })
        .collect();
    Some(text.join(":"))
}

/// The version segment of a vulnerability record id: MDE's `softwareVersion`, followed by
/// `:update:edition:sw_edition` when the CPE qualifies the version (see `cpe_qualifier`),
/// so `{deviceId}_{softwareName}_{version}_{cveId}_` is unique per install.
fn id_version(sw: &InstalledSoftware, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("{}:{q}", sw.version),
        None => sw.version.clone(),
    }
}

fn software_key(buf: &mut String, sw: &InstalledSoftware, kind: OsKind) {
    buf.clear();
    for part in [
        sw.vendor.as_str(),
        &sw.name,
        &sw.version,
        sw.cpe.as_deref().unwrap_or(""),
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
        };
        b.write_configurations()?;
        Ok(b)
    }

    fn write_configurations(&mut self) -> Result<(), BuildError> {
        let mut frags = FragWriter::create(self.dir, "configurations")?;
        let mut out = Vec::new();
        for c in &self.kb.catalog.configurations {
            for variant in 0..slot::CONFIG_VARIANTS {
                let (applicable, compliant) = (variant & 1 != 0, variant & 2 != 0);
                out.clear();
                field(&mut out, "configurationId");
                js(&mut out, &c.id);
                out.push(b',');
                field(&mut out, "configurationCategory");
                js(&mut out, &c.category);
                out.push(b',');
                field(&mut out, "configurationSubcategory");
                js(&mut out, &c.subcategory);
                write!(
                    out,
                    ",\"configurationImpact\":{},\"isCompliant\":{compliant},\"isApplicable\":{applicable},\"isExpectedUserImpact\":{},",
                    c.impact, c.expected_user_impact
                )
                .map_err(|source| BuildError::Io { path: "configurations".into(), source })?;
                field(&mut out, "configurationName");
                js(&mut out, &c.name);
                out.push(b',');
                field(&mut out, "recommendationReference");
                js(&mut out, &format!("sca-_-{}", c.id));
                out.push(b',');
                frags.push(&out)?;
            }
        }
        frags.finish()?;
        Ok(())
    }

    fn intern_paths(&mut self, sw_id: u32, sw: &InstalledSoftware) -> Result<u32, BuildError> {
        if let Some(Some((disk, registry, id))) = self.last_paths.get(sw_id as usize)
            && *disk == sw.disk_paths
            && *registry == sw.registry_paths
        {
            return Ok(*id);
        }
        let id = self.render_paths(sw)?;
        let slot = sw_id as usize;
        if self.last_paths.len() <= slot {
            self.last_paths.resize(slot + 1, None);
        }
        self.last_paths[slot] = Some((sw.disk_paths.clone(), sw.registry_paths.clone(), id));
        Ok(id)
    }

    fn render_paths(&mut self, sw: &InstalledSoftware) -> Result<u32, BuildError> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(b"\"diskPaths\":");
        serde_json::to_writer(&mut out, &sw.disk_paths)?;
        out.extend_from_slice(b",\"registryPaths\":");
        serde_json::to_writer(&mut out, &sw.registry_paths)?;
        out.push(b',');
        if let Some(id) = self.paths_index.get(&out) {
            return Ok(*id);
        }
        let id = u32::try_from(self.paths_frags.len())
            .map_err(|_| BuildError::TooLarge("install paths"))?;
        self.paths_frags.push(&out)?;
        self.paths_index.insert(out, id);
        Ok(id)
    }

    fn process_batch(&mut self, batch: Vec<DeviceState>) -> Result<(), BuildError> {
        // Step 1: intern software versions, collecting the ones never seen before.
        let mut pending: Vec<(u32, &InstalledSoftware, &OsInfo)> = Vec::new();
        let mut device_software: Vec<Vec<(usize, u32)>> = Vec::with_capacity(batch.len());
        for state in &batch {
            let r = &state.report;
            let mut order: Vec<usize> = (0..r.software.len()).collect();
            // Installs differing only in CPE update/edition are distinct software (and
            // get distinct record ids: see `cpe_qualifier`).
            let qualifiers: Vec<Option<String>> = r.software.iter().map(cpe_qualifier).collect();
            let identity = |i: usize| {
                let sw = &r.software[i];
                (&sw.vendor, &sw.name, &sw.version, &qualifiers[i])
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
                        pending.push((id, sw, &r.os));
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
                (*id, *sw, findings)
            })
            .collect();
        self.assess_time += assess_started.elapsed();
        for (id, sw, findings) in assessed {
            self.register_software(id, sw, findings)?;
        }
        // Step 3: rows and fragments, in device order.
        for (state, software) in batch.iter().zip(device_software) {
            self.write_device(state, &software)?;
        }
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
        let mut ids = Vec::with_capacity(findings.len());
        let mut out = Vec::with_capacity(256);
        for f in &findings {
            let fid = u32::try_from(self.finding_published.len())
                .map_err(|_| BuildError::TooLarge("findings"))?;
            ids.push(fid);
            self.finding_published
                .push(f.published.as_ref().map_or(0, secs));
            self.finding_cve.push(f.cve_id.as_deref().map(Into::into));
            self.finding_software.push(&id.to_le_bytes())?;
            self.finding_frags
                .push(&f.cve_id.as_deref().map(js_inner).unwrap_or_default())?;
            let meta = FindingMeta {
                cve_id: f.cve_id.clone(),
                severity: f.severity.clone(),
                cvss_score: f.cvss_score,
                exploitability: f.exploitability.clone(),
                recommended_update: f.recommended_update.clone(),
            };
            self.finding_meta.push(&serde_json::to_vec(&meta)?)?;
            out.clear();
            field(&mut out, "cveId");
            js_opt(&mut out, f.cve_id.as_deref());
            out.push(b',');
            field(&mut out, "vulnerabilitySeverityLevel");
            js_opt(&mut out, f.severity.as_deref());
            out.push(b',');
            field(&mut out, "recommendedSecurityUpdate");
            js_opt(&mut out, f.recommended_update.as_deref());
            out.push(b',');
            field(&mut out, "recommendedSecurityUpdateId");
            js_opt(&mut out, None);
            out.push(b',');
            field(&mut out, "recommendedSecurityUpdateUrl");
            js_opt(&mut out, None);
            out.push(b',');
            self.finding_frags.push(&out)?;
            out.clear();
            field(&mut out, "exploitabilityLevel");
            js(&mut out, &f.exploitability);
            out.push(b',');
            field(&mut out, "recommendationReference");
            js(&mut out, &format!("va-_-{}-_-{}", sw.vendor, sw.name));
            write!(
                out,
                ",\"securityUpdateAvailable\":{},\"cvssScore\":",
                f.fixed_version.is_some()
            )
            .map_err(|source| BuildError::Io {
                path: "findings".into(),
                source,
            })?;
            serde_json::to_writer(&mut out, &f.cvss_score)?;
            out.push(b',');
            self.finding_frags.push(&out)?;
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
        let qualifier = cpe_qualifier(sw);
        let mut id_part = js_inner(&sw.name);
        id_part.push(b'_');
        id_part.extend_from_slice(&js_inner(&id_version(sw, qualifier.as_deref())));
        id_part.push(b'_');
        self.software_frags.push(&id_part)?;
        let mut key = format!("{}\0{}\0{}", sw.vendor, sw.name, sw.version);
        if let Some(q) = &qualifier {
            key.push('\0');
            key.push_str(q);
        }
        self.software_keys.push(key.as_bytes())?;
        let mut fields = Vec::with_capacity(128);
        field(&mut fields, "softwareVendor");
        js(&mut fields, &sw.vendor);
        fields.push(b',');
        field(&mut fields, "softwareName");
        js(&mut fields, &sw.name);
        fields.push(b',');
        field(&mut fields, "softwareVersion");
        js(&mut fields, &sw.version);
        fields.push(b',');
        self.software_frags.push(&fields)?;
        let weaknesses = findings.iter().filter(|f| f.cve_id.is_some()).count();
        write!(fields, "\"numberOfWeaknesses\":{weaknesses},").map_err(|source| {
            BuildError::Io {
                path: "software".into(),
                source,
            }
        })?;
        self.software_frags.push(&fields)?;
        out.clear();
        field(&mut out, "endOfSupportStatus");
        js(
            &mut out,
            sw.end_of_support
                .as_ref()
                .map_or("None", |e| e.status.as_str()),
        );
        out.push(b',');
        field(&mut out, "endOfSupportDate");
        js_opt(
            &mut out,
            sw.end_of_support
                .as_ref()
                .and_then(|e| e.date)
                .map(|d| timefmt::offset_date(&d))
                .as_deref(),
        );
        out.push(b',');
        self.software_frags.push(&out)?;
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

    fn write_device(
        &mut self,
        state: &DeviceState,
        software: &[(usize, u32)],
    ) -> Result<(), BuildError> {
        let r = &state.report;
        let d = self.devices;
        self.devices = d.checked_add(1).ok_or(BuildError::TooLarge("devices"))?;
        let group = r.group.clone().unwrap_or_else(GroupRef::unassigned);
        self.groups
            .entry(group.id)
            .or_insert_with(|| group.name.clone());
        let g = group.id;
        let mut row = [0u8; 16];
        // First-seen times this device's CVEs had in the previous snapshot, by (vendor, name, CVE):
        // a version upgrade that stays vulnerable keeps the original first-seen time.
        let carried = self
            .previous
            .as_ref()
            .map(|p| p.first_seen_of(r.device_id.as_str()));
        for &(i, sw_id) in software {
            let sw = &r.software[i];
            let first_seen = state
                .software_first_seen
                .get(i)
                .copied()
                .unwrap_or(r.reported_at);
            let paths = self.intern_paths(sw_id, sw)?;
            let is_cpe = self
                .software_is_cpe
                .get(sw_id as usize)
                .copied()
                .unwrap_or(false);
            row[0..4].copy_from_slice(&d.to_le_bytes());
            row[4..8].copy_from_slice(&sw_id.to_le_bytes());
            if is_cpe {
                row[8..12].copy_from_slice(&paths.to_le_bytes());
                row[12..16].copy_from_slice(&secs(&first_seen).to_le_bytes());
                self.add_row(ExportKind::SoftwareInventory, g, &row)?;
            } else {
                self.add_row(ExportKind::NonCpeSoftware, g, &row[..8])?;
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
                let mut seen = secs(&first_seen).max(published);
                if let Some(c) = &carried {
                    let cve = self.finding_cve.get(f as usize).and_then(|c| c.as_deref());
                    match c.seen.get(&(sw.vendor.as_str(), sw.name.as_str(), cve)) {
                        Some(earlier) => seen = *earlier,
                        // Newly found on a device the previous snapshot knew: found at this publish at the earliest.
                        None if c.known_device => seen = seen.max(c.previous_publish),
                        None => {}
                    }
                }
                let seen = seen.min(secs(&self.generated_at));
                row[4..8].copy_from_slice(&f.to_le_bytes());
                row[8..12].copy_from_slice(&paths.to_le_bytes());
                row[12..16].copy_from_slice(&seen.to_le_bytes());
                self.add_row(ExportKind::Vulnerabilities, g, &row)?;
            }
        }
        let kb = self.kb;
        let rules_started = std::time::Instant::now();
        for (ci, conf) in kb.catalog.for_os(r.os.kind) {
            let outcome = conf.evaluate(&r.settings);
            let variant = (outcome.applicable as u16) | ((outcome.compliant as u16) << 1);
            let mut sca = [0u8; 8];
            sca[0..4].copy_from_slice(&d.to_le_bytes());
            sca[4..6].copy_from_slice(&(ci as u16).to_le_bytes());
            sca[6..8].copy_from_slice(&variant.to_le_bytes());
            self.add_row(ExportKind::SecureConfiguration, g, &sca)?;
        }
        self.assess_time += rules_started.elapsed();
        for kind in [ExportKind::DeviceAv, ExportKind::InfoGathering] {
            self.add_row(kind, g, &[])?;
        }
        self.write_device_fragments(state, &group)?;
        if let Some(av) = &r.av {
            self.av_reference
                .observe(r.os.kind, assess::av::product_of(&r.facts), av);
        }
        self.av_pending.push(AvPending {
            device_id: r.device_id.to_string(),
            name: r.device_name.clone(),
            os: r.os.clone(),
            group,
            reported_at: r.reported_at,
            received_at: state.received_at,
            av: r.av.clone(),
            facts: r.facts.clone(),
        });
        Ok(())
    }

    fn write_device_fragments(
        &mut self,
        state: &DeviceState,
        group: &GroupRef,
    ) -> Result<(), BuildError> {
        let r = &state.report;
        let id = r.device_id.as_str();
        let mut common = Vec::with_capacity(256); // "deviceId":..,"rbacGroupName":..,"deviceName":..,"osPlatform":..
        field(&mut common, "deviceId");
        js(&mut common, id);
        common.push(b',');
        field(&mut common, "rbacGroupName");
        js(&mut common, &group.name);
        common.push(b',');
        field(&mut common, "deviceName");
        js_opt(&mut common, r.device_name.as_deref());
        common.push(b',');
        field(&mut common, "osPlatform");
        js(&mut common, &r.os.platform);
        common.push(b',');
        let mut os_version = Vec::with_capacity(32);
        field(&mut os_version, "osVersion");
        js(&mut os_version, &r.os.version);
        os_version.push(b',');

        self.device_frags.push(id.as_bytes())?;
        self.device_groups.push(&group.id.to_le_bytes())?;
        let mut vuln = common.clone();
        vuln.extend_from_slice(&os_version);
        field(&mut vuln, "osArchitecture");
        js_opt(&mut vuln, r.os.architecture.as_deref());
        vuln.push(b',');
        self.device_frags.push(&vuln)?;
        let mut sca = vec![b'{'];
        sca.extend_from_slice(&common);
        sca.extend_from_slice(&os_version);
        field(&mut sca, "timestamp");
        js(&mut sca, &timefmt::millis_space(&r.reported_at));
        sca.push(b',');
        self.device_frags.push(&sca)?;
        let mut inv = vec![b'{'];
        inv.extend_from_slice(&common);
        self.device_frags.push(&inv)?;
        let mut noncpe = Vec::with_capacity(256);
        noncpe.push(b'{');
        field(&mut noncpe, "deviceId");
        js(&mut noncpe, id);
        write!(noncpe, ",\"rbacGroupId\":{},", group.id).map_err(|source| BuildError::Io {
            path: "devices".into(),
            source,
        })?;
        field(&mut noncpe, "rbacGroupName");
        js(&mut noncpe, &group.name);
        noncpe.push(b',');
        field(&mut noncpe, "deviceName");
        js_opt(&mut noncpe, r.device_name.as_deref());
        noncpe.push(b',');
        field(&mut noncpe, "osPlatform");
        js(&mut noncpe, &r.os.platform);
        noncpe.push(b',');
        self.device_frags.push(&noncpe)?;
        self.device_frags
            .push(format!("\"rbacGroupId\":{}}}", group.id).as_bytes())?;
        self.device_frags
            .push(timefmt::seen(&r.reported_at).as_bytes())?;
        self.device_frags.push(
            format!(
                "\"softwareLastSeenTimestamp\":\"{}\"}}",
                timefmt::millis_space(&r.reported_at)
            )
            .as_bytes(),
        )?;
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
            let (av_record, info_record) = render_av(&self.av_reference, &p)?;
            av_frags.push(&av_record)?;
            info_frags.push(&info_record)?;
        }
        av_frags.finish()?;
        info_frags.finish()?;
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

/// The deviceavinfo record and the InfoGatheringExport record of one device.
fn render_av(reference: &AvReference, p: &AvPending) -> Result<(Vec<u8>, Vec<u8>), BuildError> {
    let health = reference.health(p.os.kind, assess::av::product_of(&p.facts), p.av.as_ref());
    let av = p.av.as_ref();
    let iso = |t: Option<DateTime<Utc>>| t.map(|t| timefmt::iso_z(&t));
    let scan = |s: Option<&model::ScanResult>| {
        (
            s.map(|s| s.status.clone()).unwrap_or_default(),
            s.and_then(|s| s.error.clone()).unwrap_or_default(),
            s.map(|s| timefmt::iso_z(&s.time)),
        )
    };
    let (quick_result, quick_error, quick_time) = scan(av.and_then(|a| a.quick_scan.as_ref()));
    let (full_result, full_error, full_time) = scan(av.and_then(|a| a.full_scan.as_ref()));
    let record = DeviceAvInfo {
        id: p.device_id.clone(),
        machine_id: p.device_id.clone(),
        computer_dns_name: p.name.clone(),
        os_kind: p.os.kind.as_str().to_owned(),
        os_platform: p.os.platform.clone(),
        os_version: Some(p.os.version.clone()),
        av_mode: av
            .and_then(|a| a.mode)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        av_signature_version: av.and_then(|a| a.signature_version.clone()),
        av_engine_version: av.and_then(|a| a.engine_version.clone()),
        av_platform_version: av.and_then(|a| a.platform_version.clone()),
        last_seen_time: Some(timefmt::iso_z(&p.reported_at)),
        quick_scan_result: quick_result,
        quick_scan_error: quick_error,
        quick_scan_time: quick_time,
        full_scan_result: full_result,
        full_scan_error: full_error,
        full_scan_time: full_time,
        data_refresh_timestamp: Some(timefmt::iso_z(&p.received_at)),
        av_engine_update_time: iso(av.and_then(|a| a.engine_updated_at)),
        av_signature_update_time: iso(av.and_then(|a| a.signature_updated_at)),
        av_platform_update_time: iso(av.and_then(|a| a.platform_updated_at)),
        av_is_signature_up_to_date: health.signature.as_str().to_owned(),
        av_is_engine_up_to_date: health.engine.as_str().to_owned(),
        av_is_platform_up_to_date: health.platform.as_str().to_owned(),
        av_signature_publish_time: iso(av.and_then(|a| a.signature_published_at)),
        rbac_group_name: p.group.name.clone(),
        rbac_group_id: p.group.id as i64,
    };
    let av_json = serde_json::to_vec(&record)?;

    let scan_obj = |s: Option<&model::ScanResult>| match s {
        Some(s) => {
            serde_json::json!({"ScanStatus": s.status, "ErrorCode": s.error.clone().unwrap_or_default(), "Timestamp": timefmt::iso_z(&s.time)})
        }
        None => serde_json::Value::Null,
    };
    let scans = serde_json::json!({
        "Quick": scan_obj(av.and_then(|a| a.quick_scan.as_ref())),
        "Full": scan_obj(av.and_then(|a| a.full_scan.as_ref())),
    });
    let mut gathered = serde_json::Map::new();
    for (k, v) in &p.facts {
        gathered.insert(k.clone(), v.clone());
    }
    let refresh = timefmt::iso_z(&p.received_at);
    let entries: [(&str, serde_json::Value); 15] = [
        ("AvMode", record.av_mode.clone().into()),
        (
            "AvSignatureVersion",
            record.av_signature_version.clone().into(),
        ),
        ("AvEngineVersion", record.av_engine_version.clone().into()),
        (
            "AvPlatformVersion",
            record.av_platform_version.clone().into(),
        ),
        (
            "AvEngineUpdateTime",
            record.av_engine_update_time.clone().into(),
        ),
        (
            "AvSignatureUpdateTime",
            record.av_signature_update_time.clone().into(),
        ),
        (
            "AvPlatformUpdateTime",
            record.av_platform_update_time.clone().into(),
        ),
        (
            "AvIsSignatureUptoDate",
            record.av_is_signature_up_to_date.clone().into(),
        ),
        (
            "AvIsEngineUptodate",
            record.av_is_engine_up_to_date.clone().into(),
        ),
        (
            "AvIsPlatformUptodate",
            record.av_is_platform_up_to_date.clone().into(),
        ),
        (
            "AvSignaturePublishTime",
            record.av_signature_publish_time.clone().into(),
        ),
        ("AvSignatureDataRefreshTime", refresh.clone().into()),
        ("AvModeDataRefreshTime", refresh.into()),
        (
            "CloudProtectionState",
            av.and_then(|a| a.cloud_protection.clone()).into(),
        ),
        ("AvScanResults", serde_json::to_string(&scans)?.into()),
    ];
    for (k, v) in entries {
        gathered.insert(k.to_owned(), v);
    }
    let info = serde_json::json!({
        "DeviceId": p.device_id,
        "DeviceName": p.name,
        "OsPlatform": p.os.platform,
        "OsVersion": p.os.version,
        "LastSeenTime": timefmt::iso_z(&p.reported_at),
        "RbacGroupId": p.group.id,
        "RbacGroupName": p.group.name,
        "Timestamp": timefmt::iso_z(&p.received_at),
        "DeviceGatheredInfo": serde_json::to_string(&gathered)?,
    });
    Ok((av_json, serde_json::to_vec(&info)?))
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
    state.scan_devices(opts.batch, &mut |batch| {
        done += batch.len() as u64;
        builder
            .process_batch(batch)
            .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
        progress.devices(done);
        Ok(())
    })?;
    Ok(builder.finish(seq, model::timefmt::time_path(&generated_at), progress)?)
}

/// Lookups into the previous snapshot while building the next one.
struct PreviousRows<'a> {
    snapshot: &'a Snapshot,
    devices: HashMap<&'a [u8], u32>,
}

struct Carried<'a> {
    known_device: bool,
    previous_publish: u32,
    seen: HashMap<(&'a str, &'a str, Option<&'a str>), u32>,
}

impl<'a> PreviousRows<'a> {
    fn new(snapshot: &'a Snapshot) -> Self {
        let devices = (0..snapshot.device_count())
            .map(|d| (snapshot.device_id(d), d))
            .collect();
        PreviousRows { snapshot, devices }
    }

    fn first_seen_of(&self, device_id: &str) -> Carried<'a> {
        let s = self.snapshot;
        let mut carried = Carried {
            known_device: false,
            previous_publish: secs(&s.manifest.generated_at),
            seen: HashMap::default(),
        };
        let Some(&d) = self.devices.get(device_id.as_bytes()) else {
            return carried;
        };
        carried.known_device = true;
        for i in s.vuln_rows_of(d) {
            let Some(row) = s.vuln_row(i) else { continue };
            let key =
                std::str::from_utf8(s.software_key(s.finding_software(row.finding))).unwrap_or("");
            let mut parts = key.split('\0');
            let (vendor, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let cve = s.finding_cve(row.finding);
            let entry = carried
                .seen
                .entry((vendor, name, cve))
                .or_insert(row.first_seen);
            *entry = (*entry).min(row.first_seen);
        }
        carried
    }
}
