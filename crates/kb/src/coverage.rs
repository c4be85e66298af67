//! Coverage: whether installed software can be assessed at all, and if not, why.
//!
//! Software is assessable through a CPE (NVD matching, the generic version order) or
//! through an ecosystem Posture has advisories and a version order for (OSV matching,
//! the ecosystem's own order). This is the one classification: `assess::coverage`
//! (`posture coverage`) and the report API's warnings (`ingest`) both call
//! [`classify`], so they always give the same answer and the same reason.
//!
//! The order of the tests, which decides the reason when several apply:
//!
//! 1. an empty version ([`Gap::EmptyVersion`]): no range can be evaluated either way;
//! 2. a CPE that parses, or a supported ecosystem whose compared version parses in its
//!    order: assessable;
//! 3. otherwise the CPE's parse error ([`Gap::UnparsableCpe`]), else the ecosystem's
//!    problem ([`Gap::UnsupportedEcosystem`], [`Gap::UnparsableVersion`]), else
//!    [`Gap::NoCpeOrEcosystem`].

use serde::Serialize;

use crate::cpe::Cpe;
use crate::ecosystem::{Ecosystem, SUPPORTED_ECOSYSTEMS};

/// The fields of one installed software item that decide whether it can be assessed.
#[derive(Clone, Copy, Debug)]
pub struct SoftwareFields<'a> {
    /// The reported version (`software[i].version`).
    pub version: &'a str,
    /// The reported CPE 2.3 name, if any.
    pub cpe: Option<&'a str>,
    /// The reported package ecosystem, if any.
    pub ecosystem: Option<&'a str>,
    /// The source package's version, if reported: a distribution's advisories are
    /// matched on it instead of `version`.
    pub source_version: Option<&'a str>,
}

/// Why software cannot be assessed.
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
    /// The ecosystem is supported but the version is not one of its version order.
    UnparsableVersion,
}

impl Gap {
    /// A short reason, the same for every item with this gap (for totals by reason).
    pub fn reason(self) -> &'static str {
        match self {
            Gap::NoCpeOrEcosystem => "no CPE and no package ecosystem",
            Gap::EmptyVersion => "empty version",
            Gap::UnparsableCpe => "CPE does not parse",
            Gap::UnsupportedEcosystem => "ecosystem not supported",
            Gap::UnparsableVersion => "version does not parse in the ecosystem's version order",
        }
    }
}

/// One item that cannot be assessed: the gap, and what [`detail`](Self::detail) needs to
/// name the offending value. Cheap to make (no text is built until asked for), as the
/// report API classifies every item of every report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unassessable<'a> {
    pub gap: Gap,
    cause: Cause<'a>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Cause<'a> {
    /// The gap's own words suffice.
    Plain,
    /// The CPE parser's reason.
    Cpe(String),
    /// The ecosystem as reported.
    Ecosystem(&'a str),
    /// The ecosystem's name, its version order and the order's reason.
    Version {
        ecosystem: String,
        order: &'static str,
        why: String,
    },
}

impl Unassessable<'_> {
    /// The short reason followed by what the reporter needs to fix the item (the CPE
    /// parse error, the supported ecosystem names, the version order).
    pub fn detail(&self) -> String {
        let specifics = match &self.cause {
            Cause::Plain => match self.gap {
                Gap::EmptyVersion => {
                    "no version range can be evaluated; report the installed version".into()
                }
                _ => format!(
                    "nothing to match against any feed; give a cpe (cpe:2.3:a:vendor:product:version:...) or an ecosystem ({})",
                    SUPPORTED_ECOSYSTEMS.join(", ")
                ),
            },
            Cause::Cpe(why) => why.clone(),
            Cause::Ecosystem(text) => format!(
                "{text:?} is not one of {} (case-insensitive; all but PyPI and npm may carry a release after a colon, as in Debian:12)",
                SUPPORTED_ECOSYSTEMS.join(", ")
            ),
            Cause::Version {
                ecosystem,
                order,
                why,
            } => format!("{ecosystem} uses the {order} order: {why}"),
        };
        format!("{}: {specifics}", self.gap.reason())
    }
}

/// Why `software` cannot be assessed, or `None` when it can (see the
/// [module documentation](self) for the order of the tests).
pub fn classify<'a>(software: &SoftwareFields<'a>) -> Option<Unassessable<'a>> {
    let found = |gap: Gap, cause: Cause<'a>| Some(Unassessable { gap, cause });
    if software.version.trim().is_empty() {
        return found(Gap::EmptyVersion, Cause::Plain);
    }
    let cpe = software.cpe.map(Cpe::parse);
    if matches!(cpe, Some(Ok(_))) {
        return None;
    }
    let ecosystem_problem = match software.ecosystem {
        None => None,
        Some(text) => match Ecosystem::parse(text) {
            Ecosystem::Other(_) => Some((Gap::UnsupportedEcosystem, Cause::Ecosystem(text))),
            eco => {
                // A distribution's advisories are matched on the source package's version.
                let compared = match software.source_version {
                    Some(source) if eco.is_distro() => source,
                    _ => software.version,
                };
                let order = eco.version_order();
                match order.check(compared) {
                    Ok(()) => return None,
                    Err(why) => Some((
                        Gap::UnparsableVersion,
                        Cause::Version {
                            ecosystem: eco.name().to_owned(),
                            order: order.name(),
                            why,
                        },
                    )),
                }
            }
        },
    };
    match (cpe, ecosystem_problem) {
        (Some(Err(e)), _) => found(Gap::UnparsableCpe, Cause::Cpe(e.reason)),
        (_, Some((gap, cause))) => found(gap, cause),
        (_, None) => found(Gap::NoCpeOrEcosystem, Cause::Plain),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(
        version: &'a str,
        cpe: Option<&'a str>,
        ecosystem: Option<&'a str>,
    ) -> SoftwareFields<'a> {
        SoftwareFields {
            version,
            cpe,
            ecosystem,
            source_version: None,
        }
    }

    fn gap(f: SoftwareFields<'_>) -> Option<Gap> {
        classify(&f).map(|u| u.gap)
    }

    #[test]
    fn assessable_software_has_no_gap() {
        let cpe = Some("cpe:2.3:a:v:n:1.0:*:*:*:*:*:*:*");
        assert_eq!(gap(fields("1.0", cpe, None)), None);
        assert_eq!(gap(fields("1.0", None, Some("PyPI"))), None);
        assert_eq!(gap(fields("1.0", None, Some("pypi"))), None);
        assert_eq!(
            gap(fields("1:2.36-9+deb12u4", None, Some("Debian:12"))),
            None
        );
        assert_eq!(gap(fields("4.17.21", None, Some("npm"))), None);
        // A parsable CPE is enough, whatever the ecosystem says.
        assert_eq!(gap(fields("not a version", cpe, Some("PyPI"))), None);
        assert_eq!(gap(fields("1.0", cpe, Some("pip"))), None);
    }

    #[test]
    fn every_gap_is_named_with_its_specifics() {
        let u = classify(&fields("", Some("cpe:2.3:a:v:n:*:*:*:*:*:*:*:*"), None)).unwrap();
        assert_eq!(u.gap, Gap::EmptyVersion);

        let u = classify(&fields("1.0", None, None)).unwrap();
        assert_eq!(u.gap, Gap::NoCpeOrEcosystem);
        assert!(u.detail().contains("PyPI"), "{}", u.detail());

        let u = classify(&fields("1.0", None, Some("pip"))).unwrap();
        assert_eq!(u.gap, Gap::UnsupportedEcosystem);
        assert!(u.detail().contains("\"pip\""), "{}", u.detail());
        for name in SUPPORTED_ECOSYSTEMS {
            assert!(u.detail().contains(name), "{name} missing: {}", u.detail());
        }
        // PyPI takes no scope: `PyPI:3.11` is not PyPI.
        assert_eq!(
            gap(fields("1.0", None, Some("PyPI:3.11"))),
            Some(Gap::UnsupportedEcosystem)
        );

        let u = classify(&fields("1.0", Some("cpe:2.3:a:v::1.0"), None)).unwrap();
        assert_eq!(u.gap, Gap::UnparsableCpe);
        assert!(
            u.detail().contains("empty product component"),
            "{}",
            u.detail()
        );

        let u = classify(&fields("not-a-version!", None, Some("PyPI"))).unwrap();
        assert_eq!(u.gap, Gap::UnparsableVersion);
        assert!(u.detail().contains("PEP 440"), "{}", u.detail());
        assert_eq!(
            gap(fields("1.0 beta", None, Some("Debian:12"))),
            Some(Gap::UnparsableVersion)
        );
        assert_eq!(
            gap(fields("latest", None, Some("npm"))),
            Some(Gap::UnparsableVersion)
        );
        assert_eq!(
            gap(fields("1.0-r0-x", None, Some("Alpine:v3.19"))),
            Some(Gap::UnparsableVersion)
        );
        // rpm accepts any string.
        assert_eq!(
            gap(fields("anything at all", None, Some("Rocky Linux:9"))),
            None
        );
    }

    #[test]
    fn a_distribution_package_is_judged_by_its_source_version() {
        let mut f = fields("1.0 beta", None, Some("Debian:12"));
        f.source_version = Some("1.0~beta-1");
        assert_eq!(gap(f), None);
        f.source_version = Some("1.0 beta-1");
        assert_eq!(gap(f), Some(Gap::UnparsableVersion));
        // PyPI is no distribution: its own version counts.
        let mut f = fields("1.0", None, Some("PyPI"));
        f.source_version = Some("not a version");
        assert_eq!(gap(f), None);
    }

    #[test]
    fn an_unparsable_cpe_is_named_before_the_ecosystem() {
        assert_eq!(
            gap(fields("1.0", Some("cpe:2.3:a:v::1.0"), Some("pip"))),
            Some(Gap::UnparsableCpe)
        );
    }
}
