//! A synthetic knowledge base over the product catalogue: an NVD CVE API 2.0
//! document and a CISA-KEV-shaped catalogue, both deterministic from
//! `(seed, now)`.
//!
//! # Model
//!
//! Every CPE product of [`crate::products`] with a CVE density gets about
//! `density × releases × SCALE` records. A record has a **fix point** `u` in
//! 0..1 (its place in the product's history, which also dates it: `u = 1` is
//! published just before `now`, `u = 0` two years earlier). On each release
//! line the record is fixed by the release at that relative position, written
//! as `versionEndExcluding` (so the assessment can recommend that real, later
//! version), sometimes as the equivalent `versionEndIncluding` of the last
//! vulnerable release. A record usually affects every line (one range per line,
//! `versionStartIncluding` the line's first release); some start at a later
//! line or mid-line. A line past its end of support when the record is
//! published gets no fix: `versionEndIncluding` its last release. The newest
//! release of a maintained line is never vulnerable, so well-patched devices
//! are clean and stale ones accumulate rows.
//!
//! Shapes seen in real NVD data appear too: exact-version criteria (a few
//! listed releases, no range), records that also cover a companion product
//! (Chrome and Edge, curl and libcurl, JRE and JDK, ...), `AND`
//! configurations whose second node is a `vulnerable: false` platform
//! (`cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*` or `apple:macos`),
//! sometimes listed first, CVSS v3.1 metrics with scores computed from the
//! vector by the CVSS formulas, a few old v2-only records, CWE weaknesses,
//! references some of which are tagged `Exploit`, and NVD's `cisa*` fields
//! on the records that are also in the KEV catalogue (a few percent).
//!
//! Ids are `CVE-<year>-9NNNNNN`: seven digits starting with 9, a range no real
//! CVE uses, numbered in publication order. Descriptions start with
//! `[SYNTHETIC] `; every source is `synthetic@posture.invalid` and every URL is
//! under `posture.invalid`.
//!
//! `SCALE` is tuned so that assessing the synthetic fleet yields on average
//! about 100 vulnerability rows (device × software × CVE) per device.

use crate::products::{DeviceClass, Part, Product, catalogue, cpe23};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use model::DeviceReport;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;

/// The two feed documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntheticFeeds {
    /// NVD CVE API 2.0 JSON (`{"resultsPerPage", ..., "vulnerabilities": [{"cve": ...}]}`).
    pub nvd: Vec<u8>,
    /// CISA KEV catalogue JSON.
    pub kev: Vec<u8>,
}

/// The `sourceIdentifier` (and metric/reference source) of every synthetic record.
pub const SOURCE: &str = "synthetic@posture.invalid";

/// The platform criteria of Windows-only records (NVD's own spelling).
pub const WINDOWS_PLATFORM: &str = "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*";
/// The platform criteria of macOS-only records.
pub const MACOS_PLATFORM: &str = "cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*";

/// Records per release and unit of product density; tuned for ≈100 rows/device.
const SCALE: f64 = 1.7;

/// Builds both documents.
pub fn synthetic_feeds(seed: u64, now: DateTime<Utc>) -> SyntheticFeeds {
    let cves = synthesize(seed, now);
    SyntheticFeeds {
        nvd: render_nvd(&cves, now),
        kev: render_kev(&cves, now),
    }
}

/// The platform CPEs of a device as the synthetic KB expects a matcher to be
/// given them: the device's operating-system CPEs (`o:` software of the
/// report: the OS, and on Linux the kernel) plus, on Windows, NVD's generic
/// family name [`WINDOWS_PLATFORM`] (a device CPE says `windows_11`, which
/// does not match `microsoft:windows`).
pub fn platform_cpes(report: &DeviceReport) -> Vec<String> {
    let mut out: Vec<String> = report
        .software
        .iter()
        .filter_map(|s| s.cpe.as_ref())
        .filter(|c| c.starts_with("cpe:2.3:o:"))
        .cloned()
        .collect();
    if report.os.kind == model::OsKind::Windows {
        out.push(WINDOWS_PLATFORM.to_owned());
    }
    out
}

// ---------------------------------------------------------------------------
// The records, before rendering.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Windows,
    Mac,
}

#[derive(Clone, Debug)]
struct Crit {
    criteria: String,
    start_including: Option<&'static str>,
    end_including: Option<&'static str>,
    end_excluding: Option<&'static str>,
    /// Catalogue product and (for the internal estimate) the inclusive range of
    /// flattened release indexes that the criteria covers.
    product: usize,
    #[cfg_attr(not(test), allow(dead_code))]
    lo: usize,
    #[cfg_attr(not(test), allow(dead_code))]
    hi: usize,
}

#[derive(Clone, Debug)]
struct Kev {
    added: NaiveDate,
    due: NaiveDate,
    ransomware: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct Synth {
    id: String,
    published: NaiveDateTime,
    last_modified: NaiveDateTime,
    status: &'static str,
    profile: &'static Profile,
    v2_only: bool,
    product: usize,
    component: &'static str,
    input: &'static str,
    crits: Vec<Crit>,
    platform: Option<(Platform, bool)>,
    exploit: bool,
    kev: Option<Kev>,
}

#[derive(Debug)]
pub(crate) struct Profile {
    pub(crate) cwe: &'static str,
    pub(crate) vector: &'static str,
    /// KEV-style vulnerability kind.
    pub(crate) kind: &'static str,
    /// Description after the product: `{c}` component, `{i}` input.
    pub(crate) text: &'static str,
    pub(crate) weight: f64,
}

pub(crate) static PROFILES: [Profile; 14] = [
    Profile {
        cwe: "CWE-787",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        kind: "Out-of-Bounds Write",
        text: "contains an out-of-bounds write in {c} that allows a remote attacker to execute arbitrary code via {i}.",
        weight: 16.0,
    },
    Profile {
        cwe: "CWE-416",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
        kind: "Use-After-Free",
        text: "contains a use-after-free in {c} that allows a remote attacker to potentially exploit heap corruption via {i}.",
        weight: 14.0,
    },
    Profile {
        cwe: "CWE-269",
        vector: "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
        kind: "Privilege Escalation",
        text: "has improper privilege management in {c} that allows a local user to gain elevated privileges.",
        weight: 12.0,
    },
    Profile {
        cwe: "CWE-200",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        kind: "Information Disclosure",
        text: "exposes sensitive information in {c} to an unauthenticated remote attacker via {i}.",
        weight: 8.0,
    },
    Profile {
        cwe: "CWE-400",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
        kind: "Denial-of-Service",
        text: "has uncontrolled resource consumption in {c} that allows a remote attacker to cause a denial of service via {i}.",
        weight: 10.0,
    },
    Profile {
        cwe: "CWE-79",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
        kind: "Cross-Site Scripting",
        text: "does not neutralize input in {c}, which allows cross-site scripting via {i}.",
        weight: 5.0,
    },
    Profile {
        cwe: "CWE-22",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        kind: "Path Traversal",
        text: "has a path traversal in {c} that allows writing files outside the intended directory via {i}.",
        weight: 6.0,
    },
    Profile {
        cwe: "CWE-20",
        vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:N",
        kind: "Improper Input Validation",
        text: "improperly validates input in {c}, which allows a remote attacker to spoof content via {i}.",
        weight: 6.0,
    },
    Profile {
        cwe: "CWE-122",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        kind: "Heap-Based Buffer Overflow",
        text: "has a heap-based buffer overflow in {c} that allows an unauthenticated remote attacker to execute arbitrary code via {i}.",
        weight: 5.0,
    },
    Profile {
        cwe: "CWE-94",
        vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H",
        kind: "Code Injection",
        text: "allows code injection in {c}, letting a remote attacker escape the sandbox via {i}.",
        weight: 4.0,
    },
    Profile {
        cwe: "CWE-476",
        vector: "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
        kind: "NULL Pointer Dereference",
        text: "has a NULL pointer dereference in {c} that allows an attacker to crash the application via {i}.",
        weight: 6.0,
    },
    Profile {
        cwe: "CWE-295",
        vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
        kind: "Improper Certificate Validation",
        text: "improperly validates certificates in {c}, which allows a machine-in-the-middle attacker to intercept traffic.",
        weight: 3.0,
    },
    Profile {
        cwe: "NVD-CWE-noinfo",
        vector: "CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:L",
        kind: "Unspecified",
        text: "has an unspecified vulnerability in {c} that allows an authenticated attacker to affect confidentiality, integrity and availability.",
        weight: 3.0,
    },
    Profile {
        cwe: "CWE-362",
        vector: "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H",
        kind: "Race Condition",
        text: "has a race condition in {c} that allows a local attacker to gain elevated privileges.",
        weight: 4.0,
    },
];

pub(crate) const COMPONENTS: [&str; 12] = [
    "the file parser",
    "the network protocol handler",
    "the installer",
    "the update service",
    "the scripting engine",
    "the image decoder",
    "the authentication module",
    "the command-line interface",
    "the TLS implementation",
    "the configuration loader",
    "the archive extractor",
    "the IPC layer",
];
pub(crate) const INPUTS: [&str; 8] = [
    "a crafted file",
    "a crafted network packet",
    "a malicious web page",
    "a crafted archive",
    "a crafted document",
    "a specially crafted request",
    "a malicious URL",
    "crafted command-line arguments",
];

/// `(product, companion, chance)`: a record of the product also covers the companion.
const COMPANIONS: [(&str, &str, f64); 8] = [
    ("chrome", "edge_chromium", 0.35),
    ("curl", "libcurl", 0.7),
    ("jre", "jdk", 0.85),
    ("jre", "openjdk", 0.4),
    ("firefox", "firefox_esr", 0.4),
    ("firefox", "thunderbird", 0.25),
    (".net", "asp.net_core", 0.3),
    ("acrobat_reader_dc", "acrobat_dc", 0.9),
];

struct Ctx<'a> {
    rng: ChaCha8Rng,
    now: DateTime<Utc>,
    products: &'a [Product],
}

/// The release line offsets of a product in its flattened release list.
fn offsets(p: &Product) -> Vec<usize> {
    let mut off = Vec::with_capacity(p.branches.len());
    let mut n = 0;
    for b in &p.branches {
        off.push(n);
        n += b.releases.len();
    }
    off
}

fn release_count(p: &Product) -> usize {
    p.branches.iter().map(|b| b.releases.len()).sum()
}

impl Ctx<'_> {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random::<f64>() < p
    }

    /// The date a record with fix point `u` is published.
    fn date_of(&mut self, u: f64) -> NaiveDateTime {
        let back =
            (1.0 - u) * 720.0 * 86400.0 + self.rng.random_range(2.0 * 3600.0..20.0 * 86400.0);
        (self.now - Duration::seconds(back as i64)).naive_utc()
    }

    /// Range criteria for product `pi` at fix point `u`, from line `intro`
    /// (optionally starting mid-line at `start` within it).
    fn ranges(
        &mut self,
        pi: usize,
        u: f64,
        intro: usize,
        start: Option<usize>,
        published: NaiveDate,
    ) -> Vec<Crit> {
        let p = &self.products[pi];
        let Some(part) = p.part else {
            return Vec::new();
        };
        let any = cpe23(part, p.vendor, p.name, "*");
        let off = offsets(p);
        let mut out = Vec::new();
        let including_style = self.chance(0.15);
        for (b, branch) in p.branches.iter().enumerate().skip(intro) {
            let rel = &branch.releases;
            let len = rel.len();
            let s = if b == intro {
                start.unwrap_or(0).min(len - 1)
            } else {
                0
            };
            let open_start = b == 0 && s == 0;
            let start_including = (!open_start).then_some(rel[s].version);
            let unsupported = branch.eos.is_some_and(|e| e.date < published);
            let (end_including, end_excluding, hi) = if unsupported {
                (Some(rel[len - 1].version), None, len - 1)
            } else if len >= 2 {
                let f = (1 + (u * (len - 1) as f64) as usize).clamp(1, len - 1);
                if s >= f {
                    continue;
                }
                if including_style {
                    (Some(rel[f - 1].version), None, f - 1)
                } else {
                    (None, Some(rel[f].version), f - 1)
                }
            } else {
                continue;
            };
            out.push(Crit {
                criteria: any.clone(),
                start_including,
                end_including,
                end_excluding,
                product: pi,
                lo: off[b] + s,
                hi: off[b] + hi,
            });
        }
        out
    }

    /// Exact-version criteria: one to three consecutive releases of one line,
    /// never its newest.
    fn exact(&mut self, pi: usize) -> Vec<Crit> {
        let p = &self.products[pi];
        let Some(part) = p.part else {
            return Vec::new();
        };
        let lines: Vec<usize> = (0..p.branches.len())
            .filter(|&b| p.branches[b].releases.len() >= 2)
            .collect();
        if lines.is_empty() {
            return Vec::new();
        }
        let b = lines[self.rng.random_range(0..lines.len())];
        let rel = &p.branches[b].releases;
        let end = self.rng.random_range(0..rel.len() - 1);
        let k = self.rng.random_range(1..=3usize).min(end + 1);
        let off = offsets(p)[b];
        (end + 1 - k..=end)
            .map(|i| Crit {
                criteria: cpe23(part, p.vendor, p.name, rel[i].version),
                start_including: None,
                end_including: None,
                end_excluding: None,
                product: pi,
                lo: off + i,
                hi: off + i,
            })
            .collect()
    }

    fn record(&mut self, pi: usize) -> Option<Synth> {
        let p = &self.products[pi];
        let v2_only = self.chance(0.04);
        let u = if v2_only {
            self.rng.random::<f64>() * 0.15
        } else {
            self.rng.random::<f64>()
        };
        let published = if v2_only {
            let back = self.rng.random_range(8.0 * 365.0..10.0 * 365.0) * 86400.0;
            (self.now - Duration::seconds(back as i64)).naive_utc()
        } else {
            self.date_of(u)
        };
        let day = published.date();
        let mut crits = if !v2_only && self.chance(0.08) {
            self.exact(pi)
        } else {
            let lines = p.branches.len();
            let intro = if lines > 1 && self.chance(0.35) {
                self.rng.random_range(0..lines)
            } else {
                0
            };
            let start = if self.chance(0.2) {
                let len = p.branches[intro].releases.len();
                Some(self.rng.random_range(0..len))
            } else {
                None
            };
            self.ranges(pi, u, intro, start, day)
        };
        if crits.is_empty() {
            return None;
        }
        if !v2_only {
            for (name, companion, chance) in COMPANIONS {
                if p.name == name && self.chance(chance) {
                    let ci = self
                        .products
                        .iter()
                        .position(|q| q.name == companion && q.has_cpe());
                    if let Some(ci) = ci {
                        let extra = self.ranges(ci, u, 0, None, day);
                        crits.extend(extra);
                    }
                }
            }
        }
        let prev = p.prevalence;
        let on_windows = prev[DeviceClass::Workstation as usize] > 0.0
            || prev[DeviceClass::Server as usize] > 0.0;
        let elsewhere =
            prev[DeviceClass::Mac as usize] > 0.0 || prev[DeviceClass::Linux as usize] > 0.0;
        // Windows-only bugs of cross-platform apps (and, as NVD sometimes
        // does, of Windows-only apps), a few macOS-only ones.
        let windows_only = if elsewhere { 0.15 } else { 0.08 };
        let platform = if p.part != Some(Part::Application) || !on_windows {
            None
        } else if self.chance(windows_only) {
            Some(Platform::Windows)
        } else if prev[DeviceClass::Mac as usize] > 0.0 && self.chance(0.04) {
            Some(Platform::Mac)
        } else {
            None
        };
        let platform = platform.map(|pl| (pl, self.chance(0.2)));
        let total: f64 = PROFILES.iter().map(|p| p.weight).sum();
        let mut x = self.rng.random::<f64>() * total;
        let mut profile = &PROFILES[0];
        for pr in &PROFILES {
            if x < pr.weight {
                profile = pr;
                break;
            }
            x -= pr.weight;
        }
        let score = cvss31(profile.vector).0;
        let exploit = self.chance(if score >= 9.0 { 0.3 } else { 0.08 });
        let kev_chance =
            0.012 + if score >= 7.0 { 0.01 } else { 0.0 } + if exploit { 0.15 } else { 0.0 };
        let kev = if self.chance(kev_chance) {
            // The catalogue opened on 2021-11-03 with a backlog of older CVEs.
            let mut added = day + Duration::days(self.rng.random_range(0..45));
            if added < KEV_START {
                added = KEV_START + Duration::days(self.rng.random_range(0..400));
            }
            let added = added.min(self.now.date_naive()).max(day);
            let due = added + Duration::days(if self.chance(0.8) { 21 } else { 14 });
            Some(Kev {
                added,
                due,
                ransomware: self.chance(0.15),
            })
        } else {
            None
        };
        let status = if v2_only {
            "Modified"
        } else {
            *[
                ("Analyzed", 0.55),
                ("Modified", 0.40),
                ("Undergoing Analysis", 0.05),
            ]
            .iter()
            .scan(self.rng.random::<f64>(), |x, (s, w)| {
                let hit = *x < *w;
                *x -= w;
                Some((s, hit))
            })
            .find(|(_, hit)| *hit)
            .map_or(&"Analyzed", |(s, _)| s)
        };
        let modified_after = if status == "Modified" {
            self.rng.random_range(30 * 86400..400 * 86400)
        } else {
            self.rng.random_range(3600..20 * 86400)
        };
        let last_modified = (published + Duration::seconds(modified_after))
            .min(self.now.naive_utc())
            .max(published);
        let component = COMPONENTS[self.rng.random_range(0..COMPONENTS.len())];
        let input = INPUTS[self.rng.random_range(0..INPUTS.len())];
        Some(Synth {
            id: String::new(),
            published,
            last_modified,
            status,
            profile,
            v2_only,
            product: pi,
            component,
            input,
            crits,
            platform,
            exploit,
            kev,
        })
    }
}

/// All synthetic records, in publication order, with ids assigned.
pub(crate) fn synthesize(seed: u64, now: DateTime<Utc>) -> Vec<Synth> {
    let products = catalogue();
    let mut all = Vec::new();
    for (pi, p) in products.iter().enumerate() {
        if !p.has_cpe() || p.cve_density <= 0.0 {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6b62_5f73_796e_7468);
        rng.set_stream(pi as u64);
        let mut ctx = Ctx { rng, now, products };
        let n = (SCALE * f64::from(p.cve_density) * release_count(p) as f64).round() as usize;
        for _ in 0..n {
            if let Some(r) = ctx.record(pi) {
                all.push(r);
            }
        }
    }
    // Stable sort: ties keep catalogue order, so the result is deterministic.
    all.sort_by_key(|r| r.published);
    for (seq, r) in all.iter_mut().enumerate() {
        r.id = format!("CVE-{}-9{:06}", r.published.format("%Y"), seq + 1);
    }
    all
}

// ---------------------------------------------------------------------------
// CVSS.

pub(crate) fn metric<'v>(vector: &'v str, key: &str) -> &'v str {
    vector
        .split('/')
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix(':')))
        .unwrap_or("N")
}

/// CVSS v3.1 base score, exploitability and impact sub-scores of one of the profiles'
/// vectors (constants of this module, all valid; the tests score every profile).
pub(crate) fn cvss31(vector: &str) -> (f64, f64, f64) {
    let scores = match kb::cvss::scores_v3(vector) {
        Ok((scores, _)) => scores,
        Err(e) => panic!("synthetic profile vector: {e}"),
    };
    (scores.base, scores.exploitability, scores.impact)
}

/// The CVSS v2 vector corresponding to a v3.1 vector, and its scores.
pub(crate) fn cvss2(v3: &str) -> (String, f64, f64, f64) {
    let av = match metric(v3, "AV") {
        "N" => "N",
        "A" => "A",
        _ => "L",
    };
    let ac = if metric(v3, "AC") == "L" { "L" } else { "M" };
    let au = if metric(v3, "PR") == "N" { "N" } else { "S" };
    let cia = |k| match metric(v3, k) {
        "H" => "C",
        "L" => "P",
        _ => "N",
    };
    let (c, i, a) = (cia("C"), cia("I"), cia("A"));
    let vector = format!("AV:{av}/AC:{ac}/Au:{au}/C:{c}/I:{i}/A:{a}");
    let scores = match kb::cvss::scores_v2(&vector) {
        Ok(scores) => scores,
        Err(e) => panic!("mapped v2 vector: {e}"),
    };
    (vector, scores.base, scores.exploitability, scores.impact)
}

pub(crate) fn word(vector: &str, key: &str) -> &'static str {
    match (key, metric(vector, key)) {
        ("AV", "N") => "NETWORK",
        ("AV", "A") => "ADJACENT_NETWORK",
        ("AV", "L") => "LOCAL",
        ("AV", _) => "PHYSICAL",
        ("AC" | "PR" | "C" | "I" | "A", "L") => "LOW",
        ("AC" | "PR" | "C" | "I" | "A", "H") => "HIGH",
        ("UI", "R") => "REQUIRED",
        ("S", "C") => "CHANGED",
        ("S", _) => "UNCHANGED",
        _ => "NONE",
    }
}

pub(crate) fn word2(v2: &str, key: &str) -> &'static str {
    match (key, metric(v2, key)) {
        ("AV", "N") => "NETWORK",
        ("AV", "A") => "ADJACENT_NETWORK",
        ("AV", _) => "LOCAL",
        ("AC", "L") => "LOW",
        ("AC", "M") => "MEDIUM",
        ("AC", _) => "HIGH",
        ("Au", "N") => "NONE",
        ("Au", "S") => "SINGLE",
        ("Au", _) => "MULTIPLE",
        (_, "C") => "COMPLETE",
        (_, "P") => "PARTIAL",
        _ => "NONE",
    }
}

// ---------------------------------------------------------------------------
// Rendering (hand-written JSON, in NVD's key order).

pub(crate) fn q(s: &str) -> String {
    serde_json::to_string(s).expect("serialising a string cannot fail")
}

pub(crate) fn ts(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// A GUID-shaped id derived from text (NVD's matchCriteriaId is one per distinct criteria+range).
pub(crate) fn guid(text: &str) -> String {
    let hash = |salt: u64| {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        for b in text.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let (a, b) = (hash(3), hash(4));
    format!(
        "{:08X}-{:04X}-{:04X}-{:04X}-{:012X}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn affected_text(r: &Synth) -> String {
    let own: Vec<&Crit> = r.crits.iter().filter(|c| c.product == r.product).collect();
    let Some(first) = own.first() else {
        return String::new();
    };
    let more = if own.len() > 1 {
        " and other supported release lines"
    } else {
        ""
    };
    let exact_version = || {
        first
            .criteria
            .split(':')
            .nth(5)
            .unwrap_or("")
            .replace('\\', "")
    };
    let text = match (
        first.start_including,
        first.end_including,
        first.end_excluding,
    ) {
        (Some(s), _, Some(e)) => format!("versions {s} up to (excluding) {e}"),
        (None, _, Some(e)) => format!("versions before {e}"),
        (Some(s), Some(e), None) => format!("versions {s} through {e}"),
        (None, Some(e), None) => format!("versions through {e}"),
        (_, None, None) => format!("version {}", exact_version()),
    };
    format!("{text}{more}")
}

pub(crate) fn render_record(out: &mut String, r: &Synth, products: &[Product]) {
    let p = &products[r.product];
    let src = q(SOURCE);
    let _ = write!(
        out,
        r#"{{"cve":{{"id":{},"sourceIdentifier":{src},"published":"{}","lastModified":"{}","vulnStatus":"{}","cveTags":[]"#,
        q(&r.id),
        ts(r.published),
        ts(r.last_modified),
        r.status
    );
    let vuln_name = format!("{} {} Vulnerability", p.title, r.profile.kind);
    if let Some(k) = &r.kev {
        let _ = write!(
            out,
            r#","cisaExploitAdd":"{}","cisaActionDue":"{}","cisaRequiredAction":{},"cisaVulnerabilityName":{}"#,
            k.added,
            k.due,
            q(REQUIRED_ACTION),
            q(&vuln_name)
        );
    }
    let text = r
        .profile
        .text
        .replace("{c}", r.component)
        .replace("{i}", r.input);
    let description = format!("[SYNTHETIC] {} ({}) {text}", p.title, affected_text(r));
    let _ = write!(
        out,
        r#","descriptions":[{{"lang":"en","value":{}}}]"#,
        q(&description)
    );

    let v = r.profile.vector;
    out.push_str(r#","metrics":{"#);
    if !r.v2_only {
        let (base, expl, imp) = cvss31(v);
        let _ = write!(
            out,
            r#""cvssMetricV31":[{{"source":{src},"type":"Primary","cvssData":{{"version":"3.1","vectorString":"{v}","baseScore":{base:.1},"baseSeverity":"{}","attackVector":"{}","attackComplexity":"{}","privilegesRequired":"{}","userInteraction":"{}","scope":"{}","confidentialityImpact":"{}","integrityImpact":"{}","availabilityImpact":"{}"}},"exploitabilityScore":{expl:.1},"impactScore":{imp:.1}}}]"#,
            kb::cvss::nvd_severity_v3(base),
            word(v, "AV"),
            word(v, "AC"),
            word(v, "PR"),
            word(v, "UI"),
            word(v, "S"),
            word(v, "C"),
            word(v, "I"),
            word(v, "A"),
        );
    } else {
        let (v2, base, expl, imp) = cvss2(v);
        let ui = metric(v, "UI") == "R";
        let _ = write!(
            out,
            r#""cvssMetricV2":[{{"source":{src},"type":"Primary","cvssData":{{"version":"2.0","vectorString":"{v2}","baseScore":{base:.1},"accessVector":"{}","accessComplexity":"{}","authentication":"{}","confidentialityImpact":"{}","integrityImpact":"{}","availabilityImpact":"{}"}},"baseSeverity":"{}","exploitabilityScore":{expl:.1},"impactScore":{imp:.1},"acInsufInfo":false,"obtainAllPrivilege":false,"obtainUserPrivilege":false,"obtainOtherPrivilege":false,"userInteractionRequired":{ui}}}]"#,
            word2(&v2, "AV"),
            word2(&v2, "AC"),
            word2(&v2, "Au"),
            word2(&v2, "C"),
            word2(&v2, "I"),
            word2(&v2, "A"),
            kb::cvss::nvd_severity_v2(base),
        );
    }
    out.push('}');
    let _ = write!(
        out,
        r#","weaknesses":[{{"source":{src},"type":"Primary","description":[{{"lang":"en","value":"{}"}}]}}]"#,
        r.profile.cwe
    );

    // Configurations: one OR node of the vulnerable criteria, ANDed with a
    // platform node when the record is platform-specific.
    let mut node = String::from(r#"{"operator":"OR","negate":false,"cpeMatch":["#);
    for (i, c) in r.crits.iter().enumerate() {
        if i > 0 {
            node.push(',');
        }
        let mut key = c.criteria.clone();
        let _ = write!(node, r#"{{"vulnerable":true,"criteria":{}"#, q(&c.criteria));
        for (name, value) in [
            ("versionStartIncluding", c.start_including),
            ("versionEndIncluding", c.end_including),
            ("versionEndExcluding", c.end_excluding),
        ] {
            if let Some(v) = value {
                let _ = write!(node, r#","{name}":{}"#, q(v));
                let _ = write!(key, "|{name}={v}");
            }
        }
        let _ = write!(node, r#","matchCriteriaId":"{}"}}"#, guid(&key));
    }
    node.push_str("]}");
    out.push_str(r#","configurations":["#);
    match r.platform {
        None => {
            let _ = write!(out, r#"{{"nodes":[{node}]}}"#);
        }
        Some((pl, platform_first)) => {
            let criteria = match pl {
                Platform::Windows => WINDOWS_PLATFORM,
                Platform::Mac => MACOS_PLATFORM,
            };
            let pnode = format!(
                r#"{{"operator":"OR","negate":false,"cpeMatch":[{{"vulnerable":false,"criteria":"{criteria}","matchCriteriaId":"{}"}}]}}"#,
                guid(criteria)
            );
            let (a, b) = if platform_first {
                (&pnode, &node)
            } else {
                (&node, &pnode)
            };
            let _ = write!(out, r#"{{"operator":"AND","nodes":[{a},{b}]}}"#);
        }
    }
    out.push(']');

    let _ = write!(
        out,
        r#","references":[{{"url":"https://posture.invalid/advisories/{}","source":{src},"tags":["Vendor Advisory"]}}"#,
        r.id
    );
    if r.exploit {
        let _ = write!(
            out,
            r#",{{"url":"https://exploits.posture.invalid/{}/poc","source":{src},"tags":["Exploit","Third Party Advisory"]}}"#,
            r.id
        );
    }
    if r.kev.is_some() {
        let _ = write!(
            out,
            r#",{{"url":"https://posture.invalid/kev?search={}","source":{src},"tags":["US Government Resource"]}}"#,
            r.id
        );
    }
    out.push_str("]}}");
}

/// The day CISA published the KEV catalogue.
const KEV_START: NaiveDate = NaiveDate::from_ymd_opt(2021, 11, 3).expect("a valid date");

const REQUIRED_ACTION: &str = "Apply mitigations per vendor instructions or discontinue use of the product if mitigations are unavailable.";

fn render_nvd(cves: &[Synth], now: DateTime<Utc>) -> Vec<u8> {
    let products = catalogue();
    let mut out = String::with_capacity(cves.len() * 2400 + 256);
    let _ = write!(
        out,
        r#"{{"resultsPerPage":{n},"startIndex":0,"totalResults":{n},"format":"NVD_CVE","version":"2.0","timestamp":"{}","vulnerabilities":["#,
        ts(now.naive_utc()),
        n = cves.len()
    );
    for (i, r) in cves.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        render_record(&mut out, r, products);
    }
    out.push_str("]}");
    out.into_bytes()
}

/// KEV's spelling of a vendor.
fn vendor_project(vendor: &str) -> String {
    match vendor {
        "7-zip" => "7-Zip".to_owned(),
        "rarlab" => "RARLAB".to_owned(),
        "f5" => "F5".to_owned(),
        "php" => "PHP".to_owned(),
        "videolan" => "VideoLAN".to_owned(),
        v => {
            let mut c = v.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

pub(crate) fn render_kev(cves: &[Synth], now: DateTime<Utc>) -> Vec<u8> {
    let products = catalogue();
    let mut listed: Vec<&Synth> = cves.iter().filter(|r| r.kev.is_some()).collect();
    listed.sort_by(|a, b| {
        let (ka, kb) = (
            a.kev.as_ref().map(|k| k.added),
            b.kev.as_ref().map(|k| k.added),
        );
        kb.cmp(&ka).then_with(|| b.id.cmp(&a.id))
    });
    let mut out = String::with_capacity(listed.len() * 800 + 256);
    let _ = write!(
        out,
        r#"{{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"{}","dateReleased":"{}","count":{},"vulnerabilities":["#,
        now.format("%Y.%m.%d"),
        now.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        listed.len()
    );
    for (i, r) in listed.iter().enumerate() {
        let Some(k) = &r.kev else { continue };
        let p = &products[r.product];
        let vendor = vendor_project(p.vendor);
        let product = p
            .title
            .strip_prefix(&format!("{vendor} "))
            .unwrap_or(p.title);
        let name = format!("{} {} Vulnerability", p.title, r.profile.kind);
        let text = r
            .profile
            .text
            .replace("{c}", r.component)
            .replace("{i}", r.input);
        let short = format!("[SYNTHETIC] {} {text}", p.title);
        let cwes = if r.profile.cwe.starts_with("CWE-") {
            format!("\"{}\"", r.profile.cwe)
        } else {
            String::new()
        };
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"cveID":{},"vendorProject":{},"product":{},"vulnerabilityName":{},"dateAdded":"{}","shortDescription":{},"requiredAction":{},"dueDate":"{}","knownRansomwareCampaignUse":"{}","notes":{},"cwes":[{cwes}]}}"#,
            q(&r.id),
            q(&vendor),
            q(product),
            q(&name),
            k.added,
            q(&short),
            q(REQUIRED_ACTION),
            k.due,
            if k.ransomware { "Known" } else { "Unknown" },
            q(&format!(
                "https://posture.invalid/advisories/{} ; synthetic record generated by Posture",
                r.id
            )),
        );
    }
    out.push_str("]}");
    out.into_bytes()
}

// ---------------------------------------------------------------------------
// Internal estimate of vulnerability rows, by catalogue indexes (no version
// parsing); the tests check it against the real matcher.

#[cfg(test)]
pub(crate) mod estimate {
    use super::*;
    use std::collections::HashMap;
    use std::sync::LazyLock;

    /// `(vendor, name, version)` → `(product index, release index)`.
    type Index = HashMap<(&'static str, &'static str, &'static str), (usize, usize)>;

    static INDEX: LazyLock<Index> = LazyLock::new(|| {
        let mut m = HashMap::new();
        for (pi, p) in catalogue().iter().enumerate() {
            for (ri, r) in p.releases().enumerate() {
                m.insert((p.vendor, p.name, r.version), (pi, ri));
            }
        }
        m
    });

    pub(crate) struct Kb(Vec<Synth>);

    pub(crate) fn build(seed: u64, now: DateTime<Utc>) -> Kb {
        Kb(synthesize(seed, now))
    }

    /// Rows (software × record) of one device.
    pub(crate) fn rows(kb: &Kb, report: &DeviceReport) -> usize {
        let windows = report.os.kind == model::OsKind::Windows;
        let mac = report.os.kind == model::OsKind::Mac;
        let mut n = 0;
        for s in report.software.iter().filter(|s| s.cpe.is_some()) {
            let Some(&(pi, ri)) =
                INDEX.get(&(s.vendor.as_str(), s.name.as_str(), s.version.as_str()))
            else {
                continue;
            };
            n +=
                kb.0.iter()
                    .filter(|r| match r.platform {
                        Some((Platform::Windows, _)) => windows,
                        Some((Platform::Mac, _)) => mac,
                        None => true,
                    })
                    .filter(|r| {
                        r.crits
                            .iter()
                            .any(|c| c.product == pi && (c.lo..=c.hi).contains(&ri))
                    })
                    .count();
        }
        n
    }

    pub(crate) fn len(kb: &Kb) -> usize {
        kb.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn cvss31_scores_follow_the_specification() {
        // (vector, base, exploitability, impact) as NVD publishes them.
        for (v, base, expl, imp) in [
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H",
                8.8,
                2.8,
                5.9,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                9.8,
                3.9,
                5.9,
            ),
            (
                "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H",
                7.8,
                1.8,
                5.9,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                6.1,
                2.8,
                2.7,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H",
                9.6,
                2.8,
                6.0,
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                7.5,
                3.9,
                3.6,
            ),
            (
                "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H",
                5.5,
                1.8,
                3.6,
            ),
            (
                "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N",
                7.4,
                2.2,
                5.2,
            ),
            (
                "CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H",
                7.0,
                1.0,
                5.9,
            ),
        ] {
            assert_eq!(cvss31(v), (base, expl, imp), "{v}");
        }
        assert_eq!(kb::cvss::nvd_severity_v3(9.8), "CRITICAL");
        assert_eq!(kb::cvss::nvd_severity_v3(7.0), "HIGH");
        assert_eq!(kb::cvss::nvd_severity_v3(6.9), "MEDIUM");
        // v2, from NVD records: CVE-2011-4607 and CVE-2022-29072.
        let (vector, base, expl, imp) = cvss2("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N");
        assert_eq!(
            (vector.as_str(), base, expl, imp),
            ("AV:L/AC:L/Au:N/C:P/I:N/A:N", 2.1, 3.9, 2.9)
        );
        let (vector, base, _, imp) = cvss2("CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        assert_eq!(
            (vector.as_str(), base, imp),
            ("AV:L/AC:L/Au:N/C:C/I:C/A:C", 7.2, 10.0)
        );
    }

    #[test]
    fn ids_are_sequential_in_publication_order_and_in_the_reserved_range() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        let cves = synthesize(3, now);
        assert!(cves.windows(2).all(|w| w[0].published <= w[1].published));
        for (i, r) in cves.iter().enumerate() {
            let (year, seq) =
                r.id.strip_prefix("CVE-")
                    .and_then(|x| x.split_once('-'))
                    .unwrap();
            assert_eq!(year, r.published.format("%Y").to_string());
            assert_eq!(seq, format!("9{:06}", i + 1));
            assert!(r.last_modified >= r.published && r.last_modified <= now.naive_utc());
            assert!(!r.crits.is_empty());
        }
    }

    #[test]
    fn the_internal_estimate_is_near_one_hundred_rows_per_device() {
        // The integration test checks the same with kb's matcher; this one needs no parser.
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap();
        let kb = estimate::build(11, now);
        let cfg = crate::FleetConfig::new(400, 11, now);
        let rows: usize = (0..cfg.devices)
            .map(|i| estimate::rows(&kb, &crate::device_report(&cfg, i)))
            .sum();
        let avg = rows as f64 / f64::from(cfg.devices);
        assert!(
            (70.0..=130.0).contains(&avg),
            "{avg} rows per device from {} records",
            estimate::len(&kb)
        );
    }
}

/// The feed update of an emulator time step (`posture advance`): some records of
/// `synthetic_feeds(seed, base_now)` re-scored (another CVSS vector, `lastModified`
/// = `now`) and a few new records published just before `now`, as an NVD CVE API 2.0
/// document. About 0.4% of records are revised and 10 records added per 6 hours.
/// Deterministic in (seed, base_now, step, now, hours). New ids use the range
/// `CVE-YYYY-98SSSNN` (S = step, N = record), apart from the base feed's.
pub fn feed_update(
    seed: u64,
    base_now: DateTime<Utc>,
    step: u64,
    now: DateTime<Utc>,
    hours: u32,
) -> Vec<u8> {
    let scale = (f64::from(hours) / 6.0).clamp(0.0, 8.0);
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ 0x7570_6461_7465_u64 ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut out = Vec::new();
    for mut r in synthesize(seed, base_now) {
        if rng.random::<f64>() < 0.004 * scale {
            let current = r.profile as *const Profile;
            let others: Vec<&'static Profile> = PROFILES
                .iter()
                .filter(|p| !std::ptr::eq(*p, current))
                .collect();
            if let Some(p) = others.get(rng.random_range(0..others.len().max(1))) {
                r.profile = p;
            }
            r.last_modified = now.naive_utc();
            out.push(r);
        }
    }
    let products = catalogue();
    let candidates: Vec<usize> = products
        .iter()
        .enumerate()
        .filter(|(_, p)| p.has_cpe() && p.cve_density > 0.0)
        .map(|(i, _)| i)
        .collect();
    let mut ctx = Ctx { rng, now, products };
    let wanted = (10.0 * scale).round() as usize;
    let mut added = 0;
    for _ in 0..wanted * 4 {
        if added == wanted || candidates.is_empty() {
            break;
        }
        let pi = candidates[ctx.rng.random_range(0..candidates.len())];
        if let Some(mut r) = ctx.record(pi) {
            let published = (now - Duration::minutes(ctx.rng.random_range(5..300))).naive_utc();
            r.published = published;
            r.last_modified = published;
            r.kev = None;
            r.id = format!(
                "CVE-{}-98{:03}{:02}",
                published.format("%Y"),
                step % 1000,
                added
            );
            out.push(r);
            added += 1;
        }
    }
    render_nvd(&out, now)
}
