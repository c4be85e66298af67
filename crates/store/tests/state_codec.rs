//! The state codec: every state survives encode → decode unchanged, rows of earlier
//! releases (JSON text or bytes) decode to what those releases read, and damaged rows
//! are errors, never panics.

use chrono::{DateTime, NaiveDate, Utc};
use model::report::Distro;
use model::{
    AvState, DeviceId, DeviceReport, EndOfSupport, GroupRef, InstalledSoftware, OsInfo, OsKind,
    ScanResult, SourcePackage,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::Value;
use store::DeviceState;
use store::state_codec::{
    FORMAT_V1, FORMAT_V2, RecordArena, decode, encode, is_current, uncompressed_v1,
};

/// Years 0001 to 9999, the range reports are validated to.
fn time() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_135_596_800i64..=253_402_300_799, 0u32..1_000_000_000)
        .prop_map(|(s, n)| DateTime::from_timestamp(s, n).expect("in range"))
}

/// Mostly strings from a small pool (so records repeat strings, as real ones do), some
/// arbitrary Unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["", "1", "0", "microsoft", "7.4.1", "C:\\Program Files\\x", "EOS Version"])
            .prop_map(str::to_owned),
        2 => ".{0,24}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(text(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn software() -> impl Strategy<Value = InstalledSoftware> {
    (
        (
            text(),
            text(),
            text(),
            option::of(text()),
            option::of(text()),
        ),
        (vec(text(), 0..3), vec(text(), 0..3)),
        option::of((
            text(),
            option::of(
                (1i32..=3_652_059)
                    .prop_map(|d| NaiveDate::from_num_days_from_ce_opt(d).expect("in range")),
            ),
        )),
        option::of((text(), text())),
    )
        .prop_map(
            |((vendor, name, version, cpe, ecosystem), (disk, registry), eos, source)| {
                InstalledSoftware {
                    vendor,
                    name,
                    version,
                    cpe,
                    ecosystem,
                    disk_paths: disk,
                    registry_paths: registry,
                    end_of_support: eos.map(|(status, date)| EndOfSupport { status, date }),
                    source: source.map(|(name, version)| SourcePackage { name, version }),
                }
            },
        )
}

fn scan() -> impl Strategy<Value = ScanResult> {
    (text(), option::of(text()), time()).prop_map(|(status, error, time)| ScanResult {
        status,
        error,
        time,
    })
}

fn av() -> impl Strategy<Value = AvState> {
    (
        (
            option::of(any::<u8>()),
            option::of(text()),
            option::of(text()),
            option::of(text()),
        ),
        (
            option::of(time()),
            option::of(time()),
            option::of(time()),
            option::of(time()),
        ),
        (option::of(text()), option::of(scan()), option::of(scan())),
    )
        .prop_map(
            |((mode, e, p, s), (eu, pu, su, sp), (cloud, quick, full))| AvState {
                mode,
                engine_version: e,
                platform_version: p,
                signature_version: s,
                engine_updated_at: eu,
                platform_updated_at: pu,
                signature_updated_at: su,
                signature_published_at: sp,
                cloud_protection: cloud,
                quick_scan: quick,
                full_scan: full,
            },
        )
}

fn os() -> impl Strategy<Value = OsInfo> {
    (
        prop::sample::select(vec![OsKind::Windows, OsKind::Mac, OsKind::Linux]),
        text(),
        text(),
        option::of(text()),
        option::of((text(), text())),
    )
        .prop_map(|(kind, platform, version, architecture, distro)| OsInfo {
            kind,
            platform,
            version,
            architecture,
            distro: distro.map(|(id, version_id)| Distro { id, version_id }),
        })
}

fn state() -> impl Strategy<Value = DeviceState> {
    (
        (
            "[0-9a-f]{40}",
            any::<u64>(),
            time(),
            option::of(text()),
            os(),
            option::of((any::<u32>(), text())),
        ),
        (
            vec(software(), 0..8),
            btree_map(text(), text(), 0..6),
            option::of(av()),
            btree_map(text(), value(), 0..4),
        ),
        (time(), vec(time(), 0..8), time()),
    )
        .prop_map(
            |(
                (id, sequence, reported_at, device_name, os, group),
                (software, settings, av, facts),
                (first_seen, software_first_seen, received_at),
            )| DeviceState {
                report: DeviceReport {
                    device_id: DeviceId::parse(&id).expect("40 hex"),
                    sequence,
                    reported_at,
                    device_name,
                    os,
                    group: group.map(|(id, name)| GroupRef { id, name }),
                    software,
                    settings,
                    av,
                    facts,
                },
                first_seen,
                software_first_seen,
                received_at,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_state_round_trips(s in state()) {
        let bytes = encode(&s).unwrap();
        prop_assert_eq!(bytes[0], FORMAT_V2);
        prop_assert!(is_current(&bytes));
        prop_assert_eq!(decode(&bytes).unwrap(), s);
    }

    /// A row of schema version 1 (the same record, uncompressed) decodes to the same
    /// state, and is refused when cut short or followed by anything.
    #[test]
    fn every_uncompressed_v1_row_decodes(s in state()) {
        let v1 = uncompressed_v1(&encode(&s).unwrap()).unwrap();
        prop_assert!(is_current(&v1));
        prop_assert_eq!(decode(&v1).unwrap(), s);
        prop_assert!(decode(&v1[..v1.len() - 1]).is_err());
        let mut longer = v1;
        longer.push(0);
        prop_assert!(decode(&longer).is_err());
    }

    /// Rows of earlier releases: the state's JSON as text (releases before c70fe8a) or
    /// bytes (c70fe8a). They decode to exactly what those releases decoded, are not
    /// current, and re-encode to a current row that decodes the same.
    #[test]
    fn every_legacy_json_row_decodes(s in state()) {
        let text = serde_json::to_string(&s).unwrap();
        let old: DeviceState = serde_json::from_str(&text).unwrap();
        for row in [text.as_bytes().to_vec(), serde_json::to_vec(&s).unwrap(), serde_json::to_vec_pretty(&s).unwrap()] {
            prop_assert!(!is_current(&row));
            let decoded = decode(&row).unwrap();
            prop_assert_eq!(&decoded, &old);
            prop_assert_eq!(decode(&encode(&decoded).unwrap()).unwrap(), decoded);
        }
    }

    /// Every strict prefix of a row is refused, and so is any byte flipped in it —
    /// or, when the flip still spells a valid record, it decodes without panicking.
    #[test]
    fn damaged_rows_are_errors_not_panics(s in state(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), bits in 1u8..=255) {
        let bytes = encode(&s).unwrap();
        let k = cut.index(bytes.len());
        prop_assert!(decode(&bytes[..k]).is_err());
        let mut damaged = bytes.clone();
        let i = flip.index(damaged.len());
        damaged[i] ^= bits;
        let _ = decode(&damaged);
        let mut longer = bytes;
        longer.push(0);
        prop_assert!(decode(&longer).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(mut bytes in vec(any::<u8>(), 0..300)) {
        let _ = decode(&bytes);
        if !bytes.is_empty() {
            bytes[0] = FORMAT_V1;
            let _ = decode(&bytes);
            bytes[0] = FORMAT_V2;
            let _ = decode(&bytes);
        }
    }
}

/// A batch's rows as a store may hold them: current, schema version 1, and an earlier
/// release's JSON, by turns.
fn mixed_rows(states: &[DeviceState]) -> Vec<Vec<u8>> {
    states
        .iter()
        .enumerate()
        .map(|(i, s)| match i % 3 {
            0 => encode(s).unwrap(),
            1 => uncompressed_v1(&encode(s).unwrap()).unwrap(),
            _ => serde_json::to_vec(s).unwrap(),
        })
        .collect()
}

fn viewed(records: &mut RecordArena, rows: &[Vec<u8>]) -> Vec<DeviceState> {
    records
        .views(rows)
        .unwrap()
        .into_iter()
        .map(|v| v.into_state().unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// What a publish reads: an arena of a batch's records, viewed, is the batch's
    /// states, whatever the rows' formats; and a reused arena holds only the next
    /// batch (a smaller batch after a larger one leaves nothing of it behind).
    #[test]
    fn arena_views_are_the_states_of_each_batch(first in vec(state(), 1..8), second in vec(state(), 0..4)) {
        let mut records = RecordArena::default();
        for batch in [&first, &second] {
            let rows = mixed_rows(batch);
            let decoded: Vec<DeviceState> = rows.iter().map(|r| decode(r).unwrap()).collect();
            prop_assert_eq!(&viewed(&mut records, &rows), &decoded);
        }
    }

    /// A damaged row anywhere in a batch makes the batch an error, never a panic.
    #[test]
    fn a_damaged_row_fails_its_batch(states in vec(state(), 1..5), which in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let mut rows = mixed_rows(&states);
        let i = which.index(rows.len());
        let k = cut.index(rows[i].len());
        rows[i].truncate(k);
        let mut records = RecordArena::default();
        prop_assert!(records.views(&rows).is_err());
    }
}

/// A record whose bytes are patched in place (same length), uncompressed (schema 1).
fn patched(s: &DeviceState, from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut v1 = uncompressed_v1(&encode(s).unwrap()).unwrap();
    let at = v1
        .windows(from.len())
        .position(|w| w == from)
        .expect("the bytes to patch");
    v1[at..at + to.len()].copy_from_slice(to);
    v1
}

#[test]
fn settings_out_of_order_are_refused() {
    let mut s = sample_state();
    s.report.settings = [
        ("setting.aaa".to_owned(), "1".to_owned()),
        ("setting.bbb".to_owned(), "2".to_owned()),
    ]
    .into();
    assert_eq!(decode(&encode(&s).unwrap()).unwrap(), s);
    let row = patched(&s, b"setting.aaa", b"setting.ccc");
    let err = decode(&row).unwrap_err().to_string();
    assert!(err.contains("settings out of order"), "{err}");
    let row = patched(&s, b"setting.bbb", b"setting.aaa");
    assert!(
        decode(&row).is_err(),
        "a repeated setting is out of order too"
    );
}

/// Strings are checked as UTF-8 whether they look ASCII or not.
#[test]
fn strings_that_are_not_utf8_are_refused() {
    let mut s = sample_state();
    s.report.device_name = Some("Müller-PC".into());
    assert_eq!(decode(&encode(&s).unwrap()).unwrap(), s);
    for (from, to) in [
        (&b"M\xc3\xbc"[..], &b"M\xc3A"[..]),
        (b"Windows11", b"Windows\xff1"),
    ] {
        let err = decode(&patched(&s, from, to)).unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }
}

fn sample_state() -> DeviceState {
    let sw = |i: usize| InstalledSoftware {
        vendor: "microsoft".into(),
        name: format!("product_{}", i % 7),
        version: "10.0.19041.1".into(),
        cpe: Some(format!(
            "cpe:2.3:a:microsoft:product_{}:10.0.19041.1:*:*:*:*:*:*:*",
            i % 7
        )),
        ecosystem: None,
        disk_paths: vec![format!("C:\\Program Files\\Microsoft\\product_{}", i % 7)],
        registry_paths: vec![],
        end_of_support: None,
        source: None,
    };
    let at: DateTime<Utc> = "2026-11-20T12:00:00Z".parse().unwrap();
    DeviceState {
        report: DeviceReport {
            device_id: DeviceId::parse("9eaf3a8b5962e0e6b1af9ec756664a9b823df2d1").unwrap(),
            sequence: 3,
            reported_at: at,
            device_name: Some("host1.contoso.com".into()),
            os: OsInfo {
                kind: OsKind::Windows,
                platform: "Windows11".into(),
                version: "10.0.22631.4460".into(),
                architecture: Some("x64".into()),
                distro: None,
            },
            group: Some(GroupRef {
                id: 7,
                name: "Seven".into(),
            }),
            software: (0..40).map(sw).collect(),
            settings: (0..30)
                .map(|i| (format!("Setting{i}"), (i % 2).to_string()))
                .collect(),
            av: None,
            facts: [("TlsClient10".to_owned(), Value::from("Disabled"))].into(),
        },
        first_seen: at,
        software_first_seen: vec![at; 40],
        received_at: at,
    }
}

/// A realistic record is much smaller than its JSON.
#[test]
fn binary_is_smaller_than_json() {
    let s = sample_state();
    let binary = encode(&s).unwrap();
    let json = serde_json::to_vec(&s).unwrap();
    assert!(
        binary.len() * 3 < json.len(),
        "binary {} bytes, JSON {}",
        binary.len(),
        json.len()
    );
    assert_eq!(decode(&binary).unwrap(), s);
    // Compression takes the repeats the record's string references cannot (CPEs
    // restating vendor, product and version).
    let uncompressed = uncompressed_v1(&binary).unwrap();
    assert!(
        binary.len() * 2 < uncompressed.len(),
        "compressed {} bytes, uncompressed {}",
        binary.len(),
        uncompressed.len()
    );
}

#[test]
fn unknown_formats_are_refused() {
    for row in [&b""[..], b"\x02abc", b"[1]", b"\xff"] {
        assert!(decode(row).is_err(), "{row:?}");
    }
}
