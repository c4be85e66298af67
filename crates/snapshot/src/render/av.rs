//! `DeviceAvInfo` and the InfoGatheringExport record: rendered whole per device at the
//! end of a build, once the newest releases per OS kind (the up-to-date reference) are known.

use super::RenderError;
use assess::av::AvReference;
use chrono::{DateTime, Utc};
use model::timefmt;
use model::wire::DeviceAvInfo;
use model::{AvState, GroupRef, OsInfo};
use std::collections::BTreeMap;

/// What a device's AV records need, kept until the build has seen every device.
pub(crate) struct AvPending {
    pub device_id: String,
    pub name: Option<String>,
    pub os: OsInfo,
    pub group: GroupRef,
    pub reported_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub av: Option<AvState>,
    pub facts: BTreeMap<String, serde_json::Value>,
}

/// The deviceavinfo record and the InfoGatheringExport record of one device.
pub(crate) fn render(
    reference: &AvReference,
    p: &AvPending,
) -> Result<(Vec<u8>, Vec<u8>), RenderError> {
    let health = reference.health(p.os.kind, assess::av::product_of(&p.facts), p.av.as_ref());
    let av = p.av.as_ref();
    let iso = |t: Option<DateTime<Utc>>| t.map(|t| timefmt::iso_z(&t));
    let scan = |s: Option<&model::ScanResult>| {
        (
            s.map(|s| s.status.clone()).unwrap_or_default(),
            s.and_then(|s| s.error.clone()).unwrap_or_default(),
            s.map(|s| timefmt::iso_z(&s.time)),
        )
    };
    let (quick_result, quick_error, quick_time) = scan(av.and_then(|a| a.quick_scan.as_ref()));
    let (full_result, full_error, full_time) = scan(av.and_then(|a| a.full_scan.as_ref()));
    let record = DeviceAvInfo {
        id: p.device_id.clone(),
        machine_id: p.device_id.clone(),
        computer_dns_name: p.name.clone(),
        os_kind: p.os.kind.as_str().to_owned(),
        os_platform: p.os.platform.clone(),
        os_version: Some(p.os.version.clone()),
        av_mode: av
            .and_then(|a| a.mode)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        av_signature_version: av.and_then(|a| a.signature_version.clone()),
        av_engine_version: av.and_then(|a| a.engine_version.clone()),
        av_platform_version: av.and_then(|a| a.platform_version.clone()),
        last_seen_time: Some(timefmt::iso_z(&p.reported_at)),
        quick_scan_result: quick_result,
        quick_scan_error: quick_error,
        quick_scan_time: quick_time,
        full_scan_result: full_result,
        full_scan_error: full_error,
        full_scan_time: full_time,
        data_refresh_timestamp: Some(timefmt::iso_z(&p.received_at)),
        av_engine_update_time: iso(av.and_then(|a| a.engine_updated_at)),
        av_signature_update_time: iso(av.and_then(|a| a.signature_updated_at)),
        av_platform_update_time: iso(av.and_then(|a| a.platform_updated_at)),
        av_is_signature_up_to_date: health.signature.as_str().to_owned(),
        av_is_engine_up_to_date: health.engine.as_str().to_owned(),
        av_is_platform_up_to_date: health.platform.as_str().to_owned(),
        av_signature_publish_time: iso(av.and_then(|a| a.signature_published_at)),
        rbac_group_name: p.group.name.clone(),
        rbac_group_id: p.group.id as i64,
    };
    let av_json = serde_json::to_vec(&record)?;

    let scan_obj = |s: Option<&model::ScanResult>| match s {
        Some(s) => {
            serde_json::json!({"ScanStatus": s.status, "ErrorCode": s.error.clone().unwrap_or_default(), "Timestamp": timefmt::iso_z(&s.time)})
        }
        None => serde_json::Value::Null,
    };
    let scans = serde_json::json!({
        "Quick": scan_obj(av.and_then(|a| a.quick_scan.as_ref())),
        "Full": scan_obj(av.and_then(|a| a.full_scan.as_ref())),
    });
    let mut gathered = serde_json::Map::new();
    for (k, v) in &p.facts {
        gathered.insert(k.clone(), v.clone());
    }
    let refresh = timefmt::iso_z(&p.received_at);
    let entries: [(&str, serde_json::Value); 15] = [
        ("AvMode", record.av_mode.clone().into()),
        (
            "AvSignatureVersion",
            record.av_signature_version.clone().into(),
        ),
        ("AvEngineVersion", record.av_engine_version.clone().into()),
        (
            "AvPlatformVersion",
            record.av_platform_version.clone().into(),
        ),
        (
            "AvEngineUpdateTime",
            record.av_engine_update_time.clone().into(),
        ),
        (
            "AvSignatureUpdateTime",
            record.av_signature_update_time.clone().into(),
        ),
        (
            "AvPlatformUpdateTime",
            record.av_platform_update_time.clone().into(),
        ),
        (
            "AvIsSignatureUptoDate",
            record.av_is_signature_up_to_date.clone().into(),
        ),
        (
            "AvIsEngineUptodate",
            record.av_is_engine_up_to_date.clone().into(),
        ),
        (
            "AvIsPlatformUptodate",
            record.av_is_platform_up_to_date.clone().into(),
        ),
        (
            "AvSignaturePublishTime",
            record.av_signature_publish_time.clone().into(),
        ),
        ("AvSignatureDataRefreshTime", refresh.clone().into()),
        ("AvModeDataRefreshTime", refresh.into()),
        (
            "CloudProtectionState",
            av.and_then(|a| a.cloud_protection.clone()).into(),
        ),
        ("AvScanResults", serde_json::to_string(&scans)?.into()),
    ];
    for (k, v) in entries {
        gathered.insert(k.to_owned(), v);
    }
    let info = serde_json::json!({
        "DeviceId": p.device_id,
        "DeviceName": p.name,
        "OsPlatform": p.os.platform,
        "OsVersion": p.os.version,
        "LastSeenTime": timefmt::iso_z(&p.reported_at),
        "RbacGroupId": p.group.id,
        "RbacGroupName": p.group.name,
        "Timestamp": timefmt::iso_z(&p.received_at),
        "DeviceGatheredInfo": serde_json::to_string(&gathered)?,
    });
    Ok((av_json, serde_json::to_vec(&info)?))
}
