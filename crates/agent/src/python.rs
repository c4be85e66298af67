//! Python distributions from site-packages metadata (`*.dist-info/METADATA`,
//! `*.egg-info/PKG-INFO` or a bare `*.egg-info` file).

use crate::util::Ctx;
use model::InstalledSoftware;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// PEP 503 name normalisation: lower case, each run of `-`, `_`, `.` becomes one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// `Name` and `Version` from a core-metadata header block (RFC 822 style, ending at
/// the first blank line).
pub fn parse_metadata(text: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "name" if name.is_none() => name = Some(v.trim().to_owned()),
                "version" if version.is_none() => version = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    match (name, version) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => Some((n, v)),
        _ => None,
    }
}

/// Directories named `python3` or `python3.N` inside `dir`.
fn python3_dirs(ctx: &mut Ctx, dir: &Path) -> Vec<PathBuf> {
    ctx.list_dir(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "python3" || n.starts_with("python3."))
                && p.is_dir()
        })
        .collect()
}

/// Whether a home directory can be searched; an unreadable one is one warning.
fn home_readable(ctx: &mut Ctx, home: &Path) -> bool {
    match std::fs::read_dir(home) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => {
            ctx.warn(format!(
                "could not read {}: {} (Python packages installed there are not inventoried)",
                home.display(),
                crate::util::reason(&e)
            ));
            false
        }
    }
}

/// The site directories to search: the system interpreters' (`/usr/lib/python3*`,
/// `/usr/local/lib/python3*`, `lib64` too, `site-packages` and `dist-packages`),
/// pyenv versions and `~/.local` of `/root`, every `/home/*` and `home` (the
/// invoking user's home when collecting from `/`).
pub(crate) fn site_dirs(ctx: &mut Ctx, home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for base in [
        "/usr/lib",
        "/usr/local/lib",
        "/usr/lib64",
        "/usr/local/lib64",
    ] {
        let base = ctx.path(base);
        for py in python3_dirs(ctx, &base) {
            for sub in ["site-packages", "dist-packages"] {
                dirs.push(py.join(sub));
            }
        }
    }
    let mut homes = vec![ctx.path("/root")];
    let home_base = ctx.path("/home");
    for h in ctx.list_dir(&home_base) {
        if h.is_dir() {
            homes.push(h);
        }
    }
    if let Some(h) = home {
        homes.push(h.to_path_buf());
    }
    let mut seen = BTreeSet::new();
    for h in homes {
        let key = h.canonicalize().unwrap_or_else(|_| h.clone());
        if !seen.insert(key) || !home_readable(ctx, &h) {
            continue;
        }
        for v in ctx.list_dir(&h.join(".pyenv/versions")) {
            for py in python3_dirs(ctx, &v.join("lib")) {
                dirs.push(py.join("site-packages"));
            }
        }
        for py in python3_dirs(ctx, &h.join(".local/lib")) {
            dirs.push(py.join("site-packages"));
        }
    }
    dirs.retain(|d| d.is_dir());
    let mut uniq = BTreeSet::new();
    dirs.retain(|d| uniq.insert(d.canonicalize().unwrap_or_else(|_| d.clone())));
    dirs
}

/// Every distribution in the site directories, deduplicated by (normalised name,
/// version); `diskPaths` lists the site directories holding it.
pub(crate) fn collect(ctx: &mut Ctx, home: Option<&Path>) -> Vec<InstalledSoftware> {
    let mut found: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for dir in site_dirs(ctx, home) {
        for entry in ctx.list_dir(&dir) {
            let Some(fname) = entry.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let meta = if fname.ends_with(".dist-info") {
                entry.join("METADATA")
            } else if fname.ends_with(".egg-info") {
                if entry.is_dir() {
                    entry.join("PKG-INFO")
                } else {
                    entry.clone()
                }
            } else {
                continue;
            };
            let Some(text) = ctx.read_path_opt(&meta) else {
                continue;
            };
            let Some((name, version)) = parse_metadata(&text) else {
                ctx.warn(format!(
                    "could not read {}: no Name and Version headers",
                    meta.display()
                ));
                continue;
            };
            let name = normalize_name(&name);
            let version = crate::util::clean(&version, 200);
            if name.is_empty() || version.is_empty() {
                continue;
            }
            found
                .entry((name, version))
                .or_default()
                .insert(device_path(ctx, &dir));
        }
    }
    found
        .into_iter()
        .map(|((name, version), dirs)| InstalledSoftware {
            vendor: "pypi".to_owned(),
            name,
            version,
            cpe: None,
            ecosystem: Some("PyPI".to_owned()),
            disk_paths: dirs.into_iter().collect(),
            registry_paths: Vec::new(),
            end_of_support: None,
            source: None,
        })
        .collect()
}

/// A path as the device sees it (the collection root stripped).
pub(crate) fn device_path(ctx: &Ctx, p: &Path) -> String {
    match p.strip_prefix(ctx.root()) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => p.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503() {
        assert_eq!(normalize_name("Friendly-Bard"), "friendly-bard");
        assert_eq!(normalize_name("FRIENDLY__bard"), "friendly-bard");
        assert_eq!(normalize_name("friendly.bard"), "friendly-bard");
        assert_eq!(normalize_name("Friendly-._.-Bard"), "friendly-bard");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
    }

    #[test]
    fn metadata_headers() {
        let m = "Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\nSummary: x\n\nName: body\n";
        assert_eq!(parse_metadata(m), Some(("PyYAML".into(), "6.0".into())));
        assert_eq!(parse_metadata("Metadata-Version: 2.1\n"), None);
    }
}
