//! Coverage: which installed software the assessment can say nothing about, and why.
//! Software is assessable through a CPE (NVD matching) or through an ecosystem Posture
//! has advisories and a version order for (OSV matching); anything else is listed,
//! never silently dropped. The classification itself is [`kb::coverage`], shared with
//! the report API's warnings; this module applies it to a report's software.

use model::InstalledSoftware;

pub use kb::coverage::{Gap, Unassessable};

/// The fields of `software` the classification looks at.
pub fn fields(software: &InstalledSoftware) -> kb::coverage::SoftwareFields<'_> {
    kb::coverage::SoftwareFields {
        version: &software.version,
        cpe: software.cpe.as_deref(),
        ecosystem: software.ecosystem.as_deref(),
        source_version: software.source.as_ref().map(|s| s.version.as_str()),
    }
}

/// Why `software` cannot be assessed, or `None` when it can ([`kb::coverage::classify`]).
pub fn gap(software: &InstalledSoftware) -> Option<Gap> {
    kb::coverage::classify(&fields(software)).map(|u| u.gap)
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
        assert_eq!(
            gap(&sw("1.0", None, Some("pip"))),
            Some(Gap::UnsupportedEcosystem)
        );
        assert_eq!(
            gap(&sw("latest", None, Some("PyPI"))),
            Some(Gap::UnparsableVersion)
        );
    }
}
