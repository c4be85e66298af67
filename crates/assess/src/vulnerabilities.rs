//! Vulnerability assessment of one distinct software version on one OS kind.

use chrono::{DateTime, Utc};
use kb::cpe::{Component, Cpe};
use kb::exploit::{Exploitability, exploitability};
use kb::kev::KevEntry;
use kb::matcher::Matcher;
use kb::nvd::CveRecord;
use model::{InstalledSoftware, OsInfo, OsKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The loaded knowledge base: vulnerability records indexed for matching, the KEV
/// catalogue and the configuration catalogue.
pub struct KnowledgeBase {
    records: Vec<CveRecord>,
    matcher: Matcher,
    kev: HashMap<String, KevEntry>,
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

impl KnowledgeBase {
    pub fn new(
        records: Vec<CveRecord>,
        kev: Vec<KevEntry>,
        catalog: crate::Catalog,
        version: u64,
    ) -> Self {
        let matcher = Matcher::new(&records);
        let kev = kev.into_iter().map(|e| (e.cve_id.clone(), e)).collect();
        KnowledgeBase {
            records,
            matcher,
            kev,
            catalog,
            version,
        }
    }

    pub fn record_count(&self) -> usize {
        self.records.len()
    }

    /// Findings for `software` installed on a device running `os`, ordered by CVE id.
    pub fn assess_software(&self, software: &InstalledSoftware, os: &OsInfo) -> Vec<Finding> {
        let mut findings = Vec::new();
        if let Some(cpe) = software_cpe(software) {
            let platform = platform_cpes(os);
            for m in self.matcher.match_software(&cpe, &platform) {
                let Some(record) = self.records.get(m.record_index) else {
                    continue;
                };
                let kev = self.kev.get(&record.id);
                let exploit: Exploitability = exploitability(record, kev);
                findings.push(Finding {
                    cve_id: Some(record.id.clone()),
                    severity: record.cvss.as_ref().map(|c| c.severity.clone()),
                    cvss_score: record.cvss.as_ref().map(|c| c.base_score),
                    exploitability: exploit.as_str().to_owned(),
                    recommended_update: m
                        .fixed_version
                        .as_ref()
                        .map(|v| format!("Update {} to version {v} or later", software.name)),
                    fixed_version: m.fixed_version.clone(),
                    published: Some(record.published.and_utc()),
                    evidence: Evidence {
                        feed: m.evidence.feed.clone(),
                        record_id: m.evidence.record_id.clone(),
                        criteria: m.evidence.criteria.clone(),
                        range: m.evidence.range.clone(),
                    },
                });
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
                },
            });
        }
        findings.sort_by(|a, b| a.cve_id.cmp(&b.cve_id));
        findings.dedup_by(|a, b| a.cve_id == b.cve_id);
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
