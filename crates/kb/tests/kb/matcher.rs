use std::time::Instant;

use kb::{Component, Configuration, Cpe, CpeMatch, CveRecord, Match, Matcher, Node, Operator};

use crate::common::nvd_records;

fn cpe(s: &str) -> Cpe {
    Cpe::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn windows() -> Cpe {
    cpe("cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*")
}

fn ids(ms: &[Match]) -> Vec<&str> {
    ms.iter().map(|m| m.cve_id.as_str()).collect()
}

fn find<'a>(ms: &'a [Match], id: &str) -> Option<&'a Match> {
    ms.iter().find(|m| m.cve_id == id)
}

struct Fx {
    recs: Vec<CveRecord>,
    m: Matcher,
}

impl Fx {
    fn new() -> Fx {
        let recs = nvd_records();
        let m = Matcher::new(&recs);
        Fx { recs, m }
    }

    fn app(&self, vendor: &str, product: &str, version: &str, platform: &[Cpe]) -> Vec<Match> {
        self.m
            .match_software(&Cpe::application(vendor, product, version), platform)
    }
}

#[test]
fn chrome_version_end_excluding() {
    let fx = Fx::new();
    let hit = fx.app("google", "chrome", "112.0.5615.120", &[]);
    assert_eq!(ids(&hit), ["CVE-2023-2033"]);
    let m = &hit[0];
    assert_eq!(fx.recs[m.record_index].id, "CVE-2023-2033");
    assert_eq!(m.fixed_version.as_deref(), Some("112.0.5615.121"));
    assert_eq!(m.evidence.feed, "nvd");
    assert_eq!(m.evidence.record_id, "CVE-2023-2033");
    assert_eq!(
        m.evidence.criteria,
        "cpe:2.3:a:google:chrome:*:*:*:*:*:*:*:*"
    );
    assert_eq!(m.evidence.range, "< 112.0.5615.121");

    assert!(fx.app("google", "chrome", "112.0.5615.121", &[]).is_empty());
    assert!(fx.app("google", "chrome", "113.0", &[]).is_empty());
    // Case-insensitive vendor/product.
    assert_eq!(
        ids(&fx.app("Google", "Chrome", "100.0", &[])),
        ["CVE-2023-2033"]
    );
    // Unknown version: not reported against a range.
    assert!(
        fx.m.match_software(&cpe("cpe:2.3:a:google:chrome:*:*:*:*:*:*:*:*"), &[])
            .is_empty()
    );
}

#[test]
fn seven_zip_needs_the_windows_platform() {
    let fx = Fx::new();
    let on_windows = fx.app("7-zip", "7-zip", "21.07", &[windows()]);
    // CVE-2024-11477 (< 24.07) has no platform condition.
    assert_eq!(ids(&on_windows), ["CVE-2022-29072", "CVE-2024-11477"]);
    let m = find(&on_windows, "CVE-2022-29072").expect("match");
    assert_eq!(m.evidence.range, "<= 21.07");
    assert_eq!(m.fixed_version, None);

    let nowhere = fx.app("7-zip", "7-zip", "21.07", &[]);
    assert_eq!(ids(&nowhere), ["CVE-2024-11477"]);
    let on_linux = fx.app(
        "7-zip",
        "7-zip",
        "21.07",
        &[cpe("cpe:2.3:o:linux:linux_kernel:6.1.0:*:*:*:*:*:*:*")],
    );
    assert_eq!(ids(&on_linux), ["CVE-2024-11477"]);
    // A versioned generic Windows name satisfies the `windows:-` platform.
    let versioned = fx.app(
        "7-zip",
        "7-zip",
        "21.07",
        &[cpe("cpe:2.3:o:microsoft:windows:10.0.22631:*:*:*:*:*:*:*")],
    );
    assert_eq!(ids(&versioned), ["CVE-2022-29072", "CVE-2024-11477"]);
    // The specific product name alone does not (CPE products must be equal).
    let win11 = fx.app(
        "7-zip",
        "7-zip",
        "21.07",
        &[cpe(
            "cpe:2.3:o:microsoft:windows_11_23h2:10.0.22631.3155:*:*:*:*:*:*:*",
        )],
    );
    assert_eq!(ids(&win11), ["CVE-2024-11477"]);

    assert_eq!(
        ids(&fx.app("7-zip", "7-zip", "21.7", &[windows()])).len(),
        2
    );
    assert_eq!(
        ids(&fx.app("7-zip", "7-zip", "22.00", &[windows()])),
        ["CVE-2024-11477"]
    );
    assert!(fx.app("7-zip", "7-zip", "24.07", &[windows()]).is_empty());
}

#[test]
fn platform_alone_never_matches() {
    let fx = Fx::new();
    // The Windows platform CPE as "software" matches nothing: every Windows
    // cpeMatch in the fixtures is a vulnerable:false platform condition.
    assert!(fx.m.match_software(&windows(), &[windows()]).is_empty());
}

#[test]
fn log4j_exact_versions_and_update_field() {
    let fx = Fx::new();
    let id = "CVE-2021-44832";
    let sw = cpe("cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*");
    let hit = fx.m.match_software(&sw, &[]);
    assert_eq!(ids(&hit), [id]);
    assert_eq!(
        hit[0].evidence.criteria,
        "cpe:2.3:a:apache:log4j:2.0:beta9:*:*:*:*:*:*"
    );
    assert_eq!(hit[0].evidence.range, "= 2.0 update beta9");
    assert_eq!(hit[0].fixed_version, None);

    // The qualifier inside the version string (inventory style).
    for v in ["2.0-beta9", "2.0beta9", "2.0-rc2"] {
        let hit = fx.app("apache", "log4j", v, &[]);
        assert_eq!(ids(&hit), [id], "{v}");
        assert!(hit[0].evidence.range.starts_with("= 2.0 update "), "{v}");
    }
    // Plain 2.0 matches `2.0:-`.
    let hit = fx.app("apache", "log4j", "2.0", &[]);
    assert_eq!(
        hit[0].evidence.criteria,
        "cpe:2.3:a:apache:log4j:2.0:-:*:*:*:*:*:*"
    );
    assert_eq!(hit[0].evidence.range, "= 2.0");
    // Pre-releases not listed are not vulnerable.
    assert!(fx.app("apache", "log4j", "2.0-beta6", &[]).is_empty());
    assert!(
        fx.m.match_software(&cpe("cpe:2.3:a:apache:log4j:2.0:beta6:*:*:*:*:*:*"), &[])
            .is_empty()
    );

    // Ranges.
    let hit = fx.app("apache", "log4j", "2.17.0", &[]);
    assert_eq!(hit[0].evidence.range, ">= 2.13.0, < 2.17.1");
    assert_eq!(hit[0].fixed_version.as_deref(), Some("2.17.1"));
    let hit = fx.app("apache", "log4j", "2.3.1", &[]);
    assert_eq!(hit[0].evidence.range, ">= 2.0.1, < 2.3.2");
    assert!(fx.app("apache", "log4j", "2.17.1", &[]).is_empty());
    assert!(fx.app("apache", "log4j", "2.3.2", &[]).is_empty());
    assert!(fx.app("apache", "log4j", "2.12.4", &[]).is_empty());
    assert!(fx.app("apache", "log4j", "1.2.17", &[]).is_empty());
}

#[test]
fn linux_kernel_release_candidate() {
    let fx = Fx::new();
    let os = |v: &str| {
        fx.m.match_software(&Cpe::operating_system("linux", "linux_kernel", v), &[])
    };
    assert_eq!(ids(&os("6.8-rc1")), ["CVE-2024-1086"]);
    assert!(os("6.8").is_empty(), "the release is not rc1");
    assert!(os("6.8-rc2").is_empty());
    assert_eq!(ids(&os("6.1.75")), ["CVE-2024-1086"]);
    assert!(os("6.1.76").is_empty());
    assert_eq!(
        fx.m.match_software(
            &cpe("cpe:2.3:o:linux:linux_kernel:6.8:rc1:*:*:*:*:*:*"),
            &[]
        )
        .len(),
        1
    );
}

#[test]
fn openssl_letters() {
    let fx = Fx::new();
    let hit = |v: &str| ids(&fx.app("openssl", "openssl", v, &[])).len() == 1;
    assert!(hit("1.0.2zf"));
    assert!(hit("1.0.2"));
    assert!(!hit("1.0.2zg"));
    assert!(!hit("1.0.1u"));
    assert!(hit("1.1.1s"));
    assert!(!hit("1.1.1t"));
    assert!(hit("3.0.7"));
    assert!(!hit("3.0.8"));
    let m = fx.app("openssl", "openssl", "1.1.1s", &[]);
    assert_eq!(m[0].fixed_version.as_deref(), Some("1.1.1t"));
}

#[test]
fn adobe_leading_zeros_and_platforms() {
    let fx = Fx::new();
    let mac = cpe("cpe:2.3:o:apple:macos:14.2:*:*:*:*:*:*:*");
    let hit = fx.app("adobe", "acrobat_reader_dc", "22.003.20282", &[windows()]);
    assert_eq!(ids(&hit), ["CVE-2023-21608"], "one match per record");
    assert_eq!(hit[0].evidence.range, ">= 15.008.20082, <= 22.003.20282");
    // On macOS the feed's range ends one build earlier (<= 22.003.20281).
    let on_mac = fx.app(
        "adobe",
        "acrobat_reader_dc",
        "22.3.20281",
        std::slice::from_ref(&mac),
    );
    assert_eq!(ids(&on_mac), ["CVE-2023-21608"]);
    assert_eq!(on_mac[0].evidence.range, ">= 15.008.20082, <= 22.003.20281");
    assert!(
        fx.app("adobe", "acrobat_reader_dc", "22.3.20282", &[mac])
            .is_empty()
    );
    assert!(
        fx.app("adobe", "acrobat_reader_dc", "22.003.20283", &[windows()])
            .is_empty()
    );
    assert!(
        fx.app("adobe", "acrobat_reader_dc", "15.008.20081", &[windows()])
            .is_empty()
    );
    // No platform: the AND configurations are not satisfied.
    assert!(
        fx.app("adobe", "acrobat_reader_dc", "22.003.20282", &[])
            .is_empty()
    );
}

#[test]
fn other_products() {
    let fx = Fx::new();
    // curl's `<= 7.881`
    assert_eq!(
        ids(&fx.app("haxx", "curl", "7.88.1", &[])),
        ["CVE-2023-27533"]
    );
    assert!(fx.app("haxx", "curl", "8.0.0", &[]).is_empty());
    // Escaped product name
    assert_eq!(
        ids(&fx.app("notepad-plus-plus", "notepad++", "8.5.6", &[])),
        ["CVE-2023-40031"]
    );
    assert!(
        fx.app("notepad-plus-plus", "notepad++", "8.5.7", &[])
            .is_empty()
    );
    // PuTTY exact versions and an inclusive range
    assert_eq!(
        ids(&fx.app("putty", "putty", "0.60", &[])),
        ["CVE-2011-4607"]
    );
    let hit = fx.app("putty", "putty", "0.73", &[]);
    assert_eq!(ids(&hit), ["CVE-2020-14002"]);
    assert_eq!(hit[0].evidence.range, ">= 0.68, <= 0.73");
    assert!(fx.app("putty", "putty", "0.74", &[]).is_empty());
    // WinRAR
    assert_eq!(
        ids(&fx.app("rarlab", "winrar", "6.22", &[])),
        ["CVE-2023-38831", "CVE-2023-40477"]
    );
}

#[test]
fn zoom_target_sw_and_platform_node_first() {
    let fx = Fx::new();
    // Unknown target_sw in the inventory: the target_sw criteria do not reject.
    let hit = fx.app("zoom", "zoom", "5.13.4", &[]);
    assert_eq!(ids(&hit), ["CVE-2023-28597"]);
    // Known and different target_sw: rejected for the other ones only.
    let sw = cpe("cpe:2.3:a:zoom:zoom:5.13.4:*:*:*:*:windows:*:*");
    let hit = fx.m.match_software(&sw, &[]);
    assert_eq!(
        hit[0].evidence.criteria,
        "cpe:2.3:a:zoom:zoom:*:*:*:*:*:windows:*:*"
    );
    // VDI sits behind a Windows platform node listed first in its AND.
    assert_eq!(
        ids(&fx.app(
            "zoom",
            "virtual_desktop_infrastructure",
            "5.13.9",
            &[windows()]
        )),
        ["CVE-2023-28597"]
    );
    assert!(
        fx.app("zoom", "virtual_desktop_infrastructure", "5.13.9", &[])
            .is_empty()
    );
}

// ---------------------------------------------------------------------------
// Node logic on hand-built records.

fn cm(vulnerable: bool, criteria: &str) -> CpeMatch {
    CpeMatch {
        vulnerable,
        criteria: cpe(criteria),
        criteria_text: criteria.to_owned(),
        version_start_including: None,
        version_start_excluding: None,
        version_end_including: None,
        version_end_excluding: None,
        match_criteria_id: None,
    }
}

fn node(operator: Operator, negate: bool, cpe_match: Vec<CpeMatch>) -> Node {
    Node {
        operator,
        negate,
        cpe_match,
    }
}

fn rec(id: &str, configurations: Vec<Configuration>) -> CveRecord {
    let t = chrono::NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    CveRecord {
        id: id.to_owned(),
        published: t,
        last_modified: t,
        vuln_status: "Analyzed".into(),
        description: String::new(),
        cvss: None,
        cwes: vec![],
        configurations,
        exploit_referenced: false,
        cisa_exploit_add: None,
        source: "nvd".into(),
    }
}

#[test]
fn node_operators_and_negation() {
    let app = "cpe:2.3:a:v:p:1.0:*:*:*:*:*:*:*";
    let other = "cpe:2.3:a:v:other:*:*:*:*:*:*:*:*";
    let plat = "cpe:2.3:o:v:os:-:*:*:*:*:*:*:*";
    let records = vec![
        // 0: AND node needing both the app and the platform in one node
        rec(
            "CVE-2024-1000",
            vec![Configuration {
                operator: None,
                negate: false,
                nodes: vec![node(
                    Operator::And,
                    false,
                    vec![cm(true, app), cm(false, plat)],
                )],
            }],
        ),
        // 1: app node AND negated platform node (not on that OS)
        rec(
            "CVE-2024-1001",
            vec![Configuration {
                operator: Some(Operator::And),
                negate: false,
                nodes: vec![
                    node(Operator::Or, false, vec![cm(true, app)]),
                    node(Operator::Or, true, vec![cm(false, plat)]),
                ],
            }],
        ),
        // 2: OR configuration where only the platform node can be satisfied
        rec(
            "CVE-2024-1002",
            vec![Configuration {
                operator: None,
                negate: false,
                nodes: vec![
                    node(Operator::Or, false, vec![cm(true, other)]),
                    node(Operator::Or, false, vec![cm(false, plat)]),
                ],
            }],
        ),
        // 3: AND node where the app matches but another vulnerable entry does not
        rec(
            "CVE-2024-1003",
            vec![Configuration {
                operator: None,
                negate: false,
                nodes: vec![node(
                    Operator::And,
                    false,
                    vec![cm(true, app), cm(true, other)],
                )],
            }],
        ),
    ];
    let m = Matcher::new(&records);
    assert_eq!(m.len(), 4);
    assert_eq!(m.candidates("V", "P"), [0, 1, 3]);
    let sw = cpe(app);
    let os = cpe("cpe:2.3:o:v:os:5:*:*:*:*:*:*:*");
    assert_eq!(
        ids(&m.match_software(&sw, std::slice::from_ref(&os))),
        ["CVE-2024-1000"]
    );
    assert_eq!(ids(&m.match_software(&sw, &[])), ["CVE-2024-1001"]);
    // Another version of the app matches nothing.
    let sw2 = cpe("cpe:2.3:a:v:p:1.1:*:*:*:*:*:*:*");
    assert!(m.match_software(&sw2, std::slice::from_ref(&os)).is_empty());
}

#[test]
fn wildcard_vendor_criteria_are_checked_for_every_query() {
    let records = vec![rec(
        "CVE-2024-2000",
        vec![Configuration {
            operator: None,
            negate: false,
            nodes: vec![node(
                Operator::Or,
                false,
                vec![cm(true, "cpe:2.3:a:*:widget:2.0:*:*:*:*:*:*:*")],
            )],
        }],
    )];
    let m = Matcher::new(&records);
    assert_eq!(
        ids(&m.match_software(&Cpe::application("acme", "widget", "2.0"), &[])),
        ["CVE-2024-2000"]
    );
    assert!(
        m.match_software(&Cpe::application("acme", "gadget", "2.0"), &[])
            .is_empty()
    );
    // Unknown vendor in the query: every record is a candidate.
    let mut sw = Cpe::application("acme", "widget", "2.0");
    sw.vendor = Component::Any;
    assert_eq!(m.match_software(&sw, &[]).len(), 1);
}

// ---------------------------------------------------------------------------
// Speed: ~5,000 records, 2,000 distinct software.

fn ranged(criteria: &str, start: &str, end: &str) -> CpeMatch {
    let mut c = cm(true, criteria);
    c.version_start_including = Some(start.to_owned());
    c.version_end_excluding = Some(end.to_owned());
    c
}

#[test]
fn five_thousand_records_two_thousand_queries() {
    let products = 400;
    let mut records = Vec::new();
    for i in 0..5000usize {
        let p = i % products;
        let crit = format!("cpe:2.3:a:vendor{}:product{p}:*:*:*:*:*:*:*:*", p % 37);
        let generation = i / products;
        let mut nodes = vec![node(
            Operator::Or,
            false,
            vec![
                ranged(
                    &crit,
                    &format!("{generation}.0"),
                    &format!("{generation}.5.3"),
                ),
                ranged(
                    &crit,
                    &format!("{}.0", generation + 20),
                    &format!("{}.1.2", generation + 20),
                ),
                cm(
                    true,
                    &format!(
                        "cpe:2.3:a:vendor{}:product{p}:{generation}.9.1:beta2:*:*:*:*:*:*",
                        p % 37
                    ),
                ),
            ],
        )];
        let operator = if i % 5 == 0 {
            nodes.push(node(
                Operator::Or,
                false,
                vec![cm(false, "cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*")],
            ));
            Some(Operator::And)
        } else {
            None
        };
        records.push(rec(
            &format!("CVE-2024-{:05}", 10000 + i),
            vec![Configuration {
                operator,
                negate: false,
                nodes,
            }],
        ));
    }
    let queries: Vec<Cpe> = (0..2000usize)
        .map(|q| {
            let p = q % products;
            Cpe::application(
                &format!("vendor{}", p % 37),
                &format!("product{p}"),
                &format!("{}.{}.{}", q % 13, q % 7, q % 3),
            )
        })
        .collect();
    let platform = [windows()];

    let t0 = Instant::now();
    let m = Matcher::new(&records);
    let built = t0.elapsed();
    let t1 = Instant::now();
    let mut total = 0;
    for sw in &queries {
        total += m.match_software(sw, &platform).len();
    }
    let queried = t1.elapsed();
    eprintln!(
        "matcher: build {built:?}, 2000 queries {queried:?}, {total} matches over {} records",
        m.len()
    );
    assert!(
        total > 1000,
        "the workload should produce matches ({total})"
    );
    // "Well under a second" in release; debug builds of this crate get slack.
    let limit = if cfg!(debug_assertions) { 10.0 } else { 1.0 };
    assert!(
        queried.as_secs_f64() < limit,
        "2000 queries took {queried:?}"
    );
}
