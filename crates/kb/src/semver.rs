//! Semantic Versioning 2.0.0 versions and their precedence (semver.org §11).
//!
//! Used for the `npm` OSV ecosystem and for `SEMVER` ranges of any ecosystem.
//!
//! # Syntax
//!
//! `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`: three numeric identifiers
//! without leading zeros; the pre-release is dot-separated identifiers of
//! `[0-9A-Za-z-]`, numeric ones without leading zeros; build metadata is
//! dot-separated identifiers of `[0-9A-Za-z-]` (leading zeros allowed). No
//! identifier may be empty. Numbers may be of any length.
//! [`SemVer::parse`] is strict; [`SemVer::parse_loose`] also accepts
//! surrounding whitespace and one leading `v` or `=` (npm's cleaning).
//!
//! # Precedence
//!
//! Major, minor and patch compare numerically. A version with a pre-release
//! has lower precedence than the same version without one (`1.0.0-alpha` <
//! `1.0.0`). Pre-releases compare identifier by identifier: numeric ones
//! numerically, alphanumeric ones by ASCII order, numeric before
//! alphanumeric; a shorter list is lower when all its identifiers are equal
//! (`1.0.0-alpha` < `1.0.0-alpha.1`). Build metadata is ignored
//! (`1.0.0+a` == `1.0.0+b`).
//!
//! [`compare`] takes strings; when either does not parse (loosely), both are
//! compared with the generic [`crate::version::compare`], so the function is
//! total and never panics.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A string that is not a SemVer 2.0.0 version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid SemVer 2.0.0 version: {0:?}")]
pub struct SemVerError(pub String);

/// One pre-release identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Identifier {
    /// Digits without leading zeros.
    Numeric(String),
    AlphaNumeric(String),
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => cmp_num(a, b),
            (Identifier::Numeric(_), Identifier::AlphaNumeric(_)) => Ordering::Less,
            (Identifier::AlphaNumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::AlphaNumeric(a), Identifier::AlphaNumeric(b)) => a.cmp(b),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Numeric(s) | Identifier::AlphaNumeric(s) => f.write_str(s),
        }
    }
}

/// Compares digit strings without leading zeros as numbers.
fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A SemVer 2.0.0 version. `Eq` compares every part including build
/// metadata; `Ord` is SemVer precedence, which ignores build metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SemVer {
    pub major: String,
    pub minor: String,
    pub patch: String,
    pub pre: Vec<Identifier>,
    pub build: Vec<String>,
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn no_leading_zero(s: &str) -> bool {
    s == "0" || !s.starts_with('0')
}

impl SemVer {
    /// Parses a strict SemVer 2.0.0 string.
    pub fn parse(s: &str) -> Result<SemVer, SemVerError> {
        let err = || SemVerError(s.to_owned());
        let (rest, build) = match s.split_once('+') {
            Some((r, b)) => (r, Some(b)),
            None => (s, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((c, p)) => (c, Some(p)),
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let mut num = || -> Result<String, SemVerError> {
            let p = parts.next().ok_or_else(err)?;
            if numeric(p) && no_leading_zero(p) {
                Ok(p.to_owned())
            } else {
                Err(err())
            }
        };
        let (major, minor, patch) = (num()?, num()?, num()?);
        if parts.next().is_some() {
            return Err(err());
        }
        let mut pre_ids = Vec::new();
        if let Some(pre) = pre {
            for id in pre.split('.') {
                if id.is_empty() || !id.bytes().all(is_ident_char) {
                    return Err(err());
                }
                if numeric(id) {
                    if !no_leading_zero(id) {
                        return Err(err());
                    }
                    pre_ids.push(Identifier::Numeric(id.to_owned()));
                } else {
                    pre_ids.push(Identifier::AlphaNumeric(id.to_owned()));
                }
            }
        }
        let mut build_ids = Vec::new();
        if let Some(build) = build {
            for id in build.split('.') {
                if id.is_empty() || !id.bytes().all(is_ident_char) {
                    return Err(err());
                }
                build_ids.push(id.to_owned());
            }
        }
        Ok(SemVer {
            major,
            minor,
            patch,
            pre: pre_ids,
            build: build_ids,
        })
    }

    /// Like [`parse`](Self::parse) after trimming whitespace and one leading
    /// `v` or `=`.
    pub fn parse_loose(s: &str) -> Result<SemVer, SemVerError> {
        let t = s.trim();
        let t = t
            .strip_prefix('v')
            .or_else(|| t.strip_prefix('='))
            .unwrap_or(t);
        SemVer::parse(t.trim_start()).map_err(|_| SemVerError(s.to_owned()))
    }

    /// `true` when the version has a pre-release part.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl PartialOrd for SemVer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SemVer {
    /// SemVer precedence (build metadata ignored).
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_num(&self.major, &other.major)
            .then_with(|| cmp_num(&self.minor, &other.minor))
            .then_with(|| cmp_num(&self.patch, &other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre.cmp(&other.pre),
            })
    }
}

impl fmt::Display for SemVer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        for (i, id) in self.pre.iter().enumerate() {
            f.write_str(if i == 0 { "-" } else { "." })?;
            write!(f, "{id}")?;
        }
        for (i, id) in self.build.iter().enumerate() {
            f.write_str(if i == 0 { "+" } else { "." })?;
            f.write_str(id)?;
        }
        Ok(())
    }
}

/// Compares two version strings by SemVer precedence (see the
/// [module documentation](self)).
///
/// ```
/// use std::cmp::Ordering::*;
/// assert_eq!(kb::semver::compare("1.0.0-rc.1", "1.0.0"), Less);
/// assert_eq!(kb::semver::compare("4.17.20", "4.17.21"), Less);
/// assert_eq!(kb::semver::compare("1.0.0+build.1", "1.0.0"), Equal);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    match (SemVer::parse_loose(a), SemVer::parse_loose(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => crate::version::compare(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strictness() {
        for s in [
            "1.2.3",
            "0.0.0",
            "1.2.3-0",
            "1.2.3-a-b.0.x",
            "1.2.3+001.-",
            "1.2.3-rc.1+b",
        ] {
            assert!(SemVer::parse(s).is_ok(), "{s}");
        }
        for s in [
            "1.2",
            "1.2.3.4",
            "01.2.3",
            "1.2.3-01",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "v1.2.3",
            "1.2.3-a_b",
            "",
        ] {
            assert!(SemVer::parse(s).is_err(), "{s}");
        }
        assert!(SemVer::parse_loose(" v1.2.3 ").is_ok());
        assert!(SemVer::parse_loose("=1.2.3").is_ok());
    }

    #[test]
    fn display_round_trip() {
        let s = "1.2.3-rc.1.x-y+build.007";
        assert_eq!(SemVer::parse(s).map(|v| v.to_string()), Ok(s.to_owned()));
    }
}
