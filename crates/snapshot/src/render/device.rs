//! The per-device fragments every assessment record starts or ends with (slots in
//! [`crate::layout::slot`]): the id, each kind's head (`{"deviceId":..` up to the
//! kind's own fields), the shared tail (`"rbacGroupId":N}`), and the last-seen stamps.

use super::{RenderError, display, field, js, js_opt};
use crate::format::FragWriter;
use model::GroupRef;
use model::timefmt;
use store::DeviceView;

/// Pushes the [`crate::layout::slot::DEVICE_SLOTS`] fragments of one device, in slot order.
pub(crate) fn write_fragments(
    frags: &mut FragWriter,
    r: &DeviceView<'_>,
    group: &GroupRef,
) -> Result<(), RenderError> {
    let id = r.device_id;
    let mut common = Vec::with_capacity(256); // "deviceId":..,"rbacGroupName":..,"deviceName":..,"osPlatform":..
    field(&mut common, "deviceId");
    js(&mut common, id);
    common.push(b',');
    field(&mut common, "rbacGroupName");
    js(&mut common, &group.name);
    common.push(b',');
    field(&mut common, "deviceName");
    js_opt(&mut common, r.device_name);
    common.push(b',');
    field(&mut common, "osPlatform");
    js(&mut common, &r.os.platform);
    common.push(b',');
    let mut os_version = Vec::with_capacity(32);
    field(&mut os_version, "osVersion");
    js(&mut os_version, &r.os.version);
    os_version.push(b',');

    // slot::ID
    frags.push(id.as_bytes())?;
    // slot::VULN_HEAD (after `{"id":..,`)
    let mut vuln = common.clone();
    vuln.extend_from_slice(&os_version);
    field(&mut vuln, "osArchitecture");
    js_opt(&mut vuln, r.os.architecture.as_deref());
    vuln.push(b',');
    frags.push(&vuln)?;
    // slot::SCA_HEAD
    let mut sca = vec![b'{'];
    sca.extend_from_slice(&common);
    sca.extend_from_slice(&os_version);
    field(&mut sca, "timestamp");
    js(&mut sca, &timefmt::millis_space(&r.reported_at));
    sca.push(b',');
    frags.push(&sca)?;
    // slot::INVENTORY_HEAD
    let mut inv = vec![b'{'];
    inv.extend_from_slice(&common);
    frags.push(&inv)?;
    // slot::NONCPE_HEAD
    let mut noncpe = Vec::with_capacity(256);
    noncpe.push(b'{');
    field(&mut noncpe, "deviceId");
    js(&mut noncpe, id);
    noncpe.extend_from_slice(b",\"rbacGroupId\":");
    display(&mut noncpe, group.id);
    noncpe.push(b',');
    field(&mut noncpe, "rbacGroupName");
    js(&mut noncpe, &group.name);
    noncpe.push(b',');
    field(&mut noncpe, "deviceName");
    js_opt(&mut noncpe, r.device_name);
    noncpe.push(b',');
    field(&mut noncpe, "osPlatform");
    js(&mut noncpe, &r.os.platform);
    noncpe.push(b',');
    frags.push(&noncpe)?;
    // slot::TAIL
    frags.push(format!("\"rbacGroupId\":{}}}", group.id).as_bytes())?;
    // slot::LAST_SEEN (inside the vulnerability record's lastSeenTimestamp string)
    frags.push(timefmt::seen(&r.reported_at).as_bytes())?;
    // slot::NONCPE_TAIL
    frags.push(
        format!(
            "\"softwareLastSeenTimestamp\":\"{}\"}}",
            timefmt::millis_space(&r.reported_at)
        )
        .as_bytes(),
    )?;
    Ok(())
}
