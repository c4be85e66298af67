//! `$top` and `$skip` values.

use std::fmt;

/// A `$top` or `$skip` value that is not an integer in the allowed range.
///
/// Displays as e.g. `Invalid value '20000' for $top: must be an integer from
/// 0 to 10000`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid value '{value}' for {option}: must be {}", allowed(*.max))]
pub struct QueryOptionError {
    /// `"$top"` or `"$skip"`.
    pub option: &'static str,
    /// The value as received (trimmed; cut to 64 characters).
    pub value: String,
    /// The largest allowed value; `None` when only the integer type bounds it.
    pub max: Option<u64>,
}

fn allowed(max: Option<u64>) -> impl fmt::Display {
    fmt::from_fn(move |f| match max {
        Some(max) => write!(f, "an integer from 0 to {max}"),
        None => f.write_str("a non-negative integer"),
    })
}

fn parse_count(
    option: &'static str,
    value: &str,
    max: Option<u64>,
) -> Result<u64, QueryOptionError> {
    let trimmed = value.trim();
    let fail = || QueryOptionError {
        option,
        value: match trimmed.char_indices().nth(64) {
            Some((cut, _)) => format!("{}…", &trimmed[..cut]),
            None => trimmed.to_owned(),
        },
        max,
    };
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail());
    }
    // Leading zeros are fine; more digits than u64 holds is out of range.
    let n = trimmed.parse::<u64>().map_err(|_| fail())?;
    match max {
        Some(max) if n > max => Err(fail()),
        _ => Ok(n),
    }
}

/// Parses a `$top` value: a non-negative decimal integer at most `max`,
/// surrounding whitespace ignored. No sign, no exponent, no fraction.
pub fn parse_top(value: &str, max: u64) -> Result<u64, QueryOptionError> {
    parse_count("$top", value, Some(max))
}

/// Parses a `$skip` value: any non-negative decimal integer that fits `u64`,
/// surrounding whitespace ignored.
pub fn parse_skip(value: &str) -> Result<u64, QueryOptionError> {
    parse_count("$skip", value, None)
}
