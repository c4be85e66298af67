//! The rpm database, queried through the `rpm` program (`rpm --dbpath DIR -qa`).

use crate::util::{Ctx, find_program, first_line, run_program};
use model::InstalledSoftware;
use std::path::PathBuf;
use std::time::Duration;

/// Database directories, newest layout first, and the files that mark a database
/// (sqlite: rpm >= 4.16 default; Packages: Berkeley DB; Packages.db: ndb).
const DB_DIRS: [&str; 2] = ["/usr/lib/sysimage/rpm", "/var/lib/rpm"];
const DB_FILES: [&str; 3] = ["rpmdb.sqlite", "Packages", "Packages.db"];

const QUERY_FORMAT: &str = "%{NAME}\\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\\t%{VENDOR}\\n";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    /// `[epoch:]version-release`; a zero epoch is left out, as `rpm -q` prints it
    /// (rpm compares an absent epoch as 0).
    pub version: String,
    /// `%{VENDOR}`, `None` when rpm says `(none)`.
    pub vendor: Option<String>,
}

/// The database directory under the root, if the root has an rpm database.
pub(crate) fn database(ctx: &Ctx) -> Option<PathBuf> {
    DB_DIRS
        .iter()
        .map(|d| ctx.path(d))
        .find(|d| DB_FILES.iter().any(|f| d.join(f).exists()))
}

/// Lists the installed rpm packages. `None` when the root has no rpm database
/// (nothing to read, no warning); a database that cannot be read is a warning.
/// The `rpm` program is the host's, pointed at the root's database with
/// `--dbpath`, so a fixture tree or a mounted image can be inventoried.
pub(crate) fn collect(ctx: &mut Ctx) -> Option<Vec<RpmPackage>> {
    let db = database(ctx)?;
    let Some(rpm) = find_program("rpm") else {
        ctx.warn(format!(
            "could not read the rpm database {}: no rpm program on this host",
            db.display()
        ));
        return None;
    };
    let dbpath = db.to_string_lossy().into_owned();
    let args = ["--dbpath", &dbpath, "-qa", "--queryformat", QUERY_FORMAT];
    match run_program(&rpm, args, Duration::from_secs(120)) {
        Ok(o) if o.success => Some(parse_query(&o.stdout)),
        Ok(o) => {
            ctx.warn(format!(
                "could not read the rpm database {}: rpm failed: {}",
                db.display(),
                first_line(&o.stderr)
            ));
            None
        }
        Err(e) => {
            ctx.warn(format!(
                "could not read the rpm database {}: {e}",
                db.display()
            ));
            None
        }
    }
}

pub fn parse_query(out: &str) -> Vec<RpmPackage> {
    let mut v: Vec<RpmPackage> = Vec::new();
    for line in out.lines() {
        let mut f = line.split('\t');
        let (Some(name), Some(evr)) = (f.next(), f.next()) else {
            continue;
        };
        let vendor = f
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "(none)");
        // gpg-pubkey "packages" are the imported signing keys, not software.
        if name.is_empty() || name == "gpg-pubkey" {
            continue;
        }
        let version = evr.strip_prefix("0:").unwrap_or(evr);
        let (version, name) = (version.trim().to_owned(), name.trim().to_owned());
        if v.iter().any(|p| p.name == name && p.version == version) {
            continue;
        }
        v.push(RpmPackage {
            name,
            version,
            vendor: vendor.map(str::to_owned),
        });
    }
    v
}

/// The report entry: `vendor` = distribution id (as for dpkg; the package's own
/// `%{VENDOR}` is a display name such as "Red Hat, Inc."), no CPE.
pub(crate) fn to_software(
    p: &RpmPackage,
    vendor: &str,
    ecosystem: Option<&str>,
) -> InstalledSoftware {
    crate::util::package_entry(vendor, &p.name, &p.version, ecosystem, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_output() {
        let out = "bash\t0:5.1.8-9.el9\tRocky Enterprise Software Foundation\n\
gpg-pubkey\t0:350d275d-6279f6b6\t(none)\n\
openssl-libs\t1:3.0.7-27.el9\tRocky Enterprise Software Foundation\n\
local\t0:1-1\t(none)\n";
        let p = parse_query(out);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].version, "5.1.8-9.el9");
        assert_eq!(p[1].version, "1:3.0.7-27.el9");
        assert_eq!(p[2].vendor, None);
    }
}
