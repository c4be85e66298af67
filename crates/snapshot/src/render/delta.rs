//! `DeltaAssetVulnerability`: the vulnerability record with `status` and
//! `eventTimestamp` appended before its closing brace.

/// The suffix that closes a delta record of `status` at `event` (ISO time).
pub(crate) fn suffix(status: &str, event: &str) -> Vec<u8> {
    format!(",\"status\":\"{status}\",\"eventTimestamp\":\"{event}\"}}").into_bytes()
}

/// Turns a rendered vulnerability record in `buf` into a delta record; false when
/// `buf` does not end with the record's closing brace.
pub(crate) fn close(buf: &mut Vec<u8>, suffix: &[u8]) -> bool {
    if buf.pop() != Some(b'}') {
        return false;
    }
    buf.extend_from_slice(suffix);
    true
}
