//! The dpkg status database (`/var/lib/dpkg/status`).

use crate::util::Ctx;
use model::InstalledSoftware;
use std::collections::BTreeSet;

/// One installed binary package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpkgPackage {
    /// Binary package name (`libssl3`).
    pub name: String,
    /// Full Debian version, `[epoch:]upstream[-revision]` (`1:9.2p1-2+deb12u6`).
    pub version: String,
    pub architecture: String,
    /// Source package name (`openssl`): the `Source:` field, else the binary name.
    pub source: String,
    /// Source package version: the `Source: name (version)` parenthesis, else the
    /// binary version (they differ for binNMUs such as `1.2-3+b1`).
    pub source_version: String,
}

/// Parses a dpkg status file and keeps the installed packages: `Status` with want
/// `install` or `hold`, flag `ok`, and state `installed` (or `triggers-pending` /
/// `triggers-awaited`, which are installed packages waiting for a trigger). Each
/// package name appears once: for a Multi-Arch: same package installed for several
/// architectures (which dpkg requires to share one version) the first stanza wins;
/// other duplicates keep each distinct version.
pub fn parse_status(text: &str) -> Vec<DpkgPackage> {
    let mut out = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for stanza in text.split("\n\n") {
        let mut name = None;
        let mut version = None;
        let mut status = None;
        let mut arch = "";
        let mut source = None;
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                continue; // continuation of a multi-line field
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            match k {
                "Package" => name = Some(v),
                "Version" => version = Some(v),
                "Status" => status = Some(v),
                "Architecture" => arch = v,
                "Source" => source = Some(v),
                _ => {}
            }
        }
        let (Some(name), Some(version), Some(status)) = (name, version, status) else {
            continue;
        };
        if !is_installed(status) || name.is_empty() || version.is_empty() {
            continue;
        }
        if !seen.insert((name.to_owned(), version.to_owned())) {
            continue;
        }
        let (source, source_version) = match source {
            Some(s) => match s.split_once('(') {
                Some((n, rest)) => (
                    n.trim().to_owned(),
                    rest.trim_end().trim_end_matches(')').trim().to_owned(),
                ),
                None => (s.to_owned(), version.to_owned()),
            },
            None => (name.to_owned(), version.to_owned()),
        };
        out.push(DpkgPackage {
            name: name.to_owned(),
            version: version.to_owned(),
            architecture: arch.to_owned(),
            source,
            source_version,
        });
    }
    out
}

fn is_installed(status: &str) -> bool {
    let w: Vec<&str> = status.split_whitespace().collect();
    matches!(
        w.as_slice(),
        [
            "install" | "hold",
            "ok",
            "installed" | "triggers-pending" | "triggers-awaited"
        ]
    )
}

/// Reads the dpkg database under the root; `None` when there is none (not a dpkg system).
pub(crate) fn collect(ctx: &mut Ctx) -> Option<Vec<DpkgPackage>> {
    let path = ctx.path("/var/lib/dpkg/status");
    if !path.exists() {
        return None;
    }
    let text = ctx.read_path_opt(&path)?;
    Some(parse_status(&text))
}

/// The report entry for a binary package: `vendor` = distribution id, `name` = binary
/// package, `version` = full Debian version, `ecosystem` = the OSV ecosystem, no CPE.
///
/// The source package (which Debian's OSV advisories are keyed by) is reported in
/// `source` when it differs from the binary package's name or version.
pub(crate) fn to_software(
    p: &DpkgPackage,
    vendor: &str,
    ecosystem: Option<&str>,
) -> InstalledSoftware {
    let source =
        (p.source != p.name || p.source_version != p.version).then(|| model::SourcePackage {
            name: p.source.clone(),
            version: p.source_version.clone(),
        });
    crate::util::package_entry(vendor, &p.name, &p.version, ecosystem, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stanzas() {
        let text = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u9\nDescription: GNU C Library\n continuation: line\n\n\
Package: libc6\nStatus: install ok installed\nArchitecture: i386\nMulti-Arch: same\nSource: glibc\nVersion: 2.36-9+deb12u9\n\n\
Package: old\nStatus: deinstall ok config-files\nVersion: 1.0\n\n\
Package: held\nStatus: hold ok installed\nVersion: 2:1.0-1+b2\nSource: heldsrc (2:1.0-1)\n\n\
Package: broken\nStatus: install reinstreq half-installed\nVersion: 1\n";
        let p = parse_status(text);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "libc6");
        assert_eq!(p[0].source, "glibc");
        assert_eq!(p[0].source_version, "2.36-9+deb12u9");
        assert_eq!(p[1].version, "2:1.0-1+b2");
        assert_eq!(p[1].source, "heldsrc");
        assert_eq!(p[1].source_version, "2:1.0-1");
    }
}
