//! `posture snapshots`: the retained snapshots.

use crate::datadir::{DataDir, Location};
use crate::output::print;
use anyhow::Result;

pub fn run(data_dir: &Location, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    let list: Vec<_> = dir
        .snapshots(usize::MAX)?
        .list()
        .iter()
        .map(|s| s.manifest.clone())
        .collect();
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
