//! A total order for software versions as they appear in CPE names and NVD ranges.
//!
//! # Rules
//!
//! A version string is read as a sequence of **tokens**; everything else is
//! a separator.
//!
//! * A **number** is a maximal run of ASCII digits `0-9`. Its value is the
//!   digit string with leading zeros removed (`003` is `3`, `000` is `0`).
//!   Numbers compare by value: first by the length of the stripped digit
//!   string, then digit by digit. Arbitrarily long runs are fine (nothing is
//!   converted to an integer, so nothing overflows).
//! * A **word** is a maximal run of alphanumeric characters that are not
//!   ASCII digits (so `1.0.2zg` is `1`, `0`, `2`, `zg`, and `2.0rc1` is `2`,
//!   `0`, `rc`, `1`). Words are case-insensitive. A word is either
//!   * a **pre-release word**: exactly one of `dev` < `alpha` < `beta` <
//!     `pre` < `rc` (in that order, compared case-insensitively, whole word
//!     only: `rc` is one, `rcx` and `a`/`b` are not), or
//!   * an **ordinary word**: any other word; ordinary words compare by their
//!     lower-cased characters, lexicographically (`t` < `z` < `za` < `zg`).
//! * Every other character (`.`, `-`, `_`, `+`, `~`, `:`, spaces, ...) is a
//!   **separator**. Separators only end tokens; which separator it is and
//!   how many there are does not matter (`1.0-1` == `1_0+1` == `1..0.1`).
//!
//! Two versions compare token by token, left to right; the first position
//! where they differ decides. At one position, tokens of different kinds
//! order as
//!
//! ```text
//! pre-release word  <  number (any value)  <  ordinary word
//! ```
//!
//! and tokens of the same kind as described above. When one version runs out
//! of tokens, it continues with the number `0` for as long as needed. Hence:
//!
//! * missing trailing numbers are zero: `1.0` == `1.0.0` == `1`, and the empty
//!   string equals `0`;
//! * a pre-release word sorts before the release it qualifies: `2.0rc1` <
//!   `2.0`, `2.0-beta9` < `2.0-rc1` < `2.0` < `2.0.1`;
//! * an ordinary word after a number sorts after it (OpenSSL letter
//!   releases): `1.0.2` < `1.0.2a` < `1.0.2t` < `1.0.2zg` < `1.0.3`;
//! * at the same position an ordinary word is greater than any number
//!   (`1.0.2zg` > `1.0.2.9`), a pre-release word less than any number;
//! * `7.881` > `7.88.1` (the second numbers are 881 and 88).
//!
//! Known limitations (by design, documented): single letters are not
//! pre-release markers, so Python's `3.13.0a1` sorts *after* `3.13.0` (as
//! OpenSSL's `1.0.2a` must); Debian epochs (`1:2.3`) are not understood (the
//! colon is a separator).
//!
//! # Properties
//!
//! [`compare`] is a total order on equivalence classes: two strings are equal
//! exactly when their token sequences are identical after trailing zero
//! numbers are removed. It is antisymmetric, transitive, never panics and
//! does not allocate. [`Version`] wraps a string with that order; its `Eq`
//! and `Hash` agree with [`compare`].

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// Pre-release words, in ascending order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreRelease {
    Dev,
    Alpha,
    Beta,
    Pre,
    Rc,
}

impl PreRelease {
    fn from_word(word: &str) -> Option<PreRelease> {
        const WORDS: [(&str, PreRelease); 5] = [
            ("dev", PreRelease::Dev),
            ("alpha", PreRelease::Alpha),
            ("beta", PreRelease::Beta),
            ("pre", PreRelease::Pre),
            ("rc", PreRelease::Rc),
        ];
        WORDS
            .iter()
            .find(|(w, _)| w.eq_ignore_ascii_case(word))
            .map(|&(_, p)| p)
    }
}

#[derive(Clone, Copy, Debug)]
enum Token<'a> {
    Pre(PreRelease),
    /// ASCII digits with leading zeros stripped; `""` is zero.
    Num(&'a str),
    /// An ordinary word, original case.
    Word(&'a str),
}

const ZERO: Token<'static> = Token::Num("");

impl Token<'_> {
    fn rank(&self) -> u8 {
        match self {
            Token::Pre(_) => 0,
            Token::Num(_) => 1,
            Token::Word(_) => 2,
        }
    }

    fn is_zero(&self) -> bool {
        matches!(self, Token::Num(""))
    }

    fn cmp(&self, other: &Token<'_>) -> Ordering {
        match (self, other) {
            (Token::Pre(a), Token::Pre(b)) => a.cmp(b),
            (Token::Num(a), Token::Num(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Token::Word(a), Token::Word(b)) => lower(a).cmp(lower(b)),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

fn lower(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() && !c.is_ascii_digit()
}

/// Iterator over the tokens of a version string.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a str) -> Self {
        Tokens { rest: s }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let start = self.rest.find(|c: char| c.is_alphanumeric())?;
        let s = &self.rest[start..];
        let first = s.chars().next()?;
        if first.is_ascii_digit() {
            let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let digits = &s[..end];
            self.rest = &s[end..];
            let stripped = digits.trim_start_matches('0');
            Some(Token::Num(stripped))
        } else {
            let end = s.find(|c: char| !is_word_char(c)).unwrap_or(s.len());
            let word = &s[..end];
            self.rest = &s[end..];
            Some(match PreRelease::from_word(word) {
                Some(p) => Token::Pre(p),
                None => Token::Word(word),
            })
        }
    }
}

/// Compares two version strings by the rules in the [module documentation](self).
///
/// ```
/// use std::cmp::Ordering;
/// assert_eq!(kb::version::compare("22.003.20282", "22.3.20281"), Ordering::Greater);
/// assert_eq!(kb::version::compare("1.0", "1.0.0"), Ordering::Equal);
/// assert_eq!(kb::version::compare("2.0rc1", "2.0"), Ordering::Less);
/// assert_eq!(kb::version::compare("1.0.2zg", "1.0.2t"), Ordering::Greater);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    let mut ta = Tokens::new(a);
    let mut tb = Tokens::new(b);
    loop {
        let (x, y) = match (ta.next(), tb.next()) {
            (None, None) => return Ordering::Equal,
            (x, y) => (x.unwrap_or(ZERO), y.unwrap_or(ZERO)),
        };
        let o = x.cmp(&y);
        if o != Ordering::Equal {
            return o;
        }
    }
}

/// A version string ordered by [`compare`].
///
/// The original text is kept (and is what `Display` and serde show); equality,
/// ordering and hashing use the version order, so `Version::from("1.0") ==
/// Version::from("1.0.0")`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    /// Wraps a version string (any string is a valid version).
    pub fn new(s: impl Into<String>) -> Self {
        Version(s.into())
    }

    /// The original text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The original text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<&str> for Version {
    fn from(s: &str) -> Self {
        Version(s.to_owned())
    }
}

impl From<String> for Version {
    fn from(s: String) -> Self {
        Version(s)
    }
}

impl std::str::FromStr for Version {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Version(s.to_owned()))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        compare(&self.0, &other.0) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Hash the canonical token sequence: trailing zero numbers removed,
        // words lower-cased. Equal versions have equal sequences.
        let tokens: Vec<Token<'_>> = Tokens::new(&self.0).collect();
        let len = tokens
            .iter()
            .rposition(|t| !t.is_zero())
            .map_or(0, |i| i + 1);
        state.write_usize(len);
        for t in &tokens[..len] {
            match t {
                Token::Pre(p) => {
                    state.write_u8(0);
                    state.write_u8(*p as u8);
                }
                Token::Num(d) => {
                    state.write_u8(1);
                    d.hash(state);
                }
                Token::Word(w) => {
                    state.write_u8(2);
                    for c in lower(w) {
                        state.write_u32(c as u32);
                    }
                    state.write_u8(0xff);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t: Vec<String> = Tokens::new("v1.02-RC3_zg+x")
            .map(|t| format!("{t:?}"))
            .collect();
        assert_eq!(
            t,
            vec![
                "Word(\"v\")",
                "Num(\"1\")",
                "Num(\"2\")",
                "Pre(Rc)",
                "Num(\"3\")",
                "Word(\"zg\")",
                "Word(\"x\")"
            ]
        );
    }

    #[test]
    fn empty_is_zero() {
        assert_eq!(compare("", "0"), Ordering::Equal);
        assert_eq!(compare("...", "0.0"), Ordering::Equal);
        assert_eq!(compare("", "0.1"), Ordering::Less);
    }
}
