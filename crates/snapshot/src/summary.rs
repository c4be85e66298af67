//! Per-snapshot summary tables (`summary.json`), aggregated during the build, one table
//! set per device group so a caller limited to groups gets exact figures by adding up
//! its groups' tables (every device is in exactly one group). The console reads these
//! instead of the rows, and trends read the summaries of the retained snapshots, never
//! the snapshots' rows.
//!
//! Definitions (each reproducible from the API's rows of the same snapshot):
//! * `devices`: deviceavinfo records;
//! * `exposed_devices`: devices with at least one vulnerability record that has a CVE;
//! * `vulnerabilities[severity]`: vulnerability records with a CVE, by
//!   `vulnerabilitySeverityLevel` (`"None"` when the record has none);
//! * `kev_devices`/`kev_vulnerabilities`: the same, for records whose
//!   `exploitabilityLevel` is `ExploitIsVerified` or `ExploitIsInKit` (listed in KEV);
//! * `av_out_of_date`: devices with any `avIs*UpToDate` equal to `False`;
//! * `config_applicable`/`config_compliant`: configuration records with
//!   `isApplicable`, and of those with `isCompliant`.

use rustc_hash::FxHashMap as HashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file beside the snapshot's rows.
pub const SUMMARY_FILE: &str = "summary.json";

/// Severity names in display order.
pub const SEVERITIES: [&str; 5] = ["Critical", "High", "Medium", "Low", "None"];

/// Whether an `exploitabilityLevel` means the CVE is listed in CISA KEV.
pub fn is_kev(exploitability: &str) -> bool {
    matches!(exploitability, "ExploitIsVerified" | "ExploitIsInKit")
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// Per device group, by group id.
    pub groups: Vec<GroupSummary>,
    /// What is known of each CVE found anywhere in the snapshot.
    pub cves: BTreeMap<String, CveInfo>,
    /// The catalogue's configurations, by index (the configuration row's index).
    pub configurations: Vec<ConfigurationInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CveInfo {
    pub severity: Option<String>,
    pub cvss: Option<f64>,
    pub exploitability: String,
    pub kev: bool,
    /// `vendor name` of the software it was found in.
    pub software: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationInfo {
    pub id: String,
    pub name: String,
    pub category: String,
    pub impact: u8,
}

/// The counts of one group (or, added up, of several).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub devices: u64,
    pub exposed_devices: u64,
    pub vulnerabilities: BTreeMap<String, u64>,
    pub kev_devices: u64,
    pub kev_vulnerabilities: u64,
    pub av_out_of_date: u64,
    pub av_unknown: u64,
    pub config_applicable: u64,
    pub config_compliant: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.devices += o.devices;
        self.exposed_devices += o.exposed_devices;
        for (k, v) in &o.vulnerabilities {
            *self.vulnerabilities.entry(k.clone()).or_default() += v;
        }
        self.kev_devices += o.kev_devices;
        self.kev_vulnerabilities += o.kev_vulnerabilities;
        self.av_out_of_date += o.av_out_of_date;
        self.av_unknown += o.av_unknown;
        self.config_applicable += o.config_applicable;
        self.config_compliant += o.config_compliant;
    }
    pub fn vulnerability_total(&self) -> u64 {
        self.vulnerabilities.values().sum()
    }
    /// Compliant share of applicable configuration records, in percent.
    pub fn compliance_percent(&self) -> f64 {
        if self.config_applicable == 0 {
            100.0
        } else {
            self.config_compliant as f64 * 100.0 / self.config_applicable as f64
        }
    }
}

/// One CVE's exposure in a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CveExposure {
    pub cve: String,
    pub devices: u64,
    pub records: u64,
}

/// One software version's presence in a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoftwareVersion {
    pub vendor: String,
    pub name: String,
    pub version: String,
    /// Devices with it installed.
    pub devices: u64,
    /// Of those, devices where it has a CVE.
    pub exposed_devices: u64,
    /// Distinct CVEs found in it.
    pub cves: u64,
    /// The end-of-support status reported for it, if any.
    pub end_of_support: Option<String>,
}

/// One configuration in a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationCount {
    pub index: u32,
    pub applicable: u64,
    pub failing: u64,
}

/// Installs that cannot be assessed, per reason and product, in a group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageGap {
    pub reason: String,
    pub vendor: String,
    pub name: String,
    pub installs: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummary {
    pub id: u32,
    pub name: String,
    pub counts: Counts,
    /// Every CVE found in the group, most exposed devices first.
    pub cves: Vec<CveExposure>,
    pub software: Vec<SoftwareVersion>,
    pub configurations: Vec<ConfigurationCount>,
    pub coverage: Vec<CoverageGap>,
}

impl Summary {
    /// The groups a caller may see (`None`: all).
    pub fn groups_in<'a>(
        &'a self,
        allowed: Option<&'a [u32]>,
    ) -> impl Iterator<Item = &'a GroupSummary> + 'a {
        self.groups
            .iter()
            .filter(move |g| allowed.is_none_or(|a| a.contains(&g.id)))
    }

    /// The counts of the allowed groups added up.
    pub fn counts(&self, allowed: Option<&[u32]>) -> Counts {
        let mut c = Counts::default();
        for g in self.groups_in(allowed) {
            c.add(&g.counts);
        }
        c
    }

    /// CVE exposure over the allowed groups, most exposed devices first (then CVE id).
    pub fn cves(&self, allowed: Option<&[u32]>) -> Vec<CveExposure> {
        let mut by: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for g in self.groups_in(allowed) {
            for c in &g.cves {
                let e = by.entry(&c.cve).or_default();
                e.0 += c.devices;
                e.1 += c.records;
            }
        }
        let mut out: Vec<CveExposure> = by
            .into_iter()
            .map(|(cve, (devices, records))| CveExposure {
                cve: cve.to_owned(),
                devices,
                records,
            })
            .collect();
        out.sort_by(|a, b| b.devices.cmp(&a.devices).then_with(|| a.cve.cmp(&b.cve)));
        out
    }

    /// Software versions over the allowed groups, most exposed devices first.
    pub fn software(&self, allowed: Option<&[u32]>) -> Vec<SoftwareVersion> {
        let mut by: BTreeMap<(String, String, String), SoftwareVersion> = BTreeMap::new();
        for g in self.groups_in(allowed) {
            for s in &g.software {
                let e = by
                    .entry((s.vendor.clone(), s.name.clone(), s.version.clone()))
                    .or_insert_with(|| SoftwareVersion {
                        devices: 0,
                        exposed_devices: 0,
                        ..s.clone()
                    });
                e.devices += s.devices;
                e.exposed_devices += s.exposed_devices;
                e.cves = e.cves.max(s.cves);
            }
        }
        let mut out: Vec<SoftwareVersion> = by.into_values().collect();
        out.sort_by(|a, b| {
            b.exposed_devices
                .cmp(&a.exposed_devices)
                .then(b.devices.cmp(&a.devices))
                .then_with(|| {
                    (&a.vendor, &a.name, &a.version).cmp(&(&b.vendor, &b.name, &b.version))
                })
        });
        out
    }

    /// Configurations over the allowed groups: (index, applicable, failing), most failing first.
    pub fn configurations(&self, allowed: Option<&[u32]>) -> Vec<ConfigurationCount> {
        let mut by: BTreeMap<u32, (u64, u64)> = BTreeMap::new();
        for g in self.groups_in(allowed) {
            for c in &g.configurations {
                let e = by.entry(c.index).or_default();
                e.0 += c.applicable;
                e.1 += c.failing;
            }
        }
        let mut out: Vec<ConfigurationCount> = by
            .into_iter()
            .map(|(index, (applicable, failing))| ConfigurationCount {
                index,
                applicable,
                failing,
            })
            .collect();
        out.sort_by(|a, b| b.failing.cmp(&a.failing).then(a.index.cmp(&b.index)));
        out
    }

    /// Coverage gaps over the allowed groups, most installs first.
    pub fn coverage(&self, allowed: Option<&[u32]>) -> Vec<CoverageGap> {
        let mut by: BTreeMap<(String, String, String), u64> = BTreeMap::new();
        for g in self.groups_in(allowed) {
            for c in &g.coverage {
                *by.entry((c.reason.clone(), c.vendor.clone(), c.name.clone()))
                    .or_default() += c.installs;
            }
        }
        let mut out: Vec<CoverageGap> = by
            .into_iter()
            .map(|((reason, vendor, name), installs)| CoverageGap {
                reason,
                vendor,
                name,
                installs,
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.installs));
        out
    }
}

/// A software entry of the build as the summary sees it.
struct SoftwareEntry {
    /// Index into `versions` (vendor, name, version).
    version: u32,
    gap: Option<&'static str>,
}

/// One finding as the summary sees it.
#[derive(Clone, Copy)]
struct FindingEntry {
    /// Index into `cve_ids`, or `None` for an end-of-support finding.
    cve: Option<u32>,
    severity: u8,
    kev: bool,
}

#[derive(Default)]
struct GroupAcc {
    name: String,
    counts: Counts,
    severity: [u64; SEVERITIES.len()],
    /// CVE index → (devices, records).
    cves: HashMap<u32, (u64, u64)>,
    /// Version index → (devices, exposed devices).
    versions: HashMap<u32, (u64, u64)>,
    configurations: BTreeMap<u32, (u64, u64)>,
    coverage: HashMap<(&'static str, u32), u64>,
}

/// Aggregates the summary while the build streams devices (see `build`).
#[derive(Default)]
pub(crate) struct SummaryBuilder {
    software: Vec<SoftwareEntry>,
    findings: Vec<FindingEntry>,
    versions: Vec<(String, String, String, Option<String>)>,
    version_index: HashMap<(String, String, String), u32>,
    version_cves: Vec<Vec<u32>>,
    cve_ids: Vec<String>,
    cve_index: HashMap<String, u32>,
    cve_info: Vec<CveInfo>,
    groups: BTreeMap<u32, GroupAcc>,
    // Per device, reused.
    device_cves: Vec<(u32, bool)>,
    device_versions: Vec<(u32, bool)>,
    /// (CVE, severity, KEV) of each vulnerability row of the current device.
    pending_rows: Vec<(u32, u8, bool)>,
    device_vulnerable: bool,
    device_kev: bool,
}

fn severity_index(s: Option<&str>) -> u8 {
    let s = s.unwrap_or("None");
    SEVERITIES
        .iter()
        .position(|x| x.eq_ignore_ascii_case(s))
        .unwrap_or(SEVERITIES.len() - 1) as u8
}

impl SummaryBuilder {
    /// A new software entry (id = number of earlier calls) and its findings (ids in order).
    pub(crate) fn software(&mut self, sw: &model::InstalledSoftware, findings: &[assess::Finding]) {
        let key = (sw.vendor.clone(), sw.name.clone(), sw.version.clone());
        let version = match self.version_index.get(&key) {
            Some(v) => *v,
            None => {
                let v = self.versions.len() as u32;
                self.versions.push((
                    key.0.clone(),
                    key.1.clone(),
                    key.2.clone(),
                    sw.end_of_support
                        .as_ref()
                        .map(|e| e.status.clone())
                        .filter(|s| !s.is_empty() && s != "None"),
                ));
                self.version_cves.push(Vec::new());
                self.version_index.insert(key, v);
                v
            }
        };
        let gap = assess::coverage::gap(sw).map(|g| g.reason());
        self.software.push(SoftwareEntry { version, gap });
        for f in findings {
            let cve = f.cve_id.as_ref().map(|id| {
                let c = match self.cve_index.get(id) {
                    Some(c) => *c,
                    None => {
                        let c = self.cve_ids.len() as u32;
                        self.cve_ids.push(id.clone());
                        self.cve_index.insert(id.clone(), c);
                        self.cve_info.push(CveInfo {
                            severity: f.severity.clone(),
                            cvss: f.cvss_score,
                            exploitability: f.exploitability.clone(),
                            kev: is_kev(&f.exploitability),
                            software: Vec::new(),
                        });
                        c
                    }
                };
                let label = format!("{} {}", sw.vendor, sw.name);
                if let Some(info) = self.cve_info.get_mut(c as usize)
                    && !info.software.contains(&label)
                {
                    info.software.push(label);
                }
                if let Some(list) = self.version_cves.get_mut(version as usize)
                    && !list.contains(&c)
                {
                    list.push(c);
                }
                c
            });
            self.findings.push(FindingEntry {
                cve,
                severity: severity_index(f.severity.as_deref()),
                kev: is_kev(&f.exploitability),
            });
        }
    }

    fn group(&mut self, g: &model::GroupRef) -> &mut GroupAcc {
        let acc = self.groups.entry(g.id).or_default();
        if acc.name.is_empty() {
            acc.name = g.name.clone();
        }
        acc
    }

    /// An install of software entry `sw` on the current device.
    pub(crate) fn install(&mut self, group: &model::GroupRef, sw: u32) {
        let Some(entry) = self.software.get(sw as usize) else {
            return;
        };
        let (version, gap) = (entry.version, entry.gap);
        if !self.device_versions.iter().any(|(v, _)| *v == version) {
            self.device_versions.push((version, false));
        }
        if let Some(reason) = gap {
            *self
                .group(group)
                .coverage
                .entry((reason, version))
                .or_default() += 1;
        }
    }

    /// A vulnerability row of finding `f` (of software entry `sw`) on the current device.
    pub(crate) fn vulnerability(&mut self, sw: u32, f: u32) {
        let Some(entry) = self.findings.get(f as usize).copied() else {
            return;
        };
        let Some(cve) = entry.cve else { return };
        let version = self.software.get(sw as usize).map(|s| s.version);
        self.device_vulnerable = true;
        self.device_kev |= entry.kev;
        if let Some(v) = version
            && let Some(slot) = self.device_versions.iter_mut().find(|(x, _)| *x == v)
        {
            slot.1 = true;
        }
        match self.device_cves.iter_mut().find(|(c, _)| *c == cve) {
            Some(_) => {}
            None => self.device_cves.push((cve, entry.kev)),
        }
        // Records are counted per row, devices once per device (at `end_device`).
        self.pending_rows.push((cve, entry.severity, entry.kev));
    }

    /// A configuration row of the current device.
    pub(crate) fn configuration(
        &mut self,
        group: &model::GroupRef,
        index: u32,
        applicable: bool,
        compliant: bool,
    ) {
        let acc = self.group(group);
        let e = acc.configurations.entry(index).or_default();
        if applicable {
            e.0 += 1;
            acc.counts.config_applicable += 1;
            if compliant {
                acc.counts.config_compliant += 1;
            } else {
                e.1 += 1;
            }
        }
    }

    /// The end of the current device's rows.
    pub(crate) fn end_device(&mut self, group: &model::GroupRef) {
        let rows = std::mem::take(&mut self.pending_rows);
        let cves = std::mem::take(&mut self.device_cves);
        let versions = std::mem::take(&mut self.device_versions);
        let (vulnerable, kev) = (self.device_vulnerable, self.device_kev);
        self.device_vulnerable = false;
        self.device_kev = false;
        let acc = self.group(group);
        acc.counts.devices += 1;
        acc.counts.exposed_devices += u64::from(vulnerable);
        acc.counts.kev_devices += u64::from(kev);
        for &(cve, severity, is_kev) in &rows {
            acc.severity[severity as usize] += 1;
            acc.counts.kev_vulnerabilities += u64::from(is_kev);
            acc.cves.entry(cve).or_default().1 += 1;
        }
        for (cve, _) in &cves {
            acc.cves.entry(*cve).or_default().0 += 1;
        }
        for (v, exposed) in &versions {
            let e = acc.versions.entry(*v).or_default();
            e.0 += 1;
            e.1 += u64::from(*exposed);
        }
    }

    /// The antivirus health of a device (known only once every device was seen).
    pub(crate) fn av(&mut self, group: &model::GroupRef, health: &assess::av::AvHealth) {
        use model::wire::UpToDate;
        let flags = [health.signature, health.engine, health.platform];
        let acc = self.group(group);
        if flags.contains(&UpToDate::False) {
            acc.counts.av_out_of_date += 1;
        } else if flags.contains(&UpToDate::Unknown) {
            acc.counts.av_unknown += 1;
        }
    }

    pub(crate) fn finish(self, catalog: &assess::catalog::Catalog) -> Summary {
        let SummaryBuilder {
            versions,
            version_cves,
            cve_ids,
            cve_info,
            groups,
            ..
        } = self;
        let groups = groups
            .into_iter()
            .map(|(id, acc)| {
                let mut counts = acc.counts;
                counts.vulnerabilities = SEVERITIES
                    .iter()
                    .zip(acc.severity)
                    .filter(|(_, n)| *n > 0)
                    .map(|(s, n)| ((*s).to_owned(), n))
                    .collect();
                let mut cves: Vec<CveExposure> = acc
                    .cves
                    .into_iter()
                    .filter_map(|(c, (devices, records))| {
                        Some(CveExposure {
                            cve: cve_ids.get(c as usize)?.clone(),
                            devices,
                            records,
                        })
                    })
                    .collect();
                cves.sort_by(|a, b| b.devices.cmp(&a.devices).then_with(|| a.cve.cmp(&b.cve)));
                let mut software: Vec<SoftwareVersion> = acc
                    .versions
                    .into_iter()
                    .filter_map(|(v, (devices, exposed))| {
                        let (vendor, name, version, eos) = versions.get(v as usize)?.clone();
                        Some(SoftwareVersion {
                            vendor,
                            name,
                            version,
                            devices,
                            exposed_devices: exposed,
                            cves: version_cves.get(v as usize).map_or(0, |c| c.len() as u64),
                            end_of_support: eos,
                        })
                    })
                    .collect();
                software.sort_by(|a, b| {
                    (&a.vendor, &a.name, &a.version).cmp(&(&b.vendor, &b.name, &b.version))
                });
                let mut coverage: Vec<CoverageGap> = acc
                    .coverage
                    .into_iter()
                    .filter_map(|((reason, v), installs)| {
                        let (vendor, name, _, _) = versions.get(v as usize)?;
                        Some(CoverageGap {
                            reason: reason.to_owned(),
                            vendor: vendor.clone(),
                            name: name.clone(),
                            installs,
                        })
                    })
                    .collect();
                // Versions of one product with the same reason are one line.
                coverage.sort_by(|a, b| {
                    (&a.reason, &a.vendor, &a.name).cmp(&(&b.reason, &b.vendor, &b.name))
                });
                coverage.dedup_by(|b, a| {
                    if (&a.reason, &a.vendor, &a.name) == (&b.reason, &b.vendor, &b.name) {
                        a.installs += b.installs;
                        true
                    } else {
                        false
                    }
                });
                GroupSummary {
                    id,
                    name: acc.name,
                    counts,
                    cves,
                    software,
                    configurations: acc
                        .configurations
                        .into_iter()
                        .map(|(index, (applicable, failing))| ConfigurationCount {
                            index,
                            applicable,
                            failing,
                        })
                        .collect(),
                    coverage,
                }
            })
            .collect();
        Summary {
            groups,
            cves: cve_ids.into_iter().zip(cve_info).collect(),
            configurations: catalog
                .configurations
                .iter()
                .map(|c| ConfigurationInfo {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    category: c.category.clone(),
                    impact: c.impact,
                })
                .collect(),
        }
    }
}
