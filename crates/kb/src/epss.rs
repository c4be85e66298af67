//! FIRST EPSS daily scores (`epss_scores-YYYY-MM-DD.csv`, decompressed): a comment line
//! `#model_version:...,score_date:...`, the header `cve,epss,percentile`, then one row
//! per CVE. All or nothing, like the other importers.

use crate::import::{ImportError, is_cve_id};
use serde::{Deserialize, Serialize};

/// One CVE's EPSS score on the catalogue's date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpssScore {
    pub cve_id: String,
    /// Probability of exploitation activity in the next 30 days, 0..=1.
    pub score: f64,
    /// Rank among all scored CVEs, 0..=1.
    pub percentile: f64,
    /// The scores' date (`score_date` of the file, `YYYY-MM-DD`).
    pub date: String,
}

fn error(file: &str, line: usize, reason: impl Into<String>) -> ImportError {
    ImportError {
        file: file.to_owned(),
        line,
        column: 1,
        reason: reason.into(),
    }
}

/// Parses a whole EPSS CSV (already decompressed).
pub fn parse_epss(bytes: &[u8], file: &str) -> Result<Vec<EpssScore>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        error(
            file,
            1,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let mut date: Option<String> = None;
    let mut header_seen = false;
    let mut scores = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            date = comment
                .split(',')
                .find_map(|kv| kv.trim().strip_prefix("score_date:"))
                .map(|d| d.get(..10).unwrap_or(d).to_owned())
                .or(date);
            continue;
        }
        if !header_seen {
            if line != "cve,epss,percentile" {
                return Err(error(
                    file,
                    line_no,
                    format!("expected the header cve,epss,percentile, found {line:?}"),
                ));
            }
            header_seen = true;
            continue;
        }
        let Some(date) = date.as_ref() else {
            return Err(error(
                file,
                line_no,
                "no #score_date: line before the scores",
            ));
        };
        let mut fields = line.split(',');
        let (Some(cve), Some(score), Some(percentile), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(error(
                file,
                line_no,
                "expected three fields: cve,epss,percentile",
            ));
        };
        if !is_cve_id(cve) {
            return Err(error(file, line_no, format!("not a CVE id: {cve:?}")));
        }
        let number = |what: &str, s: &str| -> Result<f64, ImportError> {
            s.parse::<f64>()
                .ok()
                .filter(|v| (0.0..=1.0).contains(v))
                .ok_or_else(|| {
                    error(
                        file,
                        line_no,
                        format!("{what} {s:?} is not a number in 0..1"),
                    )
                })
        };
        scores.push(EpssScore {
            cve_id: cve.to_owned(),
            score: number("epss", score)?,
            percentile: number("percentile", percentile)?,
            date: date.clone(),
        });
    }
    if !header_seen {
        return Err(error(
            file,
            1,
            "no cve,epss,percentile header: not an EPSS file",
        ));
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scores_with_the_files_date() {
        let csv = "#model_version:v2025.03.14,score_date:2026-12-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.94358,0.99973\nCVE-2023-2033,0.5,0.9\n";
        let s = parse_epss(csv.as_bytes(), "e.csv").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].date, "2026-12-01");
        assert_eq!(s[0].score, 0.94358);
    }

    #[test]
    fn refuses_a_bad_row_whole() {
        let csv = "#score_date:2026-12-01\ncve,epss,percentile\nCVE-2021-44228,0.9,0.9\nCVE-2021-1,x,0.1\n";
        let e = parse_epss(csv.as_bytes(), "e.csv").unwrap_err();
        assert_eq!((e.line, e.file.as_str()), (4, "e.csv"));
        assert!(parse_epss(b"cve,score\n", "e.csv").is_err());
    }
}
