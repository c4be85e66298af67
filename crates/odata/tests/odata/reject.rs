//! Rejected filters: position (in characters) and a piece of the reason.

use odata::{Filter, MAX_DEPTH, ODataError};

use crate::common::SCHEMA;

fn parse_err(text: &str) -> ODataError {
    match Filter::parse(text, &SCHEMA) {
        Ok(_) => panic!("{text:?} was accepted"),
        Err(e) => e,
    }
}

#[rustfmt::skip]
const REJECTED: &[(&str, usize, &str)] = &[
    ("foo eq 'x'", 0, "unknown property 'foo'; filterable properties are: machineId, computerDnsName, osKind"),
    ("osKind eq 'a' and foo eq 'x'", 18, "unknown property 'foo'"),
    ("rbacGroupName eq 'x'", 0, "'rbacGroupName' is not filterable"),
    ("RBACGROUPNAME eq 'x'", 0, "'rbacGroupName' is not filterable"),
    ("id eq 'x'", 0, "'id' is not filterable"),
    ("avMode eq", 9, "expected a literal after 'eq', found end of input"),
    ("avMode eq )", 10, "expected a literal after 'eq', found ')'"),
    ("avMode eq and", 10, "expected a literal after 'eq', found the operator 'and'"),
    ("rbacGroupId eq '712'", 15, "property 'rbacGroupId' is Int; cannot compare with a string"),
    ("'712' eq rbacGroupId", 0, "property 'rbacGroupId' is Int; cannot compare with a string"),
    ("rbacGroupId in (1,'2')", 18, "property 'rbacGroupId' is Int; cannot compare with a string"),
    ("avIsSignatureUpToDate eq true", 25, "property 'avIsSignatureUpToDate' is String; cannot compare with a boolean"),
    ("lastSeenTime gt '2019-01-01'", 16, "property 'lastSeenTime' is DateTime; cannot compare with a string"),
    ("lastSeenTime gt 5", 16, "property 'lastSeenTime' is DateTime; cannot compare with an integer"),
    ("osKind eq rbacGroupId", 10, "property 'osKind' is String; cannot compare with property 'rbacGroupId' (Int)"),
    ("avMode eq 'abc", 10, "unterminated string literal"),
    ("avMode eq 'it''s", 10, "unterminated string literal"),
    ("avMode eq '0' avMode", 14, "unexpected trailing input"),
    ("avMode eq '0')", 13, "unexpected trailing input: ')' has no matching '('"),
    ("avMode gt null", 10, "null can only be compared with 'eq' or 'ne'"),
    ("startswith(rbacGroupId,'1')", 11, "startswith needs a string as argument 1, but property 'rbacGroupId' is Int"),
    ("endswith(osKind, null)", 17, "endswith needs a string as argument 2, but null"),
    ("startswith(avMode)", 17, "startswith takes 2 arguments, found 1"),
    ("startswith(avMode,'a','b')", 21, "startswith takes 2 arguments, found more"),
    ("contains(avMode 'x')", 16, "expected ',' after the first argument of contains"),
    ("startswith computerDnsName", 10, "expected '(' after function name 'startswith'"),
    ("matches(avMode,'0')", 0, "unknown function 'matches'"),
    ("osKind eq 'windows' and", 23, "expected a condition after 'and', found end of input"),
    ("osKind eq 'windows' or ", 23, "expected a condition after 'or', found end of input"),
    ("and avMode eq '0'", 0, "expected a condition at the start of the filter, found the operator 'and'"),
    ("not", 3, "expected a condition after 'not', found end of input"),
    ("(osKind eq 'windows'", 20, "expected ')' to close the '(' at position 0, found end of input"),
    ("avMode eq 1.5", 10, "only integer literals are supported"),
    ("rbacGroupId eq 99999999999999999999", 15, "out of range"),
    ("avMode eq -", 10, "negative"),
    ("lastSeenTime gt 2019-13-01", 16, "invalid date/time literal '2019-13-01': no such date"),
    ("lastSeenTime gt 2019-01-01T25:00:00Z", 16, "no such time of day"),
    ("lastSeenTime gt 2019-1-01", 16, "invalid date/time literal '2019-1-01'"),
    ("lastSeenTime gt 2019-01-01T10:00:00+25:00", 16, "offset out of range"),
    ("avMode eq \"0\"", 10, "single quotes"),
    ("avMode eq '0' $top", 14, "unexpected character '$'"),
    ("not avMode eq '0'", 4, "the operand of 'not' must be a boolean condition, but property 'avMode' is String"),
    ("avMode like '0'", 7, "expected a comparison operator (eq, ne, gt, ge, lt, le or in) after 'avMode', found 'like'"),
    ("avMode", 6, "expected a comparison operator"),
    ("osKind eq 'a' and (avMode)", 26, "expected a comparison operator"),
    ("avMode eq '0' eq true", 14, "comparisons cannot be chained"),
    ("avMode in ()", 11, "the 'in' list is empty"),
    ("avMode in ('0',)", 15, "expected a literal in the 'in' list, found ')'"),
    ("avMode in ('0' '1')", 15, "expected ',' or ')' in the 'in' list"),
    ("avMode in (osKind)", 11, "expected a literal in the 'in' list"),
    ("avMode in '0'", 10, "expected '(' after 'in'"),
    ("", 0, "empty filter expression"),
    ("   ", 0, "empty filter expression"),
    ("'a' gt 2019-01-01", 7, "cannot compare a string with a date/time"),
    ("osKind eq 'a' and 'b'", 21, "expected a comparison operator"),
    // Positions count characters, not bytes.
    ("avMode eq 'é' and foo eq 1", 18, "unknown property 'foo'"),
    ("avMode eq 'ü' or", 16, "expected a condition after 'or'"),
];

#[test]
fn rejected_filters_report_position_and_reason() {
    assert!(REJECTED.len() >= 20);
    let mut failures = Vec::new();
    for &(text, position, reason) in REJECTED {
        match Filter::parse(text, &SCHEMA) {
            Ok(_) => failures.push(format!("{text:?}: accepted")),
            Err(e) => {
                if e.position != position || !e.reason.contains(reason) {
                    failures.push(format!(
                        "{text:?}: expected {position} / {reason:?}, got {} / {:?}",
                        e.position, e.reason
                    ));
                }
                // The position never points past the end of the input.
                assert!(e.position <= text.chars().count(), "{text:?}: {e}");
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_display() {
    let e = parse_err("rbacGroupId eq '712'");
    assert_eq!(
        e.to_string(),
        "Invalid $filter at position 15: property 'rbacGroupId' is Int; cannot compare with a string"
    );
}

fn nested(depth: usize) -> String {
    format!("{}avMode eq '0'{}", "(".repeat(depth), ")".repeat(depth))
}

#[test]
fn nesting_limit() {
    assert_eq!(MAX_DEPTH, 64);
    assert!(Filter::parse(&nested(MAX_DEPTH), &SCHEMA).is_ok());
    let e = parse_err(&nested(MAX_DEPTH + 1));
    assert_eq!(e.position, MAX_DEPTH);
    assert!(e.reason.contains("nesting deeper than 64"), "{e}");

    // 'not' and function calls count too.
    let nots = format!("{}(avMode eq '0')", "not ".repeat(MAX_DEPTH - 1));
    assert!(Filter::parse(&nots, &SCHEMA).is_ok());
    let e = parse_err(&format!("{}(avMode eq '0')", "not ".repeat(MAX_DEPTH)));
    assert_eq!(e.position, 4 * MAX_DEPTH);
    assert!(e.reason.contains("nesting deeper than 64"), "{e}");
    let e = parse_err(&format!(
        "{}startswith(avMode,'0'){}",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    ));
    assert_eq!(e.position, MAX_DEPTH);

    // Deep nesting within the length limit: an error, not a stack overflow.
    let e = parse_err(&"(".repeat(4000));
    assert_eq!(e.position, MAX_DEPTH);
    let e = parse_err(&"not ".repeat(1000));
    assert!(e.reason.contains("nesting deeper than 64"), "{e}");

    // 10,000 levels: refused (by the length limit first), no overflow.
    let e = parse_err(&nested(10_000));
    assert!(e.reason.contains("longer than 4096"), "{e}");
    let e = parse_err(&"(".repeat(10_000));
    assert_eq!(e.position, 4096);
}

#[test]
fn deepest_filter_parses_and_evaluates_on_a_small_stack() {
    // Parse and evaluation recursion is bounded by MAX_DEPTH, so the deepest
    // accepted filter fits a small thread stack even in a debug build.
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let text = format!(
                "{}startswith(osKind,'w') eq true{}",
                "(not ".repeat(MAX_DEPTH / 2 - 1),
                ")".repeat(MAX_DEPTH / 2 - 1)
            );
            let f = Filter::parse(&text, &SCHEMA).unwrap();
            let devs = crate::common::devices();
            // 31 'not's: an odd number negates.
            assert!(!f.matches(&devs[0]));
            assert!(f.matches(&devs[2]));
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn length_limit() {
    let at_limit = format!("avMode eq '{}'", "a".repeat(4096 - 12));
    assert_eq!(at_limit.chars().count(), 4096);
    assert!(Filter::parse(&at_limit, &SCHEMA).is_ok());
    let over = format!("avMode eq '{}'", "a".repeat(4096 - 11));
    let e = parse_err(&over);
    assert_eq!(e.position, 4096);
    assert!(
        e.reason.contains("filter longer than 4096 characters"),
        "{e}"
    );
    // The limit counts characters: 4096 two-byte characters are fine.
    let wide = format!("avMode eq '{}'", "é".repeat(4096 - 12));
    assert!(wide.len() > 4096);
    assert!(Filter::parse(&wide, &SCHEMA).is_ok());
}
