//! The collection context: a filesystem root to read from, the warnings gathered so
//! far, and a bounded way to run host programs.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest file the agent reads whole (dpkg status files are a few MiB).
const MAX_FILE: u64 = 256 << 20;

pub(crate) struct Ctx {
    root: PathBuf,
    /// Run host programs (`hostname`, `clamscan`, `nft`, `iptables-save`).
    pub run_commands: bool,
    pub warnings: Vec<String>,
}

impl Ctx {
    pub fn new(root: &Path, run_commands: bool) -> Self {
        Ctx {
            root: root.to_path_buf(),
            run_commands,
            warnings: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `abs` (an absolute path on the device) under the collection root.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.join(abs.trim_start_matches('/'))
    }

    pub fn warn(&mut self, msg: impl Into<String>) {
        let msg = msg.into();
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    pub fn warn_io(&mut self, path: &Path, e: &io::Error) {
        self.warn(format!("could not read {}: {}", path.display(), reason(e)));
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.path(abs).exists()
    }

    /// Reads a file; a missing file is `None` without a warning, any other failure
    /// is `None` with one.
    pub fn read_opt(&mut self, abs: &str) -> Option<String> {
        let p = self.path(abs);
        self.read_path_opt(&p)
    }

    pub fn read_path_opt(&mut self, p: &Path) -> Option<String> {
        match read_limited(p) {
            Ok(s) => Some(s),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                self.warn_io(p, &e);
                None
            }
        }
    }

    /// Reads a file the collection expects to exist: missing is a warning too.
    pub fn read_expected(&mut self, abs: &str) -> Option<String> {
        let p = self.path(abs);
        match read_limited(&p) {
            Ok(s) => Some(s),
            Err(e) => {
                self.warn_io(&p, &e);
                None
            }
        }
    }

    /// Entries of a directory, sorted by name; missing is empty, unreadable warns.
    pub fn list_dir(&mut self, dir: &Path) -> Vec<PathBuf> {
        match std::fs::read_dir(dir) {
            Ok(rd) => {
                let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                v.sort();
                v
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => Vec::new(),
            Err(e) => {
                self.warn_io(dir, &e);
                Vec::new()
            }
        }
    }

    /// Finds a host program by name in `PATH` and the sbin directories (which an
    /// unprivileged `PATH` often lacks). Only when running host programs is allowed.
    pub fn host_program(&self, name: &str) -> Option<PathBuf> {
        if !self.run_commands {
            return None;
        }
        find_program(name)
    }
}

pub(crate) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

pub(crate) fn read_limited(p: &Path) -> io::Result<String> {
    let f = std::fs::File::open(p)?;
    let mut buf = Vec::new();
    f.take(MAX_FILE).read_to_end(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// An io error's reason without the "(os error N)" suffix.
pub(crate) fn reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// What a finished host program gave.
pub(crate) struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a program with a time limit, stdin closed, `LC_ALL=C`.
pub(crate) fn run_program<I, S>(
    program: &Path,
    args: I,
    timeout: Duration,
) -> Result<Output, String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {}", program.display(), reason(&e)))?;
    // Drain the pipes on threads so a chatty program cannot block on a full pipe.
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.take(MAX_FILE).read_to_end(&mut v);
        }
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.take(1 << 20).read_to_end(&mut v);
        }
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} did not finish within {}s",
                    program.display(),
                    timeout.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for {}: {}", program.display(), reason(&e))),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Ok(Output {
        success: status.success(),
        stdout,
        stderr,
    })
}

/// First line of a program's complaint, for a warning.
pub(crate) fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

/// `KEY=value` files (os-release, ufw.conf): unquotes single and double quotes.
pub(crate) fn parse_env_file(text: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, val)) = line.split_once('=') else {
            continue;
        };
        let val = val.trim();
        let val = if val.len() >= 2
            && ((val.starts_with('"') && val.ends_with('"'))
                || (val.starts_with('\'') && val.ends_with('\'')))
        {
            let inner = &val[1..val.len() - 1];
            inner
                .replace("\\\"", "\"")
                .replace("\\$", "$")
                .replace("\\`", "`")
                .replace("\\\\", "\\")
        } else {
            val.to_owned()
        };
        v.push((k.trim().to_owned(), val));
    }
    v
}

/// Removes control characters (which a report refuses) and bounds the length.
pub(crate) fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).collect();
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out.trim().to_owned()
}

/// Whether a process with one of these names (`/proc/PID/comm`) runs under the root.
/// `None` (with a warning) when the process list cannot be seen: no `/proc`, or
/// `hidepid` hiding other users' processes (pid 1 invisible).
pub(crate) fn process_running(ctx: &mut Ctx, names: &[&str]) -> Option<bool> {
    let proc_dir = ctx.path("/proc");
    let pids: Vec<PathBuf> = ctx
        .list_dir(&proc_dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    for p in &pids {
        if let Ok(comm) = std::fs::read_to_string(p.join("comm"))
            && names.contains(&comm.trim())
        {
            return Some(true);
        }
    }
    if pids.is_empty() || !proc_dir.join("1").exists() {
        ctx.warn(format!(
            "could not read the process list in {}: no processes visible (hidepid?)",
            proc_dir.display()
        ));
        return None;
    }
    Some(false)
}

/// A package manager's entry as report software: no CPE (assessed through the
/// ecosystem's advisories), no paths.
pub(crate) fn package_entry(
    vendor: &str,
    name: &str,
    version: &str,
    ecosystem: Option<&str>,
    source: Option<model::SourcePackage>,
) -> model::InstalledSoftware {
    model::InstalledSoftware {
        vendor: vendor.to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        cpe: None,
        ecosystem: ecosystem.map(str::to_owned),
        disk_paths: Vec::new(),
        registry_paths: Vec::new(),
        end_of_support: None,
        source,
    }
}
