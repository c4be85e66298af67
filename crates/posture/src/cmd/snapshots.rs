//! `posture snapshots`: the retained snapshots.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::{Context, Result};

pub fn run(data_dir: &Location, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    // The registry, and each snapshot's manifest where this data directory holds it.
    // Under the publisher lease (no publish in progress) what interrupted publishes left
    // here is removed first; nothing is ever unregistered (a snapshot whose files are
    // elsewhere, in object storage or on another machine, stays).
    if let Some(_lease) = crate::leader::lead(&dir)? {
        snapshot::remove_unpublished(&dir.path, dir.store.as_ref())
            .context("cannot remove what interrupted publishes left")?;
    }
    let root = dir.path.join("snapshots");
    let mut list = Vec::new();
    for meta in dir
        .store
        .snapshots()
        .context("cannot read the snapshot registry")?
    {
        let manifest = root.join(&meta.dir).join("manifest.json");
        let listed = match std::fs::read(&manifest) {
            Ok(text) => serde_json::from_slice::<serde_json::Value>(&text)
                .with_context(|| format!("{}: not a manifest", manifest.display()))?,
            // Not in this data directory (object storage, or another machine's): what
            // the registry says of it.
            Err(_) => serde_json::to_value(&meta)?,
        };
        list.push(listed);
    }
    print(json, &list, || {
        let mut out = String::new();
        for m in &list {
            let rows: Vec<String> = m["exports"]
                .as_object()
                .map(|exports| {
                    exports
                        .iter()
                        .map(|(k, e)| format!("{k}={}", e["rows"]))
                        .collect()
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "#{} {} devices={} {}\n",
                m["seq"],
                m["timePath"].as_str().unwrap_or_default(),
                m["devices"],
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
