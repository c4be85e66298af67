//! OSV ecosystems: names, release scopes, package-name normalisation, and
//! each ecosystem's own version order.
//!
//! An OSV ecosystem string is a name, optionally followed by `:` and a scope
//! (a distribution release or product stream). [`Ecosystem::parse`] reads
//! the names Posture matches (case-insensitively, so `pypi` is `PyPI`):
//!
//! | ecosystem string (examples) | variant | version order |
//! |---|---|---|
//! | `Debian`, `Debian:12` | [`Ecosystem::Debian`] | [`crate::dpkg`] |
//! | `Ubuntu:22.04:LTS`, `Ubuntu:24.10`, `Ubuntu:Pro:18.04:LTS` | [`Ecosystem::Ubuntu`] | [`crate::dpkg`] |
//! | `Alpine:v3.19` | [`Ecosystem::Alpine`] | [`crate::apk`] |
//! | `PyPI` | [`Ecosystem::PyPI`] | [`crate::pep440`] |
//! | `npm` | [`Ecosystem::Npm`] | [`crate::semver`] |
//! | `Red Hat:enterprise_linux:9::appstream` | [`Ecosystem::RedHat`] | [`crate::rpm`] |
//! | `Rocky Linux:9` | [`Ecosystem::RockyLinux`] | [`crate::rpm`] |
//! | `AlmaLinux:9` | [`Ecosystem::AlmaLinux`] | [`crate::rpm`] |
//! | anything else (`crates.io`, `Go`, `Maven`, ...) | [`Ecosystem::Other`] (whole string kept) | [`crate::version`] (generic) |
//!
//! # Scopes
//!
//! The scope is kept verbatim (`22.04:LTS`, `v3.19`,
//! `enterprise_linux:9::appstream`). A query ecosystem *covers* a record's
//! ecosystem ([`Ecosystem::covers`]) when the names are equal and the
//! record's scope is absent, or the query's scope is absent, or the record's
//! scope equals the query's or extends it by further `:`-separated
//! components. So `Debian:12` matches records for `Debian:12` and `Debian`
//! (but not `Debian:11`); `Red Hat:enterprise_linux:9` matches
//! `Red Hat:enterprise_linux:9::appstream` and `...::baseos`;
//! `Ubuntu:22.04:LTS` does not match `Ubuntu:Pro:22.04:LTS` (Ubuntu Pro/ESM
//! fixes are a separate stream).
//!
//! # Package names
//!
//! [`Ecosystem::normalize_name`]: PyPI names are normalised as PEP 503 says
//! (lower-case, each run of `-`, `_`, `.` becomes one `-`); every other
//! ecosystem's names are compared exactly as given (npm names are
//! case-sensitive; Debian/Ubuntu/Alpine/RPM names are the distribution's
//! source or binary package names).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// An OSV ecosystem (see the [module documentation](self)).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Ecosystem {
    /// `Debian[:RELEASE]`, e.g. `Debian:12`.
    Debian {
        release: Option<String>,
    },
    /// `Ubuntu[:...]`, e.g. `Ubuntu:22.04:LTS`, `Ubuntu:Pro:18.04:LTS`.
    Ubuntu {
        release: Option<String>,
    },
    /// `Alpine[:vX.Y]`, e.g. `Alpine:v3.19`.
    Alpine {
        release: Option<String>,
    },
    PyPI,
    Npm,
    /// `Red Hat[:CPE-suffix]`, e.g. `Red Hat:enterprise_linux:9::appstream`.
    RedHat {
        stream: Option<String>,
    },
    /// `Rocky Linux[:RELEASE]`.
    RockyLinux {
        release: Option<String>,
    },
    /// `AlmaLinux[:RELEASE]`.
    AlmaLinux {
        release: Option<String>,
    },
    /// Any other ecosystem string, verbatim.
    Other(String),
}

/// The family of an ecosystem: its name without scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Family {
    Debian,
    Ubuntu,
    Alpine,
    PyPI,
    Npm,
    RedHat,
    RockyLinux,
    AlmaLinux,
    Other,
}

/// Which version order an ecosystem uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum VersionOrder {
    Dpkg,
    Rpm,
    Apk,
    Pep440,
    SemVer,
    Generic,
}

/// The ecosystem names [`Ecosystem::parse`] recognises (compared case-insensitively),
/// as OSV spells them; every other name is [`Ecosystem::Other`], which has no
/// advisories or version order of its own.
pub const SUPPORTED_ECOSYSTEMS: [&str; 8] = [
    "Debian",
    "Ubuntu",
    "Alpine",
    "PyPI",
    "npm",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
];

impl VersionOrder {
    /// The order's usual name, for messages (`PEP 440`, `dpkg`, ...).
    pub fn name(self) -> &'static str {
        match self {
            VersionOrder::Dpkg => "dpkg",
            VersionOrder::Rpm => "rpm",
            VersionOrder::Apk => "apk",
            VersionOrder::Pep440 => "PEP 440",
            VersionOrder::SemVer => "SemVer",
            VersionOrder::Generic => "generic",
        }
    }

    /// Whether `version` is a version of this order, with the reason when it is not.
    /// Orders that accept any string (rpm, generic) never refuse; the others refuse
    /// what their reference implementation refuses (and [`compare`](Self::compare)
    /// then falls back to the generic order, whose answer the ecosystem's advisories
    /// were not written for).
    pub fn check(self, version: &str) -> Result<(), String> {
        match self {
            VersionOrder::Dpkg => crate::dpkg::DpkgVersion::parse(version)
                .map(drop)
                .map_err(|e| e.to_string()),
            VersionOrder::Pep440 => crate::pep440::Pep440Version::parse(version)
                .map(drop)
                .map_err(|e| e.to_string()),
            VersionOrder::SemVer => crate::semver::SemVer::parse_loose(version)
                .map(drop)
                .map_err(|e| e.to_string()),
            VersionOrder::Apk if crate::apk::is_valid(version) => Ok(()),
            VersionOrder::Apk => Err("not a valid apk version".into()),
            VersionOrder::Rpm | VersionOrder::Generic => Ok(()),
        }
    }

    /// Compares two versions in this order.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            VersionOrder::Dpkg => crate::dpkg::compare(a, b),
            VersionOrder::Rpm => crate::rpm::compare(a, b),
            VersionOrder::Apk => crate::apk::compare(a, b),
            VersionOrder::Pep440 => crate::pep440::compare(a, b),
            VersionOrder::SemVer => crate::semver::compare(a, b),
            VersionOrder::Generic => crate::version::compare(a, b),
        }
    }
}

fn scope(rest: Option<&str>) -> Option<String> {
    rest.filter(|r| !r.is_empty()).map(str::to_owned)
}

impl Ecosystem {
    /// Reads an OSV ecosystem string (never fails: unknown names become
    /// [`Ecosystem::Other`]; surrounding whitespace is ignored).
    pub fn parse(s: &str) -> Ecosystem {
        let s = s.trim();
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("Debian") {
            Ecosystem::Debian {
                release: scope(rest),
            }
        } else if is("Ubuntu") {
            Ecosystem::Ubuntu {
                release: scope(rest),
            }
        } else if is("Alpine") {
            Ecosystem::Alpine {
                release: scope(rest),
            }
        } else if is("PyPI") && rest.is_none() {
            Ecosystem::PyPI
        } else if is("npm") && rest.is_none() {
            Ecosystem::Npm
        } else if is("Red Hat") {
            Ecosystem::RedHat {
                stream: scope(rest),
            }
        } else if is("Rocky Linux") {
            Ecosystem::RockyLinux {
                release: scope(rest),
            }
        } else if is("AlmaLinux") {
            Ecosystem::AlmaLinux {
                release: scope(rest),
            }
        } else {
            Ecosystem::Other(s.to_owned())
        }
    }

    /// The ecosystem of a device's operating system, from `/etc/os-release`
    /// `ID` and `VERSION_ID`, named as OSV names it:
    ///
    /// * `debian` `12` (or `12.5`) → `Debian:12`;
    /// * `ubuntu` `22.04` → `Ubuntu:22.04:LTS` (April releases of even years,
    ///   and 6.06, are LTS), `24.10` → `Ubuntu:24.10`;
    /// * `alpine` `3.19.1` → `Alpine:v3.19`;
    /// * `rhel` `9.3` → `Red Hat:enterprise_linux:9` (which covers the
    ///   `::baseos` and `::appstream` streams);
    /// * `rocky` `9.3` → `Rocky Linux:9`; `almalinux` `9.3` → `AlmaLinux:9`.
    ///
    /// `None` for other distributions or a version that does not fit.
    pub fn for_distro(id: &str, version_id: &str) -> Option<Ecosystem> {
        let id = id.trim().trim_matches('"').to_ascii_lowercase();
        let v = version_id.trim().trim_matches('"');
        let mut parts = v.split('.');
        let major = parts.next().filter(|p| is_digits(p))?;
        let minor = parts.next().map(|m| {
            let d: String = m.chars().take_while(char::is_ascii_digit).collect();
            d
        });
        match id.as_str() {
            "debian" => Some(Ecosystem::Debian {
                release: Some(major.to_owned()),
            }),
            "ubuntu" => {
                let minor = minor.filter(|m| m.len() == 2)?;
                let year: u32 = major.parse().ok()?;
                let lts = (minor == "04" && year.is_multiple_of(2)) || (year == 6 && minor == "06");
                let release = if lts {
                    format!("{major}.{minor}:LTS")
                } else {
                    format!("{major}.{minor}")
                };
                Some(Ecosystem::Ubuntu {
                    release: Some(release),
                })
            }
            "alpine" => {
                let minor = minor.filter(|m| !m.is_empty())?;
                Some(Ecosystem::Alpine {
                    release: Some(format!("v{major}.{minor}")),
                })
            }
            "rhel" => Some(Ecosystem::RedHat {
                stream: Some(format!("enterprise_linux:{major}")),
            }),
            "rocky" => Some(Ecosystem::RockyLinux {
                release: Some(major.to_owned()),
            }),
            "almalinux" => Some(Ecosystem::AlmaLinux {
                release: Some(major.to_owned()),
            }),
            _ => None,
        }
    }

    /// The family (name without scope).
    pub fn family(&self) -> Family {
        match self {
            Ecosystem::Debian { .. } => Family::Debian,
            Ecosystem::Ubuntu { .. } => Family::Ubuntu,
            Ecosystem::Alpine { .. } => Family::Alpine,
            Ecosystem::PyPI => Family::PyPI,
            Ecosystem::Npm => Family::Npm,
            Ecosystem::RedHat { .. } => Family::RedHat,
            Ecosystem::RockyLinux { .. } => Family::RockyLinux,
            Ecosystem::AlmaLinux { .. } => Family::AlmaLinux,
            Ecosystem::Other(_) => Family::Other,
        }
    }

    /// The OSV name (`Debian`, `PyPI`, `Red Hat`, ...); for
    /// [`Ecosystem::Other`] the whole string.
    pub fn name(&self) -> &str {
        match self {
            Ecosystem::Debian { .. } => "Debian",
            Ecosystem::Ubuntu { .. } => "Ubuntu",
            Ecosystem::Alpine { .. } => "Alpine",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Npm => "npm",
            Ecosystem::RedHat { .. } => "Red Hat",
            Ecosystem::RockyLinux { .. } => "Rocky Linux",
            Ecosystem::AlmaLinux { .. } => "AlmaLinux",
            Ecosystem::Other(s) => s,
        }
    }

    /// The release or stream scope, if any.
    pub fn scope(&self) -> Option<&str> {
        match self {
            Ecosystem::Debian { release }
            | Ecosystem::Ubuntu { release }
            | Ecosystem::Alpine { release }
            | Ecosystem::RockyLinux { release }
            | Ecosystem::AlmaLinux { release } => release.as_deref(),
            Ecosystem::RedHat { stream } => stream.as_deref(),
            Ecosystem::PyPI | Ecosystem::Npm | Ecosystem::Other(_) => None,
        }
    }

    /// `true` for operating-system distributions (whose advisories take
    /// precedence over CPE matches, see [`crate::osv::OsvIndex::supersedes_cpe`]).
    pub fn is_distro(&self) -> bool {
        matches!(
            self.family(),
            Family::Debian
                | Family::Ubuntu
                | Family::Alpine
                | Family::RedHat
                | Family::RockyLinux
                | Family::AlmaLinux
        )
    }

    /// The version order of this ecosystem.
    pub fn version_order(&self) -> VersionOrder {
        match self.family() {
            Family::Debian | Family::Ubuntu => VersionOrder::Dpkg,
            Family::Alpine => VersionOrder::Apk,
            Family::PyPI => VersionOrder::Pep440,
            Family::Npm => VersionOrder::SemVer,
            Family::RedHat | Family::RockyLinux | Family::AlmaLinux => VersionOrder::Rpm,
            Family::Other => VersionOrder::Generic,
        }
    }

    /// Compares two versions in this ecosystem's own order.
    ///
    /// ```
    /// use std::cmp::Ordering::*;
    /// use kb::Ecosystem;
    /// assert_eq!(Ecosystem::parse("Debian:12").compare("1.0~rc1", "1.0"), Less);
    /// assert_eq!(Ecosystem::parse("PyPI").compare("1.0rc1", "1.0"), Less);
    /// assert_eq!(Ecosystem::parse("Alpine:v3.19").compare("1.0_p1", "1.0"), Greater);
    /// ```
    pub fn compare(&self, a: &str, b: &str) -> Ordering {
        self.version_order().compare(a, b)
    }

    /// A package name normalised for lookups (see the [module documentation](self)).
    pub fn normalize_name(&self, name: &str) -> String {
        match self {
            Ecosystem::PyPI => pep503(name),
            _ => name.trim().to_owned(),
        }
    }

    /// Does this (query) ecosystem cover `record`'s ecosystem? (See
    /// "Scopes" in the [module documentation](self).)
    pub fn covers(&self, record: &Ecosystem) -> bool {
        if self.family() != record.family() {
            return false;
        }
        if let (Ecosystem::Other(a), Ecosystem::Other(b)) = (self, record) {
            let base = |s: &str| s.split(':').next().unwrap_or("").to_ascii_lowercase();
            if base(a) != base(b) {
                return false;
            }
            let scope_of = |s: &str| s.split_once(':').map(|(_, r)| r.to_owned());
            return scope_covers(scope_of(a).as_deref(), scope_of(b).as_deref());
        }
        scope_covers(self.scope(), record.scope())
    }
}

fn scope_covers(query: Option<&str>, record: Option<&str>) -> bool {
    match (query, record) {
        (None, _) | (_, None) => true,
        (Some(q), Some(r)) => {
            r == q || (r.len() > q.len() && r.starts_with(q) && r.as_bytes()[q.len()] == b':')
        }
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// PEP 503 normalisation: lower-case, runs of `-`, `_`, `.` become `-`.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ecosystem::Other(s) => f.write_str(s),
            e => match e.scope() {
                Some(s) => write!(f, "{}:{s}", e.name()),
                None => f.write_str(e.name()),
            },
        }
    }
}

impl std::str::FromStr for Ecosystem {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Ecosystem::parse(s))
    }
}

impl From<String> for Ecosystem {
    fn from(s: String) -> Self {
        Ecosystem::parse(&s)
    }
}

impl From<Ecosystem> for String {
    fn from(e: Ecosystem) -> Self {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for s in [
            "Debian",
            "Debian:12",
            "Ubuntu:22.04:LTS",
            "Ubuntu:Pro:FIPS-updates:20.04:LTS",
            "Alpine:v3.19",
            "PyPI",
            "npm",
            "Red Hat:enterprise_linux:9::appstream",
            "Rocky Linux:9",
            "AlmaLinux:8",
            "crates.io",
            "Maven:https://maven.google.com",
        ] {
            assert_eq!(Ecosystem::parse(s).to_string(), s);
        }
        assert_eq!(Ecosystem::parse("pypi"), Ecosystem::PyPI);
        assert_eq!(Ecosystem::parse("NPM").to_string(), "npm");
    }

    #[test]
    fn pep503_names() {
        assert_eq!(pep503("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(pep503("zope.interface"), "zope-interface");
        assert_eq!(pep503("a-_.-b"), "a-b");
        assert_eq!(pep503("PyYAML"), "pyyaml");
    }
}
