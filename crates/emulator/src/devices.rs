//! The deterministic fleet: device `index` of a fleet is a pure function of
//! `(seed, index, now)`.
//!
//! Every device draws from its own ChaCha8 stream (key from `seed`, stream
//! number `index`), so devices can be generated in any order and in parallel
//! and always come out the same. `now` is not an input of the random stream:
//! moving `now` keeps every device's identity, software and settings and only
//! moves its times (and the end-of-support statuses that depend on the date).

use crate::products::{Branch, DeviceClass, Product, catalogue};
use assess::catalog::{Catalog, Rule};
use chrono::{DateTime, Duration, Utc};
use model::report::{AvState, Distro, EndOfSupport, InstalledSoftware, OsInfo, OsKind, ScanResult};
use model::{DeviceId, DeviceReport, GroupRef};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What fleet to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FleetConfig {
    /// Number of devices; device indexes are `0..devices`.
    pub devices: u32,
    pub seed: u64,
    /// The fleet's present: reports are dated up to this instant, never after.
    pub now: DateTime<Utc>,
}

impl FleetConfig {
    pub fn new(devices: u32, seed: u64, now: DateTime<Utc>) -> Self {
        FleetConfig { devices, seed, now }
    }
}

/// The device groups (MDE RBAC groups) of the fleet: `(id, name)`. About 10% of
/// devices are in none (`group: None`, exported as id 0 "Unassigned").
pub const GROUPS: [(u32, &str); 8] = [
    (11, "London"),
    (27, "New York"),
    (35, "Singapore"),
    (86, "Servers"),
    (309, "Linux Build Farm"),
    (712, "Finance"),
    (4415, "TVM1"),
    (5120, "Engineering Macs"),
];

/// All reports of the fleet, in index order, generated in parallel.
pub fn reports(cfg: &FleetConfig) -> impl IndexedParallelIterator<Item = DeviceReport> + '_ {
    (0..cfg.devices)
        .into_par_iter()
        .map(move |i| device_report(cfg, i))
}

/// The report of device `index`. Deterministic: the same `(seed, index, now)`
/// always gives the same report. `index` may exceed `cfg.devices` (the
/// function does not look at it), which lets callers grow a fleet.
pub fn device_report(cfg: &FleetConfig, index: u32) -> DeviceReport {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(u64::from(index));
    Generator {
        rng,
        now: cfg.now,
        index,
    }
    .device()
}

/// What orders device `index` in a store: its group id (0 for none, as stored) and its
/// id. The same draws as [`device_report`]'s first, so it agrees with the report, at a
/// small fraction of its cost: a bulk load sorts a fleet by these keys
/// ([`crate::seed_fleet`]).
pub fn device_key(cfg: &FleetConfig, index: u32) -> (u32, DeviceId) {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(u64::from(index));
    let head = Generator {
        rng,
        now: cfg.now,
        index,
    }
    .head();
    (head.group.map_or(0, |g| g.id), head.device_id)
}

/// [`Generator::head`]'s draws.
struct Head {
    device_id: DeviceId,
    class: DeviceClass,
    hygiene: f64,
    region: &'static str,
    reported_at: DateTime<Utc>,
    /// Whether the device reports a name (a few do not).
    named: bool,
    group: Option<GroupRef>,
}

// ---------------------------------------------------------------------------
// Precomputed tables.

struct Tables {
    /// Applications and non-CPE software installed by prevalence, in catalogue order.
    installable: Vec<&'static Product>,
    win10: &'static Product,
    win11: &'static Product,
    server: [(&'static Product, &'static str, f64); 3],
    macos: &'static Product,
    kernel: &'static Product,
    /// `(distro id, product, branch of the product, kernel branch, weight)`.
    distros: Vec<(&'static str, &'static Product, usize, usize, f64)>,
    /// Configuration samples for Windows, macOS, Linux.
    settings: [Vec<ConfSample>; 3],
}

struct ConfSample {
    compliant: Vec<(String, String)>,
    noncompliant: Vec<(String, String)>,
    rate: f64,
    /// `(setting, value making it applicable, value making it not, chance of applicable)`.
    applies: Option<(String, String, String, f64)>,
}

fn os_index(kind: OsKind) -> usize {
    match kind {
        OsKind::Windows => 0,
        OsKind::Mac => 1,
        OsKind::Linux => 2,
    }
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let get =
        |v: &str, n: &str| Product::find(v, n).unwrap_or_else(|| panic!("catalogue lacks {v} {n}"));
    let catalog = Catalog::embedded().expect("the embedded configuration catalogue is valid");
    let mut settings: [Vec<ConfSample>; 3] = Default::default();
    for kind in [OsKind::Windows, OsKind::Mac, OsKind::Linux] {
        for (_, conf) in catalog.for_os(kind) {
            let Some(s) = &conf.samples else { continue };
            let applies = match &conf.applies_when {
                Some(Rule::Setting(t)) => t.eq.as_ref().map(|yes| {
                    let no = if yes == "0" { "1" } else { "0" };
                    let p = match t.setting.as_str() {
                        "Hardware.TpmPresent" => 0.92,
                        "Hardware.VbsCapable" => 0.8,
                        "sshd.Installed" => 0.85,
                        _ => 0.9,
                    };
                    (t.setting.clone(), yes.clone(), no.to_owned(), p)
                }),
                _ => None,
            };
            let pairs = |m: &BTreeMap<String, String>| {
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            settings[os_index(kind)].push(ConfSample {
                compliant: pairs(&s.compliant),
                noncompliant: pairs(&s.noncompliant),
                rate: s.compliance_rate.clamp(0.0, 1.0),
                applies,
            });
        }
    }
    let ubuntu = get("canonical", "ubuntu_linux");
    let debian = get("debian", "debian_linux");
    let rhel = get("redhat", "enterprise_linux");
    Tables {
        installable: catalogue()
            .iter()
            .filter(|p| !p.is_os && p.prevalence.iter().any(|x| *x > 0.0))
            .collect(),
        win10: get("microsoft", "windows_10"),
        win11: get("microsoft", "windows_11"),
        server: [
            (
                get("microsoft", "windows_server_2016"),
                "WindowsServer2016",
                0.2,
            ),
            (
                get("microsoft", "windows_server_2019"),
                "WindowsServer2019",
                0.4,
            ),
            (
                get("microsoft", "windows_server_2022"),
                "WindowsServer2022",
                0.4,
            ),
        ],
        macos: get("apple", "macos"),
        kernel: get("linux", "linux_kernel"),
        // Kernel branches: 4.18 (RHEL 8), 5.4, 5.10, 5.14 (RHEL 9), 5.15, 6.1, 6.8.
        distros: vec![
            ("ubuntu", ubuntu, 0, 1, 0.15),
            ("ubuntu", ubuntu, 1, 4, 0.30),
            ("ubuntu", ubuntu, 2, 6, 0.15),
            ("debian", debian, 0, 2, 0.07),
            ("debian", debian, 1, 5, 0.13),
            ("rhel", rhel, 0, 0, 0.08),
            ("rhel", rhel, 1, 3, 0.12),
        ],
        settings,
    }
});

// Defender version lines, oldest first; the last is current.
const DEFENDER_ENGINE: [&str; 10] = [
    "1.1.23110.2",
    "1.1.24010.10",
    "1.1.24020.9",
    "1.1.24030.4",
    "1.1.24040.1",
    "1.1.24050.5",
    "1.1.24060.5",
    "1.1.24070.3",
    "1.1.24080.9",
    "1.1.24090.11",
];
const DEFENDER_PLATFORM: [&str; 10] = [
    "4.18.23110.3",
    "4.18.24010.12",
    "4.18.24020.7",
    "4.18.24030.9",
    "4.18.24040.4",
    "4.18.24050.7",
    "4.18.24060.7",
    "4.18.24070.5",
    "4.18.24080.9",
    "4.18.24090.11",
];
const MAC_PLATFORM: [&str; 8] = [
    "101.24022.0005",
    "101.24032.0007",
    "101.24042.0002",
    "101.24052.0002",
    "101.24062.0010",
    "101.24072.0001",
    "101.24082.0004",
    "101.24092.0002",
];
const LINUX_PLATFORM: [&str; 7] = [
    "101.23082.0011",
    "101.24032.0007",
    "101.24042.0002",
    "101.24052.0002",
    "101.24062.0000",
    "101.24072.0001",
    "101.24082.0004",
];
const SCAN_ERRORS: [&str; 4] = ["0x80508023", "0x80004005", "0x80508026", "0x8050800c"];

// ---------------------------------------------------------------------------

struct Generator {
    rng: ChaCha8Rng,
    now: DateTime<Utc>,
    index: u32,
}

/// Mean-preserving pull of a rate towards a device's hygiene `h` in 0..1:
/// a clean device (h near 1) complies more often, a neglected one less, and
/// over the fleet (h uniform) the rate stays `p`.
fn modulate(p: f64, h: f64) -> f64 {
    (p + (2.0 * h - 1.0) * 0.9 * p.min(1.0 - p)).clamp(0.0, 1.0)
}

impl Generator {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    fn pick_weighted<T: Copy>(&mut self, items: &[(T, f64)]) -> T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.rng.random::<f64>() * total;
        for (item, w) in items {
            if x < *w {
                return *item;
            }
            x -= w;
        }
        items.last().expect("pick_weighted on a non-empty table").0
    }

    /// A release index in `0..len`, skewed to the newest: each step back is
    /// taken with probability `1 - q`; a few neglected installs sit anywhere.
    fn pick_release(&mut self, len: usize, q: f64, neglect: f64) -> usize {
        if len <= 1 {
            return 0;
        }
        if self.chance(neglect) {
            return self.rng.random_range(0..len);
        }
        let mut back = 0;
        while back < len - 1 && !self.chance(q) {
            back += 1;
        }
        len - 1 - back
    }

    /// A release line by weight (never `except`; the product has at least two
    /// lines when `except` is given).
    fn pick_branch(&mut self, product: &Product, except: Option<usize>) -> usize {
        let lines = product.branches.len();
        if lines == 1 {
            return 0;
        }
        let weight = |i: usize| {
            if Some(i) == except {
                0.0
            } else {
                f64::from(product.branches[i].weight)
            }
        };
        let total: f64 = (0..lines).map(weight).sum();
        let mut x = self.rng.random::<f64>() * total;
        for i in 0..lines {
            let w = weight(i);
            if x < w {
                return i;
            }
            x -= w;
        }
        (0..lines).rev().find(|&i| Some(i) != except).unwrap_or(0)
    }

    fn before(&mut self, t: DateTime<Utc>, min_secs: i64, max_secs: i64) -> DateTime<Utc> {
        t - Duration::milliseconds(self.rng.random_range(min_secs * 1000..=max_secs * 1000))
    }

    /// The first draws of [`Self::device`]: who the device is, where, and in which group.
    /// [`device_key`] stops here, so it costs a few draws, not a whole report.
    fn head(&mut self) -> Head {
        let mut id = [0u8; 20];
        self.rng.fill(&mut id);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(40);
        for b in id {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        let device_id = DeviceId::parse(&hex).expect("40 lower-case hex digits");

        let class = self.pick_weighted(&[
            (DeviceClass::Workstation, 0.55),
            (DeviceClass::Server, 0.15),
            (DeviceClass::Mac, 0.15),
            (DeviceClass::Linux, 0.15),
        ]);
        // Hygiene: how well the device is kept; drives compliance, patch level, AV health.
        let hygiene: f64 = self.rng.random::<f64>();
        let region = self.pick_weighted(&[("emea", 0.45), ("amer", 0.40), ("apac", 0.15)]);

        let reported_at = if self.chance(0.95) {
            self.before(self.now, 0, 48 * 3600)
        } else {
            let days = (2.0 - 9.0 * (1.0 - self.rng.random::<f64>()).ln()).min(60.0);
            self.before(
                self.now,
                (days * 86400.0) as i64,
                (days * 86400.0) as i64 + 86399,
            )
        };

        // The draw only: the name is formatted by `device`, so a key costs no string.
        let named = !self.chance(0.003);
        let group = self.group(class, region);
        Head {
            device_id,
            class,
            hygiene,
            region,
            reported_at,
            named,
            group,
        }
    }

    fn device(mut self) -> DeviceReport {
        let head = self.head();
        let (class, hygiene, reported_at) = (head.class, head.hygiene, head.reported_at);
        let prefix = match class {
            DeviceClass::Workstation => "ws",
            DeviceClass::Server => "srv",
            DeviceClass::Mac => "mac",
            DeviceClass::Linux => "lnx",
        };
        let device_name = head
            .named
            .then(|| format!("{prefix}-{:05}.{}.contoso.com", self.index, head.region));

        let mut software = Vec::with_capacity(80);
        let os = self.os(class, hygiene, &mut software);
        let kind = os.kind;
        self.installed(class, hygiene, &mut software);

        let mut settings = BTreeMap::new();
        self.settings(kind, hygiene, &mut settings);
        let av = match kind {
            OsKind::Windows => Some(self.defender(hygiene, reported_at, &mut settings)),
            OsKind::Mac | OsKind::Linux => {
                if self.chance(0.6) {
                    Some(self.mde_unix(kind, hygiene, reported_at))
                } else {
                    None
                }
            }
        };
        let facts = self.facts(class, av.is_some());
        DeviceReport {
            device_id: head.device_id,
            sequence: 1,
            reported_at,
            device_name,
            os,
            group: head.group,
            software,
            settings,
            av,
            facts,
        }
    }

    fn group(&mut self, class: DeviceClass, region: &str) -> Option<GroupRef> {
        if self.chance(0.10) {
            return None;
        }
        let regional = match region {
            "emea" => 11,
            "amer" => 27,
            _ => 35,
        };
        let id = match class {
            DeviceClass::Workstation => {
                self.pick_weighted(&[(regional, 0.7), (712, 0.2), (4415, 0.1)])
            }
            DeviceClass::Server => self.pick_weighted(&[(86, 0.85), (4415, 0.15)]),
            DeviceClass::Mac => self.pick_weighted(&[(5120, 0.5), (regional, 0.4), (4415, 0.1)]),
            DeviceClass::Linux => self.pick_weighted(&[(309, 0.6), (86, 0.3), (4415, 0.1)]),
        };
        let name = GROUPS
            .iter()
            .find(|(g, _)| *g == id)
            .map_or("TVM1", |(_, n)| n);
        Some(GroupRef {
            id,
            name: name.to_owned(),
        })
    }

    /// Patch discipline for one product on this device.
    fn freshness(&self, hygiene: f64, product: &Product) -> f64 {
        (0.2 + 0.55 * hygiene + f64::from(product.freshness)).clamp(0.05, 0.95)
    }

    fn item(
        &self,
        product: &Product,
        branch: &Branch,
        release: usize,
        kind: OsKind,
    ) -> InstalledSoftware {
        let r = &branch.releases[release];
        let path = match kind {
            OsKind::Windows => &r.windows_path,
            OsKind::Mac => &r.mac_path,
            OsKind::Linux => &r.linux_path,
        };
        let end_of_support = branch.eos.and_then(|e| {
            e.status(self.now.date_naive()).map(|status| EndOfSupport {
                status: status.to_owned(),
                date: Some(e.date),
            })
        });
        InstalledSoftware {
            vendor: product.vendor.to_owned(),
            name: product.name.to_owned(),
            version: r.version.to_owned(),
            cpe: r.cpe.clone(),
            ecosystem: None,
            disk_paths: path.iter().cloned().collect(),
            registry_paths: if kind == OsKind::Windows {
                r.registry_path.iter().cloned().collect()
            } else {
                Vec::new()
            },
            end_of_support,
            source: None,
        }
    }

    /// Picks the OS and appends it (and, on Linux, the kernel) to `software`.
    fn os(
        &mut self,
        class: DeviceClass,
        hygiene: f64,
        software: &mut Vec<InstalledSoftware>,
    ) -> OsInfo {
        let t = &*TABLES;
        let (product, platform, kind, forced_branch) = match class {
            DeviceClass::Workstation => {
                if self.chance(0.6) {
                    (t.win11, "Windows11", OsKind::Windows, None)
                } else {
                    (t.win10, "Windows10", OsKind::Windows, None)
                }
            }
            DeviceClass::Server => {
                let [a, b, c] = &t.server;
                let (p, n) =
                    self.pick_weighted(&[((a.0, a.1), a.2), ((b.0, b.1), b.2), ((c.0, c.1), c.2)]);
                (p, n, OsKind::Windows, None)
            }
            DeviceClass::Mac => (t.macos, "macOS", OsKind::Mac, None),
            DeviceClass::Linux => {
                let total: f64 = t.distros.iter().map(|d| d.4).sum();
                let mut x = self.rng.random::<f64>() * total;
                let mut d = &t.distros[0];
                for candidate in &t.distros {
                    d = candidate;
                    if x < candidate.4 {
                        break;
                    }
                    x -= candidate.4;
                }
                (d.1, "Linux", OsKind::Linux, Some(d))
            }
        };
        let branch = match forced_branch {
            Some(d) => d.2,
            None => self.pick_branch(product, None),
        };
        let b = &product.branches[branch];
        let q = self.freshness(hygiene, product);
        let release = self.pick_release(b.releases.len(), q, 0.02 * (1.0 - hygiene));
        let version = b.releases[release].version;
        software.push(self.item(product, b, release, kind));
        let architecture = match class {
            DeviceClass::Workstation if std::ptr::eq(product, t.win11) && self.chance(0.06) => {
                "arm64"
            }
            DeviceClass::Workstation if self.chance(0.02) => "x86",
            DeviceClass::Mac if self.chance(0.75) => "arm64",
            DeviceClass::Linux if self.chance(0.08) => "arm64",
            _ => "x64",
        };
        let distro = forced_branch.map(|d| Distro {
            id: d.0.to_owned(),
            version_id: version.to_owned(),
        });
        if let Some(d) = forced_branch {
            let kb = &t.kernel.branches[d.3];
            let kq = self.freshness(hygiene, t.kernel);
            let kr = self.pick_release(kb.releases.len(), kq, 0.03 * (1.0 - hygiene));
            software.push(self.item(t.kernel, kb, kr, kind));
        }
        OsInfo {
            kind,
            platform: platform.to_owned(),
            version: version.to_owned(),
            architecture: Some(architecture.to_owned()),
            distro,
        }
    }

    /// Applications (CPE and non-CPE) by prevalence.
    fn installed(
        &mut self,
        class: DeviceClass,
        hygiene: f64,
        software: &mut Vec<InstalledSoftware>,
    ) {
        let kind = match class {
            DeviceClass::Workstation | DeviceClass::Server => OsKind::Windows,
            DeviceClass::Mac => OsKind::Mac,
            DeviceClass::Linux => OsKind::Linux,
        };
        let neglect = 0.04 * (1.0 - hygiene);
        for product in &TABLES.installable {
            let p = f64::from(product.prevalence[class as usize]);
            if p <= 0.0 || !self.chance(p) {
                continue;
            }
            let q = self.freshness(hygiene, product);
            let branch = self.pick_branch(product, None);
            let b = &product.branches[branch];
            let r = self.pick_release(b.releases.len(), q, neglect);
            software.push(self.item(product, b, r, kind));
            if product.multi > 0.0 && self.chance(f64::from(product.multi)) {
                // A second install: another release line, or (single line) an
                // older release left beside the current one (x86 next to x64).
                if product.branches.len() > 1 {
                    let other = self.pick_branch(product, Some(branch));
                    let b = &product.branches[other];
                    let r = self.pick_release(b.releases.len(), q, neglect);
                    software.push(self.item(product, b, r, kind));
                } else if r > 0 {
                    let older = self.rng.random_range(0..r);
                    software.push(self.item(product, b, older, kind));
                }
            }
        }
    }

    fn settings(&mut self, kind: OsKind, hygiene: f64, settings: &mut BTreeMap<String, String>) {
        let mut decided: Vec<(&str, bool)> = Vec::new();
        for conf in &TABLES.settings[os_index(kind)] {
            if let Some((key, yes, no, p)) = &conf.applies {
                let applicable = match decided.iter().find(|(k, _)| k == key) {
                    Some((_, a)) => *a,
                    None => {
                        let a = self.chance(*p);
                        decided.push((key, a));
                        settings.insert(key.clone(), if a { yes.clone() } else { no.clone() });
                        a
                    }
                };
                if !applicable {
                    continue;
                }
            }
            let ok = self.chance(modulate(conf.rate, hygiene));
            for (k, v) in if ok {
                &conf.compliant
            } else {
                &conf.noncompliant
            } {
                settings.insert(k.clone(), v.clone());
            }
        }
    }

    fn scan(
        &mut self,
        reported_at: DateTime<Utc>,
        completed: f64,
        failed: f64,
        canceled: f64,
        max_days: i64,
    ) -> Option<ScanResult> {
        let x = self.rng.random::<f64>();
        let status = if x < completed {
            "Completed"
        } else if x < completed + failed {
            "Failed"
        } else if x < completed + failed + canceled {
            "Canceled"
        } else {
            return None;
        };
        let error = (status == "Failed")
            .then(|| SCAN_ERRORS[self.rng.random_range(0..SCAN_ERRORS.len())].to_owned());
        let time = self.before(reported_at, 600, max_days * 86400);
        Some(ScanResult {
            status: status.to_owned(),
            error,
            time,
        })
    }

    /// Signature age in seconds: current for most, a stale tail (days to weeks).
    fn signature_age(&mut self, stale: bool, hygiene: f64) -> i64 {
        if stale {
            let days = 8.0 - 12.0 * (1.0 - self.rng.random::<f64>()).ln();
            (days.min(120.0) * 86400.0) as i64 + self.rng.random_range(0..86400)
        } else {
            let max_h = 6.0 + 60.0 * (1.0 - hygiene);
            (self.rng.random::<f64>() * max_h * 3600.0) as i64
        }
    }

    fn signature_version(age_secs: i64) -> String {
        // About four signature builds a day, counted back from 1.421.1540.0.
        let total = 421i64 * 2000 + 1540 - age_secs / (6 * 3600);
        format!("1.{}.{}.0", total / 2000, total % 2000)
    }

    /// Microsoft Defender Antivirus on Windows, consistent with the Defender settings.
    fn defender(
        &mut self,
        hygiene: f64,
        reported_at: DateTime<Utc>,
        settings: &mut BTreeMap<String, String>,
    ) -> AvState {
        let enabled = settings
            .get("Defender.AntivirusEnabled")
            .is_none_or(|v| v != "0");
        let mode = if enabled {
            if self.chance(0.01) { None } else { Some(0) }
        } else {
            Some(self.pick_weighted(&[(1u8, 0.55), (2, 0.35), (4, 0.10)]))
        };
        let stale = match settings
            .get("Defender.SignatureAgeDays")
            .and_then(|v| v.parse::<f64>().ok())
        {
            Some(days) => days > 7.0,
            None => self.chance(0.1 + 0.1 * (1.0 - hygiene)),
        };
        let age = self.signature_age(stale, hygiene);
        if settings.contains_key("Defender.SignatureAgeDays") {
            settings.insert(
                "Defender.SignatureAgeDays".to_owned(),
                (age / 86400).to_string(),
            );
        }
        let cloud = match settings.get("Defender.CloudProtection").map(String::as_str) {
            Some("1" | "2") => "Enabled",
            Some(_) if self.chance(0.3) => "NotConfigured",
            Some(_) => "Disabled",
            None => "Enabled",
        };
        let q = 0.55 + 0.35 * hygiene - if stale { 0.3 } else { 0.0 };
        let engine = self.pick_release(DEFENDER_ENGINE.len(), q, 0.01);
        let platform = if self.chance(0.85) {
            engine
        } else {
            self.pick_release(DEFENDER_PLATFORM.len(), q, 0.01)
        };
        let disabled = mode == Some(2);
        self.av_state(AvLines {
            mode,
            engine: DEFENDER_ENGINE[engine],
            engine_behind: DEFENDER_ENGINE.len() - 1 - engine,
            platform: DEFENDER_PLATFORM[platform],
            platform_behind: DEFENDER_PLATFORM.len() - 1 - platform,
            sig_age: age,
            cloud,
            reported_at,
            scans: if disabled {
                (0.15, 0.05, 0.05, 0.05)
            } else {
                (0.76, 0.06, 0.05, 0.30)
            },
        })
    }

    /// Microsoft Defender for Endpoint on macOS or Linux.
    fn mde_unix(&mut self, kind: OsKind, hygiene: f64, reported_at: DateTime<Utc>) -> AvState {
        let line: &[&str] = if kind == OsKind::Mac {
            &MAC_PLATFORM
        } else {
            &LINUX_PLATFORM
        };
        let mode = if kind == OsKind::Linux {
            self.pick_weighted(&[(Some(0u8), 0.78), (Some(1), 0.18), (None, 0.04)])
        } else {
            self.pick_weighted(&[(Some(0u8), 0.9), (Some(1), 0.07), (None, 0.03)])
        };
        let stale = self.chance(0.12 * (1.5 - hygiene));
        let age = self.signature_age(stale, hygiene);
        let q = 0.5 + 0.35 * hygiene;
        let platform = self.pick_release(line.len(), q, 0.02);
        let engine = self.pick_release(DEFENDER_ENGINE.len(), q, 0.02);
        let cloud = if self.chance(0.9) {
            "Enabled"
        } else {
            "Disabled"
        };
        self.av_state(AvLines {
            mode,
            engine: DEFENDER_ENGINE[engine],
            engine_behind: DEFENDER_ENGINE.len() - 1 - engine,
            platform: line[platform],
            platform_behind: line.len() - 1 - platform,
            sig_age: age,
            cloud,
            reported_at,
            scans: (0.5, 0.04, 0.03, 0.08),
        })
    }

    fn av_state(&mut self, l: AvLines) -> AvState {
        const MONTH: i64 = 30 * 86400;
        let engine_at = self.before(
            l.reported_at,
            l.engine_behind as i64 * MONTH,
            l.engine_behind as i64 * MONTH + 20 * 86400,
        );
        let platform_at = self.before(
            l.reported_at,
            l.platform_behind as i64 * MONTH,
            l.platform_behind as i64 * MONTH + 25 * 86400,
        );
        let sig_at = l.reported_at - Duration::seconds(l.sig_age);
        let published = self.before(sig_at, 600, 8 * 3600);
        let (qc, f, c, fc) = l.scans;
        let quick_scan = self.scan(l.reported_at, qc, f, c, 7);
        let full_scan = self.scan(l.reported_at, fc, f / 2.0, c / 2.0, 30);
        AvState {
            mode: l.mode,
            engine_version: Some(l.engine.to_owned()),
            platform_version: Some(l.platform.to_owned()),
            signature_version: Some(Self::signature_version(l.sig_age)),
            engine_updated_at: Some(engine_at),
            platform_updated_at: Some(platform_at),
            signature_updated_at: Some(sig_at),
            signature_published_at: Some(published),
            cloud_protection: Some(l.cloud.to_owned()),
            quick_scan,
            full_scan,
        }
    }

    fn facts(&mut self, class: DeviceClass, has_av: bool) -> BTreeMap<String, serde_json::Value> {
        let mut facts = BTreeMap::new();
        let put = |facts: &mut BTreeMap<String, serde_json::Value>, k: &str, v: &str| {
            facts.insert(k.to_owned(), serde_json::Value::String(v.to_owned()));
        };
        match class {
            DeviceClass::Workstation | DeviceClass::Server => {
                let legacy = self.pick_weighted(&[
                    ("Disabled", 0.45),
                    ("Enabled", 0.15),
                    ("NotConfigured", 0.40),
                ]);
                put(&mut facts, "TlsClient10", legacy);
                put(&mut facts, "TlsServer10", legacy);
                let legacy = self.pick_weighted(&[
                    ("Disabled", 0.45),
                    ("Enabled", 0.15),
                    ("NotConfigured", 0.40),
                ]);
                put(&mut facts, "TlsClient11", legacy);
                put(&mut facts, "TlsServer11", legacy);
                let tls12 = self.pick_weighted(&[
                    ("Enabled", 0.6),
                    ("NotConfigured", 0.38),
                    ("Disabled", 0.02),
                ]);
                put(&mut facts, "TlsClient12", tls12);
                put(&mut facts, "TlsServer12", tls12);
                let ssl3 = self.pick_weighted(&[("Disabled", 0.6), ("NotConfigured", 0.4)]);
                put(&mut facts, "SslClient30", ssl3);
                put(&mut facts, "SslServer30", ssl3);
                let strong = self.pick_weighted(&[("Enabled", 0.65), ("NotConfigured", 0.35)]);
                put(&mut facts, "SchUseStrongCrypto40", strong);
                put(&mut facts, "SchUseStrongCrypto40Wow6432", strong);
                let sdtv = self.pick_weighted(&[("Enabled", 0.55), ("NotConfigured", 0.45)]);
                put(&mut facts, "SystemDefaultTlsVersions40", sdtv);
                let log4j =
                    self.pick_weighted(&[("false", 0.75), ("true", 0.2), ("RebootRequired", 0.05)]);
                put(&mut facts, "Log4JEnvironmentVariableMitigation", log4j);
                let ltsc = class == DeviceClass::Workstation && self.chance(0.03);
                put(
                    &mut facts,
                    "IsWindowsLtscVersionRunning",
                    if ltsc { "true" } else { "false" },
                );
            }
            DeviceClass::Linux if has_av => {
                let ebpf = if self.chance(0.85) {
                    "Enabled"
                } else {
                    "Disabled"
                };
                put(&mut facts, "EBPFStatus", ebpf);
            }
            _ => {}
        }
        facts
    }
}

struct AvLines {
    mode: Option<u8>,
    engine: &'static str,
    engine_behind: usize,
    platform: &'static str,
    platform_behind: usize,
    sig_age: i64,
    cloud: &'static str,
    reported_at: DateTime<Utc>,
    /// Chances of quick scan completed, failed, canceled; full scan completed.
    scans: (f64, f64, f64, f64),
}
