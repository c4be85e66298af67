//! The agent's state directory: the last sequence number used, and the request body
//! that has not been acknowledged yet.
//!
//! * `state.json` — `{"lastSequence": n, "deviceId": "..."}`; written (atomically,
//!   fsynced) *before* a report with that sequence is sent, so no two different
//!   reports ever carry the same sequence, even across a crash.
//! * `pending.ndjson.gz` — the exact request body of reports sent but not yet
//!   acknowledged; the next attempt (in this run or the next) sends these bytes
//!   again before anything new, so a retry is the same report with the same
//!   sequence, which the server applies once.
//! * `lock` — held (`flock`) while an agent uses the directory.

use crate::post::AgentError;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

const STATE: &str = "state.json";
const PENDING: &str = "pending.ndjson.gz";

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StateFile {
    last_sequence: u64,
    #[serde(default)]
    device_id: Option<String>,
}

pub struct StateDir {
    dir: PathBuf,
    _lock: File,
}

fn err(what: &str, p: &Path, e: impl std::fmt::Display) -> AgentError {
    AgentError::State(format!("{what} {}: {e}", p.display()))
}

impl StateDir {
    /// Opens (creating, mode 0700) and locks the state directory.
    pub fn open(dir: &Path) -> Result<StateDir, AgentError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| err("cannot create the state directory", dir, e))?;
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| err("cannot open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(AgentError::State(format!(
                    "another posture agent is using the state directory {}",
                    dir.display()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(err("cannot lock", &lock_path, e)),
        }
        Ok(StateDir {
            dir: dir.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn read_state(&self) -> Result<StateFile, AgentError> {
        let p = self.dir.join(STATE);
        match fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| err("corrupt state file", &p, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateFile::default()),
            Err(e) => Err(err("cannot read", &p, e)),
        }
    }

    pub fn last_sequence(&self) -> Result<u64, AgentError> {
        Ok(self.read_state()?.last_sequence)
    }

    /// The sequence for a new report: `max(last + 1, unix millis)`, so it moves
    /// forward even with a fresh state directory.
    pub fn next_sequence(&self, now_millis: u64) -> Result<u64, AgentError> {
        Ok(self.last_sequence()?.saturating_add(1).max(now_millis))
    }

    /// Records `seq` as used (durably) before the report carrying it is sent.
    pub fn commit_sequence(&self, seq: u64, device_id: &str) -> Result<(), AgentError> {
        let s = StateFile {
            last_sequence: seq,
            device_id: Some(device_id.to_owned()),
        };
        let body = serde_json::to_vec_pretty(&s).expect("serialises");
        self.write_atomic(STATE, &body)
    }

    /// The unacknowledged request body, if any.
    pub fn pending(&self) -> Result<Option<Vec<u8>>, AgentError> {
        let p = self.dir.join(PENDING);
        match fs::read(&p) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(err("cannot read", &p, e)),
        }
    }

    pub fn set_pending(&self, body: &[u8]) -> Result<(), AgentError> {
        self.write_atomic(PENDING, body)
    }

    pub fn clear_pending(&self) -> Result<(), AgentError> {
        let p = self.dir.join(PENDING);
        match fs::remove_file(&p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err("cannot remove", &p, e)),
        }
    }

    fn write_atomic(&self, name: &str, body: &[u8]) -> Result<(), AgentError> {
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let dst = self.dir.join(name);
        let mut f = File::create(&tmp).map_err(|e| err("cannot write", &tmp, e))?;
        f.write_all(body)
            .and_then(|_| f.sync_all())
            .map_err(|e| err("cannot write", &tmp, e))?;
        fs::rename(&tmp, &dst).map_err(|e| err("cannot replace", &dst, e))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// The default state directory: `$XDG_STATE_HOME/posture-agent`, else
/// `~/.local/state/posture-agent`.
pub fn default_state_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|x| !x.is_empty()) {
        let x = PathBuf::from(x);
        if x.is_absolute() {
            return Some(x.join("posture-agent"));
        }
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".local/state/posture-agent"))
}
