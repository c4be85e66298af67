//! `$top` and `$skip`.

use odata::{QueryOptionError, parse_skip, parse_top};

#[test]
fn top_accepts_integers_in_range() {
    assert_eq!(parse_top("0", 10_000), Ok(0));
    assert_eq!(parse_top("20", 10_000), Ok(20));
    assert_eq!(parse_top("10000", 10_000), Ok(10_000));
    assert_eq!(parse_top("  42 ", 10_000), Ok(42));
    assert_eq!(parse_top("007", 10_000), Ok(7));
}

#[test]
fn top_rejects_out_of_range_and_non_integers() {
    let e = parse_top("20000", 10_000).unwrap_err();
    assert_eq!(
        e,
        QueryOptionError {
            option: "$top",
            value: "20000".into(),
            max: Some(10_000)
        }
    );
    assert_eq!(
        e.to_string(),
        "Invalid value '20000' for $top: must be an integer from 0 to 10000"
    );
    for bad in [
        "",
        " ",
        "-1",
        "+5",
        "1.0",
        "1e3",
        "abc",
        "10 0",
        "0x10",
        "１２",
        "99999999999999999999999",
    ] {
        let e = parse_top(bad, 10_000).unwrap_err();
        assert_eq!(e.option, "$top");
        assert_eq!(e.value, bad.trim());
    }
    assert!(parse_top("10001", 10_000).is_err());
}

#[test]
fn skip_accepts_any_non_negative_integer() {
    assert_eq!(parse_skip("0"), Ok(0));
    assert_eq!(parse_skip(" 123456789 "), Ok(123_456_789));
    assert_eq!(parse_skip("18446744073709551615"), Ok(u64::MAX));
}

#[test]
fn skip_rejects_the_rest() {
    let e = parse_skip("-5").unwrap_err();
    assert_eq!(
        e.to_string(),
        "Invalid value '-5' for $skip: must be a non-negative integer"
    );
    for bad in ["", "abc", "1.5", "18446744073709551616", "+1"] {
        assert_eq!(parse_skip(bad).unwrap_err().option, "$skip");
    }
}

#[test]
fn long_values_are_cut_in_the_error() {
    let long = "x".repeat(1000);
    let e = parse_top(&long, 10).unwrap_err();
    assert_eq!(e.value.chars().count(), 65);
    assert!(e.value.ends_with('…'));
}
