//! The `sasValidHours` parameter of the via-files endpoints.

/// URLs are valid this many hours when `sasValidHours` is absent.
pub const DEFAULT_SAS_VALID_HOURS: u32 = 3;
/// The largest accepted `sasValidHours`.
pub const MAX_SAS_VALID_HOURS: u32 = 24;

/// A `sasValidHours` value outside `1..=24` or not an integer: `400 InvalidInput`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid value '{value}' for parameter sasValidHours: must be an integer from 1 to {MAX_SAS_VALID_HOURS}."
)]
pub struct SasHoursError {
    pub value: String,
}

/// Parses `sasValidHours` (already found case-insensitively by the caller): absent means
/// [`DEFAULT_SAS_VALID_HOURS`]; surrounding whitespace is trimmed; the value must be an
/// integer in `1..=24`.
pub fn parse_sas_valid_hours(raw: Option<&str>) -> Result<u32, SasHoursError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_SAS_VALID_HOURS);
    };
    let value = raw.trim();
    match value.parse::<u32>() {
        Ok(h) if (1..=MAX_SAS_VALID_HOURS).contains(&h) => Ok(h),
        _ => Err(SasHoursError {
            value: value.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_range_and_refusals() {
        assert_eq!(parse_sas_valid_hours(None), Ok(3));
        assert_eq!(parse_sas_valid_hours(Some("1")), Ok(1));
        assert_eq!(parse_sas_valid_hours(Some(" 24 ")), Ok(24));
        for bad in ["0", "25", "-1", "", "abc", "3.5", "1e1", "99999999999"] {
            let e = parse_sas_valid_hours(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("sasValidHours"), "{bad}");
        }
    }
}
