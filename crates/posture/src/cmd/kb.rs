//! `posture kb import|status`: the knowledge base's feeds.

use crate::datadir::DataDir;
use crate::output::print;
use anyhow::Result;
use clap::Subcommand;
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum KbCommand {
    /// Import NVD CVE API 2.0 JSON or CISA KEV JSON files (atomically, each file whole).
    Import {
        /// Feed files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the knowledge base version and record counts.
    Status,
}

pub fn run(data_dir: &Path, command: KbCommand, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    match command {
        KbCommand::Import { files } => {
            let mut done = Vec::new();
            for f in files {
                let import = ingest::import_feed_file(dir.store.as_ref(), &f)?;
                if !json {
                    println!(
                        "{}: {:?} feed, {} records: {} new, {} updated, {} unchanged; KB version {}",
                        import.file,
                        import.kind,
                        import.outcome.records_in_file,
                        import.outcome.inserted,
                        import.outcome.updated,
                        import.outcome.unchanged,
                        import.outcome.kb_version
                    );
                }
                done.push(import);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            }
            Ok(())
        }
        KbCommand::Status => {
            let status = serde_json::json!({
                "kbVersion": dir.store.kb_version()?,
                "nvdRecords": dir.store.kb_records(ingest::SOURCE_NVD)?.len(),
                "kevEntries": dir.store.kb_records(ingest::SOURCE_KEV)?.len(),
            });
            print(json, &status, || {
                format!(
                    "KB version {}: {} NVD records, {} KEV entries",
                    status["kbVersion"], status["nvdRecords"], status["kevEntries"]
                )
            })
        }
    }
}
