//! Vulnerability assessment of one distinct software version on one OS kind.

use chrono::{DateTime, Utc};
use kb::Ecosystem;
use kb::cpe::{Component, Cpe};
use kb::exploit::{Exploitability, exploitability};
use kb::kev::KevEntry;
use kb::matcher::Matcher;
use kb::nvd::CveRecord;
use kb::osv::{OsvIndex, OsvRecord};
use model::{InstalledSoftware, OsInfo, OsKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The loaded knowledge base: vulnerability records indexed for matching, the KEV
/// catalogue and the configuration catalogue.
pub struct KnowledgeBase {
    records: Vec<CveRecord>,
    matcher: Matcher,
    /// NVD records by CVE id, for severity and exploitability of advisory matches.
    nvd_by_id: HashMap<String, usize>,
    osv: Vec<OsvRecord>,
    osv_index: OsvIndex,
    kev: HashMap<String, KevEntry>,
    /// FIRST EPSS scores by CVE id: shown in evidence, never in the MDE records.
    epss: HashMap<String, kb::EpssScore>,
    pub catalog: crate::Catalog,
    /// The store's KB version this was loaded from; recorded in each snapshot.
    pub version: u64,
}

/// Why a row exists: which feed, which record and which range matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    pub feed: String,
    pub record_id: String,
    pub criteria: String,
    pub range: String,
    /// The CVE's EPSS score (probability of exploitation in 30 days), when the KB has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<kb::EpssScore>,
}

/// One vulnerability of one software version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// None for an end-of-support weakness, which MDE reports without a CVE.
    pub cve_id: Option<String>,
    pub severity: Option<String>,
    pub cvss_score: Option<f64>,
    pub exploitability: String,
    pub recommended_update: Option<String>,
    pub fixed_version: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub evidence: Evidence,
}

impl From<&kb::Evidence> for Evidence {
    fn from(e: &kb::Evidence) -> Self {
        Evidence {
            feed: e.feed.clone(),
            record_id: e.record_id.clone(),
            criteria: e.criteria.clone(),
            range: e.range.clone(),
            epss: None,
        }
    }
}

impl Finding {
    /// A finding from a feed match (NVD or an advisory): severity from the CVSS metric,
    /// the fixed version as the recommended update.
    fn matched(
        software: &InstalledSoftware,
        cve_id: String,
        cvss: Option<&kb::Cvss>,
        exploit: Exploitability,
        fixed_version: Option<&str>,
        published: Option<DateTime<Utc>>,
        evidence: &kb::Evidence,
    ) -> Finding {
        Finding {
            cve_id: Some(cve_id),
            severity: cvss.map(|c| c.severity.clone()),
            cvss_score: cvss.map(|c| c.base_score),
            exploitability: exploit.as_str().to_owned(),
            recommended_update: fixed_version
                .map(|v| format!("Update {} to version {v} or later", software.name)),
            fixed_version: fixed_version.map(str::to_owned),
            published,
            evidence: evidence.into(),
        }
    }
}

impl KnowledgeBase {
    pub fn new(
        records: Vec<CveRecord>,
        kev: Vec<KevEntry>,
        osv: Vec<OsvRecord>,
        catalog: crate::Catalog,
        version: u64,
    ) -> Self {
        let matcher = Matcher::new(&records);
        let nvd_by_id = records
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        let kev = kev.into_iter().map(|e| (e.cve_id.clone(), e)).collect();
        let osv_index = OsvIndex::new(&osv);
        KnowledgeBase {
            records,
            matcher,
            nvd_by_id,
            osv,
            osv_index,
            kev,
            epss: HashMap::new(),
            catalog,
            version,
        }
    }

    /// Adds EPSS scores, shown in each finding's evidence for its CVE.
    pub fn with_epss(mut self, scores: Vec<kb::EpssScore>) -> Self {
        self.epss = scores.into_iter().map(|s| (s.cve_id.clone(), s)).collect();
        self
    }

    pub fn osv_record_count(&self) -> usize {
        self.osv.len()
    }

    /// Findings from ecosystem advisories (OSV) for a package with an ecosystem: one per
    /// CVE the advisory names (or the advisory id when it names none).
    fn advisory_findings(
        &self,
        software: &InstalledSoftware,
        ecosystem: &Ecosystem,
        name: &str,
        version: &str,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for m in self.osv_index.match_package(ecosystem, name, version) {
            let Some(record) = self.osv.get(m.record_index) else {
                continue;
            };
            let ids = if m.cve_ids.is_empty() {
                vec![m.id.clone()]
            } else {
                m.cve_ids.clone()
            };
            for id in ids {
                let nvd = self.nvd_by_id.get(&id).and_then(|i| self.records.get(*i));
                let kev = self.kev.get(&id);
                let cvss = record
                    .severity
                    .as_ref()
                    .and_then(|s| s.cvss())
                    .or_else(|| nvd.and_then(|n| n.cvss.clone()));
                let exploit = match (nvd, kev) {
                    (Some(n), k) => exploitability(n, k),
                    (None, Some(k)) if k.ransomware => Exploitability::ExploitIsInKit,
                    (None, Some(_)) => Exploitability::ExploitIsVerified,
                    (None, None) => Exploitability::NoExploit,
                };
                findings.push(Finding::matched(
                    software,
                    id,
                    cvss.as_ref(),
                    exploit,
                    m.fixed_version.as_deref(),
                    record.published.map(|p| p.and_utc()),
                    &m.evidence,
                ));
            }
        }
        findings
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Findings for `software` installed on a device running `os`, ordered by CVE id.
    pub fn assess_software(&self, software: &InstalledSoftware, os: &OsInfo) -> Vec<Finding> {
        let mut findings = Vec::new();
        // Ecosystem advisories first: for a package its distribution (or registry) covers,
        // they replace CPE matching, which cannot see distro backports.
        let mut cpe_superseded = false;
        if let Some(eco) = software.ecosystem.as_deref().map(Ecosystem::parse)
            && !software.version.is_empty()
        {
            // Distribution advisories name source packages; a binary package built from
            // another source is matched by its source name and version.
            let (name, version) = match &software.source {
                Some(src) if eco.is_distro() => (src.name.as_str(), src.version.as_str()),
                _ => (software.name.as_str(), software.version.as_str()),
            };
            cpe_superseded = self.osv_index.supersedes_cpe(&eco, name);
            findings.extend(self.advisory_findings(software, &eco, name, version));
        }
        if let Some(cpe) = software_cpe(software).filter(|_| !cpe_superseded) {
            let platform = platform_cpes(os);
            for m in self
                .matcher
                .match_software_on(&cpe, &platform, Some(target_os(os.kind)))
            {
                let Some(record) = self.records.get(m.record_index) else {
                    continue;
                };
                let kev = self.kev.get(&record.id);
                let exploit = exploitability(record, kev);
                findings.push(Finding::matched(
                    software,
                    record.id.clone(),
                    record.cvss.as_ref(),
                    exploit,
                    m.fixed_version.as_deref(),
                    Some(record.published.and_utc()),
                    &m.evidence,
                ));
            }
        }
        if let Some(eos) = &software.end_of_support
            && (eos.status == "EOS Version" || eos.status == "EOS Software")
        {
            findings.push(Finding {
                cve_id: None,
                severity: None,
                cvss_score: None,
                exploitability: Exploitability::NoExploit.as_str().to_owned(),
                recommended_update: None,
                fixed_version: None,
                published: None,
                evidence: Evidence {
                    feed: "end-of-support".into(),
                    record_id: eos.status.clone(),
                    criteria: format!("{}:{}:{}", software.vendor, software.name, software.version),
                    range: eos.date.map(|d| d.to_string()).unwrap_or_default(),
                    epss: None,
                },
            });
        }
        findings.sort_by(|a, b| a.cve_id.cmp(&b.cve_id));
        findings.dedup_by(|a, b| a.cve_id == b.cve_id);
        if !self.epss.is_empty() {
            for f in &mut findings {
                f.evidence.epss = f.cve_id.as_ref().and_then(|c| self.epss.get(c)).cloned();
            }
        }
        findings
    }
}

/// The software's CPE with its version filled in when the reported CPE leaves it open.
fn software_cpe(software: &InstalledSoftware) -> Option<Cpe> {
    let text = software.cpe.as_deref()?;
    let mut cpe = Cpe::parse(text).ok()?;
    if cpe.version.is_any() && !software.version.is_empty() {
        cpe.version = Component::Value(software.version.clone());
    }
    Some(cpe)
}

/// The device's OS kind as a CPE `target_sw`: it stands in for an inventory CPE's
/// unknown `target_sw` when a criterion names an OS (so findings depend on the OS kind
/// alone, which is what `snapshot::build` interns software by).
pub fn target_os(kind: OsKind) -> kb::TargetOs {
    match kind {
        OsKind::Windows => kb::TargetOs::Windows,
        OsKind::Mac => kb::TargetOs::MacOs,
        OsKind::Linux => kb::TargetOs::Linux,
    }
}

/// CPEs describing the device's OS, used to satisfy `vulnerable:false` platform nodes.
pub fn platform_cpes(os: &OsInfo) -> Vec<Cpe> {
    let mut texts: Vec<String> = match os.kind {
        OsKind::Windows => {
            let product = match os.platform.as_str() {
                "Windows10" => "windows_10",
                "Windows11" => "windows_11",
                "WindowsServer2016" => "windows_server_2016",
                "WindowsServer2019" => "windows_server_2019",
                "WindowsServer2022" => "windows_server_2022",
                _ => "windows",
            };
            vec![
                "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*".into(),
                format!("cpe:2.3:o:microsoft:{product}:-:*:*:*:*:*:*:*"),
            ]
        }
        OsKind::Mac => vec![
            "cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*".into(),
            "cpe:2.3:o:apple:mac_os_x:-:*:*:*:*:*:*:*".into(),
        ],
        OsKind::Linux => vec!["cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*".into()],
    };
    if let Some(d) = &os.distro {
        let (vendor, product) = match d.id.as_str() {
            "debian" => ("debian", "debian_linux"),
            "ubuntu" => ("canonical", "ubuntu_linux"),
            "rhel" => ("redhat", "enterprise_linux"),
            "fedora" => ("fedoraproject", "fedora"),
            _ => ("", ""),
        };
        if !vendor.is_empty() {
            texts.push(format!(
                "cpe:2.3:o:{vendor}:{product}:{}:*:*:*:*:*:*:*",
                d.version_id
            ));
        }
    }
    texts.iter().filter_map(|t| Cpe::parse(t).ok()).collect()
}
