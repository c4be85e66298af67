//! Debian package versions and their order, as `dpkg` defines them.
//!
//! Used for the `Debian:*` and `Ubuntu:*` OSV ecosystems.
//!
//! # Syntax (`[epoch:]upstream[-revision]`)
//!
//! [`DpkgVersion::parse`] follows dpkg's own `parseversion()` (dpkg 1.21):
//!
//! * leading and trailing blanks (space, tab) are ignored; a blank inside the
//!   version is an error;
//! * if the string has a colon, the text before the *first* colon is the
//!   epoch: an optional sign and decimal digits (`strtol`), non-negative and
//!   at most `i32::MAX`; something must follow the colon;
//! * the revision is the text after the *last* hyphen of the rest (it must not
//!   be empty); without a hyphen the revision is empty;
//! * the upstream version must not be empty.
//!
//! Those are dpkg's errors ([`DpkgVersionError`]); `dpkg --compare-versions`
//! refuses such strings. dpkg only *warns* about an upstream version that
//! does not start with a digit or characters outside `[A-Za-z0-9.+~:-]`
//! (revision: `[A-Za-z0-9.+~]`), and still compares; so does this module.
//!
//! # Order
//!
//! Epochs compare as numbers. Then the upstream versions, then the revisions,
//! compare with dpkg's `verrevcmp`: each string is read as alternating
//! non-digit and digit runs, compared left to right:
//!
//! * in a non-digit run, characters compare by a weight: `~` sorts before
//!   everything, even the end of the run (so `1.0~rc1` < `1.0`); the end of
//!   the run comes next; then letters (ASCII order, so upper-case before
//!   lower-case); then every other character (`+` < `-` < `.`, ordered by
//!   byte value, after all letters);
//! * digit runs compare as numbers of any length (leading zeros ignored, a
//!   missing run counts as 0: `1.0` == `1.00`);
//! * the end of a string sorts before any separator, so `1.0` < `1.0.0` and
//!   `1.0` < `1.0+dfsg`, but after `~`: `1.0~rc1` < `1.0`.
//!
//! An empty revision equals `0` (`1.0` == `1.0-0`).
//!
//! [`compare`] takes strings. A string dpkg would refuse is compared by a
//! lenient split instead (epoch only when the text before the first colon is
//! all digits, revision after the last hyphen, nothing rejected), so the
//! function is total and never panics.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why dpkg refuses a version string (its hard errors; warnings are accepted).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DpkgVersionError {
    #[error("version string is empty")]
    Empty,
    #[error("version string has embedded spaces")]
    EmbeddedSpaces,
    #[error("epoch in version is empty")]
    EpochEmpty,
    #[error("epoch in version is not number")]
    EpochNotNumber,
    #[error("epoch in version is negative")]
    EpochNegative,
    #[error("epoch in version is too big")]
    EpochTooBig,
    #[error("nothing after colon in version number")]
    NothingAfterColon,
    #[error("revision number is empty")]
    RevisionEmpty,
    #[error("version number is empty")]
    VersionEmpty,
}

/// A parsed Debian version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DpkgVersion {
    pub epoch: u32,
    pub upstream: String,
    /// Empty when the version has no hyphen.
    pub revision: String,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// C `isspace` in the C locale (what `strtol` skips).
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl DpkgVersion {
    /// Parses a version the way dpkg does (see the [module documentation](self)).
    pub fn parse(s: &str) -> Result<DpkgVersion, DpkgVersionError> {
        let bytes = s.as_bytes();
        let start = bytes
            .iter()
            .position(|&b| !is_blank(b))
            .unwrap_or(bytes.len());
        if start == bytes.len() {
            return Err(DpkgVersionError::Empty);
        }
        let rest = &bytes[start..];
        let end = rest.iter().position(|&b| is_blank(b)).unwrap_or(rest.len());
        if rest[end..].iter().any(|&b| !is_blank(b)) {
            return Err(DpkgVersionError::EmbeddedSpaces);
        }
        let body = &s[start..start + end];
        let (epoch, tail) = match body.find(':') {
            Some(colon) => {
                let epoch = parse_epoch(&body[..colon])?;
                let tail = &body[colon + 1..];
                if tail.is_empty() {
                    return Err(DpkgVersionError::NothingAfterColon);
                }
                (epoch, tail)
            }
            None => (0, body),
        };
        let (upstream, revision) = match tail.rfind('-') {
            Some(h) => {
                if h + 1 == tail.len() {
                    return Err(DpkgVersionError::RevisionEmpty);
                }
                (&tail[..h], &tail[h + 1..])
            }
            None => (tail, ""),
        };
        if upstream.is_empty() {
            return Err(DpkgVersionError::VersionEmpty);
        }
        Ok(DpkgVersion {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }

    /// Splits any string without refusing it: epoch only when the text
    /// before the first colon is all digits (and fits), revision after the
    /// last hyphen. Used by [`compare`] for strings [`parse`](Self::parse) refuses.
    pub fn parse_lenient(s: &str) -> DpkgVersion {
        if let Ok(v) = DpkgVersion::parse(s) {
            return v;
        }
        let body = s.trim_matches(|c| c == ' ' || c == '\t');
        let (epoch, tail) = match body.split_once(':') {
            Some((e, t)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
                match e.parse::<u32>() {
                    Ok(n) if n <= i32::MAX as u32 => (n, t),
                    _ => (0, body),
                }
            }
            _ => (0, body),
        };
        let (upstream, revision) = tail.rsplit_once('-').unwrap_or((tail, ""));
        DpkgVersion {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        }
    }
}

/// dpkg's epoch rule: `strtol(text, &end, 10)` must consume the whole text,
/// give at least one digit, and be in `0..=INT_MAX`.
fn parse_epoch(text: &str) -> Result<u32, DpkgVersionError> {
    let b = text.as_bytes();
    let mut i = b.iter().position(|&c| !is_c_space(c)).unwrap_or(b.len());
    let negative = match b.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &b[i..];
    let n_digits = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if n_digits == 0 {
        return Err(DpkgVersionError::EpochEmpty);
    }
    if n_digits != digits.len() {
        return Err(DpkgVersionError::EpochNotNumber);
    }
    // Value, saturating far above INT_MAX (strtol's ERANGE is "too big" too).
    let mut value: u64 = 0;
    for &d in digits {
        value = (value * 10 + u64::from(d - b'0')).min(u64::MAX / 20);
    }
    if negative && value != 0 {
        // strtol gives LONG_MIN on underflow: still negative.
        return Err(DpkgVersionError::EpochNegative);
    }
    if value > i32::MAX as u64 {
        return Err(DpkgVersionError::EpochTooBig);
    }
    Ok(value as u32)
}

impl fmt::Display for DpkgVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.epoch != 0 {
            write!(f, "{}:", self.epoch)?;
        }
        f.write_str(&self.upstream)?;
        if !self.revision.is_empty() {
            write!(f, "-{}", self.revision)?;
        }
        Ok(())
    }
}

impl PartialOrd for DpkgVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DpkgVersion {
    /// dpkg's order. Note that it is coarser than `Eq` (`1.0` and `1.00`
    /// compare `Equal` but are different values).
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&self.upstream, &other.upstream))
            .then_with(|| verrevcmp(&self.revision, &other.revision))
    }
}

/// Compares two Debian version strings by dpkg's rules (see the
/// [module documentation](self)).
///
/// ```
/// use std::cmp::Ordering::*;
/// assert_eq!(kb::dpkg::compare("1.0~rc1-1", "1.0-1"), Less);
/// assert_eq!(kb::dpkg::compare("1:0.9", "2.0"), Greater);
/// assert_eq!(kb::dpkg::compare("2.36-9+deb12u3", "2.36-9+deb12u10"), Less);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    DpkgVersion::parse_lenient(a).cmp(&DpkgVersion::parse_lenient(b))
}

/// Weight of a byte in a non-digit run (dpkg's `order()`; `0` is the end).
fn order(c: u8) -> i32 {
    if c.is_ascii_digit() {
        0
    } else if c.is_ascii_alphabetic() {
        i32::from(c)
    } else if c == b'~' {
        -1
    } else if c != 0 {
        // dpkg reads `char`, signed on its platforms: bytes >= 0x80 weigh
        // 128..=255 (after letters, before ASCII punctuation).
        i32::from(c as i8) + 256
    } else {
        0
    }
}

/// dpkg's `verrevcmp` on one part (upstream version or revision).
pub fn verrevcmp(a: &str, b: &str) -> Ordering {
    let a = a.as_bytes();
    let b = b.as_bytes();
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let (mut i, mut j) = (0usize, 0usize);
    while at(a, i) != 0 || at(b, j) != 0 {
        let mut first_diff = 0i32;
        loop {
            let (ca, cb) = (at(a, i), at(b, j));
            // Both at a digit or at the end: the non-digit run is over.
            if (ca == 0 || ca.is_ascii_digit()) && (cb == 0 || cb.is_ascii_digit()) {
                break;
            }
            let (oa, ob) = (order(ca), order(cb));
            if oa != ob {
                return oa.cmp(&ob);
            }
            i += 1;
            j += 1;
        }
        while at(a, i) == b'0' {
            i += 1;
        }
        while at(b, j) == b'0' {
            j += 1;
        }
        while at(a, i).is_ascii_digit() && at(b, j).is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(at(a, i)) - i32::from(at(b, j));
            }
            i += 1;
            j += 1;
        }
        if at(a, i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if at(b, j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn parse_parts() {
        let v = DpkgVersion::parse("1:2.36-9+deb12u3").expect("valid");
        assert_eq!(
            (v.epoch, v.upstream.as_str(), v.revision.as_str()),
            (1, "2.36", "9+deb12u3")
        );
        let v = DpkgVersion::parse("  1.2-3-4 ").expect("valid");
        assert_eq!((v.upstream.as_str(), v.revision.as_str()), ("1.2-3", "4"));
        let v = DpkgVersion::parse("1:2:3").expect("valid");
        assert_eq!((v.epoch, v.upstream.as_str()), (1, "2:3"));
        assert_eq!(DpkgVersion::parse("+1:2").map(|v| v.epoch), Ok(1));
        assert_eq!(DpkgVersion::parse("-0:2").map(|v| v.epoch), Ok(0));
        assert_eq!(
            DpkgVersion::parse("abc").map(|v| v.upstream),
            Ok("abc".into())
        );
    }

    #[test]
    fn parse_errors() {
        use DpkgVersionError::*;
        let cases = [
            ("", Empty),
            ("  ", Empty),
            ("1 2", EmbeddedSpaces),
            (":1", EpochEmpty),
            ("a:1", EpochEmpty),
            ("1a:1", EpochNotNumber),
            ("-1:1", EpochNegative),
            ("2147483648:1", EpochTooBig),
            ("1:", NothingAfterColon),
            ("1.0-", RevisionEmpty),
            ("-1", VersionEmpty),
            ("1:-1", VersionEmpty),
        ];
        for (s, e) in cases {
            assert_eq!(DpkgVersion::parse(s), Err(e), "{s:?}");
        }
        assert!(DpkgVersion::parse("2147483647:1").is_ok());
    }

    #[test]
    fn order_basics() {
        assert_eq!(compare("1.0", "1.0-0"), Equal);
        assert_eq!(compare("1.0", "1.00"), Equal);
        assert_eq!(compare("1.0", "1.0.0"), Less);
        assert_eq!(compare("1.0~~", "1.0~"), Less);
        assert_eq!(compare("1.0~", "1.0"), Less);
        assert_eq!(compare("1.0", "1.0a"), Less);
        assert_eq!(compare("1.0a", "1.0+"), Less);
        assert_eq!(compare("1.0Z", "1.0a"), Less);
        assert_eq!(compare("1.0+", "1.0."), Less);
        assert_eq!(compare("0:1.0", "1.0"), Equal);
        assert_eq!(compare("1:0", "9999"), Greater);
        assert_eq!(
            compare("12345678901234567890123", "12345678901234567890124"),
            Less
        );
    }

    #[test]
    fn lenient_never_panics() {
        for s in ["", ":", "-", "::-", "1:", "a:b-", "\u{e9}:1-\u{e9}", "1 2"] {
            let _ = compare(s, "1.0");
            let _ = compare("1.0", s);
        }
    }
}
