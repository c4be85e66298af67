//! Accepted filters and the records they select.

use odata::Filter;

use crate::common::{BOOL_SCHEMA, BoolRec, SCHEMA, devices};

#[rustfmt::skip]
const ACCEPTED: &[(&str, &[usize])] = &[
    // eq / ne on strings
    ("osKind eq 'windows'", &[0, 1, 4, 5]),
    ("osKind ne 'windows'", &[2, 3]),
    ("avMode eq '0'", &[0]),
    ("avMode eq ''", &[3]),
    // integer literal against a String property: its decimal text
    ("avMode eq 0", &[0]),
    ("avMode eq 5 or avMode eq 4", &[4, 5]),
    ("avMode eq 000", &[0]),
    ("avMode in ('0','1',2)", &[0, 1, 2]),
    ("contains(computerDnsName, 0)", &[0, 1, 5]),
    // Int property: every comparison operator
    ("rbacGroupId eq 712", &[1, 3]),
    ("rbacGroupId ne 712", &[0, 2, 4, 5]),
    ("rbacGroupId gt 712", &[0]),
    ("rbacGroupId ge 712", &[0, 1, 3]),
    ("rbacGroupId lt 712", &[2, 5]),
    ("rbacGroupId le 0", &[2]),
    ("rbacGroupId eq -1", &[]),
    ("rbacGroupId gt -1", &[0, 1, 2, 3, 5]),
    ("rbacGroupId in (0, 9, null)", &[2, 4, 5]),
    // null
    ("rbacGroupId eq null", &[4]),
    ("computerDnsName ne null", &[0, 1, 2, 3, 5]),
    ("osVersion eq null or osPlatform eq 'Linux'", &[3, 4]),
    ("quickScanError ne ''", &[1, 4]),
    ("null eq null", &[0, 1, 2, 3, 4, 5]),
    ("not (lastSeenTime gt 2020-01-01)", &[2, 3, 4, 5]),
    // functions (case-sensitive)
    ("startswith(computerDnsName,'desktop')", &[0]),
    ("endswith(computerDnsName,'.contoso.com')", &[0, 1]),
    ("contains(osPlatform,'Windows')", &[0, 1, 5]),
    ("startswith(osPlatform,'Win') eq true", &[0, 1, 5]),
    ("startswith(osPlatform,'Win') eq false", &[2, 3]),
    ("not startswith(osPlatform,'Win')", &[2, 3]),
    ("(startswith(osPlatform,'Win') eq true) eq false", &[2, 3, 4]),
    ("StartsWith(computerDnsName,'linux') Or EndsWith(machineId, '06')", &[3, 5]),
    ("contains(avEngineVersion, '19428') and not (rbacGroupId eq 0)", &[0, 3]),
    // in, case-sensitive
    ("quickScanResult in ('Failed','Canceled')", &[1, 2]),
    ("quickScanResult in ('completed')", &[]),
    // not, precedence, parentheses
    ("not (osKind eq 'windows')", &[2, 3]),
    ("not not (avMode eq '0')", &[0]),
    ("osKind eq 'windows' and avMode eq '0' or osKind eq 'mac'", &[0, 2]),
    ("osKind eq 'mac' or osKind eq 'windows' and avMode eq '1'", &[1, 2]),
    ("(osKind eq 'mac' or osKind eq 'windows') and avMode eq '1'", &[1]),
    ("osKind eq 'windows' and (avMode eq '0' or avMode eq '4') and rbacGroupId ne null", &[0, 5]),
    ("((((avMode eq '2'))))", &[2]),
    ("fullScanError eq '0x80508023' or quickScanError eq '0x80508023'", &[1, 2]),
    ("avIsSignatureUpToDate eq 'True' and avIsEngineUpToDate eq 'True' and avIsPlatformUpToDate eq 'True'", &[0, 4, 5]),
    ("avIsPlatformUpToDate ne 'True'", &[1, 2, 3]),
    // case-insensitive names and keywords
    ("OSKIND eq 'linux'", &[3]),
    ("OsKind EQ 'linux' AND AvMode eq ''", &[3]),
    ("NOT (osKind EQ 'windows') OR rbacGroupId IN (9)", &[2, 3, 5]),
    ("avmode eq '1' or RBACGROUPID eq NULL", &[1, 4]),
    ("computerDnsName eq 'TRUE' or True", &[0, 1, 2, 3, 4, 5]),
    // quote escaping
    ("computerDnsName eq 'mac-o''brien'", &[2]),
    ("computerDnsName eq 'mac-o''brien' or machineId eq ''''", &[2]),
    // ordinal string ordering
    ("avSignatureVersion gt '1.371.1300.0'", &[1, 5]),
    ("osPlatform ge 'Windows' and osPlatform lt 'Windows2'", &[0, 1]),
    // literal on the left
    ("'windows' eq osKind", &[0, 1, 4, 5]),
    ("4415 eq rbacGroupId", &[0]),
    ("712 lt rbacGroupId", &[0]),
    // dates in each form
    ("lastSeenTime gt 2019-11-22T00:00:00Z", &[0, 1]),
    ("lastSeenTime ge 2019-11-22T00:00:00Z", &[0, 1, 2]),
    ("lastSeenTime eq 2019-11-22T00:00:00.000+01:00", &[5]),
    ("lastSeenTime lt 2019-11-22T00:00:00.123+02:00", &[3]),
    ("lastSeenTime eq 2019-11-22T01:00:00 02:00", &[5]),
    ("lastSeenTime gt 2018-08-01Z", &[0, 1, 2, 5]),
    ("lastSeenTime le 2018-08-01", &[3]),
    ("lastSeenTime eq 2022-08-02t19:40:45z", &[0]),
    ("lastSeenTime eq 2022-08-02T19:40:45", &[0]),
    ("lastSeenTime eq 2022-08-01T00:00-00:00", &[1]),
    ("lastSeenTime lt 2030-01-01 and lastSeenTime ge 2022-08-01T00:00:00Z", &[0, 1]),
    ("lastSeenTime eq null", &[4]),
    ("lastSeenTime in (2018-08-01, 2019-11-22Z)", &[2, 3]),
    // whitespace
    ("  machineId \t  eq   'aa01'  ", &[0]),
    ("machineId eq'aa01'or(machineId eq'bb02')", &[0, 1]),
    ("startswith( computerDnsName , 'linux' )", &[3]),
    // constants
    ("true", &[0, 1, 2, 3, 4, 5]),
    ("false", &[]),
];

fn selected(filter: &Filter) -> Vec<usize> {
    devices()
        .iter()
        .enumerate()
        .filter(|(_, d)| filter.matches(*d))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn accepted_filters_select_expected_records() {
    assert!(ACCEPTED.len() >= 30);
    let mut failures = Vec::new();
    for &(text, expected) in ACCEPTED {
        match Filter::parse(text, &SCHEMA) {
            Ok(f) => {
                assert_eq!(f.source(), text);
                let got = selected(&f);
                if got != expected {
                    failures.push(format!("{text:?}: expected {expected:?}, got {got:?}"));
                }
            }
            Err(e) => failures.push(format!("{text:?}: rejected: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bool_properties() {
    let recs = [
        BoolRec("a", Some(true)),
        BoolRec("b", Some(false)),
        BoolRec("c", None),
    ];
    let cases: &[(&str, &[usize])] = &[
        ("onboarded", &[0]),
        ("not onboarded", &[1]),
        ("onboarded eq false", &[1]),
        ("onboarded ne true", &[1, 2]),
        ("onboarded eq null", &[2]),
        ("onboarded or name eq 'c'", &[0, 2]),
        // not(unknown) is unknown; unknown or true is true
        ("not onboarded or name eq 'c'", &[1, 2]),
        ("onboarded and name eq 'a'", &[0]),
        ("not onboarded and name eq 'c'", &[]),
        ("(onboarded) eq (name eq 'a')", &[0, 1]),
    ];
    for &(text, expected) in cases {
        let f = Filter::parse(text, &BOOL_SCHEMA).unwrap_or_else(|e| panic!("{text}: {e}"));
        let got: Vec<usize> = (0..recs.len()).filter(|&i| f.matches(&recs[i])).collect();
        assert_eq!(got, expected, "{text}");
    }
    let e = Filter::parse("onboarded gt true", &BOOL_SCHEMA).unwrap_err();
    assert_eq!(e.position, 10);
    assert!(e.reason.contains("'gt' cannot be used on booleans"), "{e}");
}

#[test]
fn matches_accepts_unsized_records() {
    let f = Filter::parse("machineId eq 'aa01'", &SCHEMA).unwrap();
    let devs = devices();
    let dynamic: &dyn odata::Record = &devs[0];
    assert!(f.matches(dynamic));
    assert!(!f.matches(&devs[1]));
}

#[test]
fn wrongly_typed_record_values_do_not_panic() {
    struct Odd;
    impl odata::Record for Odd {
        fn get(&self, _: usize) -> odata::Value<'_> {
            odata::Value::Int(7)
        }
    }
    let f = Filter::parse("avMode eq '7'", &SCHEMA).unwrap();
    assert!(!f.matches(&Odd));
    let f = Filter::parse("avMode ne '7' and startswith(avMode,'7') eq null", &SCHEMA).unwrap();
    assert!(f.matches(&Odd));
}

#[test]
fn filter_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone + std::fmt::Debug>() {}
    assert_send_sync::<Filter>();
    assert_send_sync::<odata::ODataError>();
    assert_send_sync::<odata::QueryOptionError>();
}
