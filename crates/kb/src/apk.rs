//! Alpine package versions and their order, as apk-tools defines them
//! (`src/version.c` of apk-tools 2.14 / 3.x).
//!
//! Used for the `Alpine:*` OSV ecosystem.
//!
//! # Syntax
//!
//! ```text
//! digit{.digit}...{letter}{_suffix{digits}}...{~hash}{-rN}
//! ```
//!
//! A version is a sequence of tokens, each allowed only after certain others
//! (apk-tools' token order):
//!
//! 1. an initial number (required);
//! 2. `.N` numbers;
//! 3. one lower-case letter (`1.2.3a`), only after a number;
//! 4. suffixes `_alpha`, `_beta`, `_pre`, `_rc` (pre-release) or `_cvs`,
//!    `_svn`, `_git`, `_hg`, `_p` (post-release), each optionally followed by
//!    a number (`_p2`); several may follow one another (`_alpha_pre2`);
//! 5. a commit hash `~` + hex digits;
//! 6. the package revision `-rN`.
//!
//! Anything else makes the rest of the string *invalid* ([`is_valid`] is
//! false); comparison still proceeds token by token up to that point, as apk
//! does.
//!
//! # Order
//!
//! Tokens compare pairwise while both versions have a token of the same kind:
//!
//! * numbers compare numerically, except that a `.N` number with a leading
//!   zero on either side compares as a string (`1.01` < `1.1`, Gentoo rule);
//!   the initial number is always numeric (`006` > `1.0`);
//! * letters by character, suffixes in the order `alpha` < `beta` < `pre` <
//!   `rc` < (no suffix) < `cvs` < `svn` < `git` < `hg` < `p`;
//! * commit hashes as strings.
//!
//! When the token kinds differ, or one version ends: a pre-release suffix
//! makes its version older (`1.0_rc1` < `1.0`), otherwise the version whose
//! next token comes *earlier* in the order above is newer (`1.0.1` > `1.0`,
//! `1.0_p1` > `1.0`, `1.0-r1` > `1.0`, `1.0a` > `1.0`, `1.0.1` > `1.0a`),
//! and an ended or invalid version is older than any continuation. Two
//! versions invalid at the same point compare equal.
//!
//! Numbers are read as 64-bit values and wrap on overflow exactly as
//! apk-tools' `apk_blob_pull_uint` does. Every function here is total and
//! never panics.

use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

const SUFFIX_NONE: u8 = 5;

/// Suffix values: 0 invalid, 1 alpha .. 4 rc, 5 none, 6 cvs .. 10 p.
fn suffix_value(s: &[u8]) -> u8 {
    const SUFFIXES: [(&[u8], u8); 9] = [
        (b"alpha", 1),
        (b"beta", 2),
        (b"pre", 3),
        (b"rc", 4),
        (b"cvs", 6),
        (b"svn", 7),
        (b"git", 8),
        (b"hg", 9),
        (b"p", 10),
    ];
    SUFFIXES
        .iter()
        .find(|(w, _)| *w == s)
        .map_or(0, |&(_, v)| v)
}

struct Token<'a> {
    tok: Tok,
    suffix: u8,
    number: u64,
    value: &'a [u8],
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a str) -> Self {
        Lexer {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn span(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    fn digits(&mut self, t: &mut Token<'a>) {
        let d = self.span(|b| b.is_ascii_digit());
        t.number = d.iter().fold(0u64, |n, &b| {
            n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
        });
        t.value = d;
        if d.is_empty() {
            t.tok = Tok::Invalid;
        }
    }

    fn first(&mut self) -> Token<'a> {
        let mut t = Token {
            tok: Tok::InitialDigit,
            suffix: 0,
            number: 0,
            value: &[],
        };
        self.digits(&mut t);
        t
    }

    fn next(&mut self, t: &mut Token<'a>) {
        let Some(c) = self.peek() else {
            t.tok = Tok::End;
            return;
        };
        match c {
            b'a'..=b'z' => {
                if t.tok > Tok::Digit {
                    t.tok = Tok::Invalid;
                    return;
                }
                t.value = &self.s[self.pos..self.pos + 1];
                t.tok = Tok::Letter;
                self.pos += 1;
            }
            b'.' | b'0'..=b'9' => {
                if c == b'.' {
                    if t.tok > Tok::Digit {
                        t.tok = Tok::Invalid;
                        return;
                    }
                    self.pos += 1;
                }
                t.tok = match t.tok {
                    Tok::InitialDigit | Tok::Digit => Tok::Digit,
                    Tok::Suffix => Tok::SuffixNo,
                    _ => {
                        t.tok = Tok::Invalid;
                        return;
                    }
                };
                self.digits(t);
            }
            b'_' => {
                if t.tok > Tok::SuffixNo {
                    t.tok = Tok::Invalid;
                    return;
                }
                self.pos += 1;
                let v = self.span(|b| b.is_ascii_lowercase());
                t.value = v;
                t.suffix = suffix_value(v);
                t.tok = if t.suffix == 0 {
                    Tok::Invalid
                } else {
                    Tok::Suffix
                };
            }
            b'~' => {
                if t.tok >= Tok::CommitHash {
                    t.tok = Tok::Invalid;
                    return;
                }
                self.pos += 1;
                let v = self.span(|b| b.is_ascii_hexdigit());
                t.value = v;
                t.tok = if v.is_empty() {
                    Tok::Invalid
                } else {
                    Tok::CommitHash
                };
            }
            b'-' => {
                if t.tok >= Tok::RevisionNo || self.s.get(self.pos + 1) != Some(&b'r') {
                    t.tok = Tok::Invalid;
                    return;
                }
                self.pos += 2;
                t.tok = Tok::RevisionNo;
                self.digits(t);
            }
            _ => t.tok = Tok::Invalid,
        }
    }
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    let string = |a: &Token<'_>, b: &Token<'_>| a.value.cmp(b.value);
    match a.tok {
        Tok::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            string(a, b)
        }
        Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => a.number.cmp(&b.number),
        Tok::Letter => a.value.first().cmp(&b.value.first()),
        Tok::Suffix => a.suffix.cmp(&b.suffix),
        _ => string(a, b),
    }
}

/// Compares two Alpine package versions as `apk version -t` does (see the
/// [module documentation](self)).
///
/// ```
/// use std::cmp::Ordering::*;
/// assert_eq!(kb::apk::compare("1.36.1-r29", "1.36.1-r30"), Less);
/// assert_eq!(kb::apk::compare("1.2.3_rc1-r0", "1.2.3-r0"), Less);
/// assert_eq!(kb::apk::compare("1.2.3_p1-r0", "1.2.3-r0"), Greater);
/// ```
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut la, mut lb) = (Lexer::new(a), Lexer::new(b));
    let (mut ta, mut tb) = (la.first(), lb.first());
    while ta.tok == tb.tok && ta.tok < Tok::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        la.next(&mut ta);
        lb.next(&mut tb);
    }
    if ta.tok == tb.tok {
        return Ordering::Equal;
    }
    if ta.tok == Tok::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.tok == Tok::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // The version whose next token kind comes later (or that ended) is older.
    tb.tok.cmp(&ta.tok)
}

/// `true` when apk-tools accepts the string as a version (`apk_version_validate`).
pub fn is_valid(s: &str) -> bool {
    let mut l = Lexer::new(s);
    let mut t = l.first();
    while t.tok < Tok::End {
        l.next(&mut t);
    }
    t.tok == Tok::End
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        for s in [
            "1",
            "1.2.3",
            "1.2.3a",
            "1.2_alpha",
            "1.2_alpha2_p3",
            "1.0~abc123",
            "1.0_git20240101~deadbeef-r3",
            "1.2.3-r0",
        ] {
            assert!(is_valid(s), "{s}");
        }
        for s in [
            "",
            "a1",
            "1.",
            "1.0-r",
            "1.0-1",
            "1.0_foo",
            "1.0ab",
            "1.0A",
            "1.0~",
            "1.0-r1-r2",
            "1.0_p1a",
        ] {
            assert!(!is_valid(s), "{s}");
        }
    }
}
