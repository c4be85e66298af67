//! Percent-encoding of URL query values, shared by the API's paging links
//! (`server::query`) and the signed download URLs (`export::local`).

/// Percent-encodes everything but RFC 3986 unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`), as uppercase `%XX` escapes of the UTF-8 bytes.
///
/// ```
/// assert_eq!(model::percent::encode("a b/ä~"), "a%20b%2F%C3%A4~");
/// ```
pub fn encode(value: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Decodes `%XX` escapes (any case); anything else, malformed escapes included, is kept
/// as it is, and invalid UTF-8 is replaced.
///
/// ```
/// assert_eq!(model::percent::decode("p%40ss%2"), "p@ss%2");
/// ```
pub fn decode(value: &str) -> String {
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(h);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
