//! Python package versions (PEP 440) and their order, matching the reference
//! implementation `packaging.version.Version` (packaging 26).
//!
//! Used for the `PyPI` OSV ecosystem.
//!
//! # Syntax
//!
//! [`Pep440Version::parse`] accepts exactly the strings `packaging` accepts
//! (its `VERSION_PATTERN`, case-insensitive, surrounding whitespace ignored),
//! with the same choices where the grammar is ambiguous (each optional part
//! takes as much as it can and never gives it back, as packaging's possessive
//! pattern does):
//!
//! ```text
//! [v] [N!] N(.N)* [{a|b|rc}N] [.postN] [.devN] [+local]
//! ```
//!
//! * pre-release spellings `alpha`, `a`, `beta`, `b`, `c`, `rc`, `pre`,
//!   `preview` (normalised to `a`, `b`, `rc`); post-release `post`, `rev`,
//!   `r` or the implicit `-N`; development release `dev`. Each may be preceded
//!   and followed by one of `.`, `_`, `-`, and its number may be omitted (0);
//! * local version: `+` then alphanumeric segments separated by `.`, `_`, `-`.
//!
//! Anything else is refused with [`Pep440Error`]. (Known difference: Python's
//! `int()` refuses digit strings longer than 4300 characters with a
//! `ValueError`; this parser accepts any length.)
//!
//! # Order
//!
//! Versions compare by epoch, then release (trailing zeros ignored:
//! `1.0` == `1.0.0`), then:
//!
//! * a development release of a plain version (`1.0.dev1`) sorts before its
//!   pre-releases; pre-releases `a` < `b` < `rc`, by number; then the
//!   release itself; then post-releases (`1.0` < `1.0.post1`);
//! * within those, a `.devN` sorts before the same version without it
//!   (`1.0a1.dev2` < `1.0a1`, `1.0.post1.dev1` < `1.0.post1`);
//! * a local version sorts after the same public version; local segments
//!   compare numerically when both are digits, alphabetic segments (lower-cased)
//!   lexicographically and before numeric ones; a shorter prefix is smaller.
//!
//! [`compare`] takes strings; if either is not a valid PEP 440 version, both
//! are compared with the generic [`crate::version::compare`] instead (so the
//! function is total and never panics).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A string `packaging` would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid PEP 440 version: {0:?}")]
pub struct Pep440Error(pub String);

/// A non-negative integer of any size, as its digits without leading zeros
/// (`"0"` for zero).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Number(String);

impl Number {
    fn from_digits(d: &str) -> Number {
        let t = d.trim_start_matches('0');
        Number(if t.is_empty() { "0" } else { t }.to_owned())
    }

    fn zero() -> Number {
        Number("0".to_owned())
    }

    fn is_zero(&self) -> bool {
        self.0 == "0"
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Pre-release kind, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PreKind {
    A,
    B,
    Rc,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::A => "a",
            PreKind::B => "b",
            PreKind::Rc => "rc",
        }
    }
}

/// One segment of a local version label.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LocalSegment {
    Num(Number),
    /// Lower-cased.
    Str(String),
}

/// A parsed (normalised) PEP 440 version.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pep440Version {
    pub epoch: Number,
    pub release: Vec<Number>,
    pub pre: Option<(PreKind, Number)>,
    pub post: Option<Number>,
    pub dev: Option<Number>,
    pub local: Option<Vec<LocalSegment>>,
}

/// Python's `str.isspace` (what `\s` matches in a `str` pattern).
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn is_sep(b: u8) -> bool {
    matches!(b, b'.' | b'_' | b'-')
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, k: usize) -> Option<u8> {
        self.s.get(self.pos + k).copied()
    }

    /// Consumes one separator if there is one.
    fn sep(&mut self) {
        if self.peek().is_some_and(is_sep) {
            self.pos += 1;
        }
    }

    /// Consumes a run of ASCII digits (possibly empty) and returns it.
    fn digits(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        // Only ASCII digits were consumed.
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    /// Consumes the first of `words` (ASCII, case-insensitive) that the
    /// input starts with; returns its index.
    fn word(&mut self, words: &[&str]) -> Option<usize> {
        let rest = &self.s[self.pos..];
        let i = words.iter().position(|w| {
            rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes())
        })?;
        self.pos += words[i].len();
        Some(i)
    }
}

impl Pep440Version {
    /// Parses a version as `packaging.version.Version(s)` does (see the
    /// [module documentation](self)).
    pub fn parse(s: &str) -> Result<Pep440Version, Pep440Error> {
        let err = || Pep440Error(s.to_owned());
        let t = s.trim_matches(is_py_space);
        let mut c = Cursor {
            s: t.as_bytes(),
            pos: 0,
        };
        if matches!(c.peek(), Some(b'v' | b'V')) {
            c.pos += 1;
        }
        // Epoch: digits followed by `!`, else nothing.
        let mut epoch = Number::zero();
        {
            let save = c.pos;
            let d = c.digits();
            if !d.is_empty() && c.peek() == Some(b'!') {
                epoch = Number::from_digits(d);
                c.pos += 1;
            } else {
                c.pos = save;
            }
        }
        // Release.
        let first = c.digits();
        if first.is_empty() {
            return Err(err());
        }
        let mut release = vec![Number::from_digits(first)];
        while c.peek() == Some(b'.') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            c.pos += 1;
            release.push(Number::from_digits(c.digits()));
        }
        // Pre-release (atomic).
        let mut pre = None;
        {
            let save = c.pos;
            c.sep();
            const PRE: [&str; 8] = ["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"];
            match c.word(&PRE) {
                Some(i) => {
                    let kind = match i {
                        0 | 1 => PreKind::A,
                        2 | 3 => PreKind::B,
                        _ => PreKind::Rc,
                    };
                    c.sep();
                    pre = Some((kind, Number::from_digits(c.digits())));
                }
                None => c.pos = save,
            }
        }
        // Post-release (atomic): `-N`, or [sep](post|rev|r)[sep][N].
        let mut post = None;
        {
            let save = c.pos;
            if c.peek() == Some(b'-') && c.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
                c.pos += 1;
                post = Some(Number::from_digits(c.digits()));
            } else {
                c.sep();
                match c.word(&["post", "rev", "r"]) {
                    Some(_) => {
                        c.sep();
                        post = Some(Number::from_digits(c.digits()));
                    }
                    None => c.pos = save,
                }
            }
        }
        // Development release (atomic).
        let mut dev = None;
        {
            let save = c.pos;
            c.sep();
            match c.word(&["dev"]) {
                Some(_) => {
                    c.sep();
                    dev = Some(Number::from_digits(c.digits()));
                }
                None => c.pos = save,
            }
        }
        // Local version label.
        let mut local = None;
        if c.peek() == Some(b'+') {
            let save = c.pos;
            c.pos += 1;
            let mut segs = Vec::new();
            let alnum = |c: &mut Cursor<'_>| -> Option<String> {
                let start = c.pos;
                while c.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                    c.pos += 1;
                }
                (c.pos > start)
                    .then(|| String::from_utf8_lossy(&c.s[start..c.pos]).to_ascii_lowercase())
            };
            if let Some(first) = alnum(&mut c) {
                segs.push(first);
                while c.peek().is_some_and(is_sep)
                    && c.peek_at(1).is_some_and(|b| b.is_ascii_alphanumeric())
                {
                    c.pos += 1;
                    if let Some(seg) = alnum(&mut c) {
                        segs.push(seg);
                    }
                }
                local = Some(
                    segs.into_iter()
                        .map(|s| {
                            if s.bytes().all(|b| b.is_ascii_digit()) {
                                LocalSegment::Num(Number::from_digits(&s))
                            } else {
                                LocalSegment::Str(s)
                            }
                        })
                        .collect(),
                );
            } else {
                c.pos = save;
            }
        }
        if c.pos != c.s.len() {
            return Err(err());
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    /// A string that is equal for two versions exactly when they compare
    /// `Equal`: the normal form with trailing zero release components
    /// removed (`1.0.0` and `1` both give `1`).
    pub fn equality_key(&self) -> String {
        let trimmed = self.trimmed_release();
        let mut v = self.clone();
        v.release = if trimmed.is_empty() {
            vec![Number::zero()]
        } else {
            trimmed.to_vec()
        };
        v.to_string()
    }

    /// `true` for a pre-release or development release.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    /// The release with trailing zeros removed (what comparisons use).
    fn trimmed_release(&self) -> &[Number] {
        let n = self
            .release
            .iter()
            .rposition(|x| !x.is_zero())
            .map_or(0, |i| i + 1);
        &self.release[..n]
    }

    /// packaging's suffix key `(pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)`.
    fn suffix_key(&self) -> (i8, Number, u8, Number, u8, Number) {
        let (pre_rank, pre_n) = match (&self.pre, &self.post, &self.dev) {
            (None, None, Some(_)) => (-1, Number::zero()),
            (None, _, _) => (3, Number::zero()),
            (Some((k, n)), _, _) => (*k as i8, n.clone()),
        };
        let (post_rank, post_n) = match &self.post {
            None => (0, Number::zero()),
            Some(n) => (1, n.clone()),
        };
        let (dev_rank, dev_n) = match &self.dev {
            None => (1, Number::zero()),
            Some(n) => (0, n.clone()),
        };
        (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n)
    }
}

fn cmp_release(a: &[Number], b: &[Number]) -> Ordering {
    a.iter().cmp(b.iter())
}

fn cmp_local(a: &Option<Vec<LocalSegment>>, b: &Option<Vec<LocalSegment>>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => {
            let key = |s: &LocalSegment| match s {
                LocalSegment::Num(n) => (1u8, Some(n.clone()), String::new()),
                LocalSegment::Str(s) => (0u8, None, s.clone()),
            };
            a.iter().map(key).cmp(b.iter().map(key))
        }
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pep440Version {
    /// packaging's order. It is coarser than `Eq` (`1.0` and `1.0.0`
    /// compare `Equal`).
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_release(self.trimmed_release(), other.trimmed_release()))
            .then_with(|| self.suffix_key().cmp(&other.suffix_key()))
            .then_with(|| cmp_local(&self.local, &other.local))
    }
}

impl fmt::Display for Pep440Version {
    /// The normalised form, as `str(packaging.version.Version(s))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.epoch.is_zero() {
            write!(f, "{}!", self.epoch)?;
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{n}")?;
        }
        if let Some((k, n)) = &self.pre {
            write!(f, "{}{n}", k.as_str())?;
        }
        if let Some(n) = &self.post {
            write!(f, ".post{n}")?;
        }
        if let Some(n) = &self.dev {
            write!(f, ".dev{n}")?;
        }
        if let Some(local) = &self.local {
            f.write_str("+")?;
            for (i, s) in local.iter().enumerate() {
                if i > 0 {
                    f.write_str(".")?;
                }
                match s {
                    LocalSegment::Num(n) => write!(f, "{n}")?,
                    LocalSegment::Str(s) => f.write_str(s)?,
                }
            }
        }
        Ok(())
    }
}

/// Compares two PyPI version strings (see the [module documentation](self)).
///
/// ```
/// use std::cmp::Ordering::*;
/// assert_eq!(kb::pep440::compare("23.2.1", "23.3"), Less);
/// assert_eq!(kb::pep440::compare("1.0.dev1", "1.0a1"), Less);
/// assert_eq!(kb::pep440::compare("1.0", "1.0.0"), Equal);
/// assert_eq!(kb::pep440::compare("1.0.post1", "1.0"), Greater);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    match (Pep440Version::parse(a), Pep440Version::parse(b)) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => crate::version::compare(a, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn norm(s: &str) -> String {
        Pep440Version::parse(s)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn normal_forms() {
        assert_eq!(norm("1.0a--1"), "1.0a0.post1");
        assert_eq!(norm("1.0.post."), "1.0.post0");
        assert_eq!(norm("1.0a-"), "1.0a0");
        assert_eq!(norm("v1.0"), "1.0");
        assert_eq!(norm("1.0-r"), "1.0.post0");
        assert_eq!(norm("1.0rc-"), "1.0rc0");
        assert_eq!(norm("1.0-1-dev"), "1.0.post1.dev0");
        assert_eq!(norm(" 1.0\u{1c}"), "1.0");
        assert_eq!(norm("1.0.POST1"), "1.0.post1");
        assert_eq!(norm("1.0+ab.01"), "1.0+ab.1");
        assert_eq!(norm("1!2.0PREVIEW3"), "1!2.0rc3");
        assert_eq!(norm("01.002"), "1.2");
    }

    #[test]
    fn invalid() {
        for s in [
            "",
            "v",
            "1.",
            ".1",
            "1..2",
            "1.0\u{200b}",
            "1.0+",
            "1.0+a.",
            "1.0re",
            "a1",
            "1.0 2",
            "1!",
            "1.0-",
        ] {
            assert!(Pep440Version::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn order() {
        let seq = [
            "1.0.dev0",
            "1.0a1.dev1",
            "1.0a1",
            "1.0a2",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+abc.1",
            "1.0+1",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.1.dev1",
            "1!0.1",
        ];
        for w in seq.windows(2) {
            assert_eq!(compare(w[0], w[1]), Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(compare("1.0", "1.0.0"), Equal);
        let key = |s: &str| Pep440Version::parse(s).map(|v| v.equality_key()).ok();
        assert_eq!(key("1.0.0"), key("1"));
        assert_eq!(key("0.0"), key("0"));
        assert_eq!(key("1.0+ABC.01"), key("1+abc.1"));
        assert_ne!(key("1.0.dev0"), key("1.0a0.dev0"));
    }
}
