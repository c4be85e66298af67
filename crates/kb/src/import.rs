//! The error type shared by the feed importers, and position bookkeeping.

use serde_json::error::Category;

/// A feed file that cannot be imported. The whole file is refused: an
/// importer returns either every record or this error.
///
/// `Display` is `file:line:column: reason`. Lines and columns are 1-based;
/// columns count bytes, as serde_json does (a column of 0 means "before the
/// first byte of the line", which serde_json reports at end of input).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct ImportError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// The text of one feed file, for turning offsets into positions.
pub(crate) struct Source<'a> {
    pub file: &'a str,
    pub text: &'a str,
}

impl<'a> Source<'a> {
    /// Decodes `bytes` as UTF-8 (a leading byte-order mark is skipped).
    pub fn decode(bytes: &'a [u8], file: &'a str) -> Result<Source<'a>, ImportError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Source { file, text }),
            Err(e) => {
                let valid = &bytes[..e.valid_up_to()];
                // The valid prefix is UTF-8, so this never fails.
                let prefix = std::str::from_utf8(valid).unwrap_or("");
                let src = Source { file, text: prefix };
                Err(src.error_at(
                    prefix.len(),
                    format!("invalid UTF-8 at byte {}", e.valid_up_to()),
                ))
            }
        }
    }

    /// Byte offset of `sub` in the text, if `sub` is a slice of it.
    pub fn offset_of(&self, sub: &str) -> usize {
        let base = self.text.as_ptr() as usize;
        let p = sub.as_ptr() as usize;
        if p >= base && p + sub.len() <= base + self.text.len() {
            p - base
        } else {
            0
        }
    }

    /// 1-based line and byte column of the byte at `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, offset - line_start + 1)
    }

    pub fn error_at(&self, offset: usize, reason: impl Into<String>) -> ImportError {
        let (line, column) = self.line_col(offset);
        ImportError {
            file: self.file.to_owned(),
            line,
            column,
            reason: reason.into(),
        }
    }

    /// Converts a serde_json error raised while parsing the slice of the text
    /// that starts at `base` (0 for the whole text).
    pub fn json_error(&self, e: &serde_json::Error, base: usize, context: &str) -> ImportError {
        let (bl, bc) = self.line_col(base);
        let (line, column) = match (e.line(), e.column()) {
            (0, _) => (bl, bc),
            (1, c) => (bl, bc - 1 + c),
            (l, c) => (bl + l - 1, c),
        };
        let msg = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
        let kind = match e.classify() {
            Category::Eof => "truncated JSON",
            Category::Syntax => "malformed JSON",
            Category::Data => "unexpected JSON content",
            Category::Io => "read error",
        };
        let reason = if context.is_empty() {
            format!("{kind}: {msg}")
        } else {
            format!("{kind}: {context}: {msg}")
        };
        ImportError {
            file: self.file.to_owned(),
            line,
            column,
            reason,
        }
    }

    /// Offset of the first occurrence of `needle` inside `within` (a slice of
    /// the text), or the start of `within`.
    pub fn find_in(&self, within: &str, needle: &str) -> usize {
        let base = self.offset_of(within);
        within.find(needle).map_or(base, |i| base + i)
    }
}

/// Checks the shape `CVE-YYYY-NNNN...` (four-digit year, at least four digits).
pub(crate) fn is_cve_id(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, num)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && num.len() >= 4
        && num.bytes().all(|b| b.is_ascii_digit())
}

/// Deserialises `null` as the default value.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + Default,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(is_cve_id("CVE-2021-44832"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-2021-123"));
        assert!(!is_cve_id("CVE-21-1234"));
        assert!(!is_cve_id("cve-2021-44832"));
        assert!(!is_cve_id("CVE-2021-4483x"));
        assert!(!is_cve_id("CVE-2021-44832 "));
    }

    #[test]
    fn positions() {
        let s = Source {
            file: "f",
            text: "ab\ncd\n",
        };
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(4), (2, 2));
        assert_eq!(s.line_col(6), (3, 1));
    }
}
