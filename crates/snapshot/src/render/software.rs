//! `AssetSoftware` and `AssetNonCpeSoftware`: the per-software fragments (id part for
//! vulnerability ids, vendor/name/version, with and without the weakness count, the
//! end-of-support tail) and the assembly of inventory and non-CPE rows.

use super::{RenderError, Tables, display, field, js, js_inner, js_opt, write_seen_secs};
use crate::format::{FragWriter, read_u32};
use crate::layout::{VulnRow, slot};
use model::InstalledSoftware;
use model::timefmt;

/// The CPE `update`, `edition` and `sw_edition` of an install's `cpe` as
/// `update:edition:sw_edition` (`*` for ANY, `-` for NA) when any of them is a concrete
/// value: what tells apart two installs of one name and version (log4j `2.0` and `2.0`
/// update `beta9`, Firefox and Firefox with sw_edition `esr`). `None` for most software.
pub(crate) fn cpe_qualifier(cpe: Option<&str>) -> Option<String> {
    let cpe = kb::Cpe::parse(cpe?).ok()?;
    let parts = [&cpe.update, &cpe.edition, &cpe.sw_edition];
    if !parts.iter().any(|c| c.value().is_some()) {
        return None;
    }
    let text: Vec<&str> = parts
        .iter()
        .map(|c| match c {
            kb::Component::Any => "*",
            kb::Component::NotApplicable => "-",
            kb::Component::Value(v) => v.as_str(),
        })
        .collect();
    Some(text.join(":"))
}

/// The version segment of a vulnerability record id: MDE's `softwareVersion`, followed by
/// `:update:edition:sw_edition` when the CPE qualifies the version (see `cpe_qualifier`),
/// so `{deviceId}_{softwareName}_{version}_{cveId}_` is unique per install.
fn id_version(sw: &InstalledSoftware, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) => format!("{}:{q}", sw.version),
        None => sw.version.clone(),
    }
}

/// Pushes the [`slot::SOFTWARE_SLOTS`] fragments of one software entry, in slot order;
/// `qualifier` is its [`cpe_qualifier`].
pub(crate) fn write_fragments(
    frags: &mut FragWriter,
    sw: &InstalledSoftware,
    qualifier: Option<&str>,
    weaknesses: usize,
) -> Result<(), RenderError> {
    // slot::SW_ID_PART: `<name>_<version>_`, inside the vulnerability id string.
    let mut id_part = js_inner(&sw.name);
    id_part.push(b'_');
    id_part.extend_from_slice(&js_inner(&id_version(sw, qualifier)));
    id_part.push(b'_');
    frags.push(&id_part)?;
    // slot::SW_FIELDS
    let mut fields = Vec::with_capacity(128);
    field(&mut fields, "softwareVendor");
    js(&mut fields, &sw.vendor);
    fields.push(b',');
    field(&mut fields, "softwareName");
    js(&mut fields, &sw.name);
    fields.push(b',');
    field(&mut fields, "softwareVersion");
    js(&mut fields, &sw.version);
    fields.push(b',');
    frags.push(&fields)?;
    // slot::SW_INVENTORY_FIELDS
    fields.extend_from_slice(b"\"numberOfWeaknesses\":");
    display(&mut fields, weaknesses);
    fields.push(b',');
    frags.push(&fields)?;
    // slot::SW_INVENTORY_TAIL
    let mut out = Vec::with_capacity(96);
    field(&mut out, "endOfSupportStatus");
    js(
        &mut out,
        sw.end_of_support
            .as_ref()
            .map_or("None", |e| e.status.as_str()),
    );
    out.push(b',');
    field(&mut out, "endOfSupportDate");
    js_opt(
        &mut out,
        sw.end_of_support
            .as_ref()
            .and_then(|e| e.date)
            .map(|d| timefmt::offset_date(&d))
            .as_deref(),
    );
    out.push(b',');
    frags.push(&out)?;
    Ok(())
}

/// An inventory row is a [`VulnRow`] whose `finding` is the software entry.
pub(crate) fn render_inventory_row(t: &Tables, r: &[u8], out: &mut Vec<u8>) {
    let VulnRow {
        device: d,
        finding: s,
        paths: p,
        first_seen,
    } = VulnRow::decode(r);
    out.extend_from_slice(t.device(d, slot::INVENTORY_HEAD));
    out.extend_from_slice(t.sw(s, slot::SW_INVENTORY_FIELDS));
    out.extend_from_slice(t.paths.get(p as usize));
    out.extend_from_slice(b"\"softwareFirstSeenTimestamp\":\"");
    write_seen_secs(out, first_seen);
    out.extend_from_slice(b"\",");
    out.extend_from_slice(t.sw(s, slot::SW_INVENTORY_TAIL));
    out.extend_from_slice(t.device(d, slot::TAIL));
}

pub(crate) fn render_noncpe_row(t: &Tables, r: &[u8], out: &mut Vec<u8>) {
    let (d, s) = (read_u32(r, 0), read_u32(r, 4));
    out.extend_from_slice(t.device(d, slot::NONCPE_HEAD));
    out.extend_from_slice(t.sw(s, slot::SW_FIELDS));
    out.extend_from_slice(t.device(d, slot::NONCPE_TAIL));
}
