//! Tests that need an outside tool (rpm, dpkg, ClamAV, MSAL, DuckDB, moto, Azurite,
//! node CSDL tools, ...) or the shared data directory use these helpers, so that one
//! switch decides what a missing one means: with `POSTURE_REQUIRE_TOOLS=1` (CI, which
//! installs everything) the test fails naming what is missing and how to install it;
//! without it the test prints `SKIPPED: <what>` and the caller returns.

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing tool into a test failure.
pub const REQUIRE_TOOLS_VAR: &str = "POSTURE_REQUIRE_TOOLS";

/// Whether missing tools are failures (`POSTURE_REQUIRE_TOOLS=1`).
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_TOOLS_VAR).is_ok_and(|v| v == "1")
}

/// Gives back `Some(value)` when the tool check found it (`found` is `Some`);
/// otherwise reports it missing: a panic naming `what` and `install` under
/// `POSTURE_REQUIRE_TOOLS=1`, else a printed `SKIPPED: <what>` and `None`, on which
/// the caller returns.
///
/// ```ignore
/// let Some(rpm) = testkit::require_tool("rpm", "apt-get install -y rpm", which("rpm")) else { return };
/// ```
pub fn require_tool<T>(what: &str, install: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    missing(what, install);
    None
}

/// Reports a missing tool found missing by the caller's own check (see [`require_tool`]).
pub fn missing(what: &str, install: &str) {
    if tools_required() {
        panic!("{REQUIRE_TOOLS_VAR}=1 but {what} is missing; install it with: {install}");
    }
    eprintln!("SKIPPED: {what} is missing ({install}; {REQUIRE_TOOLS_VAR}=1 makes this a failure)");
}

/// Runs `command` to completion and gives back its output; panics with `what` and the
/// command's standard error when it cannot start or exits unsuccessfully.
pub fn run_ok(command: &mut std::process::Command, what: &str) -> std::process::Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{what} could not start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The first directory on `PATH` holding an executable named `program`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether `python3` can import every module named.
pub fn python_has(modules: &[&str]) -> bool {
    let script = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    std::process::Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `<shared data>/<relative>` (`relative` may be empty), when it exists; otherwise
/// reported missing as [`require_tool`] does.
pub fn require_shared_data(relative: &str) -> Option<PathBuf> {
    let dir = shared_data_dir().join(relative);
    let found = dir.exists().then_some(dir.clone());
    require_tool(
        &format!("the shared data {}", dir.display()),
        "check out the shared folder beside the repository, or name its data folder in POSTURE_SHARED_DATA",
        found,
    )
}

/// The shared data folder: `POSTURE_SHARED_DATA` when set (a git worktree is not beside
/// the shared folder), else `<workspace>/../shared/data`.
pub fn shared_data_dir() -> PathBuf {
    match std::env::var_os("POSTURE_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        // The testkit crate sits at `<workspace>/crates/testkit`.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}
