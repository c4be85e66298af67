//! Support shared by the multi-process tests (`nodes.rs`, `cluster.rs`): a child
//! process whose JSON log lines are collected, a `posture serve` process killed when
//! dropped, and waiting for a condition.

#![allow(dead_code)]

use serde_json::Value;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process killed (SIGKILL) when dropped, whose JSON log lines (stderr) are
/// collected with the time each was read.
pub struct Node {
    pub name: &'static str,
    pub child: Child,
    events: Arc<Mutex<Vec<(Instant, Value)>>>,
}

impl Node {
    pub fn start(name: &'static str, mut command: Command) -> Node {
        let mut child = command
            .args(["--log", "info", "--log-json"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let event = serde_json::from_str(&line).unwrap_or(Value::String(line));
                sink.lock().unwrap().push((Instant::now(), event));
            }
        });
        Node {
            name,
            child,
            events,
        }
    }

    /// The first event after `since` whose message is `message`.
    pub fn event(&self, message: &str, since: Instant) -> Option<(Instant, Value)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .find(|(t, e)| *t >= since && message_of(e) == message)
            .cloned()
    }

    pub fn all(&self, message: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| message_of(e) == message)
            .map(|(_, e)| e.clone())
            .collect()
    }

    pub fn log(&self) -> String {
        let events = self.events.lock().unwrap();
        let lines: Vec<String> = events.iter().map(|(_, e)| e.to_string()).collect();
        format!("--- {} ---\n{}", self.name, lines.join("\n"))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `posture serve` process on a free loopback port, killed (SIGKILL) when dropped,
/// so a failing test leaves no server behind.
pub struct Server {
    pub child: Child,
    /// Where it listens (`http://127.0.0.1:PORT`), even when `--base-url` names a
    /// public address.
    pub base: String,
}

impl Server {
    /// Starts `command` (`posture ... serve ...`, without `--listen`) and waits until
    /// it prints its URL (once it listens).
    pub fn start(mut command: Command) -> Server {
        let port = testkit::free_port().expect("a free loopback port");
        let mut child = command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        assert!(!line.trim().is_empty(), "the server did not start");
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn message_of(e: &Value) -> String {
    match e {
        Value::String(s) => s.clone(),
        e => e["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Waits (up to `limit`) for `found` to give a value.
pub fn wait_for<T>(what: &str, limit: Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = found() {
            return v;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A client-credentials token from the token endpoint at `base` for `app` (as printed by
/// `apps create --json`).
pub fn token(base: &str, app: &serde_json::Value) -> String {
    let r: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            base,
            app["tenantId"].as_str().unwrap()
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app["clientId"].as_str().unwrap()),
            ("client_secret", app["secret"].as_str().unwrap()),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    r["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {r}"))
        .to_owned()
}
