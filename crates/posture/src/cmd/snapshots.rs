//! `posture snapshots`: the retained snapshots.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::{Context, Result};

pub fn run(data_dir: &Location, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    // Opening the registry removes what interrupted publishes left (unregistered
    // directories): only safe while no other process publishes, so under the publisher
    // lease. While another process leads, read the registry and manifests only.
    let mut list = Vec::new();
    match crate::leader::lead(&dir)? {
        Some(lease) => {
            let leading = crate::leader::fenced(&dir, &lease);
            for s in leading.snapshots(usize::MAX)?.list() {
                list.push(s.manifest.clone());
            }
        }
        None => {
            let root = dir.path.join("snapshots");
            for meta in dir
                .store
                .snapshots()
                .context("cannot read the snapshot registry")?
            {
                match snapshot::Snapshot::open(&root.join(&meta.dir)) {
                    Ok(s) => list.push(s.manifest.clone()),
                    Err(e) => {
                        tracing::warn!(seq = meta.seq, error = %e, "a registered snapshot cannot be opened")
                    }
                }
            }
        }
    }
    print(json, &list, || {
        let mut out = String::new();
        for m in &list {
            let rows: Vec<String> = m
                .exports
                .iter()
                .map(|(k, e)| format!("{k:?}={}", e.rows))
                .collect();
            out.push_str(&format!(
                "#{} {} devices={} {}\n",
                m.seq,
                m.time_path,
                m.devices,
                rows.join(" ")
            ));
        }
        if out.is_empty() {
            "no snapshots".into()
        } else {
            out.trim_end().to_owned()
        }
    })
}
