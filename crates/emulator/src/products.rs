//! The software catalogue: real products, as MDE names them, with real-looking
//! release histories and where they are installed.
//!
//! Each entry is a product with its CPE 2.3 vendor and product (`vendor` and
//! `name` of the software inventory are exactly these, lower case with
//! underscores), its releases grouped in **branches** (release lines such as
//! Python 3.11 and 3.12, oldest branch first, each branch oldest release
//! first, so that the flattened list is in ascending version order), how
//! common it is on each kind of device, and where it is found on disk and in
//! the registry. Some branches and products carry an end-of-support date; the
//! status shown on a device (`EOS Version`, `Upcoming EOS Software`, ...)
//! depends on the fleet's `now`.
//!
//! The operating systems themselves are products too (`microsoft windows_11`,
//! `apple macos`, ...), with `o:` CPEs; the fleet installs exactly one of them
//! per device, chosen with the device's OS, never by prevalence.
//!
//! About twenty entries are **non-CPE** software (line-of-business apps,
//! drivers, agents): they have no CPE, appear in the non-CPE inventory and
//! are never matched against the knowledge base.
//!
//! The table is written once as compact specs; [`catalogue`] expands it on
//! first use into [`Product`]s whose per-release strings (CPE, paths) are
//! built once and then only cloned into device reports.

use chrono::NaiveDate;
use std::sync::LazyLock;

/// CPE part of a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// `a`: an application.
    Application,
    /// `o`: an operating system.
    OperatingSystem,
}

/// The kinds of device the fleet generates; index into [`Product::prevalence`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceClass {
    /// Windows 10/11 client.
    Workstation = 0,
    /// Windows Server.
    Server = 1,
    Mac = 2,
    Linux = 3,
}

impl DeviceClass {
    pub const ALL: [DeviceClass; 4] = [
        DeviceClass::Workstation,
        DeviceClass::Server,
        DeviceClass::Mac,
        DeviceClass::Linux,
    ];
}

/// End of support of a branch or of a whole product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eos {
    /// `true`: the whole software reaches end of support (`EOS Software`);
    /// `false`: only this release line (`EOS Version`).
    pub software: bool,
    pub date: NaiveDate,
}

impl Eos {
    /// The MDE end-of-support status on `today`: past the date is `EOS ...`,
    /// within a year before it `Upcoming EOS ...`, earlier `None` (no status).
    pub fn status(&self, today: NaiveDate) -> Option<&'static str> {
        let days = (self.date - today).num_days();
        match (days <= 0, days <= 365, self.software) {
            (true, _, true) => Some("EOS Software"),
            (true, _, false) => Some("EOS Version"),
            (false, true, true) => Some("Upcoming EOS Software"),
            (false, true, false) => Some("Upcoming EOS Version"),
            (false, false, _) => None,
        }
    }
}

/// One release of a product, with its strings built once.
#[derive(Clone, Debug)]
pub struct Release {
    pub version: &'static str,
    /// `cpe:2.3:<part>:<vendor>:<product>:<version>:*:*:*:*:*:*:*`, escaped; `None` for non-CPE software.
    pub cpe: Option<String>,
    pub windows_path: Option<String>,
    pub registry_path: Option<String>,
    pub mac_path: Option<String>,
    pub linux_path: Option<String>,
}

/// A release line.
#[derive(Clone, Debug)]
pub struct Branch {
    pub releases: Vec<Release>,
    /// Relative share of installs on this line.
    pub weight: f32,
    pub eos: Option<Eos>,
}

/// A product of the catalogue.
#[derive(Clone, Debug)]
pub struct Product {
    /// CPE vendor (MDE `vendor`).
    pub vendor: &'static str,
    /// CPE product, unescaped (MDE `name`).
    pub name: &'static str,
    /// Human name, used in synthetic CVE descriptions and KEV entries.
    pub title: &'static str,
    /// `None` for non-CPE software.
    pub part: Option<Part>,
    /// Branches, oldest first.
    pub branches: Vec<Branch>,
    /// Share of devices of each [`DeviceClass`] that have it (0 = never).
    pub prevalence: [f32; 4],
    /// Chance that a device with the product has a second release line installed too.
    pub multi: f32,
    /// Added to a device's update discipline for this product (auto-updating browsers > 0).
    pub freshness: f32,
    /// Relative number of synthetic CVEs per release (0 = none).
    pub cve_density: f32,
    /// An operating system, installed with the device's OS rather than by prevalence.
    pub is_os: bool,
}

impl Product {
    /// All releases, in ascending version order (branches concatenated).
    pub fn releases(&self) -> impl Iterator<Item = &Release> {
        self.branches.iter().flat_map(|b| b.releases.iter())
    }
    pub fn has_cpe(&self) -> bool {
        self.part.is_some()
    }
    /// Finds a product by CPE vendor and product.
    pub fn find(vendor: &str, name: &str) -> Option<&'static Product> {
        catalogue()
            .iter()
            .find(|p| p.vendor == vendor && p.name == name)
    }
}

/// The expanded catalogue (built on first use).
pub fn catalogue() -> &'static [Product] {
    &CATALOGUE
}

static CATALOGUE: LazyLock<Vec<Product>> = LazyLock::new(|| SPECS.iter().map(expand).collect());

/// Escapes a CPE 2.3 formatted-string component: anything but letters, digits,
/// `_`, `-` and `.` gets a backslash (`notepad++` → `notepad\+\+`).
pub fn cpe_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds a full CPE 2.3 formatted string with every trailing component `*`;
/// a version of `*` (ANY) or `-` (NA) is kept as the logical value.
pub fn cpe23(part: Part, vendor: &str, product: &str, version: &str) -> String {
    let p = match part {
        Part::Application => 'a',
        Part::OperatingSystem => 'o',
    };
    let version = if matches!(version, "*" | "-") {
        version.to_owned()
    } else {
        cpe_escape(version)
    };
    format!(
        "cpe:2.3:{p}:{}:{}:{version}:*:*:*:*:*:*:*",
        cpe_escape(vendor),
        cpe_escape(product)
    )
}

const UNINSTALL: &str =
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\";
const UNINSTALL_WOW: &str =
    "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\";

/// Fills `{v}` (version), `{mm}` (major.minor), `{m}` (major), `{vmm}`
/// (major and minor digits run together, `312` for 3.12.7) and `{guid}` (an
/// MSI product code, stable for the product and release) in a path template.
fn fill(template: &str, key: &str, version: &str) -> Option<String> {
    if template.is_empty() {
        return None;
    }
    let mut parts = version.split(['.', '-', '_']);
    let major = parts.next().unwrap_or(version);
    let minor = parts.next().unwrap_or("0");
    let mut out = template
        .replace("{vmm}", &format!("{major}{minor}"))
        .replace("{mm}", &format!("{major}.{minor}"))
        .replace("{m}", major)
        .replace("{v}", version);
    if out.contains("{guid}") {
        out = out.replace("{guid}", &msi_guid(key, version));
    }
    Some(out)
}

/// A GUID-shaped MSI product code derived from the product and version (FNV-1a).
fn msi_guid(key: &str, version: &str) -> String {
    let hash = |salt: u64| {
        let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt;
        for b in key.bytes().chain([0]).chain(version.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    };
    let (a, b) = (hash(1), hash(2));
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn registry(template: &str, key: &str, version: &str) -> Option<String> {
    let path = fill(template, key, version)?;
    Some(if path.starts_with("HKEY_") {
        path
    } else if let Some(k) = path.strip_prefix("WOW:") {
        format!("{UNINSTALL_WOW}{k}")
    } else {
        format!("{UNINSTALL}{path}")
    })
}

fn expand(s: &Spec) -> Product {
    let mut branches = Vec::new();
    let mut product_eos = None;
    for (i, text) in s.versions.split('|').enumerate() {
        let mut weight = (i + 1) as f32;
        let mut eos = None;
        let mut releases = Vec::new();
        for tok in text.split_whitespace() {
            if let Some(note) = tok.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                let (kind, arg) = note.split_at(1);
                match kind {
                    "w" => weight = arg.parse().expect("catalogue: branch weight is a number"),
                    "V" | "S" => {
                        let date = NaiveDate::parse_from_str(arg, "%Y-%m-%d")
                            .expect("catalogue: EOS date is YYYY-MM-DD");
                        let e = Eos {
                            software: kind == "S",
                            date,
                        };
                        if e.software {
                            product_eos = Some(e);
                        } else {
                            eos = Some(e);
                        }
                    }
                    _ => panic!("catalogue: unknown branch note {tok}"),
                }
                continue;
            }
            releases.push(Release {
                version: tok,
                cpe: s.part.map(|p| cpe23(p, s.vendor, s.product, tok)),
                windows_path: fill(s.win, s.product, tok),
                registry_path: registry(s.reg, s.product, tok),
                mac_path: fill(s.mac, s.product, tok),
                linux_path: fill(s.lin, s.product, tok),
            });
        }
        assert!(
            !releases.is_empty(),
            "catalogue: {} has an empty branch",
            s.product
        );
        branches.push(Branch {
            releases,
            weight,
            eos,
        });
    }
    if let Some(e) = product_eos {
        for b in &mut branches {
            b.eos = Some(
                b.eos
                    .map_or(e, |own| if own.date < e.date { own } else { e }),
            );
        }
    }
    Product {
        vendor: s.vendor,
        name: s.product,
        title: s.title,
        part: s.part,
        branches,
        prevalence: s.prev,
        multi: s.multi,
        freshness: s.fresh,
        cve_density: if s.part.is_some() { s.cves } else { 0.0 },
        is_os: s.os,
    }
}

/// A compact catalogue entry. `versions`: branches separated by `|`, releases
/// by spaces, oldest first; a branch may start with notes: `[w2.5]` weight,
/// `[V2024-10-07]` end of support of the branch, `[S2025-10-14]` end of
/// support of the whole software. Empty path templates mean "not found there".
struct Spec {
    vendor: &'static str,
    product: &'static str,
    title: &'static str,
    part: Option<Part>,
    versions: &'static str,
    /// Prevalence on workstation, server, mac, linux.
    prev: [f32; 4],
    win: &'static str,
    reg: &'static str,
    mac: &'static str,
    lin: &'static str,
    multi: f32,
    fresh: f32,
    cves: f32,
    os: bool,
}

const A: Spec = Spec {
    vendor: "",
    product: "",
    title: "",
    part: Some(Part::Application),
    versions: "",
    prev: [0.0; 4],
    win: "",
    reg: "",
    mac: "",
    lin: "",
    multi: 0.0,
    fresh: 0.0,
    cves: 1.0,
    os: false,
};
const OS: Spec = Spec {
    part: Some(Part::OperatingSystem),
    os: true,
    cves: 1.6,
    ..A
};
const NONCPE: Spec = Spec {
    part: None,
    cves: 0.0,
    ..A
};

#[rustfmt::skip]
static SPECS: &[Spec] = &[
    // ---- operating systems (installed with the device's OS) ----
    Spec { vendor: "microsoft", product: "windows_10", title: "Microsoft Windows 10",
        versions: "[S2025-10-14] 10.0.19045.3570 10.0.19045.3693 10.0.19045.3803 10.0.19045.3930 10.0.19045.4046 10.0.19045.4170 10.0.19045.4291 10.0.19045.4412 10.0.19045.4529 10.0.19045.4651 10.0.19045.4780 10.0.19045.4894 10.0.19045.5011 10.0.19045.5131 10.0.19045.5247",
        ..OS },
    Spec { vendor: "microsoft", product: "windows_11", title: "Microsoft Windows 11",
        versions: "[w3] [V2026-11-10] 10.0.22631.2715 10.0.22631.2861 10.0.22631.3007 10.0.22631.3155 10.0.22631.3296 10.0.22631.3447 10.0.22631.3593 10.0.22631.3737 10.0.22631.3880 10.0.22631.4037 10.0.22631.4169 10.0.22631.4317 10.0.22631.4460 10.0.22631.4602 | [w2] [V2027-10-12] 10.0.26100.1742 10.0.26100.1882 10.0.26100.2033 10.0.26100.2314 10.0.26100.2605",
        ..OS },
    Spec { vendor: "microsoft", product: "windows_server_2016", title: "Microsoft Windows Server 2016",
        versions: "[S2027-01-12] 10.0.14393.6452 10.0.14393.6529 10.0.14393.6614 10.0.14393.6709 10.0.14393.6796 10.0.14393.6897 10.0.14393.6981 10.0.14393.7070 10.0.14393.7159 10.0.14393.7259 10.0.14393.7336 10.0.14393.7428 10.0.14393.7515 10.0.14393.7606",
        ..OS },
    Spec { vendor: "microsoft", product: "windows_server_2019", title: "Microsoft Windows Server 2019",
        versions: "[S2029-01-09] 10.0.17763.5122 10.0.17763.5206 10.0.17763.5329 10.0.17763.5458 10.0.17763.5576 10.0.17763.5696 10.0.17763.5820 10.0.17763.5936 10.0.17763.6054 10.0.17763.6189 10.0.17763.6293 10.0.17763.6414 10.0.17763.6532 10.0.17763.6659",
        ..OS },
    Spec { vendor: "microsoft", product: "windows_server_2022", title: "Microsoft Windows Server 2022",
        versions: "[S2031-10-14] 10.0.20348.2031 10.0.20348.2113 10.0.20348.2159 10.0.20348.2227 10.0.20348.2322 10.0.20348.2402 10.0.20348.2461 10.0.20348.2527 10.0.20348.2582 10.0.20348.2655 10.0.20348.2700 10.0.20348.2762 10.0.20348.2849 10.0.20348.2966",
        ..OS },
    Spec { vendor: "apple", product: "macos", title: "Apple macOS",
        versions: "[w1] [V2025-09-15] 13.6.1 13.6.3 13.6.6 13.6.9 13.7.1 | [w3] [V2026-09-15] 14.1.2 14.2.1 14.3.1 14.4.1 14.5 14.6.1 14.7 14.7.1 | [w3] 15.0 15.0.1 15.1 15.1.1",
        ..OS },
    Spec { vendor: "canonical", product: "ubuntu_linux", title: "Canonical Ubuntu Linux",
        versions: "[V2025-05-31] 20.04 | [V2027-06-01] 22.04 | 24.04", cves: 0.0, ..OS },
    Spec { vendor: "debian", product: "debian_linux", title: "Debian GNU/Linux",
        versions: "[V2024-08-14] 11 | [V2028-06-30] 12", cves: 0.0, ..OS },
    Spec { vendor: "redhat", product: "enterprise_linux", title: "Red Hat Enterprise Linux",
        versions: "[V2029-05-31] 8.8 8.9 8.10 | 9.2 9.3 9.4 9.5", cves: 0.0, ..OS },
    Spec { vendor: "linux", product: "linux_kernel", title: "Linux kernel", part: Some(Part::OperatingSystem),
        versions: "4.18.0.477 4.18.0.513 4.18.0.553 | [V2025-05-31] 5.4.268 5.4.274 5.4.281 5.4.284 | 5.10.209 5.10.216 5.10.223 5.10.226 | 5.14.0.362 5.14.0.427 5.14.0.503 | 5.15.148 5.15.153 5.15.160 5.15.167 5.15.173 | 6.1.76 6.1.90 6.1.106 6.1.112 6.1.119 | 6.8.0.31 6.8.0.45 6.8.0.49 6.8.0.51",
        lin: "/boot/vmlinuz-{v}", cves: 2.2, os: true, ..A },

    // ---- browsers ----
    Spec { vendor: "google", product: "chrome", title: "Google Chrome",
        versions: "116.0.5845.188 117.0.5938.150 118.0.5993.118 119.0.6045.199 120.0.6099.225 121.0.6167.185 122.0.6261.129 123.0.6312.122 124.0.6367.207 125.0.6422.142 126.0.6478.182 127.0.6533.120 128.0.6613.138 129.0.6668.101 130.0.6723.117 131.0.6778.86",
        prev: [0.88, 0.35, 0.55, 0.12], win: "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe", reg: "Google Chrome",
        mac: "/Applications/Google Chrome.app", lin: "/opt/google/chrome/chrome", fresh: 0.3, cves: 1.3, ..A },
    Spec { vendor: "mozilla", product: "firefox", title: "Mozilla Firefox",
        versions: "118.0.2 119.0.1 120.0.1 121.0.1 122.0.1 123.0.1 124.0.2 125.0.3 126.0.1 127.0.2 128.0.3 129.0.2 130.0.1 131.0.3 132.0.2 133.0",
        prev: [0.4, 0.06, 0.25, 0.55], win: "C:\\Program Files\\Mozilla Firefox\\firefox.exe", reg: "Mozilla Firefox {v} (x64 en-US)",
        mac: "/Applications/Firefox.app", lin: "/usr/lib/firefox/firefox", fresh: 0.2, cves: 1.1, ..A },
    Spec { vendor: "mozilla", product: "firefox_esr", title: "Mozilla Firefox ESR",
        versions: "115.5.0 115.8.0 115.11.0 115.14.0 115.16.1 115.18.0 | 128.1.0 128.2.0 128.3.1 128.4.0 128.5.0",
        prev: [0.04, 0.03, 0.02, 0.25], win: "C:\\Program Files\\Mozilla Firefox\\firefox.exe", reg: "Mozilla Firefox {v} ESR (x64 en-US)",
        mac: "/Applications/Firefox.app", lin: "/usr/lib/firefox-esr/firefox-esr", ..A },
    Spec { vendor: "microsoft", product: "edge_chromium", title: "Microsoft Edge (Chromium-based)",
        versions: "118.0.2088.76 119.0.2151.97 120.0.2210.144 121.0.2277.128 122.0.2365.92 123.0.2420.97 124.0.2478.109 125.0.2535.92 126.0.2592.113 127.0.2651.105 128.0.2739.79 129.0.2792.89 130.0.2849.80 131.0.2903.70",
        prev: [0.99, 0.9, 0.15, 0.03], win: "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe", reg: "WOW:Microsoft Edge",
        mac: "/Applications/Microsoft Edge.app", lin: "/opt/microsoft/msedge/msedge", fresh: 0.35, cves: 1.2, ..A },
    Spec { vendor: "apple", product: "safari", title: "Apple Safari",
        versions: "16.6 17.0 17.1 17.2.1 17.3.1 17.4.1 17.5 17.6 18.0 18.0.1 18.1 18.1.1",
        prev: [0.0, 0.0, 1.0, 0.0], mac: "/Applications/Safari.app", fresh: 0.1, ..A },

    // ---- archivers, media, documents ----
    Spec { vendor: "7-zip", product: "7-zip", title: "7-Zip",
        versions: "19.00 21.07 22.01 23.01 24.05 24.06 24.07 24.08 24.09",
        prev: [0.55, 0.45, 0.0, 0.0], win: "C:\\Program Files\\7-Zip\\7zFM.exe", reg: "7-Zip", fresh: -0.15, ..A },
    Spec { vendor: "rarlab", product: "winrar", title: "RARLAB WinRAR",
        versions: "5.91 6.02 6.11 6.21 6.22 6.23 6.24 7.00 7.01",
        prev: [0.18, 0.05, 0.0, 0.0], win: "C:\\Program Files\\WinRAR\\WinRAR.exe", reg: "WinRAR archiver", fresh: -0.15, ..A },
    Spec { vendor: "videolan", product: "vlc_media_player", title: "VideoLAN VLC media player",
        versions: "3.0.11 3.0.16 3.0.17.4 3.0.18 3.0.20 3.0.21",
        prev: [0.35, 0.02, 0.15, 0.1], win: "C:\\Program Files\\VideoLAN\\VLC\\vlc.exe", reg: "VLC media player",
        mac: "/Applications/VLC.app", lin: "/usr/bin/vlc", fresh: -0.1, ..A },
    Spec { vendor: "adobe", product: "acrobat_reader_dc", title: "Adobe Acrobat Reader DC",
        versions: "21.001.20155 22.001.20169 22.003.20282 23.001.20093 23.003.20284 23.006.20360 23.008.20470 24.001.20643 24.002.21005 24.003.20180 24.004.20272 24.005.20320",
        prev: [0.7, 0.2, 0.3, 0.0], win: "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe", reg: "{AC76BA86-1033-FFFF-7760-BC15014EA700}",
        mac: "/Applications/Adobe Acrobat Reader.app", cves: 1.2, ..A },
    Spec { vendor: "libreoffice", product: "libreoffice", title: "LibreOffice",
        versions: "7.5.9 7.6.4 7.6.7 24.2.4 24.2.7 24.8.2 24.8.3",
        prev: [0.06, 0.0, 0.05, 0.3], win: "C:\\Program Files\\LibreOffice\\program\\soffice.exe", reg: "{guid}",
        mac: "/Applications/LibreOffice.app", lin: "/usr/lib/libreoffice/program/soffice.bin", cves: 0.6, ..A },
    Spec { vendor: "mozilla", product: "thunderbird", title: "Mozilla Thunderbird",
        versions: "115.5.0 115.8.0 115.12.0 115.15.0 | 128.2.0 128.4.3 128.5.0",
        prev: [0.05, 0.0, 0.05, 0.2], win: "C:\\Program Files\\Mozilla Thunderbird\\thunderbird.exe", reg: "Mozilla Thunderbird {v} (x64 en-US)",
        mac: "/Applications/Thunderbird.app", lin: "/usr/lib/thunderbird/thunderbird", ..A },

    // ---- runtimes and languages ----
    Spec { vendor: "oracle", product: "jre", title: "Oracle Java SE Runtime Environment",
        versions: "[w6] 1.8.0.361 1.8.0.371 1.8.0.381 1.8.0.391 1.8.0.401 1.8.0.411 1.8.0.421 1.8.0.431 | [w1] 11.0.20 11.0.21 11.0.22 11.0.23 11.0.24 11.0.25 | [w2] 17.0.8 17.0.9 17.0.10 17.0.11 17.0.12 17.0.13 | [w2] 21.0.1 21.0.2 21.0.3 21.0.4 21.0.5",
        prev: [0.35, 0.35, 0.1, 0.05], win: "C:\\Program Files\\Java\\jre-{v}\\bin\\java.exe", reg: "{guid}",
        mac: "/Library/Internet Plug-Ins/JavaAppletPlugin.plugin", lin: "/usr/lib/jvm/jre-{v}/bin/java", multi: 0.2, fresh: -0.2, ..A },
    Spec { vendor: "oracle", product: "jdk", title: "Oracle Java SE Development Kit",
        versions: "[w2] 1.8.0.361 1.8.0.371 1.8.0.381 1.8.0.391 1.8.0.401 1.8.0.411 1.8.0.421 1.8.0.431 | [w1] 11.0.20 11.0.21 11.0.22 11.0.23 11.0.24 11.0.25 | [w3] 17.0.8 17.0.9 17.0.10 17.0.11 17.0.12 17.0.13 | [w3] 21.0.1 21.0.2 21.0.3 21.0.4 21.0.5",
        prev: [0.1, 0.18, 0.12, 0.1], win: "C:\\Program Files\\Java\\jdk-{v}\\bin\\java.exe", reg: "Java(TM) SE Development Kit {v} (64-bit)",
        mac: "/Library/Java/JavaVirtualMachines/jdk-{v}.jdk", lin: "/usr/lib/jvm/jdk-{v}/bin/java", multi: 0.2, fresh: -0.1, ..A },
    Spec { vendor: "oracle", product: "openjdk", title: "OpenJDK",
        versions: "11.0.23 11.0.24 11.0.25 | 17.0.11 17.0.12 17.0.13 | 21.0.3 21.0.4 21.0.5",
        prev: [0.0, 0.05, 0.05, 0.35], win: "C:\\Program Files\\OpenJDK\\jdk-{v}\\bin\\java.exe", mac: "/opt/homebrew/opt/openjdk/bin/java", lin: "/usr/lib/jvm/java-{m}-openjdk-amd64/bin/java", multi: 0.15, ..A },
    Spec { vendor: "python", product: "python", title: "Python",
        versions: "[w1] [V2024-10-07] 3.8.16 3.8.17 3.8.18 3.8.19 3.8.20 | [w1] [V2025-10-31] 3.9.17 3.9.18 3.9.19 3.9.20 | [w2] [V2026-10-31] 3.10.12 3.10.13 3.10.14 3.10.15 | [w2] [V2027-10-31] 3.11.5 3.11.6 3.11.7 3.11.8 3.11.9 | [w3] [V2028-10-31] 3.12.0 3.12.1 3.12.2 3.12.3 3.12.4 3.12.5 3.12.6 3.12.7 | [w1] 3.13.0 3.13.1",
        prev: [0.35, 0.3, 0.55, 0.95], win: "C:\\Program Files\\Python{vmm}\\python.exe", reg: "Python {v} (64-bit)",
        mac: "/Library/Frameworks/Python.framework/Versions/{mm}/bin/python3", lin: "/usr/bin/python{mm}", multi: 0.3, ..A },
    Spec { vendor: "pypa", product: "pip", title: "pip",
        versions: "20.0.2 22.0.2 23.0.1 23.2.1 23.3.1 24.0 24.2 24.3.1",
        prev: [0.28, 0.22, 0.5, 0.8], win: "C:\\Program Files\\Python312\\Scripts\\pip.exe", mac: "/usr/local/bin/pip3", lin: "/usr/bin/pip3", cves: 0.4, ..A },
    Spec { vendor: "nodejs", product: "node.js", title: "Node.js",
        versions: "[w1] [V2023-09-11] 16.20.2 | [w2] [V2025-04-30] 18.18.2 18.19.1 18.20.2 18.20.4 18.20.5 | [w3] [V2026-04-30] 20.9.0 20.11.1 20.12.2 20.15.1 20.17.0 20.18.1 | [w2] [V2027-04-30] 22.3.0 22.9.0 22.11.0 22.12.0",
        prev: [0.15, 0.15, 0.35, 0.35], win: "C:\\Program Files\\nodejs\\node.exe", reg: "{v}-Node.js",
        mac: "/usr/local/bin/node", lin: "/usr/bin/node", ..A },
    Spec { vendor: "microsoft", product: ".net_framework", title: "Microsoft .NET Framework",
        versions: "4.7.2 4.8 4.8.1",
        prev: [1.0, 1.0, 0.0, 0.0], win: "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
        reg: "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\NET Framework Setup\\NDP\\v4\\Full", fresh: 0.2, cves: 2.0, ..A },
    Spec { vendor: "microsoft", product: ".net", title: "Microsoft .NET",
        versions: "[w2] [V2024-11-12] 6.0.25 6.0.31 6.0.33 6.0.35 6.0.36 | [w1] [V2024-05-14] 7.0.14 7.0.20 | [w3] [V2026-11-10] 8.0.0 8.0.4 8.0.7 8.0.8 8.0.10 8.0.11",
        prev: [0.7, 0.6, 0.1, 0.15], win: "C:\\Program Files\\dotnet\\shared\\Microsoft.NETCore.App\\{v}\\coreclr.dll", reg: "Microsoft .NET Runtime - {v} (x64)",
        mac: "/usr/local/share/dotnet/shared/Microsoft.NETCore.App/{v}/libcoreclr.dylib", lin: "/usr/lib/dotnet/shared/Microsoft.NETCore.App/{v}/libcoreclr.so", multi: 0.35, ..A },
    Spec { vendor: "golang", product: "go", title: "Go",
        versions: "1.20.14 1.21.13 1.22.5 1.22.9 1.23.2 1.23.4",
        prev: [0.05, 0.05, 0.2, 0.3], win: "C:\\Program Files\\Go\\bin\\go.exe", reg: "{guid}", mac: "/usr/local/go/bin/go", lin: "/usr/local/go/bin/go", ..A },
    Spec { vendor: "ruby-lang", product: "ruby", title: "Ruby",
        versions: "[w3] [V2022-04-12] 2.6.10 | [w1] [V2024-04-23] 3.0.6 | [w1] [V2025-03-26] 3.1.4 3.1.6 | [w1] [V2026-03-31] 3.2.2 3.2.6 | [w1] 3.3.0 3.3.6",
        prev: [0.0, 0.0, 0.95, 0.3], mac: "/usr/bin/ruby", lin: "/usr/bin/ruby{mm}", cves: 0.6, ..A },
    Spec { vendor: "php", product: "php", title: "PHP",
        versions: "[V2022-11-28] 7.4.33 | [V2025-12-31] 8.1.2 8.1.29 8.1.31 | [V2026-12-31] 8.2.12 8.2.24 8.2.26 | [V2027-12-31] 8.3.6 8.3.14",
        prev: [0.0, 0.03, 0.05, 0.25], win: "C:\\php\\php.exe", mac: "/opt/homebrew/bin/php", lin: "/usr/bin/php{mm}", ..A },
    Spec { vendor: "perl", product: "perl", title: "Perl",
        versions: "5.30.0 5.34.0 5.34.1 5.36.0 5.36.3 5.38.2 5.40.0",
        prev: [0.3, 0.15, 1.0, 1.0], win: "C:\\Program Files\\Git\\usr\\bin\\perl.exe", mac: "/usr/bin/perl", lin: "/usr/bin/perl", cves: 0.4, ..A },

    // ---- developer and admin tools ----
    Spec { vendor: "git-scm", product: "git", title: "Git",
        versions: "2.39.2 2.40.1 2.41.0 2.42.0 2.43.0 2.44.0 2.45.1 2.45.2 2.46.0 2.46.2 2.47.0 2.47.1",
        prev: [0.35, 0.25, 0.6, 0.85], win: "C:\\Program Files\\Git\\cmd\\git.exe", reg: "Git_is1",
        mac: "/Library/Developer/CommandLineTools/usr/bin/git", lin: "/usr/bin/git", ..A },
    Spec { vendor: "microsoft", product: "visual_studio_code", title: "Microsoft Visual Studio Code",
        versions: "1.84.2 1.85.2 1.86.2 1.87.2 1.88.1 1.89.1 1.90.2 1.91.1 1.92.2 1.93.1 1.94.2 1.95.3",
        prev: [0.45, 0.08, 0.6, 0.3], win: "C:\\Program Files\\Microsoft VS Code\\Code.exe", reg: "{EA457B21-F73E-494C-ACAB-524FDE069978}_is1",
        mac: "/Applications/Visual Studio Code.app", lin: "/usr/share/code/code", fresh: 0.2, cves: 0.6, ..A },
    Spec { vendor: "microsoft", product: "visual_studio_2022", title: "Microsoft Visual Studio 2022",
        versions: "17.4.14 17.6.11 17.8.7 17.9.6 17.10.5 17.11.5 17.12.1",
        prev: [0.1, 0.02, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Visual Studio\\2022\\Professional\\Common7\\IDE\\devenv.exe", reg: "WOW:8cf86b5e", ..A },
    Spec { vendor: "microsoft", product: "powershell", title: "Microsoft PowerShell",
        versions: "[V2024-11-08] 7.2.18 7.2.24 | [V2024-05-08] 7.3.12 | 7.4.1 7.4.2 7.4.5 7.4.6",
        prev: [0.35, 0.4, 0.05, 0.05], win: "C:\\Program Files\\PowerShell\\7\\pwsh.exe", reg: "{guid}",
        mac: "/usr/local/microsoft/powershell/7/pwsh", lin: "/opt/microsoft/powershell/7/pwsh", cves: 0.6, ..A },
    Spec { vendor: "putty", product: "putty", title: "PuTTY",
        versions: "0.70 0.73 0.76 0.77 0.78 0.79 0.80 0.81 0.82",
        prev: [0.25, 0.35, 0.0, 0.0], win: "C:\\Program Files\\PuTTY\\putty.exe", reg: "PuTTY release {v} (64-bit)", fresh: -0.2, cves: 0.8, ..A },
    Spec { vendor: "notepad-plus-plus", product: "notepad++", title: "Notepad++",
        versions: "8.4.9 8.5.4 8.5.8 8.6 8.6.2 8.6.4 8.6.5 8.6.7 8.6.9 8.7 8.7.1",
        prev: [0.45, 0.5, 0.0, 0.0], win: "C:\\Program Files\\Notepad++\\notepad++.exe", reg: "Notepad++", fresh: -0.1, ..A },
    Spec { vendor: "wireshark", product: "wireshark", title: "Wireshark",
        versions: "3.6.16 3.6.24 | 4.0.10 4.0.17 | 4.2.2 4.2.5 4.2.8 | 4.4.0 4.4.1 4.4.2",
        prev: [0.06, 0.1, 0.08, 0.1], win: "C:\\Program Files\\Wireshark\\Wireshark.exe", reg: "Wireshark",
        mac: "/Applications/Wireshark.app", lin: "/usr/bin/wireshark", ..A },
    Spec { vendor: "winscp", product: "winscp", title: "WinSCP",
        versions: "5.21.8 6.1.2 6.3.2 6.3.5 6.3.6",
        prev: [0.1, 0.2, 0.0, 0.0], win: "C:\\Program Files (x86)\\WinSCP\\WinSCP.exe", reg: "WOW:winscp3_is1", fresh: -0.1, cves: 0.5, ..A },
    Spec { vendor: "filezilla-project", product: "filezilla_client", title: "FileZilla Client",
        versions: "3.63.2 3.65.0 3.66.5 3.67.0 3.67.1 3.68.1",
        prev: [0.05, 0.03, 0.04, 0.03], win: "C:\\Program Files\\FileZilla FTP Client\\filezilla.exe", reg: "FileZilla Client",
        mac: "/Applications/FileZilla.app", lin: "/usr/bin/filezilla", cves: 0.5, ..A },
    Spec { vendor: "hashicorp", product: "terraform", title: "HashiCorp Terraform",
        versions: "1.5.7 1.6.6 1.7.5 1.8.5 1.9.8 1.10.1",
        prev: [0.05, 0.05, 0.15, 0.15], win: "C:\\Program Files\\Terraform\\terraform.exe", mac: "/opt/homebrew/bin/terraform", lin: "/usr/bin/terraform", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "azure_cli", title: "Microsoft Azure CLI",
        versions: "2.53.1 2.56.0 2.58.0 2.61.0 2.63.0 2.65.0 2.67.0",
        prev: [0.08, 0.12, 0.12, 0.15], win: "C:\\Program Files\\Microsoft SDKs\\Azure\\CLI2\\wbin\\az.cmd", reg: "{guid}",
        mac: "/opt/homebrew/bin/az", lin: "/usr/bin/az", cves: 0.4, ..A },
    Spec { vendor: "docker", product: "desktop", title: "Docker Desktop",
        versions: "4.23.0 4.26.1 4.28.0 4.30.0 4.33.1 4.34.3 4.35.1 4.36.0",
        prev: [0.08, 0.0, 0.25, 0.0], win: "C:\\Program Files\\Docker\\Docker\\Docker Desktop.exe", reg: "Docker Desktop",
        mac: "/Applications/Docker.app", cves: 0.6, ..A },
    Spec { vendor: "jetbrains", product: "intellij_idea", title: "JetBrains IntelliJ IDEA",
        versions: "2023.2.5 2023.3.6 2024.1.4 2024.2.3 2024.2.4 2024.3",
        prev: [0.06, 0.0, 0.15, 0.05], win: "C:\\Program Files\\JetBrains\\IntelliJ IDEA {v}\\bin\\idea64.exe", reg: "WOW:IntelliJ IDEA {v}",
        mac: "/Applications/IntelliJ IDEA.app", lin: "/opt/idea/bin/idea.sh", cves: 0.4, ..A },
    Spec { vendor: "oracle", product: "vm_virtualbox", title: "Oracle VM VirtualBox",
        versions: "7.0.12 7.0.14 7.0.18 7.0.20 7.0.22 | 7.1.0 7.1.2 7.1.4",
        prev: [0.05, 0.02, 0.05, 0.05], win: "C:\\Program Files\\Oracle\\VirtualBox\\VirtualBox.exe", reg: "{guid}",
        mac: "/Applications/VirtualBox.app", lin: "/usr/lib/virtualbox/VirtualBox", ..A },

    // ---- communication and remote access ----
    Spec { vendor: "zoom", product: "zoom", title: "Zoom Workplace",
        versions: "5.14.10 5.15.12 5.16.10 5.17.11 6.0.11 6.1.6 6.1.12 6.2.6 6.2.10 6.2.11 6.3.0",
        prev: [0.55, 0.02, 0.6, 0.05], win: "C:\\Program Files\\Zoom\\bin\\Zoom.exe", reg: "ZoomUMX",
        mac: "/Applications/zoom.us.app", lin: "/opt/zoom/zoom", fresh: 0.1, ..A },
    Spec { vendor: "microsoft", product: "teams", title: "Microsoft Teams",
        versions: "[w1] [V2024-07-01] 1.6.00.35961 1.7.00.13456 | [w5] 24004.1403.2634.2418 24124.2315.2911.3357 24215.1007.3082.1590 24277.3507.3205.5228 24295.605.3225.8804",
        prev: [0.85, 0.2, 0.5, 0.0], win: "C:\\Program Files\\WindowsApps\\MSTeams_{v}_x64__8wekyb3d8bbwe\\ms-teams.exe",
        mac: "/Applications/Microsoft Teams.app", fresh: 0.2, cves: 0.5, ..A },
    Spec { vendor: "slack", product: "slack", title: "Slack",
        versions: "4.33.90 4.35.131 4.36.140 4.37.101 4.38.125 4.39.95 4.40.133 4.41.97",
        prev: [0.3, 0.0, 0.45, 0.05], win: "C:\\Program Files\\Slack\\slack.exe", reg: "slack",
        mac: "/Applications/Slack.app", lin: "/usr/bin/slack", fresh: 0.2, cves: 0.4, ..A },
    Spec { vendor: "cisco", product: "secure_client", title: "Cisco Secure Client",
        versions: "4.10.07073 4.10.08029 5.0.05040 5.1.2.42 5.1.4.74 5.1.6.103",
        prev: [0.3, 0.02, 0.15, 0.02], win: "C:\\Program Files (x86)\\Cisco\\Cisco Secure Client\\csc_ui.exe", reg: "WOW:Cisco Secure Client - AnyConnect VPN",
        mac: "/Applications/Cisco/Cisco Secure Client.app", lin: "/opt/cisco/secureclient/bin/vpnui", cves: 0.6, ..A },
    Spec { vendor: "citrix", product: "workspace", title: "Citrix Workspace app",
        versions: "23.3.0.38 23.9.1.104 24.2.0.187 24.5.0.131 24.9.10.28",
        prev: [0.15, 0.05, 0.05, 0.0], win: "C:\\Program Files (x86)\\Citrix\\ICA Client\\SelfServicePlugin\\SelfService.exe", reg: "WOW:CitrixOnlinePluginPackWeb",
        mac: "/Applications/Citrix Workspace.app", cves: 0.6, ..A },
    Spec { vendor: "teamviewer", product: "teamviewer", title: "TeamViewer",
        versions: "15.44.5 15.48.4 15.51.5 15.54.3 15.57.5 15.59.3",
        prev: [0.15, 0.1, 0.1, 0.02], win: "C:\\Program Files\\TeamViewer\\TeamViewer.exe", reg: "TeamViewer",
        mac: "/Applications/TeamViewer.app", lin: "/opt/teamviewer/tv_bin/TeamViewer", cves: 0.5, ..A },
    Spec { vendor: "anydesk", product: "anydesk", title: "AnyDesk",
        versions: "7.1.13 8.0.5 8.0.8 8.0.10 8.1.0 9.0.0",
        prev: [0.05, 0.05, 0.02, 0.0], win: "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe", reg: "WOW:AnyDesk", mac: "/Applications/AnyDesk.app", cves: 0.5, ..A },
    Spec { vendor: "openvpn", product: "openvpn", title: "OpenVPN",
        versions: "2.5.9 2.6.6 2.6.8 2.6.10 2.6.12",
        prev: [0.05, 0.05, 0.03, 0.1], win: "C:\\Program Files\\OpenVPN\\bin\\openvpn.exe", reg: "{guid}",
        mac: "/Applications/OpenVPN Connect/OpenVPN Connect.app", lin: "/usr/sbin/openvpn", cves: 0.5, ..A },
    Spec { vendor: "keepass", product: "keepass", title: "KeePass Password Safe",
        versions: "2.54 2.55 2.56 2.57 2.57.1",
        prev: [0.12, 0.05, 0.0, 0.0], win: "C:\\Program Files\\KeePass Password Safe 2\\KeePass.exe", reg: "KeePassPasswordSafe2_is1", cves: 0.4, ..A },
    Spec { vendor: "1password", product: "1password", title: "1Password",
        versions: "8.10.18 8.10.30 8.10.36 8.10.44 8.10.50",
        prev: [0.04, 0.0, 0.3, 0.02], win: "C:\\Program Files\\1Password\\app\\8\\1Password.exe", mac: "/Applications/1Password.app", lin: "/opt/1Password/1password", fresh: 0.2, cves: 0.3, ..A },

    // ---- Microsoft 365 and servers ----
    Spec { vendor: "microsoft", product: "office", title: "Microsoft Office",
        versions: "16.0.16130.20868 16.0.16731.20636 16.0.17126.20190 16.0.17328.20452 16.0.17531.20190 16.0.17726.20206 16.0.17928.20216 16.0.18025.20140 16.0.18129.20158",
        prev: [0.85, 0.03, 0.5, 0.0], win: "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE", reg: "O365ProPlusRetail - en-us",
        mac: "/Applications/Microsoft Word.app", fresh: 0.1, cves: 1.2, ..A },
    Spec { vendor: "microsoft", product: "onedrive", title: "Microsoft OneDrive",
        versions: "23.226.1031.0003 24.010.0114.0003 24.070.0407.0003 24.126.0623.0001 24.201.1006.0005 24.216.1027.0001",
        prev: [0.9, 0.1, 0.4, 0.0], win: "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe", reg: "OneDriveSetup.exe",
        mac: "/Applications/OneDrive.app", fresh: 0.3, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "remote_desktop", title: "Microsoft Remote Desktop client",
        versions: "1.2.4487 1.2.5105 1.2.5326 1.2.5559 1.2.5713",
        prev: [0.15, 0.0, 0.1, 0.0], win: "C:\\Program Files\\Remote Desktop\\msrdcw.exe", reg: "{guid}", mac: "/Applications/Microsoft Remote Desktop.app", cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "sql_server_2019", title: "Microsoft SQL Server 2019",
        versions: "[S2030-01-08] 15.0.4335.1 15.0.4355.3 15.0.4375.4 15.0.4385.2 15.0.4395.2 15.0.4405.4",
        prev: [0.0, 0.12, 0.0, 0.0], win: "C:\\Program Files\\Microsoft SQL Server\\MSSQL15.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe", reg: "Microsoft SQL Server 2019 (64-bit)", ..A },
    Spec { vendor: "microsoft", product: "sql_server_2022", title: "Microsoft SQL Server 2022",
        versions: "[S2033-01-11] 16.0.4085.2 16.0.4105.2 16.0.4115.5 16.0.4125.3 16.0.4135.4 16.0.4145.4",
        prev: [0.0, 0.1, 0.0, 0.0], win: "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe", reg: "Microsoft SQL Server 2022 (64-bit)", ..A },
    Spec { vendor: "microsoft", product: "sql_server_management_studio", title: "Microsoft SQL Server Management Studio",
        versions: "19.1.56.0 19.3.4.0 20.0.70.0 20.1.10.0 20.2.30.0",
        prev: [0.05, 0.2, 0.0, 0.0], win: "C:\\Program Files (x86)\\Microsoft SQL Server Management Studio 20\\Common7\\IDE\\Ssms.exe", reg: "WOW:{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "exchange_server", title: "Microsoft Exchange Server",
        versions: "[S2025-10-14] 15.2.1258.12 15.2.1258.16 15.2.1544.4 15.2.1544.9 15.2.1544.11 15.2.1544.14",
        prev: [0.0, 0.03, 0.0, 0.0], win: "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\Bin\\Microsoft.Exchange.Store.Service.exe", reg: "Microsoft Exchange v15", cves: 1.5, ..A },
    Spec { vendor: "vmware", product: "tools", title: "VMware Tools",
        versions: "12.1.5 12.2.0 12.3.0 12.3.5 12.4.0 12.4.5 12.5.0",
        prev: [0.0, 0.55, 0.0, 0.3], win: "C:\\Program Files\\VMware\\VMware Tools\\vmtoolsd.exe", reg: "{guid}", lin: "/usr/bin/vmtoolsd", cves: 0.5, ..A },
    Spec { vendor: "dell", product: "command_update", title: "Dell Command | Update",
        versions: "4.8.0 4.9.0 5.0.0 5.1.0 5.2.0 5.4.0",
        prev: [0.3, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Dell\\CommandUpdate\\dcu-cli.exe", reg: "{guid}", cves: 0.5, ..A },
    Spec { vendor: "hp", product: "support_assistant", title: "HP Support Assistant",
        versions: "9.20.3.0 9.22.9.0 9.25.13.0 9.31.46.0 9.36.22.0",
        prev: [0.15, 0.0, 0.0, 0.0], win: "C:\\Program Files (x86)\\HP\\HP Support Framework\\HPSF.exe", reg: "WOW:{guid}", cves: 0.5, ..A },

    // ---- Windows components and store apps (what MDE lists on a typical client) ----
    Spec { vendor: "microsoft", product: "edge_webview2_runtime", title: "Microsoft Edge WebView2 Runtime",
        versions: "119.0.2151.97 121.0.2277.128 123.0.2420.97 125.0.2535.92 127.0.2651.105 129.0.2792.89 130.0.2849.80 131.0.2903.70",
        prev: [0.98, 0.8, 0.0, 0.0], win: "C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application\\{v}\\msedgewebview2.exe", reg: "WOW:Microsoft EdgeWebView",
        fresh: 0.35, cves: 0.5, ..A },
    Spec { vendor: "microsoft", product: "visual_c++_2015-2022_redistributable", title: "Microsoft Visual C++ 2015-2022 Redistributable",
        versions: "14.29.30139 14.32.31332 14.34.31938 14.36.32532 14.38.33135 14.40.33810 14.42.34433",
        prev: [0.97, 0.95, 0.0, 0.0], win: "C:\\Windows\\System32\\vcruntime140.dll", reg: "{guid}", multi: 0.7, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "visual_c++_2013_redistributable", title: "Microsoft Visual C++ 2013 Redistributable",
        versions: "[S2024-04-09] 12.0.30501 12.0.40660 12.0.40664",
        prev: [0.45, 0.6, 0.0, 0.0], win: "C:\\Windows\\System32\\msvcr120.dll", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "visual_c++_2010_redistributable", title: "Microsoft Visual C++ 2010 Redistributable",
        versions: "[S2020-07-14] 10.0.30319 10.0.40219",
        prev: [0.3, 0.45, 0.0, 0.0], win: "C:\\Windows\\System32\\msvcr100.dll", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "windows_desktop_runtime", title: "Microsoft Windows Desktop Runtime",
        versions: "[V2024-11-12] 6.0.25 6.0.31 6.0.33 6.0.36 | [V2026-11-10] 8.0.0 8.0.4 8.0.8 8.0.10 8.0.11",
        prev: [0.65, 0.35, 0.0, 0.0], win: "C:\\Program Files\\dotnet\\shared\\Microsoft.WindowsDesktop.App\\{v}\\PresentationFramework.dll", reg: "{guid}", multi: 0.3, ..A },
    Spec { vendor: "microsoft", product: "asp.net_core", title: "Microsoft ASP.NET Core",
        versions: "[V2024-11-12] 6.0.25 6.0.31 6.0.33 6.0.36 | [V2026-11-10] 8.0.0 8.0.4 8.0.8 8.0.10 8.0.11",
        prev: [0.4, 0.5, 0.05, 0.1], win: "C:\\Program Files\\dotnet\\shared\\Microsoft.AspNetCore.App\\{v}\\Microsoft.AspNetCore.dll", reg: "{guid}",
        mac: "/usr/local/share/dotnet/shared/Microsoft.AspNetCore.App/{v}/Microsoft.AspNetCore.dll",
        lin: "/usr/lib/dotnet/shared/Microsoft.AspNetCore.App/{v}/Microsoft.AspNetCore.dll", multi: 0.2, ..A },
    Spec { vendor: "microsoft", product: "app_installer", title: "Microsoft App Installer (winget)",
        versions: "1.19.10173.0 1.21.3482.0 1.22.10861.0 1.23.1911.0 1.24.25200.0",
        prev: [0.92, 0.15, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.DesktopAppInstaller_{v}_x64__8wekyb3d8bbwe\\winget.exe", fresh: 0.2, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "windows_terminal", title: "Windows Terminal",
        versions: "1.17.11461.0 1.18.3181.0 1.19.11213.0 1.20.11781.0 1.21.2911.0",
        prev: [0.5, 0.15, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.WindowsTerminal_{v}_x64__8wekyb3d8bbwe\\WindowsTerminal.exe", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "windows_app_runtime", title: "Windows App Runtime",
        versions: "1.3.230724000 1.4.231219000 1.5.240802000 1.6.241114003",
        prev: [0.7, 0.2, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.WindowsAppRuntime.1.5_{v}_x64__8wekyb3d8bbwe\\Microsoft.WindowsAppRuntime.dll", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "intune_management_extension", title: "Microsoft Intune Management Extension",
        versions: "1.74.105.0 1.78.103.0 1.80.102.0 1.82.106.0 1.83.107.0",
        prev: [0.85, 0.15, 0.0, 0.0], win: "C:\\Program Files (x86)\\Microsoft Intune Management Extension\\Microsoft.Management.Services.IntuneWindowsAgent.exe", reg: "WOW:{guid}", fresh: 0.3, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "odbc_driver_for_sql_server", title: "Microsoft ODBC Driver for SQL Server",
        versions: "17.10.5.1 17.10.6.1 | 18.2.2.1 18.3.2.1 18.3.3.1 18.4.1.1",
        prev: [0.3, 0.4, 0.0, 0.05], win: "C:\\Windows\\System32\\msodbcsql{m}.dll", reg: "{guid}", lin: "/opt/microsoft/msodbcsql{m}/lib64/libmsodbcsql-{mm}.so", ..A },
    Spec { vendor: "microsoft", product: "hevc_video_extensions", title: "Microsoft HEVC Video Extensions",
        versions: "2.0.61931.0 2.0.61933.0 2.0.62291.0 2.0.63101.0 2.1.1803.0",
        prev: [0.7, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.HEVCVideoExtension_{v}_x64__8wekyb3d8bbwe\\x64\\mfh265enc.dll", fresh: 0.2, cves: 0.5, ..A },
    Spec { vendor: "microsoft", product: "raw_image_extension", title: "Microsoft Raw Image Extension",
        versions: "2.1.30391.0 2.1.31161.0 2.3.171.0 2.3.611.0 2.5.2.0",
        prev: [0.75, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.RawImageExtension_{v}_x64__8wekyb3d8bbwe\\libraw.dll", fresh: 0.2, cves: 0.5, ..A },
    Spec { vendor: "microsoft", product: "vp9_video_extensions", title: "Microsoft VP9 Video Extensions",
        versions: "1.0.52781.0 1.0.61591.0 1.0.62161.0 1.1.451.0 1.2.2.0",
        prev: [0.7, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.VP9VideoExtensions_{v}_x64__8wekyb3d8bbwe\\x64\\msvp9dec_store.dll", fresh: 0.2, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "webp_image_extension", title: "Microsoft WebP Image Extension",
        versions: "1.0.42351.0 1.0.52351.0 1.0.62681.0 1.1.1121.0",
        prev: [0.7, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.WebpImageExtension_{v}_x64__8wekyb3d8bbwe\\x64\\mswebp.dll", fresh: 0.2, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "av1_video_extension", title: "Microsoft AV1 Video Extension",
        versions: "1.1.52851.0 1.1.61781.0 1.1.62361.0 1.2.1091.0",
        prev: [0.5, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.AV1VideoExtension_{v}_x64__8wekyb3d8bbwe\\x64\\av1decodermft_store.dll", fresh: 0.2, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "3d_viewer", title: "Microsoft 3D Viewer",
        versions: "7.2105.4012.0 7.2107.7012.0 7.2211.24012.0 7.2407.16012.0",
        prev: [0.3, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.Microsoft3DViewer_{v}_x64__8wekyb3d8bbwe\\3DViewer.exe", cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "paint_3d", title: "Microsoft Paint 3D",
        versions: "6.2105.4017.0 6.2203.1037.0 6.2310.24037.0",
        prev: [0.3, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.MSPaint_{v}_x64__8wekyb3d8bbwe\\PaintStudio.View.exe", cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "onenote", title: "Microsoft OneNote",
        versions: "16.0.16130.20868 16.0.16731.20636 16.0.17126.20190 16.0.17531.20190 16.0.17928.20216 16.0.18129.20158",
        prev: [0.6, 0.0, 0.3, 0.0], win: "C:\\Program Files\\Microsoft Office\\root\\Office16\\ONENOTE.EXE", mac: "/Applications/Microsoft OneNote.app", fresh: 0.1, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "skype_for_business", title: "Microsoft Skype for Business",
        versions: "[S2025-10-14] 16.0.16130.20868 16.0.16731.20636 16.0.17126.20190 16.0.17928.20216",
        prev: [0.15, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Office\\root\\Office16\\lync.exe", cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "powertoys", title: "Microsoft PowerToys",
        versions: "0.75.1 0.78.0 0.81.1 0.84.1 0.86.0",
        prev: [0.15, 0.02, 0.0, 0.0], win: "C:\\Program Files\\PowerToys\\PowerToys.exe", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "windows_subsystem_for_linux", title: "Windows Subsystem for Linux",
        versions: "2.0.14 2.1.5 2.2.4 2.3.24 2.3.26",
        prev: [0.1, 0.02, 0.0, 0.0], win: "C:\\Program Files\\WSL\\wsl.exe", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "silverlight", title: "Microsoft Silverlight",
        versions: "[S2021-10-12] 5.1.41212.0 5.1.50918.0",
        prev: [0.04, 0.02, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Silverlight\\sllauncher.exe", reg: "{guid}", cves: 0.5, ..A },
    Spec { vendor: "microsoft", product: "autoupdate", title: "Microsoft AutoUpdate",
        versions: "4.62 4.66 4.70 4.74 4.76",
        prev: [0.0, 0.0, 0.55, 0.0], mac: "/Library/Application Support/Microsoft/MAU2.0/Microsoft AutoUpdate.app", fresh: 0.3, cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "internet_information_services", title: "Microsoft Internet Information Services",
        versions: "10.0.14393.0 10.0.17763.1 10.0.20348.1",
        prev: [0.0, 0.4, 0.0, 0.0], win: "C:\\Windows\\System32\\inetsrv\\w3wp.exe", cves: 0.6, ..A },
    Spec { vendor: "microsoft", product: "azure_monitor_agent", title: "Azure Monitor Agent",
        versions: "1.22.0 1.24.0 1.26.0 1.28.2 1.31.0 1.32.0",
        prev: [0.0, 0.45, 0.0, 0.3], win: "C:\\Packages\\Plugins\\Microsoft.Azure.Monitor.AzureMonitorWindowsAgent\\{v}\\Monitoring\\Agent\\MonAgentHost.exe",
        lin: "/opt/microsoft/azuremonitoragent/bin/mdsd", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "azure_connected_machine_agent", title: "Azure Connected Machine Agent",
        versions: "1.38 1.41 1.44 1.46 1.48",
        prev: [0.0, 0.3, 0.0, 0.2], win: "C:\\Program Files\\AzureConnectedMachineAgent\\himds.exe", reg: "{guid}", lin: "/opt/azcmagent/bin/himds", cves: 0.4, ..A },
    Spec { vendor: "adobe", product: "acrobat_dc", title: "Adobe Acrobat DC",
        versions: "22.003.20282 23.001.20093 23.003.20284 23.006.20360 23.008.20470 24.001.20643 24.002.21005 24.003.20180 24.004.20272 24.005.20320",
        prev: [0.12, 0.02, 0.1, 0.0], win: "C:\\Program Files\\Adobe\\Acrobat DC\\Acrobat\\Acrobat.exe", reg: "{AC76BA86-1033-1033-7760-BC15014EA700}",
        mac: "/Applications/Adobe Acrobat DC/Adobe Acrobat.app", cves: 1.0, ..A },
    Spec { vendor: "adobe", product: "creative_cloud", title: "Adobe Creative Cloud",
        versions: "5.11.0.522 6.0.0.571 6.2.0.554 6.4.0.361",
        prev: [0.1, 0.0, 0.15, 0.0], win: "C:\\Program Files\\Adobe\\Adobe Creative Cloud\\ACC\\Creative Cloud.exe", reg: "WOW:Adobe Creative Cloud",
        mac: "/Applications/Adobe Creative Cloud/Adobe Creative Cloud", cves: 0.4, ..A },
    Spec { vendor: "adobe", product: "flash_player", title: "Adobe Flash Player",
        versions: "[S2020-12-31] 32.0.0.445 32.0.0.465",
        prev: [0.03, 0.02, 0.0, 0.0], win: "C:\\Windows\\System32\\Macromed\\Flash\\FlashUtil_ActiveX.exe", reg: "Adobe Flash Player 32 NPAPI", cves: 0.6, ..A },
    Spec { vendor: "cisco", product: "webex_meetings", title: "Cisco Webex Meetings",
        versions: "43.10.0.27 44.2.0.28 44.6.0.29 44.10.0.30",
        prev: [0.2, 0.0, 0.1, 0.0], win: "C:\\Program Files\\Cisco Spark\\CiscoCollabHost.exe", reg: "{guid}", mac: "/Applications/Webex.app", cves: 0.5, ..A },
    Spec { vendor: "intel", product: "driver_&_support_assistant", title: "Intel Driver & Support Assistant",
        versions: "23.4.39.9 24.1.13.10 24.3.26.8 24.6.49.8",
        prev: [0.35, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Intel\\Driver and Support Assistant\\DSAService.exe", reg: "{guid}", cves: 0.4, ..A },
    Spec { vendor: "intel", product: "graphics_drivers", title: "Intel Graphics Drivers",
        versions: "31.0.101.4887 31.0.101.5186 31.0.101.5333 31.0.101.5590 32.0.101.6078",
        prev: [0.45, 0.0, 0.0, 0.0], win: "C:\\Windows\\System32\\DriverStore\\FileRepository\\iigd_dch.inf_amd64\\igdkmdn64.sys", fresh: -0.2, cves: 0.6, ..A },
    Spec { vendor: "dell", product: "supportassist", title: "Dell SupportAssist",
        versions: "3.14.2.45116 4.0.3.52103 4.4.2.19374 4.5.2.27113",
        prev: [0.25, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Dell\\SupportAssistAgent\\bin\\SupportAssistAgent.exe", reg: "{guid}", cves: 0.5, ..A },
    Spec { vendor: "lenovo", product: "system_update", title: "Lenovo System Update",
        versions: "5.08.01.0009 5.08.02.0025 5.08.03.0059",
        prev: [0.15, 0.0, 0.0, 0.0], win: "C:\\Program Files (x86)\\Lenovo\\System Update\\tvsu.exe", reg: "WOW:TVSU_is1", cves: 0.4, ..A },
    Spec { vendor: "greenshot", product: "greenshot", title: "Greenshot",
        versions: "1.2.10.6 1.3.274 1.3.290 1.3.301",
        prev: [0.08, 0.02, 0.0, 0.0], win: "C:\\Program Files\\Greenshot\\Greenshot.exe", reg: "Greenshot_is1", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "foxit", product: "pdf_reader", title: "Foxit PDF Reader",
        versions: "12.1.3.15356 2023.3.0.23028 2024.2.3.25184 2024.3.0.26795",
        prev: [0.06, 0.02, 0.0, 0.0], win: "C:\\Program Files (x86)\\Foxit Software\\Foxit PDF Reader\\FoxitPDFReader.exe", reg: "WOW:{guid}", cves: 0.8, ..A },
    Spec { vendor: "spotify", product: "spotify", title: "Spotify",
        versions: "1.2.25.1011 1.2.31.1205 1.2.40.599 1.2.48.405 1.2.52.442",
        prev: [0.2, 0.0, 0.3, 0.02], win: "C:\\Users\\Public\\AppData\\Roaming\\Spotify\\Spotify.exe", mac: "/Applications/Spotify.app", lin: "/usr/bin/spotify", fresh: 0.3, cves: 0.2, ..A },
    Spec { vendor: "postman", product: "postman", title: "Postman",
        versions: "10.18.10 10.22.0 11.0.9 11.12.0 11.19.0",
        prev: [0.08, 0.0, 0.2, 0.05], win: "C:\\Program Files\\Postman\\Postman.exe", mac: "/Applications/Postman.app", lin: "/opt/Postman/Postman", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "splunk", product: "universal_forwarder", title: "Splunk Universal Forwarder",
        versions: "9.0.7 9.1.3 9.1.5 9.2.2 9.3.1",
        prev: [0.05, 0.45, 0.05, 0.3], win: "C:\\Program Files\\SplunkUniversalForwarder\\bin\\splunkd.exe", reg: "{guid}",
        mac: "/Applications/SplunkForwarder/bin/splunkd", lin: "/opt/splunkforwarder/bin/splunkd", fresh: -0.1, cves: 0.6, ..A },
    Spec { vendor: "tenable", product: "nessus_agent", title: "Tenable Nessus Agent",
        versions: "10.4.4 10.5.1 10.6.4 10.7.3 10.8.1",
        prev: [0.05, 0.35, 0.05, 0.2], win: "C:\\Program Files\\Tenable\\Nessus Agent\\nessuscli.exe", reg: "{guid}",
        mac: "/Library/NessusAgent/run/sbin/nessuscli", lin: "/opt/nessus_agent/sbin/nessuscli", cves: 0.4, ..A },

    Spec { vendor: "microsoft", product: "visual_c++_2012_redistributable", title: "Microsoft Visual C++ 2012 Redistributable",
        versions: "[S2023-01-10] 11.0.50727 11.0.61030",
        prev: [0.35, 0.45, 0.0, 0.0], win: "C:\\Windows\\System32\\msvcr110.dll", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "visual_c++_2008_redistributable", title: "Microsoft Visual C++ 2008 Redistributable",
        versions: "[S2018-04-10] 9.0.30729.4148 9.0.30729.6161",
        prev: [0.2, 0.3, 0.0, 0.0], win: "C:\\Windows\\WinSxS\\amd64_microsoft.vc90.crt_1fc8b3b9a1e18e3b_{v}_none\\msvcr90.dll", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: ".net_core", title: "Microsoft .NET Core",
        versions: "[S2022-12-13] 2.1.30 3.1.21 3.1.28 3.1.32",
        prev: [0.2, 0.3, 0.0, 0.05], win: "C:\\Program Files\\dotnet\\shared\\Microsoft.NETCore.App\\{v}\\coreclr.dll", reg: "Microsoft .NET Core Runtime - {v} (x64)",
        lin: "/usr/share/dotnet/shared/Microsoft.NETCore.App/{v}/libcoreclr.so", cves: 0.6, ..A },
    Spec { vendor: "microsoft", product: "configuration_manager", title: "Microsoft Configuration Manager client",
        versions: "5.00.9096.1000 5.00.9106.1000 5.00.9122.1000 5.00.9128.1000",
        prev: [0.4, 0.7, 0.0, 0.0], win: "C:\\Windows\\CCM\\CcmExec.exe", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "local_administrator_password_solution", title: "Local Administrator Password Solution",
        versions: "6.1.0.0 6.2.0.0",
        prev: [0.3, 0.5, 0.0, 0.0], win: "C:\\Program Files\\LAPS\\CSE\\AdmPwd.dll", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "monitoring_agent", title: "Microsoft Monitoring Agent",
        versions: "[S2024-08-31] 10.20.18067.0 10.20.18069.0 10.20.18076.0",
        prev: [0.0, 0.3, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Monitoring Agent\\Agent\\HealthService.exe", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "sql_server_2016", title: "Microsoft SQL Server 2016",
        versions: "[S2026-07-14] 13.0.6300.2 13.0.6430.49 13.0.6435.1 13.0.6441.1",
        prev: [0.0, 0.06, 0.0, 0.0], win: "C:\\Program Files\\Microsoft SQL Server\\MSSQL13.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe", reg: "Microsoft SQL Server 2016 (64-bit)", ..A },
    Spec { vendor: "microsoft", product: "company_portal", title: "Microsoft Intune Company Portal",
        versions: "11.2.179.0 11.2.348.0 11.2.515.0 11.2.790.0",
        prev: [0.5, 0.0, 0.5, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.CompanyPortal_{v}_x64__8wekyb3d8bbwe\\CompanyPortal.exe", mac: "/Applications/Company Portal.app", fresh: 0.2, cves: 0.2, ..A },
    Spec { vendor: "microsoft", product: "quick_assist", title: "Microsoft Quick Assist",
        versions: "2.0.21.0 2.0.26.0 2.0.32.0",
        prev: [0.6, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\MicrosoftCorporationII.QuickAssist_{v}_x64__8wekyb3d8bbwe\\QuickAssist.exe", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "clipchamp", title: "Microsoft Clipchamp",
        versions: "2.9.1.0 3.0.10220.0 3.1.11820.0",
        prev: [0.5, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Clipchamp.Clipchamp_{v}_neutral__yxz26nhyzhsrt\\Clipchamp.exe", fresh: 0.2, cves: 0.2, ..A },
    Spec { vendor: "microsoft", product: "snipping_tool", title: "Microsoft Snipping Tool",
        versions: "11.2302.20.0 11.2311.29.0 11.2405.33.0 11.2409.25.0 11.2410.27.0",
        prev: [0.9, 0.1, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\Microsoft.ScreenSketch_{v}_x64__8wekyb3d8bbwe\\SnippingTool\\SnippingTool.exe", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "visual_studio_tools_for_office_runtime", title: "Visual Studio Tools for Office Runtime",
        versions: "10.0.50903 10.0.60724 10.0.60910",
        prev: [0.6, 0.3, 0.0, 0.0], win: "C:\\Program Files\\Common Files\\Microsoft Shared\\VSTO\\10.0\\VSTOInstaller.exe", reg: "Microsoft Visual Studio 2010 Tools for Office Runtime (x64)", cves: 0.3, ..A },
    Spec { vendor: "microsoft", product: "power_bi_desktop", title: "Microsoft Power BI Desktop",
        versions: "2.124.1554.0 2.128.952.0 2.132.908.0 2.136.1202.0 2.138.782.0",
        prev: [0.1, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Power BI Desktop\\bin\\PBIDesktop.exe", reg: "{guid}", cves: 0.3, ..A },
    Spec { vendor: "logitech", product: "logi_options+", title: "Logitech Logi Options+",
        versions: "1.60.495862 1.70.551909 1.76.579796 1.80.641451 1.83.654476",
        prev: [0.25, 0.0, 0.25, 0.0], win: "C:\\Program Files\\LogiOptionsPlus\\logioptionsplus_agent.exe", reg: "LogiOptionsPlus",
        mac: "/Applications/logioptionsplus.app", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "google", product: "drive", title: "Google Drive for desktop",
        versions: "85.0.13.0 88.0.4.0 92.0.1.0 97.0.1.0 101.0.3.0",
        prev: [0.15, 0.0, 0.2, 0.0], win: "C:\\Program Files\\Google\\Drive File Stream\\{v}\\GoogleDriveFS.exe", reg: "{guid}",
        mac: "/Applications/Google Drive.app", fresh: 0.2, cves: 0.3, ..A },
    Spec { vendor: "dropbox", product: "dropbox", title: "Dropbox",
        versions: "191.4.4995 199.4.6287 205.4.5765 211.4.6008 213.4.6234",
        prev: [0.1, 0.0, 0.15, 0.02], win: "C:\\Program Files (x86)\\Dropbox\\Client\\Dropbox.exe", reg: "Dropbox",
        mac: "/Applications/Dropbox.app", lin: "/usr/bin/dropbox", fresh: 0.3, cves: 0.2, ..A },
    Spec { vendor: "vmware", product: "horizon_client", title: "VMware Horizon Client",
        versions: "8.9.0 8.10.0 8.11.0 8.12.1 8.13.0",
        prev: [0.12, 0.02, 0.05, 0.02], win: "C:\\Program Files (x86)\\VMware\\VMware Horizon View Client\\vmware-view.exe", reg: "WOW:{guid}",
        mac: "/Applications/VMware Horizon Client.app", lin: "/usr/bin/vmware-view", cves: 0.5, ..A },
    Spec { vendor: "microsoft", product: "ole_db_driver_for_sql_server", title: "Microsoft OLE DB Driver for SQL Server",
        versions: "18.6.7 18.7.2 18.7.4 19.3.0",
        prev: [0.1, 0.35, 0.0, 0.0], win: "C:\\Windows\\System32\\msoledbsql.dll", reg: "{guid}", cves: 0.4, ..A },
    Spec { vendor: "microsoft", product: "sysmon", title: "Microsoft Sysinternals Sysmon",
        versions: "15.0 15.11 15.14 15.15",
        prev: [0.2, 0.5, 0.0, 0.1], win: "C:\\Windows\\Sysmon64.exe", lin: "/opt/sysmon/sysmon", cves: 0.3, ..A },
    Spec { vendor: "veeam", product: "agent_for_windows", title: "Veeam Agent for Microsoft Windows",
        versions: "5.0.3.4708 6.0.2.1090 6.1.2.134 6.2.0.121",
        prev: [0.0, 0.2, 0.0, 0.0], win: "C:\\Program Files\\Veeam\\Endpoint Backup\\Veeam.EndPoint.Service.exe", reg: "{guid}", cves: 0.4, ..A },
    // ---- Apple applications ----
    Spec { vendor: "apple", product: "xcode", title: "Apple Xcode",
        versions: "14.3.1 15.0.1 15.2 15.4 16.0 16.1",
        prev: [0.0, 0.0, 0.3, 0.0], mac: "/Applications/Xcode.app", cves: 0.4, ..A },
    Spec { vendor: "apple", product: "pages", title: "Apple Pages",
        versions: "13.1 13.2 14.0 14.1 14.2",
        prev: [0.0, 0.0, 0.6, 0.0], mac: "/Applications/Pages.app", fresh: 0.2, cves: 0.2, ..A },
    Spec { vendor: "apple", product: "numbers", title: "Apple Numbers",
        versions: "13.1 13.2 14.0 14.1 14.2",
        prev: [0.0, 0.0, 0.6, 0.0], mac: "/Applications/Numbers.app", fresh: 0.2, cves: 0.2, ..A },
    Spec { vendor: "apple", product: "keynote", title: "Apple Keynote",
        versions: "13.1 13.2 14.0 14.1 14.2",
        prev: [0.0, 0.0, 0.6, 0.0], mac: "/Applications/Keynote.app", fresh: 0.2, cves: 0.2, ..A },
    Spec { vendor: "apple", product: "garageband", title: "Apple GarageBand",
        versions: "10.4.8 10.4.10 10.4.11",
        prev: [0.0, 0.0, 0.4, 0.0], mac: "/Applications/GarageBand.app", cves: 0.2, ..A },
    Spec { vendor: "iterm2", product: "iterm2", title: "iTerm2",
        versions: "3.4.23 3.5.0 3.5.2 3.5.4 3.5.10",
        prev: [0.0, 0.0, 0.35, 0.0], mac: "/Applications/iTerm.app", cves: 0.3, ..A },

    // ---- servers and middleware ----
    Spec { vendor: "apache", product: "log4j", title: "Apache Log4j",
        versions: "[w1] [V2015-08-05] 1.2.17 | [w5] 2.14.1 2.16.0 2.17.0 2.17.1 2.17.2 2.19.0 2.20.0 2.21.1 2.23.1 2.24.1",
        prev: [0.02, 0.2, 0.0, 0.3], win: "C:\\Program Files\\Contoso\\Reporting\\lib\\log4j-core-{v}.jar",
        lin: "/opt/contoso/reporting/lib/log4j-core-{v}.jar", fresh: -0.25, cves: 0.8, ..A },
    Spec { vendor: "apache", product: "tomcat", title: "Apache Tomcat",
        versions: "[w1] [V2024-03-31] 8.5.93 8.5.96 8.5.100 | [w3] [V2027-03-31] 9.0.80 9.0.83 9.0.85 9.0.89 9.0.91 9.0.93 9.0.96 9.0.97 | [w2] 10.1.13 10.1.17 10.1.24 10.1.28 10.1.31 10.1.33",
        prev: [0.0, 0.12, 0.0, 0.25], win: "C:\\Program Files\\Apache Software Foundation\\Tomcat {mm}\\bin\\Tomcat{m}.exe", reg: "Apache Tomcat {mm} Tomcat{m}",
        lin: "/opt/tomcat/bin/catalina.sh", fresh: -0.1, ..A },
    Spec { vendor: "apache", product: "http_server", title: "Apache HTTP Server",
        versions: "2.4.54 2.4.56 2.4.57 2.4.58 2.4.59 2.4.61 2.4.62",
        prev: [0.0, 0.05, 0.9, 0.35], win: "C:\\Apache24\\bin\\httpd.exe", mac: "/usr/sbin/httpd", lin: "/usr/sbin/apache2", ..A },
    Spec { vendor: "f5", product: "nginx", title: "F5 NGINX",
        versions: "1.18.0 1.22.1 1.24.0 1.26.0 1.26.1 1.26.2 1.27.2",
        prev: [0.0, 0.02, 0.0, 0.35], win: "C:\\nginx\\nginx.exe", lin: "/usr/sbin/nginx", cves: 0.6, ..A },
    Spec { vendor: "postgresql", product: "postgresql", title: "PostgreSQL",
        versions: "[V2024-11-14] 12.20 12.21 | [V2025-11-13] 13.16 13.18 | [V2026-11-12] 14.13 14.15 | [V2027-11-11] 15.8 15.10 | [V2028-11-09] 16.4 16.6",
        prev: [0.0, 0.08, 0.05, 0.2], win: "C:\\Program Files\\PostgreSQL\\{m}\\bin\\postgres.exe", reg: "PostgreSQL {m}",
        mac: "/Applications/Postgres.app", lin: "/usr/lib/postgresql/{m}/bin/postgres", ..A },
    Spec { vendor: "oracle", product: "mysql", title: "Oracle MySQL",
        versions: "8.0.35 8.0.36 8.0.37 8.0.39 8.0.40 | 8.4.2 8.4.3",
        prev: [0.0, 0.08, 0.05, 0.15], win: "C:\\Program Files\\MySQL\\MySQL Server {mm}\\bin\\mysqld.exe", reg: "{guid}",
        mac: "/usr/local/mysql/bin/mysqld", lin: "/usr/sbin/mysqld", cves: 1.2, ..A },
    Spec { vendor: "mariadb", product: "mariadb", title: "MariaDB",
        versions: "10.5.26 10.6.19 10.6.20 10.11.9 10.11.10 11.4.4",
        prev: [0.0, 0.0, 0.0, 0.15], lin: "/usr/sbin/mariadbd", ..A },
    Spec { vendor: "mobyproject", product: "moby", title: "Moby (Docker Engine)",
        versions: "20.10.24 23.0.6 24.0.7 25.0.5 26.1.4 27.3.1",
        prev: [0.0, 0.05, 0.0, 0.45], win: "C:\\Program Files\\Docker\\dockerd.exe", lin: "/usr/bin/dockerd", cves: 0.6, ..A },
    Spec { vendor: "linuxfoundation", product: "containerd", title: "containerd",
        versions: "1.6.24 1.6.31 1.6.36 1.7.12 1.7.18 1.7.22 1.7.24",
        prev: [0.0, 0.0, 0.0, 0.45], lin: "/usr/bin/containerd", cves: 0.5, ..A },

    // ---- libraries and base system (mostly mac and Linux) ----
    Spec { vendor: "openssl", product: "openssl", title: "OpenSSL",
        versions: "[w2] [V2023-09-11] 1.1.1t 1.1.1u 1.1.1v 1.1.1w | [w4] [V2026-09-07] 3.0.9 3.0.10 3.0.11 3.0.12 3.0.13 3.0.14 3.0.15 | [w1] [V2025-03-14] 3.1.4 3.1.5 3.1.7 | [w2] 3.2.1 3.2.2 3.2.3 | [w2] 3.3.1 3.3.2 3.4.0",
        prev: [0.5, 0.6, 0.1, 1.0], win: "C:\\Program Files\\OpenSSL-Win64\\bin\\openssl.exe", mac: "/opt/homebrew/bin/openssl", lin: "/usr/bin/openssl",
        multi: 0.2, fresh: -0.05, cves: 1.3, ..A },
    Spec { vendor: "haxx", product: "curl", title: "curl",
        versions: "7.88.1 8.1.2 8.2.1 8.4.0 8.5.0 8.6.0 8.7.1 8.8.0 8.9.1 8.10.1 8.11.0",
        prev: [0.95, 0.95, 1.0, 1.0], win: "C:\\Windows\\System32\\curl.exe", mac: "/usr/bin/curl", lin: "/usr/bin/curl", cves: 1.1, ..A },
    Spec { vendor: "haxx", product: "libcurl", title: "libcurl",
        versions: "7.88.1 8.1.2 8.2.1 8.4.0 8.5.0 8.6.0 8.7.1 8.8.0 8.9.1 8.10.1 8.11.0",
        prev: [0.3, 0.3, 0.9, 0.95], win: "C:\\Program Files\\Git\\mingw64\\bin\\libcurl-4.dll", mac: "/usr/lib/libcurl.4.dylib", lin: "/usr/lib/x86_64-linux-gnu/libcurl.so.4", cves: 0.8, ..A },
    Spec { vendor: "openbsd", product: "openssh", title: "OpenSSH",
        versions: "8.2p1 8.4p1 8.9p1 9.0p1 9.2p1 9.3p1 9.4p1 9.5p1 9.6p1 9.7p1 9.8p1 9.9p1",
        prev: [0.9, 0.95, 1.0, 1.0], win: "C:\\Windows\\System32\\OpenSSH\\ssh.exe", mac: "/usr/bin/ssh", lin: "/usr/sbin/sshd", ..A },
    Spec { vendor: "sudo_project", product: "sudo", title: "Sudo",
        versions: "1.8.31 1.9.5p2 1.9.9 1.9.13p3 1.9.14p2 1.9.15p2 1.9.15p5 1.9.16 1.9.16p2",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/bin/sudo", lin: "/usr/bin/sudo", ..A },
    Spec { vendor: "gnu", product: "bash", title: "GNU Bash",
        versions: "5.0.17 5.1.4 5.1.16 5.2.15 5.2.21 5.2.26 5.2.32 5.2.37",
        prev: [0.3, 0.1, 0.3, 1.0], win: "C:\\Program Files\\Git\\usr\\bin\\bash.exe", mac: "/opt/homebrew/bin/bash", lin: "/usr/bin/bash", cves: 0.4, ..A },
    Spec { vendor: "gnu", product: "glibc", title: "GNU C Library",
        versions: "2.31 2.34 2.35 2.36 2.37 2.38 2.39 2.40",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/lib/x86_64-linux-gnu/libc.so.6", fresh: -0.2, cves: 0.8, ..A },
    Spec { vendor: "gnu", product: "tar", title: "GNU tar",
        versions: "1.30 1.32 1.34 1.35",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/bin/tar", cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "gzip", title: "GNU gzip",
        versions: "1.10 1.12 1.13",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/bin/gzip", cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "wget", title: "GNU Wget",
        versions: "1.20.3 1.21.2 1.21.3 1.21.4 1.24.5",
        prev: [0.0, 0.0, 0.1, 0.9], mac: "/opt/homebrew/bin/wget", lin: "/usr/bin/wget", cves: 0.4, ..A },
    Spec { vendor: "gnu", product: "less", title: "GNU less",
        versions: "551 590 608 633 643 661",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/bin/less", lin: "/usr/bin/less", cves: 0.3, ..A },
    Spec { vendor: "zlib", product: "zlib", title: "zlib",
        versions: "1.2.11 1.2.12 1.2.13 1.3 1.3.1",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/lib/libz.1.dylib", lin: "/usr/lib/x86_64-linux-gnu/libz.so.1", cves: 0.4, ..A },
    Spec { vendor: "sqlite", product: "sqlite", title: "SQLite",
        versions: "3.31.1 3.37.2 3.40.1 3.42.0 3.43.2 3.45.1 3.46.1 3.47.0",
        prev: [0.35, 0.15, 1.0, 0.95], win: "C:\\Program Files\\SQLite\\sqlite3.exe", mac: "/usr/bin/sqlite3", lin: "/usr/bin/sqlite3", cves: 0.5, ..A },
    Spec { vendor: "xmlsoft", product: "libxml2", title: "libxml2",
        versions: "2.9.10 2.9.13 2.9.14 2.10.3 2.11.5 2.12.7 2.13.4",
        prev: [0.0, 0.0, 0.9, 0.95], mac: "/usr/lib/libxml2.2.dylib", lin: "/usr/lib/x86_64-linux-gnu/libxml2.so.2", cves: 0.5, ..A },
    Spec { vendor: "libexpat_project", product: "libexpat", title: "libexpat",
        versions: "2.2.9 2.4.7 2.5.0 2.6.0 2.6.2 2.6.3 2.6.4",
        prev: [0.2, 0.15, 1.0, 1.0], win: "C:\\Program Files\\Python312\\DLLs\\libexpat.dll", mac: "/usr/lib/libexpat.1.dylib", lin: "/usr/lib/x86_64-linux-gnu/libexpat.so.1", cves: 0.5, ..A },
    Spec { vendor: "vim", product: "vim", title: "Vim",
        versions: "8.2.4919 9.0.1378 9.0.2136 9.1.0016 9.1.0439 9.1.0727 9.1.0866",
        prev: [0.05, 0.1, 1.0, 0.95], win: "C:\\Program Files\\Vim\\vim91\\vim.exe", reg: "Vim {mm}", mac: "/usr/bin/vim", lin: "/usr/bin/vim.basic", cves: 0.9, ..A },
    Spec { vendor: "systemd_project", product: "systemd", title: "systemd",
        versions: "245.4 249.11 252.30 252.31 255.4 256.7",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/lib/systemd/systemd", fresh: -0.2, cves: 0.4, ..A },
    Spec { vendor: "polkit_project", product: "polkit", title: "polkit",
        versions: "0.105 0.117 0.120 121 122 123",
        prev: [0.0, 0.0, 0.0, 0.9], lin: "/usr/lib/polkit-1/polkitd", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "kernel", product: "util-linux", title: "util-linux",
        versions: "2.34 2.37.2 2.38.1 2.39.3 2.40.2",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/bin/mount", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "samba", product: "rsync", title: "rsync",
        versions: "3.1.3 3.2.3 3.2.7 3.3.0",
        prev: [0.0, 0.0, 0.9, 0.8], mac: "/usr/bin/rsync", lin: "/usr/bin/rsync", cves: 0.4, ..A },
    Spec { vendor: "gnupg", product: "gnupg", title: "GnuPG",
        versions: "2.2.19 2.2.27 2.2.40 2.4.4 2.4.5 2.4.7",
        prev: [0.03, 0.02, 0.2, 0.95], win: "C:\\Program Files (x86)\\GnuPG\\bin\\gpg.exe", mac: "/usr/local/bin/gpg", lin: "/usr/bin/gpg", cves: 0.3, ..A },
    Spec { vendor: "freedesktop", product: "dbus", title: "D-Bus",
        versions: "1.12.16 1.12.20 1.12.28 1.14.8 1.14.10 1.16.0",
        prev: [0.0, 0.0, 0.0, 0.95], lin: "/usr/bin/dbus-daemon", fresh: -0.2, cves: 0.3, ..A },

    Spec { vendor: "zsh", product: "zsh", title: "Zsh",
        versions: "5.8 5.8.1 5.9",
        prev: [0.0, 0.0, 1.0, 0.3], mac: "/bin/zsh", lin: "/usr/bin/zsh", cves: 0.3, ..A },
    Spec { vendor: "openldap", product: "openldap", title: "OpenLDAP",
        versions: "2.4.28 2.4.57 2.5.13 2.5.16 2.6.6 2.6.8",
        prev: [0.0, 0.0, 1.0, 0.7], mac: "/usr/lib/libldap.dylib", lin: "/usr/lib/x86_64-linux-gnu/libldap.so.2", cves: 0.3, ..A },
    Spec { vendor: "tcpdump", product: "tcpdump", title: "tcpdump",
        versions: "4.9.3 4.99.1 4.99.3 4.99.4 4.99.5",
        prev: [0.0, 0.0, 1.0, 0.7], mac: "/usr/sbin/tcpdump", lin: "/usr/bin/tcpdump", cves: 0.3, ..A },
    Spec { vendor: "file_project", product: "file", title: "file",
        versions: "5.38 5.41 5.44 5.45",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/bin/file", lin: "/usr/bin/file", cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "ncurses", title: "GNU ncurses",
        versions: "6.2 6.3 6.4 6.5",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/lib/libncurses.5.4.dylib", lin: "/usr/lib/x86_64-linux-gnu/libncursesw.so.6", cves: 0.3, ..A },
    Spec { vendor: "bzip", product: "bzip2", title: "bzip2",
        versions: "1.0.6 1.0.8",
        prev: [0.0, 0.0, 1.0, 1.0], mac: "/usr/bin/bzip2", lin: "/usr/bin/bzip2", cves: 0.3, ..A },
    Spec { vendor: "tukaani", product: "xz", title: "XZ Utils",
        versions: "5.2.4 5.2.5 5.4.1 5.4.5 5.6.2 5.6.3",
        prev: [0.0, 0.0, 0.3, 1.0], mac: "/opt/homebrew/bin/xz", lin: "/usr/bin/xz", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "pcre", product: "pcre2", title: "PCRE2",
        versions: "10.34 10.39 10.40 10.42 10.44",
        prev: [0.0, 0.0, 0.5, 0.95], mac: "/opt/homebrew/lib/libpcre2-8.dylib", lin: "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "coreutils", title: "GNU Coreutils",
        versions: "8.30 8.32 9.1 9.4 9.5",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/bin/ls", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "nano", title: "GNU nano",
        versions: "4.8 5.4 6.2 7.2 8.2",
        prev: [0.0, 0.0, 0.0, 0.9], lin: "/usr/bin/nano", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "procps-ng_project", product: "procps-ng", title: "procps-ng",
        versions: "3.3.16 3.3.17 4.0.2 4.0.4",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/bin/ps", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "linux-pam", product: "linux-pam", title: "Linux PAM",
        versions: "1.3.1 1.4.0 1.5.2 1.5.3",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/lib/x86_64-linux-gnu/libpam.so.0", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "gnu", product: "gnutls", title: "GnuTLS",
        versions: "3.6.13 3.7.3 3.7.9 3.8.3 3.8.8",
        prev: [0.0, 0.0, 0.0, 0.95], lin: "/usr/lib/x86_64-linux-gnu/libgnutls.so.30", fresh: -0.1, cves: 0.5, ..A },
    Spec { vendor: "libpng", product: "libpng", title: "libpng",
        versions: "1.6.37 1.6.39 1.6.40 1.6.43 1.6.44",
        prev: [0.0, 0.0, 0.2, 0.8], mac: "/opt/homebrew/lib/libpng16.dylib", lin: "/usr/lib/x86_64-linux-gnu/libpng16.so.16", cves: 0.3, ..A },
    Spec { vendor: "e2fsprogs_project", product: "e2fsprogs", title: "e2fsprogs",
        versions: "1.45.5 1.46.5 1.47.0 1.47.1",
        prev: [0.0, 0.0, 0.0, 1.0], lin: "/usr/sbin/e2fsck", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "rsyslog", product: "rsyslog", title: "rsyslog",
        versions: "8.2001.0 8.2112.0 8.2302.0 8.2312.0 8.2410.0",
        prev: [0.0, 0.0, 0.0, 0.85], lin: "/usr/sbin/rsyslogd", fresh: -0.2, cves: 0.3, ..A },
    Spec { vendor: "tuxfamily", product: "chrony", title: "chrony",
        versions: "3.5 4.2 4.3 4.5 4.6",
        prev: [0.0, 0.0, 0.0, 0.6], lin: "/usr/sbin/chronyd", cves: 0.3, ..A },

    Spec { vendor: "apple", product: "imovie", title: "Apple iMovie",
        versions: "10.3.8 10.4 10.4.1 10.4.2",
        prev: [0.0, 0.0, 0.4, 0.0], mac: "/Applications/iMovie.app", cves: 0.2, ..A },
    Spec { vendor: "apple", product: "swift", title: "Apple Swift",
        versions: "5.8.1 5.9.2 5.10 6.0.2",
        prev: [0.0, 0.0, 0.3, 0.05], mac: "/usr/bin/swift", lin: "/usr/bin/swift", cves: 0.2, ..A },
    Spec { vendor: "openbsd", product: "libressl", title: "LibreSSL",
        versions: "3.3.6 3.4.3 3.5.2 3.6.1",
        prev: [0.0, 0.0, 1.0, 0.0], mac: "/usr/bin/openssl", fresh: -0.2, cves: 0.4, ..A },
    // ---- non-CPE software: line-of-business apps, drivers, agents ----
    Spec { vendor: "Lob Apps", product: "contoso_expense_client", title: "Contoso Expense Client", versions: "4.2.1.0 4.3.0.12 4.3.2.7",
        prev: [0.6, 0.0, 0.3, 0.0], win: "C:\\Program Files\\Contoso\\Expense\\ExpenseClient.exe", reg: "Contoso Expense Client", mac: "/Applications/Contoso Expense.app", ..NONCPE },
    Spec { vendor: "Lob Apps", product: "contoso_vpn_agent", title: "Contoso VPN Agent", versions: "2.8.0 2.9.4 3.0.1",
        prev: [0.7, 0.1, 0.5, 0.0], win: "C:\\Program Files\\Contoso\\VPN\\vpnagent.exe", reg: "{guid}", mac: "/Library/Contoso/VPN/vpnagent", ..NONCPE },
    Spec { vendor: "Lob Apps", product: "contoso_hr_portal_launcher", title: "Contoso HR Portal Launcher", versions: "1.0.7 1.1.0",
        prev: [0.4, 0.0, 0.2, 0.0], win: "C:\\Program Files (x86)\\Contoso\\HR\\launcher.exe", reg: "WOW:ContosoHRLauncher", mac: "/Applications/Contoso HR.app", ..NONCPE },
    Spec { vendor: "Lob Apps", product: "zürich_branch_reporting", title: "Zürich Branch Reporting", versions: "2023.4 2024.1 2024.3",
        prev: [0.08, 0.02, 0.05, 0.0], win: "C:\\Program Files\\Contoso\\Zürich Reporting\\zbr.exe", reg: "Zürich Branch Reporting", mac: "/Applications/Zürich Reporting.app", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_print_connector", title: "Contoso Print Connector", versions: "5.1.0.220 5.2.0.118",
        prev: [0.5, 0.2, 0.0, 0.0], win: "C:\\Program Files\\Contoso\\PrintConnector\\printconn.exe", reg: "Contoso Print Connector", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_backup_agent", title: "Contoso Backup Agent", versions: "9.4.2 9.6.0 10.0.3",
        prev: [0.2, 0.8, 0.2, 0.4], win: "C:\\Program Files\\Contoso\\Backup\\cbagent.exe", reg: "Contoso Backup Agent", mac: "/Library/Contoso/Backup/cbagent", lin: "/opt/contoso/backup/cbagent", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_build_agent", title: "Contoso Build Agent", versions: "3.236.1 3.240.1 3.243.0",
        prev: [0.0, 0.1, 0.1, 0.6], win: "C:\\agent\\bin\\Agent.Listener.exe", mac: "/Users/Shared/agent/bin/Agent.Listener", lin: "/opt/contoso/agent/bin/Agent.Listener", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_self_service", title: "Contoso Self Service", versions: "10.52.0 11.3.0",
        prev: [0.0, 0.0, 0.9, 0.0], mac: "/Applications/Self Service.app", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_mdm_enrollment", title: "Contoso MDM Enrollment", versions: "2.4.1 2.5.0",
        prev: [0.0, 0.0, 0.85, 0.0], mac: "/Library/Contoso/MDM/enroll", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_monitoring_daemon", title: "Contoso Monitoring Daemon", versions: "7.0.4 7.1.2",
        prev: [0.0, 0.35, 0.0, 0.8], win: "C:\\Program Files\\Contoso\\Monitoring\\cmond.exe", reg: "Contoso Monitoring Daemon", lin: "/opt/contoso/monitoring/cmond", ..NONCPE },
    Spec { vendor: "contoso", product: "contoso_cert_renewer", title: "Contoso Certificate Renewer", versions: "1.3.0 1.4.2",
        prev: [0.0, 0.4, 0.0, 0.7], win: "C:\\Program Files\\Contoso\\CertRenewer\\certrenew.exe", reg: "Contoso Certificate Renewer", lin: "/usr/local/bin/contoso-cert-renew", ..NONCPE },
    Spec { vendor: "fabrikam", product: "fabrikam_timesheet", title: "Fabrikam Timesheet", versions: "12.0.3 12.1.0",
        prev: [0.35, 0.0, 0.3, 0.0], win: "C:\\Program Files\\Fabrikam\\Timesheet\\timesheet.exe", reg: "Fabrikam Timesheet", mac: "/Applications/Fabrikam Timesheet.app", ..NONCPE },
    Spec { vendor: "fabrikam", product: "fabrikam_log_shipper", title: "Fabrikam Log Shipper", versions: "8.12.2 8.15.0",
        prev: [0.0, 0.5, 0.0, 0.7], win: "C:\\Program Files\\Fabrikam\\LogShipper\\shipper.exe", reg: "Fabrikam Log Shipper", lin: "/usr/share/fabrikam-shipper/bin/shipper", ..NONCPE },
    Spec { vendor: "fabrikam", product: "fabrikam_config_sync", title: "Fabrikam Config Sync", versions: "0.9.8 1.0.1",
        prev: [0.0, 0.2, 0.0, 0.6], lin: "/usr/local/bin/fabrikam-config-sync", win: "C:\\Program Files\\Fabrikam\\ConfigSync\\cfgsync.exe", reg: "Fabrikam Config Sync", ..NONCPE },
    Spec { vendor: "fabrikam", product: "fabrikam_font_manager", title: "Fabrikam Font Manager", versions: "6.2 6.3.1",
        prev: [0.0, 0.0, 0.45, 0.0], mac: "/Applications/Fabrikam Fonts.app", ..NONCPE },
    Spec { vendor: "tailspin", product: "tailspin_deployment_agent", title: "Tailspin Deployment Agent", versions: "4.0.18 4.1.2",
        prev: [0.05, 0.6, 0.0, 0.5], win: "C:\\Program Files\\Tailspin\\Deploy\\tdagent.exe", reg: "Tailspin Deployment Agent", lin: "/opt/tailspin/deploy/tdagent", ..NONCPE },
    Spec { vendor: "tailspin", product: "tailspin_metrics_exporter", title: "Tailspin Metrics Exporter", versions: "1.7.0 1.8.2",
        prev: [0.0, 0.3, 0.0, 0.6], win: "C:\\Program Files\\Tailspin\\Metrics\\exporter.exe", reg: "Tailspin Metrics Exporter", lin: "/usr/local/bin/tailspin-metrics", ..NONCPE },
    Spec { vendor: "northwind", product: "northwind_traders_pos_client", title: "Northwind Traders POS Client", versions: "3.3.0 3.4.1",
        prev: [0.15, 0.0, 0.0, 0.0], win: "C:\\Program Files (x86)\\Northwind\\POS\\pos.exe", reg: "WOW:Northwind Traders POS Client", ..NONCPE },
    Spec { vendor: "northwind", product: "northwind_design_suite", title: "Northwind Design Suite", versions: "2024.0.2 2024.1.0",
        prev: [0.05, 0.0, 0.4, 0.0], win: "C:\\Program Files\\Northwind\\Design\\nds.exe", reg: "Northwind Design Suite", mac: "/Applications/Northwind Design.app", ..NONCPE },
    Spec { vendor: "intel", product: "intel®_software_installer", title: "Intel® Software Installer", versions: "24.3.1.5 24.6.0.2",
        prev: [0.4, 0.05, 0.0, 0.0], win: "C:\\Program Files\\Intel\\SoftwareInstaller\\IntelSoftwareInstaller.exe", reg: "Intel® Software Installer", ..NONCPE },
    Spec { vendor: "intel", product: "intel®_graphics_command_center", title: "Intel® Graphics Command Center", versions: "1.100.5536.0 1.100.5685.0",
        prev: [0.45, 0.0, 0.0, 0.0], win: "C:\\Program Files\\WindowsApps\\AppUp.IntelGraphicsExperience_{v}_x64__8j3eq9eme6ctt\\IGCC.exe", ..NONCPE },
    Spec { vendor: "realtek", product: "realtek_high_definition_audio_driver", title: "Realtek High Definition Audio Driver", versions: "6.0.9239.1 6.0.9549.1",
        prev: [0.65, 0.0, 0.0, 0.0], win: "C:\\Windows\\System32\\drivers\\RTKVHD64.sys", reg: "{F132AF7F-7BCA-4EDE-8A7C-958108FE7DBC}", ..NONCPE },
    Spec { vendor: "nvidia", product: "nvidia_graphics_driver", title: "NVIDIA Graphics Driver", versions: "546.33 552.22 560.94 566.14",
        prev: [0.3, 0.02, 0.0, 0.05], win: "C:\\Windows\\System32\\nvapi64.dll", reg: "{B2FE1952-0186-46C3-BAEC-A80AA35AC5B8}_Display.Driver", lin: "/usr/lib/x86_64-linux-gnu/libnvidia-glcore.so.{v}", ..NONCPE },
    Spec { vendor: "synaptics", product: "synaptics_pointing_device_driver", title: "Synaptics Pointing Device Driver", versions: "19.5.35.1 19.5.35.61",
        prev: [0.35, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Synaptics\\SynTP\\SynTPEnh.exe", reg: "SynTPDeinstKey", ..NONCPE },
    Spec { vendor: "microsoft", product: "microsoft_update_health_tools", title: "Microsoft Update Health Tools", versions: "3.74.0.0 5.72.0.0",
        prev: [0.8, 0.3, 0.0, 0.0], win: "C:\\Program Files\\Microsoft Update Health Tools\\uhssvc.exe", reg: "{1FC1A6C2-576E-489A-9B4A-92D21F542136}", ..NONCPE },
    Spec { vendor: "microsoft", product: "microsoft_gameinput", title: "Microsoft GameInput", versions: "10.1.22621.3036 10.1.26100.3036",
        prev: [0.4, 0.0, 0.0, 0.0], win: "C:\\Program Files\\Microsoft GameInput\\x64\\GameInputSvc.exe", reg: "{E349C2C6-3E56-4CDD-9C13-4E9D61A5E5BC}", ..NONCPE },
    Spec { vendor: "lenovo", product: "lenovo_vantage_service", title: "Lenovo Vantage Service", versions: "3.13.43.0 4.0.45.0",
        prev: [0.2, 0.0, 0.0, 0.0], win: "C:\\Program Files (x86)\\Lenovo\\VantageService\\{v}\\LenovoVantageService.exe", reg: "WOW:{6DDE68A4-8B5B-4D0E-9C01-1EB6E8D7A0F2}", ..NONCPE },
];
