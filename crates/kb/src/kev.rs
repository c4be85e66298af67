//! Importer for the CISA Known Exploited Vulnerabilities (KEV) catalogue.
//!
//! Input is the catalogue JSON as CISA publishes it:
//! `{"title", "catalogVersion", "dateReleased", "count", "vulnerabilities": [{"cveID",
//! "vendorProject", "product", "vulnerabilityName", "dateAdded", "dueDate",
//! "knownRansomwareCampaignUse", ...}]}`. Unknown fields are ignored; string
//! fields are trimmed (the catalogue has values with trailing spaces).
//!
//! Validation (all-or-nothing, like [`crate::nvd`]): `catalogVersion` and
//! `vulnerabilities` are required; every entry needs a `cveID` of the shape
//! `CVE-YYYY-NNNN…` and a `dateAdded` `YYYY-MM-DD`; a `dueDate`, if present
//! and non-empty, must be a date too. `count` is not checked against the
//! number of entries (it is informational). `ransomware` is `true` exactly
//! when `knownRansomwareCampaignUse` is `Known` (any case).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::import::{ImportError, Source, is_cve_id};

/// A KEV catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevCatalog {
    /// `catalogVersion`, e.g. `2025.08.25`.
    pub version: String,
    /// `dateReleased` as published (e.g. `2025-08-25T17:04:19.9796Z`), if present.
    pub date_released: Option<String>,
    pub entries: Vec<KevEntry>,
}

/// One catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve_id: String,
    pub date_added: NaiveDate,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
    pub vendor_project: String,
    pub product: String,
    /// `vulnerabilityName` (empty when absent).
    #[serde(default)]
    pub vulnerability_name: String,
    /// `dueDate`, if present.
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

impl KevCatalog {
    /// The entry for `cve_id` (linear search; see [`KevCatalog::index`]).
    pub fn get(&self, cve_id: &str) -> Option<&KevEntry> {
        self.entries.iter().find(|e| e.cve_id == cve_id)
    }

    /// A map from CVE id to entry (the first entry wins on duplicates).
    pub fn index(&self) -> HashMap<&str, &KevEntry> {
        let mut map = HashMap::with_capacity(self.entries.len());
        for e in &self.entries {
            map.entry(e.cve_id.as_str()).or_insert(e);
        }
        map
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top<'a> {
    catalog_version: Option<String>,
    date_released: Option<String>,
    #[serde(borrow)]
    vulnerabilities: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: Option<String>,
    vendor_project: Option<String>,
    product: Option<String>,
    vulnerability_name: Option<String>,
    date_added: Option<String>,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
}

fn trimmed(s: Option<String>) -> String {
    match s {
        Some(s) => {
            let t = s.trim();
            if t.len() == s.len() { s } else { t.to_owned() }
        }
        None => String::new(),
    }
}

/// Parses a KEV catalogue (see the [module documentation](self)).
pub fn parse_kev(bytes: &[u8], file_name: &str) -> Result<KevCatalog, ImportError> {
    let src = Source::decode(bytes, file_name)?;
    let top: Top<'_> =
        serde_json::from_str(src.text).map_err(|e| src.json_error(&e, 0, "document"))?;
    let start = src.text.len() - src.text.trim_start().len();
    let version = trimmed(top.catalog_version);
    if version.is_empty() {
        return Err(src.error_at(
            start,
            "not a KEV catalogue: missing or empty `catalogVersion`",
        ));
    }
    let Some(items) = top.vulnerabilities else {
        return Err(src.error_at(
            start,
            "not a KEV catalogue: missing `vulnerabilities` array",
        ));
    };
    let mut entries = Vec::with_capacity(items.len());
    for (i, raw) in items.iter().enumerate() {
        let text = raw.get();
        let base = src.offset_of(text);
        let ctx = format!("vulnerabilities[{i}]");
        let e: RawEntry = serde_json::from_str(text).map_err(|e| src.json_error(&e, base, &ctx))?;
        let cve_id = trimmed(e.cve_id);
        if !is_cve_id(&cve_id) {
            return Err(src.error_at(
                src.find_in(text, "\"cveID\""),
                format!("{ctx}: `cveID` `{cve_id}` is not a CVE id (CVE-YYYY-NNNN)"),
            ));
        }
        let date = |name: &str, v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                src.error_at(
                    src.find_in(text, &format!("\"{name}\"")),
                    format!("{ctx} ({cve_id}): `{name}` is not a date (YYYY-MM-DD): `{v}`"),
                )
            })
        };
        let date_added = date("dateAdded", &trimmed(e.date_added))?;
        let due = trimmed(e.due_date);
        let due_date = if due.is_empty() {
            None
        } else {
            Some(date("dueDate", &due)?)
        };
        let ransomware = trimmed(e.known_ransomware_campaign_use).eq_ignore_ascii_case("known");
        entries.push(KevEntry {
            cve_id,
            date_added,
            ransomware,
            vendor_project: trimmed(e.vendor_project),
            product: trimmed(e.product),
            vulnerability_name: trimmed(e.vulnerability_name),
            due_date,
        });
    }
    Ok(KevCatalog {
        version,
        date_released: top.date_released.map(|s| s.trim().to_owned()),
        entries,
    })
}
