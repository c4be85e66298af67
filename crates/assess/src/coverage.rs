//! Coverage: which installed software the assessment can say nothing about, and why.
//! Software is assessable through a CPE (NVD matching) or through an ecosystem Posture
//! has advisories and a version order for (OSV matching); anything else is listed,
//! never silently dropped.

use kb::{Cpe, Ecosystem};
use model::InstalledSoftware;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Gap {
    /// No CPE and no package ecosystem: nothing to match against any feed.
    NoCpeOrEcosystem,
    /// The version is empty, so no range can be evaluated.
    EmptyVersion,
    /// The CPE is present but not a parsable CPE 2.3 name.
    UnparsableCpe,
    /// The ecosystem is not one Posture knows a version order for.
    UnsupportedEcosystem,
}

impl Gap {
    pub fn reason(self) -> &'static str {
        match self {
            Gap::NoCpeOrEcosystem => "no CPE and no package ecosystem",
            Gap::EmptyVersion => "empty version",
            Gap::UnparsableCpe => "CPE does not parse",
            Gap::UnsupportedEcosystem => "ecosystem not supported",
        }
    }
}

/// Why `software` cannot be assessed, or `None` when it can.
pub fn gap(software: &InstalledSoftware) -> Option<Gap> {
    if software.version.trim().is_empty() {
        return Some(Gap::EmptyVersion);
    }
    let cpe_ok = software.cpe.as_deref().map(|c| Cpe::parse(c).is_ok());
    let eco_ok = software
        .ecosystem
        .as_deref()
        .map(|e| !matches!(Ecosystem::parse(e), Ecosystem::Other(_)));
    match (cpe_ok, eco_ok) {
        (Some(true), _) | (_, Some(true)) => None,
        (Some(false), _) => Some(Gap::UnparsableCpe),
        (None, Some(false)) => Some(Gap::UnsupportedEcosystem),
        (None, None) => Some(Gap::NoCpeOrEcosystem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(version: &str, cpe: Option<&str>, eco: Option<&str>) -> InstalledSoftware {
        InstalledSoftware {
            vendor: "v".into(),
            name: "n".into(),
            version: version.into(),
            cpe: cpe.map(Into::into),
            ecosystem: eco.map(Into::into),
            disk_paths: vec![],
            registry_paths: vec![],
            end_of_support: None,
            source: None,
        }
    }

    #[test]
    fn every_gap_is_named() {
        assert_eq!(
            gap(&sw("1.0", Some("cpe:2.3:a:v:n:1.0:*:*:*:*:*:*:*"), None)),
            None
        );
        assert_eq!(gap(&sw("1.0", None, Some("PyPI"))), None);
        assert_eq!(gap(&sw("1.0", None, Some("Debian:12"))), None);
        assert_eq!(
            gap(&sw("", Some("cpe:2.3:a:v:n:*:*:*:*:*:*:*:*"), None)),
            Some(Gap::EmptyVersion)
        );
        assert_eq!(gap(&sw("1.0", None, None)), Some(Gap::NoCpeOrEcosystem));
        assert_eq!(
            gap(&sw("1.0", None, Some("Haiku:ports"))),
            Some(Gap::UnsupportedEcosystem)
        );
        assert_eq!(
            gap(&sw("1.0", Some("cpe:/a:v:n"), None)),
            Some(Gap::UnparsableCpe)
        );
    }
}
