//! The documented example records deserialise into the wire types and re-serialise
//! with the same keys, values and JSON types. Posture adds only the fields that
//! decisions.md adds (`rbacGroupId`, `cvssScore`, `securityUpdateAvailable` where
//! an example omits them), and nothing else.

use model::wire::*;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

const ADDED_BY_DECISIONS: [&str; 3] = ["rbacGroupId", "cvssScore", "securityUpdateAvailable"];

fn round_trip<T: Serialize + DeserializeOwned>(file: &str) {
    let text = std::fs::read_to_string(format!(
        "{}/tests/golden/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let typed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let again = serde_json::to_value(&typed).unwrap();
    let (a, b) = (original.as_object().unwrap(), again.as_object().unwrap());
    for (k, v) in a {
        assert_eq!(b.get(k), Some(v), "{file}: key {k} changed");
    }
    for k in b.keys().filter(|k| !a.contains_key(*k)) {
        assert!(
            ADDED_BY_DECISIONS.contains(&k.as_str()),
            "{file}: unexpected key {k}"
        );
    }
    // Key order of the documented example is kept.
    let order: Vec<&String> = b.keys().filter(|k| a.contains_key(*k)).collect();
    assert_eq!(order, a.keys().collect::<Vec<_>>(), "{file}: key order");
    // And the typed serialisation is itself stable.
    let text2 = serde_json::to_string(&typed).unwrap();
    let typed2: T = serde_json::from_str(&text2).unwrap();
    assert_eq!(serde_json::to_string(&typed2).unwrap(), text2);
}

#[test]
fn asset_configuration() {
    round_trip::<AssetConfiguration>("AssetConfiguration.json");
}
#[test]
fn asset_software() {
    round_trip::<AssetSoftware>("AssetSoftware.json");
}
#[test]
fn asset_non_cpe_software() {
    round_trip::<AssetNonCpeSoftware>("AssetNonCpeSoftware.json");
}
#[test]
fn asset_vulnerability() {
    round_trip::<AssetVulnerability>("AssetVulnerability.json");
    round_trip::<AssetVulnerability>("AssetVulnerability.firefox.json");
}
#[test]
fn delta_asset_vulnerability() {
    round_trip::<DeltaAssetVulnerability>("DeltaAssetVulnerability.json");
}
#[test]
fn device_av_info() {
    round_trip::<DeviceAvInfo>("DeviceAvInfo.json");
}
#[test]
fn export_files_response() {
    round_trip::<ExportFilesResponse>("ExportFilesResponse.json");
}

#[test]
fn vulnerability_id_convention() {
    assert_eq!(
        AssetVulnerability::record_id("00044f61", "edge", "10.0.17763.1637", None),
        "00044f61_edge_10.0.17763.1637__"
    );
    assert_eq!(
        AssetVulnerability::record_id("01aa8c73", "firefox", "83.0.0.0", Some("CVE-2020-26971")),
        "01aa8c73_firefox_83.0.0.0_CVE-2020-26971_"
    );
}
