//! CVSS base-score calculators for vector strings (v3.0, v3.1 and v2.0), as
//! OSV records carry them (`severity[].score` is a vector, not a number).
//!
//! * v3.x ([`base_score_v3`]): the specification's base equations (FIRST
//!   CVSS v3.1 §7.1, weights §7.4), with v3.1's floating-point-safe `Roundup`
//!   for `CVSS:3.1/` vectors and v3.0's plain round-up to one decimal for
//!   `CVSS:3.0/`. All eight base metrics are required, once each; temporal
//!   and environmental metrics are allowed and ignored.
//! * v2.0 ([`base_score_v2`]): the v2 base equation (FIRST CVSS v2 guide
//!   §3.2.1), rounded to one decimal. An optional `(...)` wrapper and
//!   temporal/environmental metrics are accepted and ignored.
//!
//! Qualitative levels ([`level_v3`], [`level_v2`]) use the specification
//! bands: v3 None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9,
//! Critical 9.0-10.0; v2 Low 0.0-3.9, Medium 4.0-6.9, High 7.0-10.0.

/// A vector's base score with its exploitability and impact sub-scores, the three
/// numbers NVD publishes (`baseScore`, `exploitabilityScore`, `impactScore`). The
/// sub-scores are rounded to one decimal (half away from zero), as NVD shows them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    pub base: f64,
    pub exploitability: f64,
    pub impact: f64,
}

/// One decimal, half away from zero (NVD's sub-score display).
fn one_decimal(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A vector string that is not a valid CVSS base vector.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid CVSS vector `{vector}`: {reason}")]
pub struct CvssError {
    pub vector: String,
    pub reason: String,
}

fn err(vector: &str, reason: impl Into<String>) -> CvssError {
    CvssError {
        vector: vector.to_owned(),
        reason: reason.into(),
    }
}

/// Splits `K:V/K:V/...` into pairs, refusing duplicates and unknown keys.
fn metrics<'a>(
    vector: &str,
    body: &'a str,
    base: &[&str],
    optional: &[&str],
) -> Result<Vec<(&'a str, &'a str)>, CvssError> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for part in body.split('/') {
        let (k, v) = part
            .split_once(':')
            .ok_or_else(|| err(vector, format!("`{part}` is not METRIC:VALUE")))?;
        if !base.contains(&k) && !optional.contains(&k) {
            return Err(err(vector, format!("unknown metric `{k}`")));
        }
        if out.iter().any(|(x, _)| *x == k) {
            return Err(err(vector, format!("metric `{k}` given twice")));
        }
        out.push((k, v));
    }
    for k in base {
        if !out.iter().any(|(x, _)| x == k) {
            return Err(err(vector, format!("base metric `{k}` missing")));
        }
    }
    Ok(out)
}

fn get<'a>(m: &[(&str, &'a str)], k: &str) -> &'a str {
    m.iter().find(|(x, _)| *x == k).map_or("", |(_, v)| v)
}

/// The CVSS v3.x base score of a `CVSS:3.0/...` or `CVSS:3.1/...` vector,
/// with its version (`"3.0"` or `"3.1"`).
///
/// ```
/// let (score, version) = kb::cvss::base_score_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").unwrap();
/// assert_eq!((score, version), (9.8, "3.1"));
/// ```
pub fn base_score_v3(vector: &str) -> Result<(f64, &'static str), CvssError> {
    scores_v3(vector).map(|(scores, version)| (scores.base, version))
}

/// The CVSS v3.x base score and sub-scores of a `CVSS:3.0/...` or `CVSS:3.1/...`
/// vector, with its version.
///
/// ```
/// let (s, _) = kb::cvss::scores_v3("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H").unwrap();
/// assert_eq!((s.base, s.exploitability, s.impact), (8.8, 2.8, 5.9));
/// ```
pub fn scores_v3(vector: &str) -> Result<(Scores, &'static str), CvssError> {
    let v = vector.trim();
    let (version, body) = if let Some(b) = v.strip_prefix("CVSS:3.1/") {
        ("3.1", b)
    } else if let Some(b) = v.strip_prefix("CVSS:3.0/") {
        ("3.0", b)
    } else {
        return Err(err(vector, "does not start with CVSS:3.0/ or CVSS:3.1/"));
    };
    const BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
    const OTHER: [&str; 14] = [
        "E", "RL", "RC", "CR", "IR", "AR", "MAV", "MAC", "MPR", "MUI", "MS", "MC", "MI", "MA",
    ];
    let m = metrics(vector, body, &BASE, &OTHER)?;
    let bad = |k: &str| err(vector, format!("bad value for {k}: `{}`", get(&m, k)));
    let scope_changed = match get(&m, "S") {
        "U" => false,
        "C" => true,
        _ => return Err(bad("S")),
    };
    let av = match get(&m, "AV") {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return Err(bad("AV")),
    };
    let ac = match get(&m, "AC") {
        "L" => 0.77,
        "H" => 0.44,
        _ => return Err(bad("AC")),
    };
    let pr = match (get(&m, "PR"), scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return Err(bad("PR")),
    };
    let ui = match get(&m, "UI") {
        "N" => 0.85,
        "R" => 0.62,
        _ => return Err(bad("UI")),
    };
    let cia = |k: &str| match get(&m, k) {
        "H" => Ok(0.56),
        "L" => Ok(0.22),
        "N" => Ok(0.0),
        _ => Err(bad(k)),
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if scope_changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    let exploitability = 8.22 * av * ac * pr * ui;
    let roundup = |x: f64| {
        if version == "3.1" {
            roundup_31(x)
        } else {
            (x * 10.0).ceil() / 10.0
        }
    };
    let score = if impact <= 0.0 {
        0.0
    } else if scope_changed {
        roundup((1.08 * (impact + exploitability)).min(10.0))
    } else {
        roundup((impact + exploitability).min(10.0))
    };
    let scores = Scores {
        base: score,
        exploitability: one_decimal(exploitability),
        impact: one_decimal(impact.max(0.0)),
    };
    Ok((scores, version))
}

/// CVSS v3.1 Appendix A `Roundup`.
fn roundup_31(x: f64) -> f64 {
    let int_input = (x * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

/// The CVSS v2.0 base score of a vector such as `AV:N/AC:L/Au:N/C:P/I:P/A:P`.
///
/// ```
/// assert_eq!(kb::cvss::base_score_v2("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Ok(7.5));
/// ```
pub fn base_score_v2(vector: &str) -> Result<f64, CvssError> {
    scores_v2(vector).map(|scores| scores.base)
}

/// The CVSS v2.0 base score and sub-scores of a vector.
///
/// ```
/// let s = kb::cvss::scores_v2("AV:L/AC:L/Au:N/C:P/I:N/A:N").unwrap();
/// assert_eq!((s.base, s.exploitability, s.impact), (2.1, 3.9, 2.9));
/// ```
pub fn scores_v2(vector: &str) -> Result<Scores, CvssError> {
    let v = vector.trim();
    let v = v
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(v);
    let v = v.strip_prefix("CVSS:2.0/").unwrap_or(v);
    const BASE: [&str; 6] = ["AV", "AC", "Au", "C", "I", "A"];
    const OTHER: [&str; 8] = ["E", "RL", "RC", "CDP", "TD", "CR", "IR", "AR"];
    let m = metrics(vector, v, &BASE, &OTHER)?;
    let bad = |k: &str| err(vector, format!("bad value for {k}: `{}`", get(&m, k)));
    let av = match get(&m, "AV") {
        "L" => 0.395,
        "A" => 0.646,
        "N" => 1.0,
        _ => return Err(bad("AV")),
    };
    let ac = match get(&m, "AC") {
        "H" => 0.35,
        "M" => 0.61,
        "L" => 0.71,
        _ => return Err(bad("AC")),
    };
    let au = match get(&m, "Au") {
        "M" => 0.45,
        "S" => 0.56,
        "N" => 0.704,
        _ => return Err(bad("Au")),
    };
    let cia = |k: &str| match get(&m, k) {
        "N" => Ok(0.0),
        "P" => Ok(0.275),
        "C" => Ok(0.660),
        _ => Err(bad(k)),
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let impact = 10.41 * (1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a));
    let exploitability = 20.0 * av * ac * au;
    let f: f64 = if impact == 0.0 { 0.0 } else { 1.176 };
    let score: f64 = ((0.6 * impact) + (0.4 * exploitability) - 1.5) * f;
    Ok(Scores {
        base: one_decimal(score).max(0.0),
        exploitability: one_decimal(exploitability),
        impact: one_decimal(impact),
    })
}

/// v3 qualitative level in NVD's spelling (`NONE`, `LOW`, `MEDIUM`, `HIGH`, `CRITICAL`).
pub fn nvd_severity_v3(score: f64) -> &'static str {
    match level_v3(score) {
        "Critical" => "CRITICAL",
        "High" => "HIGH",
        "Medium" => "MEDIUM",
        "Low" => "LOW",
        _ => "NONE",
    }
}

/// v2 qualitative level in NVD's spelling (`LOW`, `MEDIUM`, `HIGH`).
pub fn nvd_severity_v2(score: f64) -> &'static str {
    match level_v2(score) {
        "High" => "HIGH",
        "Medium" => "MEDIUM",
        _ => "LOW",
    }
}

/// v3 qualitative level (`None`, `Low`, `Medium`, `High`, `Critical`).
pub fn level_v3(score: f64) -> &'static str {
    if score >= 9.0 {
        "Critical"
    } else if score >= 7.0 {
        "High"
    } else if score >= 4.0 {
        "Medium"
    } else if score > 0.0 {
        "Low"
    } else {
        "None"
    }
}

/// v2 qualitative level (`Low`, `Medium`, `High`).
pub fn level_v2(score: f64) -> &'static str {
    if score >= 7.0 {
        "High"
    } else if score >= 4.0 {
        "Medium"
    } else {
        "Low"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_scores() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:L/A:N", 3.3),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:A/AC:H/PR:H/UI:N/S:U/C:H/I:N/A:N", 4.2),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:F/RL:O", 7.8),
        ];
        for (v, want) in cases {
            assert_eq!(base_score_v3(v).map(|x| x.0), Ok(want), "{v}");
        }
        for v in [
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:X",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
        ] {
            assert!(base_score_v3(v).is_err(), "{v}");
        }
    }

    #[test]
    fn v2_scores() {
        assert_eq!(base_score_v2("AV:N/AC:L/Au:N/C:C/I:C/A:C"), Ok(10.0));
        assert_eq!(base_score_v2("AV:N/AC:M/Au:N/C:P/I:N/A:N"), Ok(4.3));
        assert_eq!(base_score_v2("(AV:L/AC:L/Au:N/C:N/I:N/A:N)"), Ok(0.0));
        assert!(base_score_v2("AV:N/AC:L/Au:N/C:P/I:P").is_err());
    }

    #[test]
    fn levels() {
        assert_eq!(level_v3(9.0), "Critical");
        assert_eq!(level_v3(6.9), "Medium");
        assert_eq!(level_v3(0.1), "Low");
        assert_eq!(level_v3(0.0), "None");
        assert_eq!(level_v2(9.3), "High");
    }
}
