//! A schema mirroring deviceavinfo's filterable fields and a few fixed records.

use chrono::{DateTime, Utc};
use odata::{PropType, Record, Schema, Value};

pub static SCHEMA: Schema = Schema::new(
    &[
        ("machineId", PropType::String),             // 0
        ("computerDnsName", PropType::String),       // 1
        ("osKind", PropType::String),                // 2
        ("osPlatform", PropType::String),            // 3
        ("osVersion", PropType::String),             // 4
        ("avMode", PropType::String),                // 5
        ("avSignatureVersion", PropType::String),    // 6
        ("avEngineVersion", PropType::String),       // 7
        ("avPlatformVersion", PropType::String),     // 8
        ("quickScanResult", PropType::String),       // 9
        ("quickScanError", PropType::String),        // 10
        ("fullScanResult", PropType::String),        // 11
        ("fullScanError", PropType::String),         // 12
        ("avIsSignatureUpToDate", PropType::String), // 13
        ("avIsEngineUpToDate", PropType::String),    // 14
        ("avIsPlatformUpToDate", PropType::String),  // 15
        ("rbacGroupId", PropType::Int),              // 16
        ("lastSeenTime", PropType::DateTime),        // 17
    ],
    &["rbacGroupName", "id"],
);

/// A schema with a Bool property, for boolean-typed tests.
pub static BOOL_SCHEMA: Schema = Schema::new(
    &[("name", PropType::String), ("onboarded", PropType::Bool)],
    &[],
);

pub struct Dev {
    pub strings: [Option<&'static str>; 16],
    pub group: Option<i64>,
    pub seen: Option<DateTime<Utc>>,
}

impl Record for Dev {
    fn get(&self, i: usize) -> Value<'_> {
        match i {
            0..=15 => self.strings[i].map_or(Value::Null, Value::Str),
            16 => self.group.map_or(Value::Null, Value::Int),
            17 => self.seen.map_or(Value::Null, Value::DateTime),
            _ => Value::Null,
        }
    }
}

pub struct BoolRec(pub &'static str, pub Option<bool>);

impl Record for BoolRec {
    fn get(&self, i: usize) -> Value<'_> {
        match i {
            0 => Value::Str(self.0),
            1 => self.1.map_or(Value::Null, Value::Bool),
            _ => Value::Null,
        }
    }
}

fn at(s: &str) -> Option<DateTime<Utc>> {
    Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
}

pub fn devices() -> Vec<Dev> {
    vec![
        // 0
        Dev {
            strings: [
                Some("aa01"),
                Some("desktop-01.contoso.com"),
                Some("windows"),
                Some("Windows10"),
                Some("10.0.19044.1865"),
                Some("0"),
                Some("1.371.1279.0"),
                Some("1.1.19428.0"),
                Some("4.18.2206.108"),
                Some("Completed"),
                Some(""),
                Some(""),
                Some(""),
                Some("True"),
                Some("True"),
                Some("True"),
            ],
            group: Some(4415),
            seen: at("2022-08-02T19:40:45Z"),
        },
        // 1
        Dev {
            strings: [
                Some("bb02"),
                Some("Desktop-02.contoso.com"),
                Some("windows"),
                Some("Windows11"),
                Some("10.0.22621.1"),
                Some("1"),
                Some("1.371.1323.0"),
                Some("1.1.19500.2"),
                Some("4.18.2207.7"),
                Some("Failed"),
                Some("0x80508023"),
                Some("Completed"),
                Some(""),
                Some("False"),
                Some("True"),
                Some("Unknown"),
            ],
            group: Some(712),
            seen: at("2022-08-01T00:00:00Z"),
        },
        // 2
        Dev {
            strings: [
                Some("cc03"),
                Some("mac-o'brien"),
                Some("mac"),
                Some("macOS"),
                Some("12.4.0.0"),
                Some("2"),
                Some("1.371.1279.0"),
                Some("1.1.19428.0"),
                Some("101.98.30"),
                Some("Canceled"),
                Some(""),
                Some("Failed"),
                Some("0x80508023"),
                Some("True"),
                Some("False"),
                Some("False"),
            ],
            group: Some(0),
            seen: at("2019-11-22T00:00:00Z"),
        },
        // 3
        Dev {
            strings: [
                Some("dd04"),
                Some("linux-srv"),
                Some("linux"),
                Some("Linux"),
                Some("5.15"),
                Some(""),
                Some("1.371.1300.0"),
                Some("1.1.19428.0"),
                Some("101.23.5"),
                Some("Completed"),
                Some(""),
                Some(""),
                Some(""),
                Some("Unknown"),
                Some("Unknown"),
                Some("Unknown"),
            ],
            group: Some(712),
            seen: at("2018-08-01T00:00:00Z"),
        },
        // 4: sparse
        Dev {
            strings: [
                Some("ee05"),
                None,
                Some("windows"),
                None,
                None,
                Some("5"),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                Some("True"),
                Some("True"),
                Some("True"),
            ],
            group: None,
            seen: None,
        },
        // 5
        Dev {
            strings: [
                Some("ff06"),
                Some("DESKTOP-06"),
                Some("windows"),
                Some("WindowsServer2019"),
                Some("10.0.17763.1"),
                Some("4"),
                Some("1.371.1323.0"),
                Some("1.1.19500.2"),
                Some("4.18.2207.7"),
                Some("Completed"),
                Some(""),
                Some("Completed"),
                Some(""),
                Some("True"),
                Some("True"),
                Some("True"),
            ],
            group: Some(9),
            seen: at("2019-11-21T23:00:00Z"),
        },
    ]
}
