//! Posture's knowledge base: vulnerability feeds and how installed software
//! is matched against them.
//!
//! * [`version`]: a total order for software version strings as they appear
//!   in CPE names and NVD ranges ([`version::compare`], [`Version`]).
//! * [`cpe`]: CPE 2.3 formatted-string names ([`Cpe`], [`Component`]) and
//!   criteria-vs-target component matching.
//! * [`nvd`]: importer for NVD CVE API 2.0 JSON ([`parse_nvd`]) into
//!   [`CveRecord`]s: description, chosen CVSS metric, CWEs, configurations,
//!   exploit references.
//! * [`kev`]: importer for the CISA KEV catalogue ([`parse_kev`]).
//! * [`epss`]: importer for FIRST EPSS daily scores ([`parse_epss`]).
//! * [`exploit`]: MDE's exploitability level from a record and its KEV entry
//!   ([`exploitability`]).
//! * [`matcher`]: an index over records that finds the CVEs an installed
//!   software CPE is vulnerable to on a given platform ([`Matcher`]), with the
//!   evidence (feed, record, criteria, range) of each match.
//! * [`osv`]: importer for OSV records, single files and `all.zip`
//!   ([`parse_osv`], [`parse_osv_zip`]) into [`OsvRecord`]s, and
//!   [`OsvIndex`], which matches a package (ecosystem, name, version) with the
//!   ecosystem's own version order and says when a distribution's advisories
//!   supersede CPE matches.
//! * [`ecosystem`]: OSV ecosystems ([`Ecosystem`]), their release scopes,
//!   package-name normalisation and version orders; [`Ecosystem::for_distro`]
//!   maps `/etc/os-release` to OSV's names.
//! * Version orders of the ecosystems, each matching its reference
//!   implementation: [`dpkg`] (Debian, Ubuntu), [`rpm`] (Red Hat, Rocky,
//!   Alma), [`pep440`] (PyPI), [`semver`] (npm, SEMVER ranges), [`apk`]
//!   (Alpine).
//! * [`shape`]: the shape of a set of NVD records (criteria per record, ranges,
//!   exact versions, AND/platform nodes), measured to calibrate and check the
//!   emulator's NVD-sized synthetic knowledge base ([`shape::ShapeStats`]).
//! * [`cvss`]: CVSS v3.x and v2 base-score calculators for vector strings.
//! * [`coverage`]: whether installed software can be assessed at all, and why
//!   not ([`coverage::classify`]), shared by `posture coverage` and the report
//!   API's warnings.
//!
//! Importers are all-or-nothing: a malformed, truncated or semantically
//! invalid file yields an [`ImportError`] (`file:line:column: reason`) and no
//! records. Every record type is `Serialize + Deserialize + Clone + Debug` so
//! a store can persist it as JSON. The crate does no I/O beyond the optional
//! reader variant [`nvd::parse_nvd_reader`].

pub mod apk;
pub mod coverage;
pub mod cpe;
pub mod cvss;
pub mod dpkg;
pub mod ecosystem;
pub mod epss;
pub mod exploit;
mod import;
pub mod kev;
pub mod matcher;
pub mod nvd;
pub mod osv;
pub mod pep440;
pub mod rpm;
pub mod semver;
pub mod shape;
pub mod version;

pub use cpe::{Component, Cpe, CpeError, TargetOs};
pub use ecosystem::{Ecosystem, Family, SUPPORTED_ECOSYSTEMS, VersionOrder};
pub use epss::{EpssScore, parse_epss};
pub use exploit::{Exploitability, exploitability};
pub use import::ImportError;
pub use kev::{KevCatalog, KevEntry, parse_kev};
pub use matcher::{Evidence, Match, Matcher};
pub use nvd::{
    Configuration, CpeMatch, CveRecord, Cvss, Node, Operator, parse_nvd, parse_nvd_reader,
};
pub use osv::{
    Affected, Event, OsvIndex, OsvMatch, OsvRecord, OsvSeverity, Range, RangeKind, parse_osv,
    parse_osv_zip,
};
pub use version::{Version, compare as compare_versions};
