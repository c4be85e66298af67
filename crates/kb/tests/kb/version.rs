use std::cmp::Ordering::{self, Equal, Greater, Less};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use kb::Version;
use kb::version::compare;
use proptest::prelude::*;

/// Ordered pairs from real feeds and inventories: (a, b, a cmp b).
const PAIRS: &[(&str, &str, Ordering)] = &[
    // Chrome / Edge (four numbers)
    ("119.0.6045.199", "119.0.6045.198", Greater),
    ("119.0.6045.199", "120.0.6099.129", Less),
    ("112.0.5615.120", "112.0.5615.121", Less),
    ("112.0.5615.121", "112.0.5615.121", Equal),
    ("125.0.6422.60", "125.0.6422.112", Less),
    ("119.0.2151.97", "119.0.2151.100", Less),
    // Adobe (leading zeros compare numerically)
    ("22.003.20282", "22.3.20281", Greater),
    ("22.003.20282", "22.3.20282", Equal),
    ("15.008.20082", "22.003.20282", Less),
    ("20.005.30418", "20.005.30524", Less),
    ("20.001.3005", "20.001.30005", Less),
    ("24.001.0", "24.001.30187", Less),
    // OpenSSL letter releases
    ("1.0.2zg", "1.0.2t", Greater),
    ("1.0.2zf", "1.0.2zg", Less),
    ("1.0.2a", "1.0.2", Greater),
    ("1.0.2", "1.0.2zg", Less),
    ("1.1.1t", "1.1.1s", Greater),
    ("1.1.1w", "1.1.1t", Greater),
    ("1.1.1", "1.1.1t", Less),
    ("1.0.2zg", "1.1.1", Less),
    ("1.0.2z", "1.0.2za", Less),
    ("3.0.10", "3.0.9", Greater),
    ("3.0.8", "3.0.7", Greater),
    // curl's `7.881` (sic, in NVD)
    ("7.881", "7.88.1", Greater),
    ("7.881", "8.0.0", Less),
    ("7.0.0", "7.881", Less),
    // log4j with pre-releases
    ("2.0-beta9", "2.0", Less),
    ("2.0-beta9", "2.0-beta8", Greater),
    ("2.0-beta9", "2.0-rc1", Less),
    ("2.0-rc2", "2.0", Less),
    ("2.0", "2.0.1", Less),
    ("2.0-rc2", "2.0.1", Less),
    ("2.17.1", "2.17.0", Greater),
    ("2.17.1", "2.3.2", Greater),
    ("2.12.4", "2.17.1", Less),
    ("2.0beta9", "2.0-beta9", Equal),
    ("2.0-BETA9", "2.0-beta9", Equal),
    // PuTTY
    ("0.73", "0.68", Greater),
    ("0.73", "0.75", Less),
    ("0.60", "0.59", Greater),
    ("0.80", "0.79", Greater),
    // 7-Zip, WinRAR, Zoom, VLC, Notepad++, Firefox, Python
    ("21.07", "22.01", Less),
    ("21.07", "21.7", Equal),
    ("24.07", "24.09", Less),
    ("6.23", "6.22", Greater),
    ("5.13.5", "5.13.10", Less),
    ("3.0.17.4", "3.0.20", Less),
    ("8.5.6", "8.5.7", Less),
    ("115.6", "121.0", Less),
    ("128.3.1", "128.0", Greater),
    ("3.11", "3.10.12", Greater),
    ("3.13.0rc1", "3.13.0", Less),
    // Windows builds, Linux kernel, Java
    ("10.0.22631.3155", "10.0.22621.3155", Greater),
    ("10.0.19045.4046", "10.0.19045.4529", Less),
    ("6.8-rc1", "6.8", Less),
    ("4.19.324", "4.19.99", Greater),
    ("1.8.0_361", "1.8.0_351", Greater),
    // Missing trailing numbers are zero; separators are insignificant
    ("1.0", "1.0.0", Equal),
    ("1", "1.0.0.0", Equal),
    ("1.0-1", "1_0+1", Equal),
    ("1.0.0-dev", "1.0.0-alpha", Less),
    ("1.0.0-pre", "1.0.0-rc", Less),
    ("", "0", Equal),
    // Huge digit runs do not overflow
    (
        "1.99999999999999999999999999999",
        "1.9999999999999999999999999999",
        Greater,
    ),
    ("000000000000000000000000000000042", "42", Equal),
];

#[test]
fn table_of_real_pairs() {
    assert!(PAIRS.len() >= 40);
    for &(a, b, want) in PAIRS {
        assert_eq!(compare(a, b), want, "compare({a:?}, {b:?})");
        assert_eq!(compare(b, a), want.reverse(), "compare({b:?}, {a:?})");
        assert_eq!(Version::from(a).cmp(&Version::from(b)), want);
        assert_eq!(Version::from(a) == Version::from(b), want == Equal);
    }
}

#[test]
fn sorting_versions() {
    let mut v: Vec<Version> = [
        "2.0",
        "2.0-rc1",
        "2.0-beta9",
        "1.0.2zg",
        "1.0.2",
        "2.0.1",
        "1.0.2a",
    ]
    .iter()
    .map(|s| Version::from(*s))
    .collect();
    v.sort();
    let got: Vec<&str> = v.iter().map(Version::as_str).collect();
    assert_eq!(
        got,
        [
            "1.0.2",
            "1.0.2a",
            "1.0.2zg",
            "2.0-beta9",
            "2.0-rc1",
            "2.0",
            "2.0.1"
        ]
    );
}

#[test]
fn version_keeps_text_and_serialises_as_string() {
    let v = Version::from("22.003.20282");
    assert_eq!(v.to_string(), "22.003.20282");
    let json = serde_json::to_string(&v).expect("serialise");
    assert_eq!(json, "\"22.003.20282\"");
    let back: Version = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back.as_str(), "22.003.20282");
}

#[test]
fn never_panics_on_odd_input() {
    let odd = [
        "",
        "....",
        "-",
        "\u{0}",
        "ßİ²٣",
        "🙂1.2🙂",
        "1..2",
        "999999999999999999999999999999999999999999999999999999",
        "a.b.c",
        "\\*:?",
    ];
    for a in odd {
        for b in odd {
            let _ = compare(a, b);
        }
    }
}

fn hash_of(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

/// Version-like strings built from a small vocabulary, so that equal and
/// nearly-equal values are common.
fn versionish() -> impl Strategy<Value = String> {
    let token = prop::sample::select(vec![
        "0", "00", "1", "01", "2", "9", "10", "010", "a", "A", "b", "t", "z", "zg", "rc", "RC",
        "beta", "alpha", "dev", "pre", "x",
    ]);
    let sep = prop::sample::select(vec![".", "-", "_", "+", "", ".."]);
    prop::collection::vec((token, sep), 0..7).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, s)| format!("{t}{s}"))
            .collect::<String>()
    })
}

fn any_version() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => versionish(),
        1 => "[0-9]{0,60}(\\.[0-9]{0,40}){0,3}",
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn reflexive_and_antisymmetric(a in any_version(), b in any_version()) {
        prop_assert_eq!(compare(&a, &a), Equal);
        prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
    }

    #[test]
    fn transitive(a in any_version(), b in any_version(), c in any_version()) {
        let all = [&a, &b, &c];
        for x in all {
            for y in all {
                for z in all {
                    let xy = compare(x, y);
                    let yz = compare(y, z);
                    let xz = compare(x, z);
                    if xy != Greater && yz != Greater {
                        prop_assert!(xz != Greater, "{x:?} <= {y:?} <= {z:?} but {x:?} > {z:?}");
                    }
                    if xy == Equal && yz == Equal {
                        prop_assert_eq!(xz, Equal);
                    }
                }
            }
        }
    }

    #[test]
    fn equality_hash_and_order_agree(a in any_version(), b in any_version()) {
        let (va, vb) = (Version::from(a.as_str()), Version::from(b.as_str()));
        prop_assert_eq!(va == vb, compare(&a, &b) == Equal);
        prop_assert_eq!(va.cmp(&vb), compare(&a, &b));
        prop_assert_eq!(va.partial_cmp(&vb), Some(compare(&a, &b)));
        if va == vb {
            prop_assert_eq!(hash_of(&va), hash_of(&vb));
        }
    }

    #[test]
    fn trailing_zeros_do_not_matter(a in versionish(), zeros in 0usize..4) {
        let padded = format!("{a}{}", ".0".repeat(zeros));
        prop_assert_eq!(compare(&a, &padded), Equal);
    }

    #[test]
    fn leading_zeros_do_not_matter(n in "[0-9]{1,50}", z in 0usize..30) {
        let padded = format!("{}{n}", "0".repeat(z));
        prop_assert_eq!(compare(&n, &padded), Equal);
    }

    #[test]
    fn prerelease_sorts_before_release(base in "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}", w in prop::sample::select(vec!["alpha", "beta", "rc", "pre", "dev"]), n in 0u32..20) {
        let pre = format!("{base}-{w}{n}");
        prop_assert_eq!(compare(&pre, &base), Less);
        let post = format!("{base}a");
        prop_assert_eq!(compare(&post, &base), Greater);
    }
}
