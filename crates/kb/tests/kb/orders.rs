//! Table tests: SemVer precedence (semver.org), apk ordering (apk-tools'
//! own test table and rules), ecosystems and their orders.

use std::cmp::Ordering::{self, *};

use kb::{Ecosystem, apk, semver};

fn check_chain(name: &str, cmp: fn(&str, &str) -> Ordering, chain: &[&str]) {
    for w in chain.windows(2) {
        assert_eq!(cmp(w[0], w[1]), Less, "{name}: {} < {}", w[0], w[1]);
        assert_eq!(cmp(w[1], w[0]), Greater, "{name}: {} > {}", w[1], w[0]);
    }
    // Transitivity over the whole chain.
    for (i, a) in chain.iter().enumerate() {
        for b in &chain[i + 1..] {
            assert_eq!(cmp(a, b), Less, "{name}: {a} < {b}");
        }
        assert_eq!(cmp(a, a), Equal, "{name}: {a} = {a}");
    }
}

#[test]
fn semver_spec_precedence() {
    // semver.org §11, items 2 and 4.
    check_chain(
        "semver",
        semver::compare,
        &["1.0.0", "2.0.0", "2.1.0", "2.1.1"],
    );
    check_chain(
        "semver",
        semver::compare,
        &[
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ],
    );
    // §11.3: a pre-release is lower than the normal version.
    assert_eq!(semver::compare("1.0.0-alpha", "1.0.0"), Less);
    // §11.4: numeric < alphanumeric identifiers; numeric compare as numbers;
    // alphanumeric compare in ASCII order.
    assert_eq!(semver::compare("1.0.0-1", "1.0.0-a"), Less);
    assert_eq!(semver::compare("1.0.0-2", "1.0.0-10"), Less);
    assert_eq!(semver::compare("1.0.0-a10", "1.0.0-a2"), Less);
    assert_eq!(semver::compare("1.0.0-Z", "1.0.0-a"), Less);
    assert_eq!(semver::compare("1.0.0-x-y", "1.0.0-x.y"), Greater);
    // §10: build metadata is ignored for precedence (§9/§10 examples).
    assert_eq!(semver::compare("1.0.0-alpha+001", "1.0.0-alpha"), Equal);
    assert_eq!(semver::compare("1.0.0+20130313144700", "1.0.0"), Equal);
    assert_eq!(
        semver::compare("1.0.0-beta+exp.sha.5114f85", "1.0.0-beta+other"),
        Equal
    );
    for v in [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-0.3.7",
        "1.0.0-x.7.z.92",
        "1.0.0-x-y-z.--",
        "1.0.0-alpha+001",
        "1.0.0+20130313144700",
        "1.0.0-beta+exp.sha.5114f85",
        "1.0.0+21AF26D3----117B344092BD",
    ] {
        assert!(semver::SemVer::parse(v).is_ok(), "{v}");
    }
    // Numbers of any length; major/minor/patch numeric.
    assert_eq!(semver::compare("1.2.10", "1.2.9"), Greater);
    assert_eq!(
        semver::compare("99999999999999999999.0.0", "99999999999999999998.0.0"),
        Greater
    );
    // Loose forms and the generic fallback for non-SemVer strings.
    assert_eq!(semver::compare("v1.2.3", "1.2.3"), Equal);
    assert_eq!(semver::compare("1.2", "1.10"), Less);
}

#[test]
fn apk_order_table() {
    // Rows from apk-tools' test/version.data (the project's own test table).
    let rows: &[(&str, char, &str)] = &[
        ("2.34", '>', "0.1.0_alpha"),
        ("23_foo", '>', "4_beta"),
        ("1.0", '<', "1.0bc"),
        ("0.1.0_alpha", '=', "0.1.0_alpha"),
        ("0.1.0_alpha2", '>', "0.1.0_alpha"),
        ("1.0.4-r3", '<', "1.0.4-r4"),
        ("1.1", '>', "1.1_alpha1"),
        ("1.2.1", '>', "1.2"),
        ("0.7.0", '<', "0.8_beta1"),
        ("3.10.18-r1", '>', "2.3.0b-r1"),
        ("2.3.0b-r1", '<', "2.3.0b-r2"),
        ("0.12.3", '>', "0.12"),
        ("1.2.12.1", '<', "1.2.13"),
        ("3.1_p16", '<', "3.1_p17"),
        ("1.06-r6", '<', "006"),
        ("006", '>', "1.0.0"),
        ("1.2.2-r1", '>', "1.2.2"),
        ("20050718-r1", '<', "20050718-r2"),
        ("3.9.8-r5", '>', "2.01.01_alpha10"),
        ("0.99.3.20040818", '>', "0.7"),
        ("2.8.9-r1", '>', "2.8.9"),
        ("4.2.52_p2-r1", '<', "4.2.52_p4-r2"),
        ("1.05-r18", '<', "1.05-r19"),
        ("2.4.2", '<', "20060720"),
        ("20060720", '>', "3.0.20060720"),
        ("2.5.1-r8", '<', "2.5.1a-r1"),
        ("1.3.5-r10", '>', "1.3.5-r8"),
        ("20040401", '>', "2.0.0_rc3-r1"),
        ("3.0.0-r2", '<', "021109-r3"),
        ("3.9_pre20060124", '>', "0.01"),
        ("6b-r7", '>', "1.12-r7"),
        ("0.10.0", '<', "0.10.1_rc1"),
        ("2.0.2", '>', "1.1a"),
        ("1.0-r1", '>', "0.15.1b"),
        ("22.7-r1", '<', "22.7.3-r1"),
        ("22.7", '>', "2.1_pre20"),
        ("2.10.1", '>', "02.08.01b"),
        ("1.6d", '>', "1.2.07.8"),
        ("1.2.07.8", '<', "1.2.12.04"),
        ("0.20070118", '<', "0.20070207_rc1"),
        ("4.5_p1-r1", '>', "4.5_p1"),
        ("1.7", '<', "1.7b"),
        ("1.8.5", '<', "1.8.5_p2"),
        ("1.6.8_p12-r1", '>', "1.6.8_p9-r2"),
        ("2.12r-r4", '<', "2.12r-r5"),
        ("7.0.17", '<', "7.0.174"),
        ("1.3_pre1-r1", '<', "1.3.2"),
        ("1.0_p10-r0", '>', "1.0_p9-r0"),
        ("0.1.0_alpha_pre2", '<', "0.1.0_alpha"),
        (
            "1.0.0_pre20191002222144-r0",
            '<',
            "1.0.0_pre20210530193627-r0",
        ),
        ("6.0_pre1", '<', "6.0"),
        ("6.0_p1", '>', "6.0"),
    ];
    for (a, op, b) in rows {
        let want = match op {
            '<' => Less,
            '=' => Equal,
            _ => Greater,
        };
        assert_eq!(apk::compare(a, b), want, "{a} {op} {b}");
        assert_eq!(apk::compare(b, a), want.reverse(), "{b} vs {a}");
    }
    // The documented order of suffixes and revisions on real Alpine versions.
    check_chain(
        "apk",
        apk::compare,
        &[
            "1.2.3_alpha",
            "1.2.3_alpha2",
            "1.2.3_beta",
            "1.2.3_pre",
            "1.2.3_rc1",
            "1.2.3",
            "1.2.3-r0",
            "1.2.3-r1",
            "1.2.3_cvs",
            "1.2.3_svn",
            "1.2.3_git20240101",
            "1.2.3_hg",
            "1.2.3_p1",
            "1.2.3_p1-r2",
            "1.2.3_p2",
            "1.2.3a",
            "1.2.3b-r0",
            "1.2.3.1",
            "1.2.4",
        ],
    );
    check_chain(
        "apk",
        apk::compare,
        &[
            "1.36.1-r9",
            "1.36.1-r16",
            "1.36.1-r29",
            "1.36.1-r30",
            "1.37.0-r0",
        ],
    );
    check_chain(
        "apk",
        apk::compare,
        &[
            "3.1.4-r0",
            "3.1.4-r1",
            "3.1.4-r10",
            "3.1.5-r0",
            "3.3.0_alpha1-r0",
            "3.3.0-r0",
        ],
    );
    check_chain(
        "apk",
        apk::compare,
        &["9.3_p2-r0", "9.3_p2-r1", "9.4_p1-r0", "9.6_p1-r0"],
    );
    // Leading zeros after a dot compare as strings (Gentoo rule).
    assert_eq!(apk::compare("1.01", "1.1"), Less);
    assert_eq!(apk::compare("1.01", "1.010"), Less);
    assert_eq!(apk::compare("1.0", "1.00"), Less);
    assert_eq!(apk::compare("1.09", "1.1"), Less);
    // Commit hashes (`~hash`) sort before a revision; hashes compare as strings.
    assert_eq!(
        apk::compare("1.0_git20240101~abc123", "1.0_git20240101~abc124"),
        Less
    );
    assert_eq!(apk::compare("1.0~abc-r1", "1.0~abc-r2"), Less);
    assert!(apk::is_valid("1.0_git20240101~deadbeef-r3"));
}

#[test]
fn ecosystems_dispatch_to_their_order() {
    let cases: &[(&str, &str, &str, Ordering)] = &[
        ("Debian:12", "1.0~rc1-1", "1.0-1", Less),
        (
            "Ubuntu:22.04:LTS",
            "2.37.2-4ubuntu3.3",
            "2.37.2-4ubuntu3.10",
            Less,
        ),
        ("Alpine:v3.19", "1.0_rc1-r0", "1.0-r0", Less),
        ("PyPI", "1.0.dev1", "1.0a1", Less),
        ("npm", "1.0.0-beta.11", "1.0.0-rc.1", Less),
        (
            "Red Hat:enterprise_linux:9::baseos",
            "1.0^git1",
            "1.0.1",
            Less,
        ),
        ("Rocky Linux:9", "1:1.0-1.el9", "2.0-1.el9", Greater),
        ("AlmaLinux:9", "1.0-1.el9", "1.0-1.el9_2", Less),
        ("crates.io", "1.0.2zg", "1.0.2t", Greater),
    ];
    for (eco, a, b, want) in cases {
        assert_eq!(
            Ecosystem::parse(eco).compare(a, b),
            *want,
            "{eco}: {a} vs {b}"
        );
    }
}

#[test]
fn distro_ecosystem_names() {
    let cases = [
        ("debian", "12", Some("Debian:12")),
        ("debian", "11.9", Some("Debian:11")),
        ("ubuntu", "22.04", Some("Ubuntu:22.04:LTS")),
        ("ubuntu", "24.04", Some("Ubuntu:24.04:LTS")),
        ("ubuntu", "24.10", Some("Ubuntu:24.10")),
        ("ubuntu", "23.04", Some("Ubuntu:23.04")),
        ("ubuntu", "6.06", Some("Ubuntu:6.06:LTS")),
        ("alpine", "3.19.1", Some("Alpine:v3.19")),
        ("alpine", "3.20.0_alpha20240329", Some("Alpine:v3.20")),
        ("rhel", "9.3", Some("Red Hat:enterprise_linux:9")),
        ("rocky", "9.3", Some("Rocky Linux:9")),
        ("almalinux", "8.9", Some("AlmaLinux:8")),
        ("\"Debian\"", "\"12\"", Some("Debian:12")),
        ("debian", "", None),
        ("arch", "", None),
        ("ubuntu", "22", None),
        ("alpine", "edge", None),
    ];
    for (id, ver, want) in cases {
        assert_eq!(
            Ecosystem::for_distro(id, ver)
                .map(|e| e.to_string())
                .as_deref(),
            want,
            "{id} {ver}"
        );
    }
    let jammy = Ecosystem::parse("Ubuntu:22.04:LTS");
    assert!(jammy.covers(&Ecosystem::parse("Ubuntu:22.04:LTS")));
    assert!(!jammy.covers(&Ecosystem::parse("Ubuntu:Pro:22.04:LTS")));
    assert!(Ecosystem::parse("Ubuntu:22.04").covers(&Ecosystem::parse("Ubuntu:22.04:LTS")));
    assert!(!Ecosystem::parse("Debian:1").covers(&Ecosystem::parse("Debian:12")));
    assert!(Ecosystem::parse("Debian").covers(&Ecosystem::parse("Debian:12")));
    let j = serde_json::to_string(&jammy).expect("ser");
    assert_eq!(j, "\"Ubuntu:22.04:LTS\"");
    assert_eq!(serde_json::from_str::<Ecosystem>(&j).expect("de"), jammy);
    assert!(Ecosystem::parse("Alpine:v3.19").is_distro());
    assert!(!Ecosystem::parse("npm").is_distro());
    assert_eq!(
        Ecosystem::PyPI.normalize_name("Flask_SQLAlchemy"),
        "flask-sqlalchemy"
    );
    assert_eq!(Ecosystem::Npm.normalize_name("@Scope/Pkg"), "@Scope/Pkg");
}
