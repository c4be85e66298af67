//! The workspace's dependency rules (ARCHITECTURE.md, "Dependency rules"), checked over
//! `cargo metadata --format-version 1 --no-deps`: each member's declared dependencies
//! with their kinds. A crate that gains a forbidden dependency fails this test, which
//! names the rule and the edge.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The stages of the data flow, earliest first. A crate's normal (and build)
/// dependencies on workspace crates must come from strictly earlier stages, so no
/// crate depends on a later stage. Every workspace member must be listed here.
const STAGES: &[&[&str]] = &[
    &["model"],
    &["odata", "access"],
    &["kb"],
    &["assess"],
    &["pgclient"],
    &["store"],
    &["ingest"],
    &["feeds"],
    &["emulator"],
    &["snapshot"],
    &["export"],
    &["server"],
    &["identity"],
    &["console"],
    &["agent"],
    &["bench"],
    &["posture"],
    &["testkit"],
];

/// Crates that must do no I/O: pure formats, matching and assessment.
const PURE: &[&str] = &["model", "kb", "assess"];

/// Dependencies that do I/O (files, sockets, processes, databases, mapped files), which
/// the pure crates must not have.
const IO_DEPENDENCIES: &[&str] = &[
    "rusqlite",
    "postgres",
    "tokio",
    "tokio-util",
    "reqwest",
    "hyper",
    "hyper-util",
    "axum",
    "object_store",
    "pgclient",
    "memmap2",
    "tempfile",
    "store",
    "ingest",
    "snapshot",
    "export",
    "server",
    "identity",
    "agent",
    "emulator",
];

/// Source text that means I/O in a pure crate.
const IO_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "File::open",
    "File::create",
];

/// The crates allowed a normal dependency on `store`: `ingest` (the only writer of the
/// store's state), `snapshot` (reads devices and KB records, registers snapshots) and
/// the leaves that assemble a process (`bench`, `posture`, `testkit`). In particular
/// `server` and `identity` reach the store only through `ingest`.
const STORE_USERS: &[&str] = &["ingest", "snapshot", "bench", "posture", "testkit"];

/// The only workspace crates `identity` may depend on: it implements the access
/// contract and must not depend on the API it protects or on the data crates
/// (`pgclient` is the PostgreSQL client support it shares with the store).
const IDENTITY_MAY_USE: &[&str] = &["access", "model", "pgclient"];

/// Binary crates: the only ones that may depend on `bench`.
const BINARIES: &[&str] = &["posture"];

#[derive(Debug)]
struct Dependency {
    name: String,
    /// `None` for a normal dependency, else `"dev"` or `"build"`.
    kind: Option<String>,
    internal: bool,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every workspace member's declared dependencies, by crate name.
fn members() -> BTreeMap<String, Vec<Dependency>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = testkit::tools::run_ok(
        std::process::Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(workspace_root()),
        "cargo metadata",
    );
    let metadata: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .map(|d| {
                    let name = d["name"].as_str().expect("dependency name").to_owned();
                    Dependency {
                        internal: d["path"].is_string() && names.contains(&name.as_str()),
                        kind: d["kind"].as_str().map(str::to_owned),
                        name,
                    }
                })
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

fn stage_of(name: &str) -> Option<usize> {
    STAGES.iter().position(|stage| stage.contains(&name))
}

/// Normal and build dependencies: what the crate's own code (not its tests) links.
fn linked(deps: &[Dependency]) -> impl Iterator<Item = &Dependency> {
    deps.iter().filter(|d| d.kind.as_deref() != Some("dev"))
}

/// Every broken rule, one line each.
fn violations(members: &BTreeMap<String, Vec<Dependency>>) -> Vec<String> {
    let mut broken = Vec::new();
    for (krate, deps) in members {
        let Some(stage) = stage_of(krate) else {
            broken.push(format!(
                "crate `{krate}` has no stage in the data flow (add it to STAGES and ARCHITECTURE.md)"
            ));
            continue;
        };
        for dep in linked(deps) {
            if dep.internal {
                match stage_of(&dep.name) {
                    Some(dep_stage) if dep_stage < stage => {}
                    _ => broken.push(format!(
                        "`{krate}` depends on `{}`, which is not an earlier stage of the data flow",
                        dep.name
                    )),
                }
            }
            if krate == "model" && dep.internal {
                broken.push(format!(
                    "`model` imports nothing internal, but depends on `{}`",
                    dep.name
                ));
            }
            if PURE.contains(&krate.as_str()) && IO_DEPENDENCIES.contains(&dep.name.as_str()) {
                broken.push(format!(
                    "`{krate}` does no I/O, but depends on `{}`",
                    dep.name
                ));
            }
            if dep.name == "store" && !STORE_USERS.contains(&krate.as_str()) {
                broken.push(format!(
                    "`{krate}` depends on `store` directly (only ingest writes the store; use ingest's doors and re-exports)"
                ));
            }
            if krate == "identity" && dep.internal && !IDENTITY_MAY_USE.contains(&dep.name.as_str())
            {
                broken.push(format!(
                    "`identity` depends on the contract only, but depends on `{}`",
                    dep.name
                ));
            }
            if dep.name == "testkit" {
                broken.push(format!(
                    "`{krate}` depends on `testkit` other than as a dev-dependency"
                ));
            }
            if dep.name == "bench" && !BINARIES.contains(&krate.as_str()) {
                broken.push(format!(
                    "library crate `{krate}` depends on `bench` (only the binary may)"
                ));
            }
        }
    }
    broken
}

#[test]
fn dependency_rules_hold() {
    let members = members();
    assert!(
        members.len() >= STAGES.iter().map(|s| s.len()).sum::<usize>(),
        "cargo metadata listed only {:?}",
        members.keys().collect::<Vec<_>>()
    );
    let broken = violations(&members);
    assert!(
        broken.is_empty(),
        "dependency rules broken:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn pure_crates_do_no_io_in_their_source() {
    let mut broken = Vec::new();
    for krate in PURE {
        let mut stack = vec![workspace_root().join("crates").join(krate).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read a source directory") {
                let path = entry.expect("a directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("read a source file");
                    for needle in IO_SOURCE {
                        if text.contains(needle) {
                            broken.push(format!("{} uses {needle}", path.display()));
                        }
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "I/O in a pure crate:\n  {}",
        broken.join("\n  ")
    );
}

/// The rules themselves catch what they are meant to (a rule that cannot fail is no rule).
#[test]
fn each_rule_catches_its_forbidden_edge() {
    let forbidden = [
        ("model", "kb", "imports nothing internal"),
        ("kb", "rusqlite", "does no I/O"),
        ("assess", "tokio", "does no I/O"),
        ("server", "store", "depends on `store` directly"),
        ("identity", "store", "depends on `store` directly"),
        ("snapshot", "server", "not an earlier stage"),
        ("identity", "server", "depends on the contract only"),
        ("export", "testkit", "other than as a dev-dependency"),
        ("server", "bench", "depends on `bench`"),
    ];
    for (krate, dep, rule) in forbidden {
        let mut members = members();
        let internal = members.contains_key(dep);
        members
            .get_mut(krate)
            .expect("a workspace member")
            .push(Dependency {
                name: dep.to_owned(),
                kind: None,
                internal,
            });
        let broken = violations(&members);
        assert!(
            broken.iter().any(|line| line.contains(rule)),
            "`{krate}` -> `{dep}` should break the rule `{rule}`; got {broken:?}"
        );
    }
}
