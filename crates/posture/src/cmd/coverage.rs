//! `posture coverage`: installed software that cannot be assessed, and why.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::{Context, Result};
use serde::Serialize;

pub fn run(data_dir: &Location, device: Option<String>, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let report = coverage(&dir, device.as_deref())?;
    print(json, &report, || {
        let mut out = format!(
            "{} devices, {} installed software entries, {} cannot be assessed",
            report.devices, report.software, report.unassessable
        );
        for (reason, n) in &report.by_reason {
            out.push_str(&format!("\n  {n:>8}  {reason}"));
        }
        for d in report
            .per_device
            .iter()
            .filter(|d| !d.gaps.is_empty())
            .take(if device.is_some() { usize::MAX } else { 20 })
        {
            out.push_str(&format!(
                "\n{} ({}): {} of {}",
                d.device_id,
                d.device_name.as_deref().unwrap_or("-"),
                d.gaps.len(),
                d.software
            ));
            for g in &d.gaps {
                out.push_str(&format!(
                    "\n    {} {} {}: {}",
                    g.vendor, g.name, g.version, g.reason
                ));
            }
        }
        out
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageReport {
    pub devices: u64,
    pub software: u64,
    pub unassessable: u64,
    pub by_reason: std::collections::BTreeMap<&'static str, u64>,
    pub per_device: Vec<DeviceCoverage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCoverage {
    pub device_id: String,
    pub device_name: Option<String>,
    pub software: u64,
    pub gaps: Vec<CoverageGap>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageGap {
    pub vendor: String,
    pub name: String,
    pub version: String,
    pub reason: &'static str,
}

/// What the assessment cannot see, device by device (the coverage report).
fn coverage(dir: &DataDir, only: Option<&str>) -> Result<CoverageReport> {
    let mut report = CoverageReport {
        devices: 0,
        software: 0,
        unassessable: 0,
        by_reason: Default::default(),
        per_device: Vec::new(),
    };
    let mut visit = |state: &store::DeviceState| {
        let r = &state.report;
        let mut d = DeviceCoverage {
            device_id: r.device_id.to_string(),
            device_name: r.device_name.clone(),
            software: r.software.len() as u64,
            gaps: Vec::new(),
        };
        for sw in &r.software {
            if let Some(gap) = assess::coverage::gap(sw) {
                *report.by_reason.entry(gap.reason()).or_default() += 1;
                d.gaps.push(CoverageGap {
                    vendor: sw.vendor.clone(),
                    name: sw.name.clone(),
                    version: sw.version.clone(),
                    reason: gap.reason(),
                });
            }
        }
        report.devices += 1;
        report.software += d.software;
        report.unassessable += d.gaps.len() as u64;
        report.per_device.push(d);
    };
    match only {
        Some(id) => {
            let state = dir
                .store
                .device(id)?
                .with_context(|| format!("no device {id}"))?;
            visit(&state);
        }
        None => dir.store.scan_devices(2000, &mut |batch| {
            batch.iter().for_each(&mut visit);
            Ok(())
        })?,
    }
    Ok(report)
}
