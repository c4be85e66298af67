//! Time travel for the emulator: how a device changes over an advance of the clock.
//!
//! [`evolve_report`] turns a device's current report into its report `hours` later:
//! patches and upgrades (a newer release of the same line, or the newest line),
//! removals, new installs, moves to another device group, fresh antivirus
//! signatures, and devices that go quiet (no new report; their data goes stale).
//! Rates are per 6 hours, scaled by `hours`, and chosen so a 6-hour step changes
//! roughly 1–3% of vulnerability rows (measured by `posture bench`). The outcome is a pure function of (seed, step,
//! device index, current report), so an advance replays identically.

use crate::devices::{FleetConfig, GROUPS};
use crate::products::{DeviceClass, Product, catalogue};
use chrono::{DateTime, Duration, Utc};
use model::{DeviceReport, GroupRef, InstalledSoftware, OsKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// One step of the emulator clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Advance {
    /// 1 for the first advance after seeding, then 2, 3, ...
    pub step: u64,
    pub hours: u32,
    /// The new present.
    pub now: DateTime<Utc>,
}

static BY_NAME: LazyLock<HashMap<(&'static str, &'static str), &'static Product>> =
    LazyLock::new(|| {
        catalogue()
            .iter()
            .map(|p| ((p.vendor, p.name), p))
            .collect()
    });

fn class_of(r: &DeviceReport) -> DeviceClass {
    match r.os.kind {
        OsKind::Mac => DeviceClass::Mac,
        OsKind::Linux => DeviceClass::Linux,
        OsKind::Windows if r.os.platform.starts_with("WindowsServer") => DeviceClass::Server,
        OsKind::Windows => DeviceClass::Workstation,
    }
}

fn installed(p: &Product, version: &str, os: OsKind) -> Option<InstalledSoftware> {
    let release = p.releases().find(|r| r.version == version)?;
    let (disk, registry) = match os {
        OsKind::Windows => (release.windows_path.clone(), release.registry_path.clone()),
        OsKind::Mac => (release.mac_path.clone(), None),
        OsKind::Linux => (release.linux_path.clone(), None),
    };
    Some(InstalledSoftware {
        vendor: p.vendor.to_owned(),
        name: p.name.to_owned(),
        version: release.version.to_owned(),
        cpe: release.cpe.clone(),
        ecosystem: None,
        disk_paths: disk.into_iter().collect(),
        registry_paths: registry.into_iter().collect(),
        end_of_support: None,
        source: None,
    })
}

/// A newer release for `version` of `p`: the next patch of its line, or sometimes the
/// newest release of the newest line.
fn newer(p: &Product, version: &str, rng: &mut ChaCha8Rng) -> Option<&'static str> {
    let (line, at) = p.branches.iter().enumerate().find_map(|(b, br)| {
        br.releases
            .iter()
            .position(|r| r.version == version)
            .map(|i| (b, i))
    })?;
    let branch = &p.branches[line];
    if rng.random::<f64>() < 0.25 {
        let newest = p.branches.last()?.releases.last()?;
        return (newest.version != version).then_some(newest.version);
    }
    branch
        .releases
        .get(at + 1 + rng.random_range(0..2))
        .or_else(|| branch.releases.get(at + 1))
        .map(|r| r.version)
}

/// The device's report after advance `adv`, or `None` when it does not report. The
/// device's random stream comes from its id, so the order devices are visited in
/// does not matter.
pub fn evolve_report(
    cfg: &FleetConfig,
    adv: &Advance,
    current: &DeviceReport,
) -> Option<DeviceReport> {
    let mut rng = ChaCha8Rng::seed_from_u64(
        cfg.seed ^ 0x6164_7661_6e63_6521 ^ adv.step.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let id = current.device_id.as_str();
    rng.set_stream(u64::from_str_radix(id.get(..16).unwrap_or("0"), 16).unwrap_or(0));
    let scale = (f64::from(adv.hours) / 6.0).clamp(0.0, 8.0);
    let p = |rate: f64| (rate * scale).min(0.9);
    if rng.random::<f64>() < p(0.03) {
        return None;
    }
    let mut r = current.clone();
    r.sequence += 1;
    r.reported_at = adv.now - Duration::seconds(rng.random_range(0..7200));
    let os = r.os.kind;
    // Patches and upgrades, removals.
    let mut software = Vec::with_capacity(r.software.len() + 2);
    for sw in std::mem::take(&mut r.software) {
        let product = BY_NAME
            .get(&(sw.vendor.as_str(), sw.name.as_str()))
            .copied();
        if product.is_some_and(|p| !p.is_os) && rng.random::<f64>() < p(0.0015) {
            continue;
        }
        let upgrade = match product {
            Some(prod) if rng.random::<f64>() < p(0.01) => {
                newer(prod, &sw.version, &mut rng).and_then(|v| installed(prod, v, os))
            }
            _ => None,
        };
        software.push(upgrade.unwrap_or(sw));
    }
    // New installs.
    if rng.random::<f64>() < p(0.05) {
        let class = class_of(&r) as usize;
        let have: HashSet<(&str, &str)> = software
            .iter()
            .map(|s| (s.vendor.as_str(), s.name.as_str()))
            .collect();
        let choices: Vec<&Product> = catalogue()
            .iter()
            .filter(|p| {
                !p.is_os && p.prevalence[class] > 0.0 && !have.contains(&(p.vendor, p.name))
            })
            .collect();
        if !choices.is_empty() {
            let pick = choices[rng.random_range(0..choices.len())];
            if let Some(sw) = pick
                .releases()
                .last()
                .and_then(|rel| installed(pick, rel.version, os))
            {
                software.push(sw);
            }
        }
    }
    r.software = software;
    // Group moves (to another named group, or out of any group).
    if rng.random::<f64>() < p(0.003) {
        let k = rng.random_range(0..=GROUPS.len());
        r.group = GROUPS.get(k).map(|(id, name)| GroupRef {
            id: *id,
            name: (*name).to_owned(),
        });
    }
    // Antivirus: signatures arrive several times a day on devices whose AV is current.
    if let Some(av) = r.av.as_mut() {
        let current_sig = av
            .signature_updated_at
            .is_some_and(|t| current.reported_at - t < Duration::days(2));
        if current_sig || rng.random::<f64>() < p(0.1) {
            let published = adv.now - Duration::minutes(rng.random_range(30..360));
            av.signature_published_at = Some(published);
            av.signature_updated_at = Some(published + Duration::minutes(rng.random_range(5..60)));
        }
    }
    Some(r)
}
