//! Property tests: parsing never panics, errors point inside the input, and
//! accepted filters evaluate without panicking.

use odata::Filter;
use proptest::prelude::*;

use crate::common::{SCHEMA, devices};

const TOKENS: &[&str] = &[
    // properties (some in odd case), non-filterable and unknown names
    "machineId",
    "computerDnsName",
    "OSKIND",
    "osPlatform",
    "avMode",
    "avmode",
    "quickScanResult",
    "avIsSignatureUpToDate",
    "rbacGroupId",
    "lastSeenTime",
    "rbacGroupName",
    "id",
    "foo",
    // operators and keywords
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "EQ",
    "and",
    "or",
    "not",
    "in",
    "AND",
    "Not",
    "startswith",
    "endswith",
    "contains",
    "true",
    "false",
    "null",
    // literals
    "'windows'",
    "'0'",
    "''",
    "'it''s'",
    "'",
    "'unterminated",
    "0",
    "712",
    "-1",
    "99999999999999999999",
    "1.5",
    "2019-11-22T00:00:00Z",
    "2018-08-01Z",
    "2018-08-01",
    "2019-11-22T00:00:00.123+02:00",
    "2019-13-45",
    "2019-11-22T",
    // punctuation and junk
    "(",
    ")",
    ",",
    "((",
    "))",
    "\"x\"",
    "$",
    "é",
    "-",
];

fn check(text: &str) {
    match Filter::parse(text, &SCHEMA) {
        Ok(f) => {
            assert_eq!(f.source(), text);
            for d in &devices() {
                let _ = f.matches(d);
            }
        }
        Err(e) => {
            assert!(
                e.position <= text.chars().count(),
                "{text:?}: position {} past the end",
                e.position
            );
            assert!(!e.reason.is_empty());
        }
    }
}

fn token_soup() -> impl Strategy<Value = String> {
    let token = proptest::sample::select(TOKENS);
    let sep = prop_oneof![Just(" "), Just(""), Just("  "), Just("\t")];
    proptest::collection::vec((token, sep), 0..40).prop_map(|parts| {
        parts
            .into_iter()
            .map(|(t, s)| format!("{t}{s}"))
            .collect::<String>()
    })
}

/// Well-formed comparisons joined by random logical operators and
/// parentheses: a large share of these parse.
fn valid_ish() -> impl Strategy<Value = String> {
    let cmp = prop_oneof![
        Just("osKind eq 'windows'"),
        Just("avMode eq 0"),
        Just("rbacGroupId ge 712"),
        Just("lastSeenTime lt 2020-01-01Z"),
        Just("startswith(computerDnsName,'desk')"),
        Just("quickScanResult in ('Failed','Canceled')"),
        Just("osPlatform eq null"),
    ];
    let glue = prop_oneof![
        Just(" and "),
        Just(" or "),
        Just(" and not "),
        Just(" or ("),
        Just(") and ")
    ];
    (cmp.clone(), proptest::collection::vec((glue, cmp), 0..12)).prop_map(|(first, rest)| {
        let mut s = first.to_owned();
        for (g, c) in rest {
            s.push_str(g);
            s.push_str(c);
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn ascii_strings_never_panic(text in "[ -~]{0,80}") {
        check(&text);
    }

    #[test]
    fn token_soup_never_panics(text in token_soup()) {
        check(&text);
    }

    #[test]
    fn valid_ish_filters_never_panic(text in valid_ish()) {
        check(&text);
    }

    #[test]
    fn deep_or_long_inputs_never_panic(open in 0usize..300, not_count in 0usize..80, close in 0usize..300) {
        let text = format!(
            "{}{}avMode eq '0'{}",
            "(".repeat(open),
            "not ".repeat(not_count),
            ")".repeat(close)
        );
        check(&text);
        let ok = Filter::parse(&text, &SCHEMA).is_ok();
        let expected_ok = open == close && not_count == 0 && open <= odata::MAX_DEPTH;
        prop_assert_eq!(ok, expected_ok, "{}", text);
    }
}

#[test]
fn ten_thousand_levels_of_nesting_is_an_error() {
    for text in [
        "(".repeat(10_000),
        format!("{}avMode eq '0'{}", "(".repeat(10_000), ")".repeat(10_000)),
        "not ".repeat(10_000),
        "startswith(".repeat(10_000),
    ] {
        assert!(Filter::parse(&text, &SCHEMA).is_err());
    }
}

#[test]
fn longest_flat_filter_is_accepted() {
    // ~4,000 characters of 'or': a long flat chain, no recursion.
    let mut text = String::from("avMode eq '0'");
    while text.len() + 17 <= 4096 {
        text.push_str(" or avMode eq '1'");
    }
    let f = Filter::parse(&text, &SCHEMA).unwrap();
    let devs = devices();
    assert!(f.matches(&devs[0]) && f.matches(&devs[1]) && !f.matches(&devs[2]));
}
