//! Query-string handling shared by every endpoint (decisions.md, "Paths and parameters"):
//! names match case-insensitively, a leading `$` on a non-OData name is tolerated,
//! values are trimmed, unknown plain parameters are ignored, and an unknown or
//! unsupported `$` option is `400 ODataError`.

use access::ApiError;

/// The parsed query: (lower-cased name without a tolerated `$`, trimmed value, raw name, raw value).
#[derive(Clone, Debug, Default)]
pub struct Query {
    params: Vec<Param>,
}

#[derive(Clone, Debug)]
struct Param {
    name: String,
    value: String,
    raw_value: String,
}

impl Query {
    /// Parses `raw` for an endpoint that supports the OData options `odata` (lower
    /// case, with `$`) and the plain parameters `plain` (lower case).
    pub fn parse(raw: Option<&str>, odata: &[&str], plain: &[&str]) -> Result<Query, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| ApiError::invalid_input("The query string is not valid URL encoding."))?;
        let mut params: Vec<Param> = Vec::with_capacity(pairs.len());
        for (name, value) in pairs {
            let lower = name.trim().to_ascii_lowercase();
            let name = if let Some(stripped) = lower.strip_prefix('$') {
                if odata.contains(&lower.as_str()) {
                    lower.clone()
                } else if plain.contains(&stripped) {
                    stripped.to_owned()
                } else {
                    return Err(ApiError::odata(format!(
                        "The query parameter '{}' is not supported by this endpoint{}.",
                        name.trim(),
                        if odata.is_empty() {
                            String::new()
                        } else {
                            format!("; supported options: {}", odata.join(", "))
                        }
                    )));
                }
            } else if odata
                .iter()
                .any(|o| o.strip_prefix('$') == Some(lower.as_str()))
            {
                // `top=5` is not `$top=5`; OData options keep their `$`. Ignored like any unknown plain name.
                continue;
            } else {
                lower
            };
            if (odata.contains(&name.as_str()) || plain.contains(&name.as_str()))
                && params.iter().any(|p| p.name == name)
            {
                return Err(ApiError::invalid_input(format!(
                    "Parameter {name} is specified more than once."
                )));
            }
            params.push(Param {
                name,
                value: value.trim().to_owned(),
                raw_value: value,
            });
        }
        Ok(Query { params })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The parameters to echo in a nextLink: lower-cased names, original values
    /// (URL-encoded again), without the ones named in `except`.
    pub fn echo(&self, except: &[&str]) -> String {
        let pairs: Vec<(&str, &str)> = self
            .params
            .iter()
            .filter(|p| !except.contains(&p.name.as_str()))
            .map(|p| (p.name.as_str(), p.raw_value.as_str()))
            .collect();
        query_string(&pairs)
    }
}

/// `name=value&...` with values encoded and names kept literal (so `$skiptoken`
/// stays `$skiptoken`, as in MDE's links).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={}", model::percent::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses a positive integer parameter within `1..=max`, naming the range in the error.
pub fn positive(name: &str, value: &str, max: u64) -> Result<u64, ApiError> {
    match value.parse::<u64>() {
        Ok(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(ApiError::invalid_input(format!(
            "Invalid value '{value}' for parameter {name}: must be an integer from 1 to {max}."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_dollar_tolerated() {
        let q = Query::parse(
            Some("PageSize=3%20%20&$SasValidHours=2&sinceTime=2021-05-19"),
            &["$top"],
            &["pagesize", "sasvalidhours"],
        )
        .unwrap();
        assert_eq!(q.get("pagesize"), Some("3"));
        assert_eq!(q.get("sasvalidhours"), Some("2"));
        assert_eq!(
            q.echo(&[]),
            "pagesize=3%20%20&sasvalidhours=2&sincetime=2021-05-19"
        );
    }

    #[test]
    fn unsupported_dollar_options_are_odata_errors() {
        let e = Query::parse(Some("$orderby=x"), &["$top"], &["pagesize"]).unwrap_err();
        assert_eq!(e.code, "ODataError");
        let e = Query::parse(Some("pagesize=1&PAGESIZE=2"), &[], &["pagesize"]).unwrap_err();
        assert_eq!(e.code, "InvalidInput");
        // A malformed percent escape is kept literally (lenient decoding), so the value then
        // fails its own validation rather than the whole query.
        let q = Query::parse(Some("%ZZ=1&pagesize=%ZZ"), &[], &["pagesize"]).unwrap();
        assert_eq!(q.get("pagesize"), Some("%ZZ"));
        assert_eq!(
            positive("pageSize", "%ZZ", 10).unwrap_err().code,
            "InvalidInput"
        );
    }
}
