//! An NVD-sized synthetic knowledge base: NVD CVE API 2.0 response pages of any
//! number of records (NVD holds about 250,000), of NVD's shape, deterministic from
//! `(seed, now)`, written as files that `kb import` reads and a fixture server can serve.
//!
//! # What is in it
//!
//! * **The demo records first**: exactly the records of [`crate::synthetic_feeds`] for
//!   the same seed and time (the ones that match the synthetic fleet, about 100
//!   vulnerability rows per device), so a fleet assessed against the big knowledge base
//!   finds what it finds against the demo one, and the two publishes compare like for
//!   like. Their KEV catalogue is written beside the pages.
//! * **Bulk records** up to the requested count, over a universe of about 12,000
//!   synthetic vendors and 40,000 products (names built from syllables, unique by
//!   construction) chosen with a heavy-tailed popularity, as NVD's are (a few products
//!   have thousands of records, most a handful). About 8% of bulk records name the
//!   fleet's own catalogue products, with versions older than every release the fleet
//!   installs (NVD's long history of a browser or an OS): they make the matcher's
//!   candidate lists for the fleet's software as long as NVD's, without changing what
//!   the fleet is vulnerable to.
//!
//! Shapes, calibrated on the real NVD sample in the shared data folder (72 records,
//! measured with [`kb::shape::ShapeStats`]; the test `nvd_scale` compares the two):
//! about 6 CPE match criteria per record; of vulnerable criteria about 43% version
//! ranges, 54% exact versions (a tenth with an `update` such as `beta1`) and the rest
//! any version; of ranges about half with `versionStartIncluding`, a few with
//! `versionStartExcluding`, four in five `versionEndExcluding`, the rest
//! `versionEndIncluding`; about one configuration in six is an `AND` of the vulnerable
//! node with a `vulnerable: false` platform node (firmware on its hardware, an
//! application on Windows, Linux, macOS, Android or iOS), and some application criteria
//! name a `target_sw` (`wordpress` plugins); about one record in eight has no
//! configuration yet (received, awaiting analysis, or rejected).
//!
//! Bulk ids continue the demo's sequence: `CVE-<year>-9NNNNNN`, descriptions start
//! with `[SYNTHETIC] `, sources and URLs are under `posture.invalid`. Records are at
//! most [`MAX_RECORDS`] (the id range).

use crate::EmulatorError;
use crate::products::{Part, Product, catalogue, cpe_escape, cpe23};
use crate::synthetic_kb::{
    COMPONENTS, INPUTS, PROFILES, Profile, SOURCE, Synth, cvss2, cvss31, guid, metric, q,
    render_kev, render_record, synthesize, ts, word, word2,
};
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Utc};
use kb::shape::{Proportions, ShapeStats};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// NVD's size (records), the default of `posture kb generate`.
pub const NVD_RECORDS: usize = 250_000;
/// The most records the id range `CVE-YYYY-9NNNNNN` holds.
pub const MAX_RECORDS: usize = 990_000;
/// NVD's largest page.
pub const PAGE_SIZE: usize = 2000;

const VENDORS: usize = 12_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct ScaledKbOptions {
    /// Records in all (demo records included); at least the demo's.
    pub records: usize,
    pub seed: u64,
    /// The time the knowledge base is current at (the emulator clock for a seeded fleet).
    pub now: DateTime<Utc>,
    /// Records per page file (at most [`PAGE_SIZE`]).
    pub page_size: usize,
}

/// What [`write_scaled_kb`] wrote.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaledKb {
    /// The NVD CVE API 2.0 page files, in order.
    pub pages: Vec<PathBuf>,
    /// The KEV catalogue of the demo records.
    pub kev: PathBuf,
    pub records: usize,
    /// Of `records`, the demo's.
    pub demo_records: usize,
    pub bytes: u64,
    pub shape: ShapeStats,
    pub proportions: Proportions,
}

impl ScaledKb {
    /// Every file, pages then the KEV catalogue (what `kb import` is given).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut all = self.pages.clone();
        all.push(self.kev.clone());
        all
    }
}

/// Generates the records and writes them as NVD API 2.0 pages
/// (`nvdcve-2.0-synthetic-seed<S>-<NNNNN>.json`) plus the KEV catalogue into `dir`.
/// Every page is parsed back with the real importer (so the files are known to import)
/// and measured. `progress` is called with the records written so far.
pub fn write_scaled_kb(
    opts: &ScaledKbOptions,
    dir: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<ScaledKb, EmulatorError> {
    let gen_ = Generator::new(opts);
    let total = gen_.total();
    let page_size = opts.page_size.clamp(1, PAGE_SIZE);
    let write_err = |path: &Path, source: std::io::Error| EmulatorError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let pages = total.div_ceil(page_size);
    let done = std::sync::atomic::AtomicU64::new(0);
    let results: Vec<Result<(PathBuf, u64, ShapeStats), EmulatorError>> = (0..pages)
        .into_par_iter()
        .map(|p| {
            let start = p * page_size;
            let end = (start + page_size).min(total);
            let bytes = gen_.page(start..end);
            let name = format!("nvdcve-2.0-synthetic-seed{}-{p:05}.json", opts.seed);
            let path = dir.join(&name);
            let records = kb::parse_nvd(&bytes, &name)?;
            let shape = ShapeStats::of(&records);
            std::fs::write(&path, &bytes).map_err(|e| write_err(&path, e))?;
            let n = done.fetch_add((end - start) as u64, std::sync::atomic::Ordering::Relaxed)
                + (end - start) as u64;
            progress(n);
            Ok((path, bytes.len() as u64, shape))
        })
        .collect();
    let mut out = ScaledKb {
        pages: Vec::with_capacity(pages),
        kev: dir.join(format!(
            "known_exploited_vulnerabilities-synthetic-seed{}.json",
            opts.seed
        )),
        records: total,
        demo_records: gen_.demo.len(),
        bytes: 0,
        shape: ShapeStats::default(),
        proportions: Proportions::default(),
    };
    for r in results {
        let (path, bytes, shape) = r?;
        out.pages.push(path);
        out.bytes += bytes;
        out.shape.merge(shape);
    }
    let kev = render_kev(&gen_.demo, opts.now);
    std::fs::write(&out.kev, &kev).map_err(|e| write_err(&out.kev, e))?;
    out.bytes += kev.len() as u64;
    out.proportions = out.shape.proportions();
    Ok(out)
}

/// One NVD API 2.0 page holding `count` records of the knowledge base `opts` describes,
/// spread evenly over it, as modified upstream at `modified_at`: `lastModified` is that
/// time, `vulnStatus` is `Modified` and the description says `[UPDATED]`. What an
/// incremental sync fetches after NVD changed `count` records.
pub fn scaled_kb_update(
    opts: &ScaledKbOptions,
    count: usize,
    modified_at: DateTime<Utc>,
) -> Vec<u8> {
    let gen_ = Generator::new(opts);
    let total = gen_.total();
    let count = count.min(total);
    let step = (total / count.max(1)).max(1);
    let stamp = ts(modified_at.naive_utc());
    let mut body = String::new();
    for i in 0..count {
        let mut one = String::new();
        gen_.render(i * step, &mut one);
        let one = replace_field(&one, "lastModified", &stamp);
        let one = replace_field(&one, "vulnStatus", "Modified");
        let one = one.replacen("[SYNTHETIC] ", "[SYNTHETIC] [UPDATED] ", 1);
        if i > 0 {
            body.push(',');
        }
        body.push_str(&one);
    }
    page_document(count, 0, count, modified_at.naive_utc(), &body)
}

/// Replaces the first `"key":"..."` string value.
fn replace_field(json: &str, key: &str, value: &str) -> String {
    let needle = format!("\"{key}\":\"");
    let Some(at) = json.find(&needle) else {
        return json.to_owned();
    };
    let start = at + needle.len();
    let end = json[start..].find('"').map_or(json.len(), |e| start + e);
    format!("{}{value}{}", &json[..start], &json[end..])
}

fn page_document(n: usize, start: usize, total: usize, now: NaiveDateTime, body: &str) -> Vec<u8> {
    let mut out = String::with_capacity(body.len() + 200);
    let _ = write!(
        out,
        r#"{{"resultsPerPage":{n},"startIndex":{start},"totalResults":{total},"format":"NVD_CVE","version":"2.0","timestamp":"{}","vulnerabilities":["#,
        ts(now)
    );
    out.push_str(body);
    out.push_str("]}");
    out.into_bytes()
}

// ---------------------------------------------------------------------------
// The universe of bulk vendors and products.

#[derive(Debug)]
struct BulkProduct {
    vendor: String,
    name: String,
    /// Firmware (`o:`) installed on hardware `h:<vendor>:<model>`.
    firmware: Option<String>,
    /// A plugin: criteria name this `target_sw`.
    target_sw: Option<&'static str>,
    /// First major version and how many lines.
    major0: u32,
    majors: u32,
    minors: u32,
    patches: u32,
}

const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";
const WORDS: [&str; 40] = [
    "gateway",
    "server",
    "manager",
    "portal",
    "client",
    "agent",
    "studio",
    "suite",
    "cms",
    "router_manager",
    "mail_server",
    "file_manager",
    "firewall",
    "vpn_client",
    "webmail",
    "editor",
    "viewer",
    "media_player",
    "library",
    "sdk",
    "framework",
    "toolkit",
    "console",
    "dashboard",
    "scheduler",
    "forum",
    "online_shop",
    "wiki",
    "analytics",
    "backup",
    "monitor",
    "proxy",
    "database",
    "cache",
    "parser",
    "converter",
    "reader",
    "builder",
    "helpdesk",
    "booking_system",
];

/// A name of CV syllables for `n` (at least two; unique per `n` by construction).
fn syllables(mut n: usize) -> String {
    let base = CONSONANTS.len() * VOWELS.len();
    n += base;
    let mut out = Vec::new();
    while n > 0 {
        let s = n % base;
        out.push(VOWELS[s % VOWELS.len()]);
        out.push(CONSONANTS[s / VOWELS.len()]);
        n /= base;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn universe(seed: u64) -> Vec<BulkProduct> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x756e_6976_6572_7365);
    let suffixes = [
        "", "", "", "soft", "tech", "labs", "systems", "networks", "project",
    ];
    let mut out = Vec::with_capacity(VENDORS * 4);
    for v in 0..VENDORS {
        let suffix = suffixes[rng.random_range(0..suffixes.len())];
        let vendor = if suffix.is_empty() {
            syllables(v)
        } else {
            format!("{}_{suffix}", syllables(v))
        };
        let n = 1 + (rng.random::<f64>().powi(2) * 6.0) as usize;
        let first_word = rng.random_range(0..WORDS.len());
        for j in 0..n {
            let name_word = WORDS[(first_word + j * 7) % WORDS.len()];
            let firmware = rng.random::<f64>() < 0.12;
            let (name, firmware) = if firmware {
                let model = format!("{}{}", syllables(rng.random_range(0..70)), 100 + j * 11);
                (format!("{model}_firmware"), Some(model))
            } else if j == 0 && rng.random::<f64>() < 0.3 {
                (vendor.clone(), None)
            } else {
                (name_word.to_owned(), None)
            };
            let target_sw =
                (firmware.is_none() && rng.random::<f64>() < 0.08).then_some("wordpress");
            out.push(BulkProduct {
                vendor: vendor.clone(),
                name,
                firmware,
                target_sw,
                major0: rng.random_range(0..20),
                majors: rng.random_range(1..12),
                minors: rng.random_range(1..25),
                patches: rng.random_range(1..40),
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Records.

/// The fleet's catalogue products with a CPE, each with its oldest release: bulk
/// records about them stay below it.
static FLEET_PRODUCTS: LazyLock<Vec<(&'static Product, &'static str)>> = LazyLock::new(|| {
    catalogue()
        .iter()
        .filter(|p| p.has_cpe())
        .filter_map(|p| {
            p.releases()
                .map(|r| r.version)
                .min_by(|a, b| kb::version::compare(a, b))
                .map(|min| (p, min))
        })
        .collect()
});

struct Generator<'o> {
    opts: &'o ScaledKbOptions,
    demo: Vec<Synth>,
    universe: Vec<BulkProduct>,
}

/// A configuration being built: nodes of cpeMatch JSON objects.
struct Config {
    and: bool,
    nodes: Vec<Vec<String>>,
}

impl<'o> Generator<'o> {
    fn new(opts: &'o ScaledKbOptions) -> Self {
        let demo = synthesize(opts.seed, opts.now);
        Generator {
            opts,
            demo,
            universe: universe(opts.seed),
        }
    }

    fn total(&self) -> usize {
        self.opts.records.clamp(self.demo.len(), MAX_RECORDS)
    }

    fn page(&self, range: std::ops::Range<usize>) -> Vec<u8> {
        let mut body = String::with_capacity(range.len() * 2600);
        let start = range.start;
        let n = range.len();
        for i in range {
            if i > start {
                body.push(',');
            }
            self.render(i, &mut body);
        }
        page_document(n, start, self.total(), self.opts.now.naive_utc(), &body)
    }

    /// Record `i` of the knowledge base (demo records first), as a `{"cve": ...}` item.
    fn render(&self, i: usize, out: &mut String) {
        match self.demo.get(i) {
            Some(r) => render_record(out, r, catalogue()),
            None => self.bulk(i, out),
        }
    }

    fn bulk(&self, i: usize, out: &mut String) {
        let k = i - self.demo.len();
        let mut rng = ChaCha8Rng::seed_from_u64(self.opts.seed ^ 0x6e76_645f_7363_616c);
        rng.set_stream(k as u64);
        let rng = &mut rng;
        let now = self.opts.now;
        let back_days = 26.0 * 365.0 * rng.random::<f64>().powf(1.7) + 1.0;
        let published = (now - Duration::seconds((back_days * 86400.0) as i64)).naive_utc();
        let year = published.format("%Y");
        let id = format!("CVE-{year}-9{:06}", i + 1);
        let roll = rng.random::<f64>();
        let (status, configured) = match roll {
            x if x < 0.05 => ("Rejected", false),
            x if x < 0.10 => ("Awaiting Analysis", false),
            x if x < 0.14 => ("Received", false),
            x if x < 0.55 => ("Analyzed", true),
            _ => ("Modified", true),
        };
        let modified_after = if status == "Modified" {
            rng.random_range(30 * 86400..900 * 86400)
        } else {
            rng.random_range(3600..20 * 86400)
        };
        let last_modified = (published + Duration::seconds(modified_after))
            .min(now.naive_utc())
            .max(published);
        let src = q(SOURCE);
        let _ = write!(
            out,
            r#"{{"cve":{{"id":"{id}","sourceIdentifier":{src},"published":"{}","lastModified":"{}","vulnStatus":"{status}","cveTags":[]"#,
            ts(published),
            ts(last_modified),
        );
        if !configured {
            let text = if status == "Rejected" {
                format!(
                    "[SYNTHETIC] Rejected reason: this candidate was withdrawn; {id} is not a vulnerability."
                )
            } else {
                "[SYNTHETIC] A vulnerability was reported and awaits analysis.".to_owned()
            };
            let _ = write!(
                out,
                r#","descriptions":[{{"lang":"en","value":{}}}],"metrics":{{}},"references":[{{"url":"https://posture.invalid/reports/{id}","source":{src}}}]}}}}"#,
                q(&text)
            );
            return;
        }
        let profile = pick_profile(rng);
        // The products: mostly one, sometimes a family of them.
        let fleet = rng.random::<f64>() < 0.08;
        let mut configs: Vec<Config> = Vec::new();
        let mut main = Config {
            and: false,
            nodes: vec![Vec::new()],
        };
        let title;
        if fleet {
            let (p, min) = FLEET_PRODUCTS[rng.random_range(0..FLEET_PRODUCTS.len())];
            title = p.title.to_owned();
            let part = p.part.unwrap_or(Part::Application);
            fleet_history(rng, part, p, min, &mut main.nodes[0]);
        } else {
            let n = match rng.random::<f64>() {
                x if x < 0.70 => 1,
                x if x < 0.94 => rng.random_range(2..=3),
                _ => rng.random_range(4..=8),
            };
            let first = self.popular(rng);
            title = format!(
                "{} {}",
                self.universe[first].vendor, self.universe[first].name
            );
            let mut products = vec![first];
            for _ in 1..n {
                let next = if rng.random::<f64>() < 0.5 {
                    // Another product of the same vendor, when it has one.
                    let near = first + rng.random_range(1..6);
                    match self.universe.get(near) {
                        Some(p) if p.vendor == self.universe[first].vendor => near,
                        _ => self.popular(rng),
                    }
                } else {
                    self.popular(rng)
                };
                if !products.contains(&next) {
                    products.push(next);
                }
            }
            for pi in products {
                let p = &self.universe[pi];
                let mut crits = Vec::new();
                bulk_criteria(rng, p, &mut crits);
                if let Some(model) = &p.firmware {
                    let platform = platform_match(&format!(
                        "cpe:2.3:h:{}:{}:-:*:*:*:*:*:*:*",
                        cpe_escape(&p.vendor),
                        cpe_escape(model)
                    ));
                    configs.push(Config {
                        and: true,
                        nodes: vec![crits, vec![platform]],
                    });
                } else {
                    main.nodes[0].extend(crits);
                }
            }
        }
        if !main.nodes[0].is_empty() {
            // Some application bugs hold on one platform only.
            if rng.random::<f64>() < 0.07 {
                let platform = match rng.random_range(0..6) {
                    0 | 1 => "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*".to_owned(),
                    2 => format!(
                        "cpe:2.3:o:linux:linux_kernel:{}.{}:*:*:*:*:*:*:*",
                        rng.random_range(2..7),
                        rng.random_range(0..20)
                    ),
                    3 => "cpe:2.3:o:apple:macos:-:*:*:*:*:*:*:*".to_owned(),
                    4 => "cpe:2.3:o:google:android:-:*:*:*:*:*:*:*".to_owned(),
                    _ => "cpe:2.3:o:apple:iphone_os:-:*:*:*:*:*:*:*".to_owned(),
                };
                main.and = true;
                main.nodes.push(vec![platform_match(&platform)]);
                if rng.random::<f64>() < 0.2 {
                    main.nodes.swap(0, 1);
                }
            }
            configs.insert(0, main);
        }

        let text = profile
            .text
            .replace("{c}", COMPONENTS[rng.random_range(0..COMPONENTS.len())])
            .replace("{i}", INPUTS[rng.random_range(0..INPUTS.len())]);
        let _ = write!(
            out,
            r#","descriptions":[{{"lang":"en","value":{}}}]"#,
            q(&format!("[SYNTHETIC] {title} {text}"))
        );
        let v2_only = published.year() < 2016;
        render_metrics(out, profile, v2_only);
        let _ = write!(
            out,
            r#","weaknesses":[{{"source":{src},"type":"Primary","description":[{{"lang":"en","value":"{}"}}]}}]"#,
            profile.cwe
        );
        out.push_str(r#","configurations":["#);
        for (ci, c) in configs.iter().enumerate() {
            if ci > 0 {
                out.push(',');
            }
            out.push('{');
            if c.and {
                out.push_str(r#""operator":"AND","#);
            }
            out.push_str(r#""nodes":["#);
            for (ni, node) in c.nodes.iter().enumerate() {
                if ni > 0 {
                    out.push(',');
                }
                out.push_str(r#"{"operator":"OR","negate":false,"cpeMatch":["#);
                out.push_str(&node.join(","));
                out.push_str("]}");
            }
            out.push_str("]}");
        }
        out.push(']');
        let _ = write!(
            out,
            r#","references":[{{"url":"https://posture.invalid/advisories/{id}","source":{src},"tags":["Vendor Advisory"]}}"#
        );
        for r in 0..rng.random_range(0..3) {
            let _ = write!(
                out,
                r#",{{"url":"https://posture.invalid/refs/{id}/{r}","source":{src},"tags":["Third Party Advisory"]}}"#
            );
        }
        if rng.random::<f64>() < 0.05 {
            let _ = write!(
                out,
                r#",{{"url":"https://exploits.posture.invalid/{id}/poc","source":{src},"tags":["Exploit","Third Party Advisory"]}}"#
            );
        }
        out.push_str("]}}");
    }

    /// A bulk product by heavy-tailed popularity.
    fn popular(&self, rng: &mut ChaCha8Rng) -> usize {
        let n = self.universe.len();
        ((n as f64) * rng.random::<f64>().powf(2.2)) as usize % n
    }
}

fn pick_profile(rng: &mut ChaCha8Rng) -> &'static Profile {
    let total: f64 = PROFILES.iter().map(|p| p.weight).sum();
    let mut x = rng.random::<f64>() * total;
    for p in &PROFILES {
        if x < p.weight {
            return p;
        }
        x -= p.weight;
    }
    &PROFILES[0]
}

fn render_metrics(out: &mut String, profile: &Profile, v2_only: bool) {
    let src = q(SOURCE);
    let v = profile.vector;
    out.push_str(r#","metrics":{"#);
    if v2_only {
        let (v2, base, expl, imp) = cvss2(v);
        let _ = write!(
            out,
            r#""cvssMetricV2":[{{"source":{src},"type":"Primary","cvssData":{{"version":"2.0","vectorString":"{v2}","baseScore":{base:.1},"accessVector":"{}","accessComplexity":"{}","authentication":"{}","confidentialityImpact":"{}","integrityImpact":"{}","availabilityImpact":"{}"}},"baseSeverity":"{}","exploitabilityScore":{expl:.1},"impactScore":{imp:.1},"acInsufInfo":false,"obtainAllPrivilege":false,"obtainUserPrivilege":false,"obtainOtherPrivilege":false,"userInteractionRequired":{}}}]"#,
            word2(&v2, "AV"),
            word2(&v2, "AC"),
            word2(&v2, "Au"),
            word2(&v2, "C"),
            word2(&v2, "I"),
            word2(&v2, "A"),
            kb::cvss::nvd_severity_v2(base),
            metric(v, "UI") == "R",
        );
    } else {
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
    }
    out.push('}');
}

/// A `vulnerable: false` cpeMatch.
fn platform_match(criteria: &str) -> String {
    format!(
        r#"{{"vulnerable":false,"criteria":{},"matchCriteriaId":"{}"}}"#,
        q(criteria),
        guid(criteria)
    )
}

/// A vulnerable cpeMatch with optional bounds (start incl., start excl., end incl., end excl.).
fn vulnerable_match(criteria: &str, bounds: [Option<&str>; 4]) -> String {
    let mut s = format!(r#"{{"vulnerable":true,"criteria":{}"#, q(criteria));
    let mut key = criteria.to_owned();
    let names = [
        "versionStartIncluding",
        "versionStartExcluding",
        "versionEndIncluding",
        "versionEndExcluding",
    ];
    for (name, value) in names.iter().zip(bounds) {
        if let Some(v) = value {
            let _ = write!(s, r#","{name}":{}"#, q(v));
            let _ = write!(key, "|{name}={v}");
        }
    }
    let _ = write!(s, r#","matchCriteriaId":"{}"}}"#, guid(&key));
    s
}

fn criteria_name(p: &BulkProduct, version: &str, update: &str) -> String {
    let part = if p.firmware.is_some() { 'o' } else { 'a' };
    format!(
        "cpe:2.3:{part}:{}:{}:{version}:{update}:*:*:*:{}:*:*",
        cpe_escape(&p.vendor),
        cpe_escape(&p.name),
        p.target_sw.unwrap_or("*")
    )
}

/// The vulnerable criteria of one bulk product: a list of exact versions, one to a
/// few version ranges (one per release line), or every version.
fn bulk_criteria(rng: &mut ChaCha8Rng, p: &BulkProduct, out: &mut Vec<String>) {
    let style = rng.random::<f64>();
    let line = |rng: &mut ChaCha8Rng| p.major0 + rng.random_range(0..p.majors);
    if style < 0.10 {
        let version = if rng.random::<f64>() < 0.5 { "*" } else { "-" };
        out.push(vulnerable_match(&criteria_name(p, version, "*"), [None; 4]));
    } else if style < 0.72 {
        // Ranges: one per release line, newest lines first.
        let lines = 1 + (rng.random::<f64>().powi(2) * 6.0) as u32;
        let top = line(rng);
        for l in 0..lines.min(top + 1) {
            let major = top - l;
            let any = criteria_name(p, "*", "*");
            let start = format!("{major}.{}", rng.random_range(0..3));
            let end = format!(
                "{major}.{}.{}",
                rng.random_range(0..p.minors),
                rng.random_range(0..p.patches)
            );
            let start_roll = rng.random::<f64>();
            let (si, se) = if start_roll < 0.48 {
                (Some(start.as_str()), None)
            } else if start_roll < 0.51 {
                (None, Some(start.as_str()))
            } else {
                (None, None)
            };
            let (ei, ee) = if rng.random::<f64>() < 0.78 {
                (None, Some(end.as_str()))
            } else {
                (Some(end.as_str()), None)
            };
            out.push(vulnerable_match(&any, [si, se, ei, ee]));
        }
    } else {
        // Exact versions: consecutive releases of one line, some with an update.
        let count = match rng.random::<f64>() {
            x if x < 0.25 => 1,
            x if x < 0.55 => rng.random_range(2..=4),
            x if x < 0.85 => rng.random_range(5..=10),
            _ => rng.random_range(11..=40),
        };
        let major = line(rng);
        let minor = rng.random_range(0..p.minors);
        let first = rng.random_range(0..p.patches);
        for j in 0..count {
            let version = format!("{major}.{minor}.{}", first + j);
            let update = if rng.random::<f64>() < 0.1 {
                ["beta1", "beta2", "rc1", "rc2", "sp1", "alpha"][rng.random_range(0..6)]
            } else {
                "*"
            };
            out.push(vulnerable_match(
                &criteria_name(p, &version, update),
                [None; 4],
            ));
        }
    }
}

/// Criteria of a fleet product's long history: every version they name is older than
/// `min`, the oldest release the fleet installs, so they never match the fleet.
fn fleet_history(rng: &mut ChaCha8Rng, part: Part, p: &Product, min: &str, out: &mut Vec<String>) {
    let any = cpe23(part, p.vendor, p.name, "*");
    if rng.random::<f64>() < 0.55 {
        let start = format!("0.{}", rng.random_range(0..9));
        let start = (kb::version::compare(&start, min) == std::cmp::Ordering::Less)
            .then_some(start.as_str());
        let (ei, ee) = if rng.random::<f64>() < 0.78 {
            (None, Some(min))
        } else {
            (None, None)
        };
        if ee.is_some() {
            out.push(vulnerable_match(&any, [start, None, ei, ee]));
            return;
        }
    }
    let count = rng.random_range(1..=6);
    let minor = rng.random_range(0..9);
    for j in 0..count {
        let version = format!("0.{minor}.{j}");
        if kb::version::compare(&version, min) == std::cmp::Ordering::Less {
            out.push(vulnerable_match(
                &cpe23(part, p.vendor, p.name, &version),
                [None; 4],
            ));
        }
    }
    if out.is_empty() {
        out.push(vulnerable_match(&any, [None, None, None, Some(min)]));
    }
}
