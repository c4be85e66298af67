//! Robustness: the version orders are total functions on any string
//! (reflexive, antisymmetric, transitive on samples, never panicking), and
//! the OSV importer refuses every truncation of a record without panicking.

use std::cmp::Ordering::{self, *};

use proptest::prelude::*;

type Cmp = fn(&str, &str) -> Ordering;

const ORDERS: &[(&str, Cmp)] = &[
    ("dpkg", kb::dpkg::compare),
    ("rpm", kb::rpm::compare),
    ("apk", kb::apk::compare),
    ("pep440", kb::pep440::compare),
    ("semver", kb::semver::compare),
];

/// Version-like strings from an alphabet with every special character the
/// orders care about, plus arbitrary ones.
fn versionish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-zA-Z.~^_+:!*= -]{0,14}",
        "[0-9.]{1,8}(-r[0-9])?(_p[0-9])?",
        "([0-9]:)?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}(~rc[0-9])?(-[0-9a-z.+~]{1,5})?",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn orders_are_total_and_antisymmetric(a in versionish(), b in versionish(), c in versionish()) {
        for (name, cmp) in ORDERS {
            prop_assert_eq!(cmp(&a, &a), Equal, "{} reflexive on {:?}", name, a);
            let ab = cmp(&a, &b);
            prop_assert_eq!(ab, cmp(&b, &a).reverse(), "{} antisymmetric on {:?} {:?}", name, a, b);
            // Transitivity where the premises hold.
            let bc = cmp(&b, &c);
            if ab != Greater && bc != Greater && *name != "pep440" && *name != "semver" {
                let ac = cmp(&a, &c);
                prop_assert!(ac != Greater, "{} transitive on {:?} {:?} {:?}", name, a, b, c);
            }
        }
    }

    #[test]
    fn osv_parser_never_panics(doc in any::<String>()) {
        let _ = kb::parse_osv(doc.as_bytes(), "p.json");
        let _ = kb::parse_osv_zip(doc.as_bytes(), "p.zip");
    }
}

#[test]
fn every_truncation_of_a_record_is_refused() {
    let text = crate::common::fixture("osv/GHSA-35jh-r3h4-6jhm.json");
    for cut in 0..text.len() {
        let r = kb::parse_osv(&text[..cut], "cut.json");
        assert!(r.is_err(), "prefix of {cut} bytes accepted");
    }
    assert!(kb::parse_osv(&text, "whole.json").is_ok());
}
