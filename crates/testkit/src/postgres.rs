//! A throwaway PostgreSQL server for tests: `initdb` into a temporary directory and
//! `pg_ctl start` on a free loopback port, as an unprivileged user when the tests run as
//! root (PostgreSQL refuses to run as root). One cluster per test binary
//! ([`shared`]), one fresh database per test ([`Cluster::fresh_database`]).
//!
//! The binaries are found on `PATH`, in `/usr/local/bin`, or in Debian's
//! `/usr/lib/postgresql/<version>/bin`; when missing the test is skipped, or fails under
//! `POSTURE_REQUIRE_TOOLS=1` (see [`crate::tools`]).
//!
//! A [`Cluster`] stops its server when dropped. The shared cluster lives in a static,
//! which is never dropped, so a watchdog process stops it (and removes its directory)
//! once the test process has exited, however it exited.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// How to install the server where it is missing.
pub const INSTALL: &str = "apt-get install -y postgresql";

/// A running PostgreSQL cluster owned by this process.
pub struct Cluster {
    /// The temporary directory holding the data directory, socket and log.
    root: PathBuf,
    bin: PathBuf,
    /// The user the server runs as when we are root (`None`: as ourselves).
    run_as: Option<String>,
    port: u16,
    next_db: AtomicU32,
    /// Whether `Drop` stops the server (the shared cluster's watchdog does it instead).
    stop_on_drop: bool,
}

/// The cluster shared by every test of this test binary, started on first use; `None`
/// (after printing `SKIPPED`) when PostgreSQL is not installed and tools are not required.
pub fn shared() -> Option<&'static Cluster> {
    static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let bin =
                crate::require_tool("PostgreSQL (initdb, pg_ctl, postgres)", INSTALL, bin_dir())?;
            let cluster = Cluster::start_in(bin, false)
                .unwrap_or_else(|e| panic!("cannot start a test PostgreSQL cluster: {e}"));
            cluster.watch_this_process();
            Some(cluster)
        })
        .as_ref()
}

/// A URL of a new, empty database in the shared cluster, or `None` when skipped.
pub fn fresh_database() -> Option<String> {
    shared().map(Cluster::fresh_database)
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
pub fn bin_dir() -> Option<PathBuf> {
    let has_all = |dir: &Path| {
        ["initdb", "pg_ctl", "postgres"]
            .iter()
            .all(|p| dir.join(p).is_file())
    };
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(initdb) = crate::tools::which("initdb") {
        // Follow the Debian symlinks to the versioned directory.
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = real.parent() {
            candidates.push(dir.to_owned());
        }
    }
    candidates.push(PathBuf::from("/usr/local/bin"));
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates.into_iter().find(|d| has_all(d))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Cluster {
    /// Starts a new cluster in a new temporary directory; stopped when dropped.
    pub fn start() -> Result<Cluster, String> {
        let bin = bin_dir().ok_or_else(|| format!("PostgreSQL is not installed ({INSTALL})"))?;
        Cluster::start_in(bin, true)
    }

    fn start_in(bin: PathBuf, stop_on_drop: bool) -> Result<Cluster, String> {
        let root = std::env::temp_dir().join(format!(
            "posture-pg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
        std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
        let run_as = if is_root() {
            let user = "nobody".to_owned();
            let (uid, gid) = ids_of(&user)?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", root.display()))?;
            Some(user)
        } else {
            None
        };
        let mut cluster = Cluster {
            root,
            bin,
            run_as,
            port: 0,
            next_db: AtomicU32::new(0),
            stop_on_drop,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        )?;
        // A free port can be taken between probing and binding: try a few.
        let mut last = String::new();
        for _ in 0..5 {
            cluster.port = crate::free_port().map_err(|e| format!("no free loopback port: {e}"))?;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
                cluster.port,
                cluster.root.display()
            );
            match cluster.run(
                "pg_ctl",
                &[
                    "-D",
                    &cluster.data().display().to_string(),
                    "-l",
                    &cluster.root.join("server.log").display().to_string(),
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name` as the superuser `postgres`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new empty database and gives its URL.
    pub fn fresh_database(&self) -> String {
        let n = self.next_db.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{}_{n}", std::process::id());
        self.psql("postgres", &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        self.url(&name)
    }

    /// Runs SQL in database `db` with `psql` (as the server's superuser).
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let psql = self.bin.join("psql");
        let psql = if psql.is_file() {
            psql
        } else {
            crate::tools::which("psql").ok_or("psql is missing")?
        };
        let out = Command::new(psql)
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", "postgres", "-d", db, "-c", sql])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log")).unwrap_or_default()
    }

    /// Runs one of the server's programs as the server's user, output captured.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let out = self
            .command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} failed: {}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.log()
            ))
        }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        command.current_dir(&self.root);
        command
    }

    /// The shell command that stops the server at once and removes its directory.
    fn stop_script(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let prefix = match &self.run_as {
            Some(user) => format!("runuser -u {user} -- "),
            None => String::new(),
        };
        format!(
            "{prefix}'{}' -D '{}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{}'",
            pg_ctl.display(),
            self.data().display(),
            self.root.display()
        )
    }

    /// Starts a detached watchdog that stops the cluster once this process is gone.
    fn watch_this_process(&self) {
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 0.5; done; {}",
            std::process::id(),
            self.stop_script()
        );
        let spawned = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            eprintln!("warning: no watchdog for the test PostgreSQL cluster: {e}");
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.stop_on_drop {
            let _ = Command::new("sh")
                .args(["-c", &self.stop_script()])
                .stdin(Stdio::null())
                .status();
        }
    }
}

/// The uid and gid of `user` (from `id`).
fn ids_of(user: &str) -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| format!("id {flag} {user}: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("no user {user} to run PostgreSQL as"))
    };
    Ok((id("-u")?, id("-g")?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cluster_starts_serves_fresh_databases_and_stops_on_drop() {
        let Some(bin) = crate::require_tool(
            "PostgreSQL (initdb, pg_ctl, postgres)",
            super::INSTALL,
            super::bin_dir(),
        ) else {
            return;
        };
        let cluster = super::Cluster::start_in(bin, true).unwrap();
        let a = cluster.fresh_database();
        let b = cluster.fresh_database();
        assert_ne!(a, b);
        let db = a.rsplit('/').next().unwrap();
        assert_eq!(cluster.psql(db, "SELECT 1 + 1").unwrap().trim(), "2");
        let root = cluster.root.clone();
        let port = cluster.port();
        drop(cluster);
        assert!(!root.exists(), "the cluster's directory is removed");
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server is stopped"
        );
    }
}
