//! Tokenizer for `$filter` text, built from `winnow` token parsers.
//!
//! The driver loop in [`tokenize`] looks at the first character of each token
//! and hands the rest of the input to the winnow parser for that token kind;
//! when that parser fails, the driver reports its own precise reason at the
//! token's start. Offsets here are byte offsets into the filter text; the
//! public error converts them to character positions.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use winnow::Parser;
use winnow::combinator::{alt, opt, preceded, repeat};
use winnow::stream::AsChar;
use winnow::token::{one_of, take_till, take_while};

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok<'a> {
    LParen,
    RParen,
    Comma,
    /// A name: a property, a keyword (`eq`, `and`, `not`, `true`, `null`...)
    /// or a function name. Keywords are recognised by the parser.
    Ident(&'a str),
    /// A single-quoted string, with `''` already unescaped.
    Str(String),
    Int(i64),
    DateTime(DateTime<Utc>),
}

/// A token and its byte span in the input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token<'a> {
    pub tok: Tok<'a>,
    pub start: usize,
    pub end: usize,
}

/// A lexical error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LexError {
    pub at: usize,
    pub reason: String,
}

type PResult<T> = winnow::Result<T>;

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Characters that end a literal: whitespace, parentheses, comma, quote.
fn is_delimiter(c: char) -> bool {
    is_space(c) || matches!(c, '(' | ')' | ',' | '\'')
}

fn skip_space(input: &mut &str) -> PResult<()> {
    take_while(0.., is_space).void().parse_next(input)
}

fn ident<'a>(input: &mut &'a str) -> PResult<&'a str> {
    (one_of(is_ident_start), take_while(0.., is_ident_char))
        .take()
        .parse_next(input)
}

/// Body of a single-quoted string after the opening quote, up to and
/// including the closing quote. `''` stands for one quote.
fn string_body(input: &mut &str) -> PResult<String> {
    let body = repeat(0.., alt((take_till(1.., '\''), "''".value("'")))).fold(
        String::new,
        |mut acc, piece: &str| {
            acc.push_str(piece);
            acc
        },
    );
    (body, '\'').map(|(s, _)| s).parse_next(input)
}

fn digits<'a>(n: usize) -> impl Parser<&'a str, &'a str, winnow::error::ContextError> {
    take_while(n..=n, AsChar::is_dec_digit)
}

fn num(s: &str) -> u32 {
    s.bytes().fold(0u32, |acc, b| {
        acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))
    })
}

/// Raw fields of a date/time literal before validation.
struct RawDateTime<'a> {
    date: (&'a str, &'a str, &'a str),
    /// hour, minute, optional (second, optional fraction)
    time: Option<RawTime<'a>>,
    /// sign (`+`, `-`, or a space standing for a URL-decoded `+`), hours, minutes
    offset: Option<(char, &'a str, &'a str)>,
}

fn date_part<'a>(input: &mut &'a str) -> PResult<(&'a str, &'a str, &'a str)> {
    (digits(4), '-', digits(2), '-', digits(2))
        .map(|(y, _, m, _, d)| (y, m, d))
        .parse_next(input)
}

/// `Z`/`z` → `None` offset (UTC); `±hh:mm` → `Some`.
fn offset<'a>(input: &mut &'a str) -> PResult<Option<(char, &'a str, &'a str)>> {
    alt((
        one_of(['Z', 'z']).value(None),
        (one_of(['+', '-', ' ']), digits(2), ':', digits(2)).map(|(s, h, _, m)| Some((s, h, m))),
    ))
    .parse_next(input)
}

type RawTime<'a> = (&'a str, &'a str, Option<(&'a str, Option<&'a str>)>);

fn time_part<'a>(input: &mut &'a str) -> PResult<RawTime<'a>> {
    (
        digits(2),
        ':',
        digits(2),
        opt(preceded(
            ':',
            (
                digits(2),
                opt(preceded('.', take_while(1.., AsChar::is_dec_digit))),
            ),
        )),
    )
        .map(|(h, _, m, s)| (h, m, s))
        .parse_next(input)
}

/// `YYYY-MM-DD`, `YYYY-MM-DDZ`, `YYYY-MM-DDThh:mm[:ss[.f+]][Z|±hh:mm]`.
fn datetime_literal<'a>(input: &mut &'a str) -> PResult<RawDateTime<'a>> {
    let date = date_part(input)?;
    let rest = opt(alt((
        preceded(one_of(['T', 't']), (time_part, opt(offset))).map(|(t, o)| (Some(t), o.flatten())),
        one_of(['Z', 'z']).value((None, None)),
    )))
    .parse_next(input)?;
    let (time, offset) = rest.unwrap_or((None, None));
    Ok(RawDateTime { date, time, offset })
}

const DATETIME_FORMS: &str =
    "expected YYYY-MM-DD, YYYY-MM-DDZ or YYYY-MM-DDThh:mm[:ss[.fffffff]][Z|+hh:mm|-hh:mm]";

fn validate_datetime(raw: &RawDateTime<'_>) -> Result<DateTime<Utc>, &'static str> {
    let (y, m, d) = raw.date;
    let date = NaiveDate::from_ymd_opt(num(y) as i32, num(m), num(d)).ok_or("no such date")?;
    let time = match raw.time {
        None => NaiveTime::MIN,
        Some((h, mi, sec)) => {
            let (s, frac) = sec.unwrap_or(("0", None));
            let frac = frac.unwrap_or("");
            if frac.len() > 12 {
                return Err("more than 12 fractional digits");
            }
            // Nanosecond precision: keep the first 9 digits, pad to 9.
            let mut nanos = 0u32;
            for i in 0..9 {
                let digit = frac.as_bytes().get(i).map_or(0, |b| u32::from(b - b'0'));
                nanos = nanos * 10 + digit;
            }
            let (h, mi, s) = (num(h), num(mi), num(s));
            if s > 59 {
                return Err("seconds out of range");
            }
            NaiveTime::from_hms_nano_opt(h, mi, s, nanos).ok_or("no such time of day")?
        }
    };
    let offset_secs = match raw.offset {
        None => 0,
        Some((sign, h, m)) => {
            let (h, m) = (num(h), num(m));
            if h > 23 || m > 59 {
                return Err("time-zone offset out of range");
            }
            let secs = (h * 3600 + m * 60) as i32;
            if sign == '-' { -secs } else { secs }
        }
    };
    let tz = FixedOffset::east_opt(offset_secs).ok_or("time-zone offset out of range")?;
    let local = date.and_time(time);
    tz.from_local_datetime(&local)
        .single()
        .map(|dt| dt.with_timezone(&Utc))
        .ok_or("no such instant")
}

/// The text of a malformed literal, for error messages: up to the next
/// delimiter, at most 40 characters.
fn bad_text(rest: &str) -> String {
    let end = rest.find(is_delimiter).unwrap_or(rest.len());
    let text = &rest[..end];
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Lexes a token starting with a digit or `-`.
fn number_or_date<'a>(rest: &'a str, start: usize) -> Result<(Tok<'a>, usize), LexError> {
    let fail = |reason: String| Err(LexError { at: start, reason });
    // A date literal starts with four digits and a dash.
    let mut probe = rest;
    let looks_like_date = (digits(4), '-').parse_next(&mut probe).is_ok()
        && rest.as_bytes().get(5).is_some_and(u8::is_ascii_digit);
    if looks_like_date {
        let mut input = rest;
        return match datetime_literal(&mut input) {
            Ok(raw) if input.chars().next().is_none_or(is_delimiter) => {
                match validate_datetime(&raw) {
                    Ok(dt) => Ok((Tok::DateTime(dt), rest.len() - input.len())),
                    Err(why) => fail(format!(
                        "invalid date/time literal '{}': {why}",
                        bad_text(rest)
                    )),
                }
            }
            _ => fail(format!(
                "invalid date/time literal '{}': {DATETIME_FORMS}",
                bad_text(rest)
            )),
        };
    }
    let mut input = rest;
    let parsed: PResult<&str> = (opt('-'), take_while(1.., AsChar::is_dec_digit))
        .take()
        .parse_next(&mut input);
    let Ok(text) = parsed else {
        return fail(
            "unexpected character '-'; a negative number needs digits right after '-'".into(),
        );
    };
    if !input.chars().next().is_none_or(is_delimiter) {
        let bad = bad_text(rest);
        return if input.starts_with('.') {
            fail(format!(
                "invalid number '{bad}': only integer literals are supported"
            ))
        } else {
            fail(format!("invalid literal '{bad}'"))
        };
    }
    match text.parse::<i64>() {
        Ok(n) => Ok((Tok::Int(n), text.len())),
        Err(_) => fail(format!(
            "integer literal {text} is out of range (a 64-bit signed integer)"
        )),
    }
}

/// Splits the filter text into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, LexError> {
    let mut tokens = Vec::new();
    let mut input = src;
    loop {
        // Cannot fail: zero or more spaces.
        let _ = skip_space(&mut input);
        let start = src.len() - input.len();
        let Some(c) = input.chars().next() else {
            return Ok(tokens);
        };
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            ',' => (Tok::Comma, 1),
            '\'' => {
                let mut body = &input[1..];
                match string_body(&mut body) {
                    Ok(s) => (Tok::Str(s), input.len() - body.len()),
                    Err(_) => {
                        return Err(LexError {
                            at: start,
                            reason: "unterminated string literal (no closing ')".into(),
                        });
                    }
                }
            }
            '"' => {
                return Err(LexError {
                    at: start,
                    reason: "string literals use single quotes ('...'), not double quotes".into(),
                });
            }
            c if c.is_ascii_digit() || c == '-' => number_or_date(input, start)?,
            c if is_ident_start(c) => {
                let mut rest = input;
                match ident(&mut rest) {
                    Ok(name) => (Tok::Ident(name), name.len()),
                    // Unreachable in practice: the first character is an identifier start.
                    Err(_) => {
                        return Err(LexError {
                            at: start,
                            reason: format!("unexpected character '{c}'"),
                        });
                    }
                }
            }
            c => {
                return Err(LexError {
                    at: start,
                    reason: format!("unexpected character '{}'", c.escape_debug()),
                });
            }
        };
        tokens.push(Token {
            tok,
            start,
            end: start + len,
        });
        input = &input[len..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok<'_>> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn basic_tokens() {
        assert_eq!(
            toks("avMode eq 'a''b' and (x,-12)"),
            vec![
                Tok::Ident("avMode"),
                Tok::Ident("eq"),
                Tok::Str("a'b".into()),
                Tok::Ident("and"),
                Tok::LParen,
                Tok::Ident("x"),
                Tok::Comma,
                Tok::Int(-12),
                Tok::RParen,
            ]
        );
    }

    #[test]
    fn datetimes() {
        let at = |s: &str| match toks(s).as_slice() {
            [Tok::DateTime(d)] => d.to_rfc3339(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at("2018-08-01"), "2018-08-01T00:00:00+00:00");
        assert_eq!(at("2018-08-01Z"), "2018-08-01T00:00:00+00:00");
        assert_eq!(at("2019-11-22T00:00:00Z"), "2019-11-22T00:00:00+00:00");
        assert_eq!(
            at("2019-11-22T00:00:00.123+02:00"),
            "2019-11-21T22:00:00.123+00:00"
        );
        assert_eq!(
            at("2019-11-22T00:00:00.123 02:00"),
            "2019-11-21T22:00:00.123+00:00"
        );
        assert_eq!(at("2019-11-22T10:30-01:30"), "2019-11-22T12:00:00+00:00");
        assert_eq!(at("2019-11-22T10:30:00"), "2019-11-22T10:30:00+00:00");
    }

    #[test]
    fn lex_errors() {
        let err = |s: &str| tokenize(s).unwrap_err();
        assert_eq!(err("a eq 'abc").at, 5);
        assert!(err("a eq 2019-13-01").reason.contains("no such date"));
        assert!(err("a eq 2019-1-01").reason.contains("invalid date/time"));
        assert!(err("a eq 1.5").reason.contains("only integer"));
        assert!(
            err("a eq 99999999999999999999")
                .reason
                .contains("out of range")
        );
        assert!(err("a eq \"x\"").reason.contains("single quotes"));
        assert!(err("a eq - 1").reason.contains("negative"));
        assert!(err("a ~ 1").reason.contains("unexpected character '~'"));
    }
}
