//! The summary figures recounted from API records (the JSON rows of the vulnerability,
//! deviceavinfo and secure-configuration exports), by the definitions in
//! `snapshot::summary`. Tests compare these with what the summaries and the console show.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Figures of one set of records (one group, several, or all).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recount {
    pub devices: u64,
    pub exposed_devices: u64,
    /// Vulnerability records with a CVE, by severity (`None` when absent).
    pub vulnerabilities: BTreeMap<String, u64>,
    pub kev_devices: u64,
    pub kev_vulnerabilities: u64,
    pub av_out_of_date: u64,
    pub config_applicable: u64,
    pub config_compliant: u64,
    /// Devices exposed to each CVE.
    pub cve_devices: BTreeMap<String, u64>,
    /// Device ids seen in any record.
    pub device_ids: BTreeSet<String>,
}

fn is_kev(level: &str) -> bool {
    matches!(level, "ExploitIsVerified" | "ExploitIsInKit")
}

impl Recount {
    /// Recounts from the records of the three exports.
    pub fn of(vulnerabilities: &[Value], av: &[Value], configurations: &[Value]) -> Recount {
        let mut r = Recount {
            devices: av.len() as u64,
            ..Recount::default()
        };
        let mut exposed = BTreeSet::new();
        let mut kev = BTreeSet::new();
        let mut pairs = BTreeSet::new();
        for v in vulnerabilities {
            let device = v["deviceId"].as_str().unwrap_or_default().to_owned();
            r.device_ids.insert(device.clone());
            let Some(cve) = v["cveId"].as_str() else {
                continue;
            };
            let severity = v["vulnerabilitySeverityLevel"].as_str().unwrap_or("None");
            *r.vulnerabilities.entry(severity.to_owned()).or_default() += 1;
            exposed.insert(device.clone());
            if is_kev(v["exploitabilityLevel"].as_str().unwrap_or_default()) {
                r.kev_vulnerabilities += 1;
                kev.insert(device.clone());
            }
            if pairs.insert((cve.to_owned(), device)) {
                *r.cve_devices.entry(cve.to_owned()).or_default() += 1;
            }
        }
        r.exposed_devices = exposed.len() as u64;
        r.kev_devices = kev.len() as u64;
        for a in av {
            r.device_ids
                .insert(a["machineId"].as_str().unwrap_or_default().to_owned());
            let out = [
                "avIsSignatureUpToDate",
                "avIsEngineUpToDate",
                "avIsPlatformUpToDate",
            ]
            .iter()
            .any(|k| a[*k].as_str() == Some("False"));
            r.av_out_of_date += u64::from(out);
        }
        for c in configurations {
            if c["isApplicable"].as_bool() == Some(true) {
                r.config_applicable += 1;
                r.config_compliant += u64::from(c["isCompliant"].as_bool() == Some(true));
            }
        }
        r
    }
}
