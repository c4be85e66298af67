//! RPM versions (`[epoch:]version[-release]`) and their order, as rpm defines
//! them (rpm 4.18 `rpmvercmp` and `rpmverCmp`).
//!
//! Used for the `Red Hat:*`, `Rocky Linux:*` and `AlmaLinux:*` OSV ecosystems.
//!
//! # Splitting (`parseEVR`)
//!
//! Leading ASCII digits followed by `:` are the epoch (an empty epoch before
//! the colon means `0`); the text after the *last* `-` is the release;
//! what remains is the version. Without a colon the epoch is absent (compared
//! as `0`); without a hyphen the release is absent.
//!
//! # Order (`rpmverCmp`)
//!
//! Epochs, then versions, then releases compare with [`rpmvercmp`]; an absent
//! release sorts before any present one (`1.0` < `1.0-1`; rpm's Lua
//! `rpm.vercmp` behaves so). `rpmvercmp(a, b)`:
//!
//! * identical strings are equal;
//! * otherwise both strings are walked segment by segment. Characters other
//!   than ASCII letters, digits, `~` and `^` only separate segments (which
//!   separator, and how many, does not matter: `1.0` == `1_0` == `1..0`);
//! * `~` sorts before everything, including the end: `1.0~rc1` < `1.0`;
//! * `^` sorts after the end but before anything else: `1.0` < `1.0^git1` <
//!   `1.0.1`;
//! * a segment is a maximal run of digits or of letters (ASCII). A numeric
//!   segment beats an alphabetic one (`1.0` < `1.0.1` but `1.a` < `1.1`);
//!   numeric segments compare as numbers of any length (leading zeros
//!   ignored), alphabetic ones by byte value (`Z` < `a`);
//! * when one string runs out, the one with characters left is newer.
//!
//! The order is rpm's, so it is not a strict total order on strings (`1.0`
//! and `1_0` are equal, for example). Every function here is total and never
//! panics.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// An RPM `[epoch:]version[-release]` split as rpm's `parseEVR` does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Evr {
    /// `None` when the string has no `digits:` prefix; `Some("0")` for `:1.0`.
    pub epoch: Option<String>,
    pub version: String,
    /// `None` when the string has no hyphen.
    pub release: Option<String>,
}

impl Evr {
    /// Splits an EVR string (any string; nothing is refused).
    pub fn parse(s: &str) -> Evr {
        let s = s.split('\0').next().unwrap_or("");
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let hyphen = s[digits..].rfind('-').map(|i| i + digits);
        let (epoch, vstart) = if s[digits..].starts_with(':') {
            let e = &s[..digits];
            (
                Some(if e.is_empty() { "0" } else { e }.to_owned()),
                digits + 1,
            )
        } else {
            (None, 0)
        };
        let (version, release) = match hyphen {
            Some(h) => (&s[vstart..h], Some(s[h + 1..].to_owned())),
            None => (&s[vstart..], None),
        };
        Evr {
            epoch,
            version: version.to_owned(),
            release,
        }
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Evr {
    /// rpm's `rpmverCmp`.
    fn cmp(&self, other: &Self) -> Ordering {
        let e1 = self.epoch.as_deref().unwrap_or("0");
        let e2 = other.epoch.as_deref().unwrap_or("0");
        rpmvercmp(e1, e2)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

/// Compares two RPM EVR strings (see the [module documentation](self)).
///
/// ```
/// use std::cmp::Ordering::*;
/// assert_eq!(kb::rpm::compare("1:1.0-1.el9", "2.0-1.el9"), Greater);
/// assert_eq!(kb::rpm::compare("3.0.7-24.el9", "3.0.7-25.el9"), Less);
/// assert_eq!(kb::rpm::compare("1.0~rc1", "1.0"), Less);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    Evr::parse(a).cmp(&Evr::parse(b))
}

/// rpm's `rpmvercmp` on one part (epoch, version or release).
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    use Ordering::*;
    let a = a.split('\0').next().unwrap_or("").as_bytes();
    let b = b.split('\0').next().unwrap_or("").as_bytes();
    if a == b {
        return Equal;
    }
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let sep = |c: u8| c != 0 && !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while at(a, i) != 0 || at(b, j) != 0 {
        while sep(at(a, i)) {
            i += 1;
        }
        while sep(at(b, j)) {
            j += 1;
        }
        let (c1, c2) = (at(a, i), at(b, j));
        if c1 == b'~' || c2 == b'~' {
            if c1 != b'~' {
                return Greater;
            }
            if c2 != b'~' {
                return Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if c1 == b'^' || c2 == b'^' {
            if c1 == 0 {
                return Less;
            }
            if c2 == 0 {
                return Greater;
            }
            if c1 != b'^' {
                return Greater;
            }
            if c2 != b'^' {
                return Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if c1 == 0 || c2 == 0 {
            break;
        }
        let (s1, s2) = (i, j);
        let isnum = c1.is_ascii_digit();
        let class = |c: u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        while class(at(a, i)) {
            i += 1;
        }
        while class(at(b, j)) {
            j += 1;
        }
        let (mut seg1, mut seg2) = (&a[s1..i], &b[s2..j]);
        if seg2.is_empty() {
            // Different kinds: a numeric segment is newer than an alphabetic one.
            return if isnum { Greater } else { Less };
        }
        if isnum {
            while seg1.first() == Some(&b'0') {
                seg1 = &seg1[1..];
            }
            while seg2.first() == Some(&b'0') {
                seg2 = &seg2[1..];
            }
            match seg1.len().cmp(&seg2.len()) {
                Equal => {}
                o => return o,
            }
        }
        match seg1.cmp(seg2) {
            Equal => {}
            o => return o,
        }
    }
    match (at(a, i) == 0, at(b, j) == 0) {
        (true, true) => Equal,
        (true, false) => Less,
        _ => Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn split() {
        let e = Evr::parse("2:1.0-3-4.el9");
        assert_eq!(e.epoch.as_deref(), Some("2"));
        assert_eq!(e.version, "1.0-3");
        assert_eq!(e.release.as_deref(), Some("4.el9"));
        let e = Evr::parse(":1.0");
        assert_eq!(e.epoch.as_deref(), Some("0"));
        let e = Evr::parse("a:1.0");
        assert_eq!((e.epoch, e.version.as_str()), (None, "a:1.0"));
    }

    #[test]
    fn order() {
        assert_eq!(compare("1.0", "1.0-1"), Less);
        assert_eq!(compare(":1.0", "0:1.0"), Equal);
        assert_eq!(compare("01:1.0", "1:1.0"), Equal);
        assert_eq!(compare("1.0^git1", "1.0"), Greater);
        assert_eq!(compare("1.0^git1", "1.0.1"), Less);
        assert_eq!(compare("1..0", "1.0"), Equal);
        assert_eq!(compare("1.0a", "1.0.a"), Equal);
        assert_eq!(compare("1.0", "1.0.0"), Less);
        assert_eq!(compare("1.a", "1.1"), Less);
        assert_eq!(compare("a", "b"), Less);
        assert_eq!(rpmvercmp("", ""), Equal);
        assert_eq!(rpmvercmp("", "~"), Greater);
        assert_eq!(rpmvercmp("", "^"), Less);
    }
}
