//! `posture kb import|status|sync`: the knowledge base's feeds.

use crate::datadir::{DataDir, Location};
use crate::output::{bar, print};
use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum KbCommand {
    /// Import feed files, all of them as ONE knowledge-base change (one KB version).
    ///
    /// Accepted formats (recognised by content): NVD CVE API 2.0 JSON (a response page
    /// or a file of them), the CISA KEV JSON catalogue, OSV JSON (one record, an array
    /// of records, or an ecosystem's all.zip), and FIRST EPSS daily scores
    /// (epss_scores-YYYY-MM-DD.csv.gz or the plain CSV). Every file is parsed whole
    /// before anything is stored: one bad file refuses the import.
    Import {
        /// Feed files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show the knowledge base version, record counts (OSV per ecosystem) and each
    /// feed's last sync and import.
    Status,
    /// Fetch the configured feeds (NVD, OSV, KEV, EPSS) and commit what changed as one
    /// KB version. A feed that fails leaves its part of the KB as it was.
    Sync(SyncArgs),
    /// Write an NVD-sized synthetic knowledge base as NVD CVE API 2.0 pages (plus its
    /// KEV catalogue) for `kb import` or a fixture server: the demo feed's records first
    /// (the same ones `seed` imports), then bulk records of NVD's shape over thousands of
    /// synthetic vendors. In a seeded data directory the fleet's seed and clock are used,
    /// so the demo records are identical to the imported ones.
    Generate(GenerateArgs),
}

#[derive(Args, Debug, Clone)]
pub struct GenerateArgs {
    /// Records in all (NVD holds about 250,000).
    #[arg(long, default_value_t = emulator::nvd_scale::NVD_RECORDS)]
    pub records: usize,
    /// Directory the page files are written to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed (default: the seeded fleet's, else 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Records per page file (at most 2,000, NVD's largest page).
    #[arg(long, default_value_t = emulator::nvd_scale::PAGE_SIZE)]
    pub page_size: usize,
}

/// The options `kb generate` runs with: the seeded fleet's seed and clock when there
/// is one, so its demo records equal the imported ones.
pub fn generate_options(
    store: &dyn ingest::StateStore,
    args: &GenerateArgs,
) -> Result<emulator::ScaledKbOptions> {
    let fleet = emulator::fleet_state(store)?;
    Ok(emulator::ScaledKbOptions {
        records: args.records,
        seed: args.seed.or(fleet.as_ref().map(|f| f.seed)).unwrap_or(42),
        now: fleet.map_or_else(crate::cmd::seed::fleet_now, |f| f.base_now),
        page_size: args.page_size,
    })
}

/// Feed locations and NVD access for `kb sync` (and `serve --kb-sync-every`).
#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// NVD CVE API 2.0 endpoint (a mirror's for air-gapped sites; file:// works).
    #[arg(long, env = "POSTURE_NVD_URL", default_value = feeds::NVD_URL)]
    pub nvd_url: String,
    /// NVD API key (sent as the apiKey header; raises the rate limit to 50 per 30 s).
    #[arg(long, env = "NVD_API_KEY", hide_env_values = true)]
    pub nvd_api_key: Option<String>,
    /// File holding the NVD API key.
    #[arg(long, conflicts_with = "nvd_api_key")]
    pub nvd_api_key_file: Option<PathBuf>,
    /// OSV bucket base URL (<base>/<ecosystem>/all.zip, modified_id.csv, <id>.json).
    #[arg(long, env = "POSTURE_OSV_URL", default_value = feeds::OSV_URL)]
    pub osv_url: String,
    /// OSV ecosystems to sync (default: those the fleet's reports name).
    #[arg(long = "osv-ecosystem")]
    pub osv_ecosystems: Vec<String>,
    /// CISA KEV JSON catalogue URL.
    #[arg(long, env = "POSTURE_KEV_URL", default_value = feeds::KEV_URL)]
    pub kev_url: String,
    /// FIRST EPSS base URL (<base>/epss_scores-YYYY-MM-DD.csv.gz).
    #[arg(long, env = "POSTURE_EPSS_URL", default_value = feeds::EPSS_URL)]
    pub epss_url: String,
    /// Feeds to sync (default: all four).
    #[arg(long = "feed", value_parser = ["nvd", "osv", "kev", "epss"])]
    pub feeds: Vec<String>,
}

impl SyncArgs {
    /// The feed configuration these arguments describe.
    pub fn config(&self, store: &dyn ingest::StateStore) -> Result<feeds::SyncConfig> {
        let api_key = match &self.nvd_api_key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the NVD API key from {}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => self.nvd_api_key.clone(),
        };
        let wants = |f: &str| self.feeds.is_empty() || self.feeds.iter().any(|x| x == f);
        let ecosystems = if !wants("osv") {
            Vec::new()
        } else if self.osv_ecosystems.is_empty() {
            feeds::fleet_ecosystems(store)?
        } else {
            self.osv_ecosystems.clone()
        };
        Ok(feeds::SyncConfig {
            nvd: wants("nvd").then(|| feeds::NvdConfig::new(&self.nvd_url, api_key)),
            osv: wants("osv").then(|| feeds::OsvConfig {
                base_url: self.osv_url.clone(),
                ecosystems,
            }),
            kev: wants("kev").then(|| self.kev_url.clone()),
            epss: wants("epss").then(|| self.epss_url.clone()),
            ..feeds::SyncConfig::default()
        })
    }
}

/// Progress of a sync as bars on stderr, one per feed.
struct SyncBars {
    bars: std::sync::Mutex<std::collections::BTreeMap<String, indicatif::ProgressBar>>,
    quiet: bool,
}

impl feeds::Progress for SyncBars {
    fn progress(&self, feed: &str, done: u64, total: Option<u64>) {
        let Ok(mut bars) = self.bars.lock() else {
            return;
        };
        let bar = bars
            .entry(feed.to_owned())
            .or_insert_with(|| bar(total.unwrap_or(0), feed, self.quiet));
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    }
}

pub fn run(data_dir: &Location, command: KbCommand, json: bool) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    match command {
        KbCommand::Import { files } => {
            let imports = ingest::import_feed_files(dir.store.as_ref(), &files)?;
            print(json, &imports, || {
                let mut lines: Vec<String> = imports
                    .files
                    .iter()
                    .map(|f| format!("{}: {:?} feed, {} records", f.file, f.kind, f.records))
                    .collect();
                lines.push(format!(
                    "{} new, {} updated, {} unchanged; KB version {}",
                    imports.inserted, imports.updated, imports.unchanged, imports.kb_version
                ));
                lines.join("\n")
            })
        }
        KbCommand::Generate(args) => {
            let options = generate_options(dir.store.as_ref(), &args)?;
            let progress = bar(options.records as u64, "generating", json);
            let started = std::time::Instant::now();
            let generated =
                emulator::write_scaled_kb(&options, &args.out, &|n| progress.set_position(n))?;
            progress.finish_and_clear();
            let seconds = started.elapsed().as_secs_f64();
            print(json, &generated, || {
                format!(
                    "{} records ({} of the demo feed) in {} pages, {} criteria, {:.0} MB in {seconds:.1}s under {}\n{}\nimport with: posture kb import {}/*.json",
                    generated.records,
                    generated.demo_records,
                    generated.pages.len(),
                    generated.shape.criteria,
                    generated.bytes as f64 / 1e6,
                    args.out.display(),
                    generated.proportions,
                    args.out.display()
                )
            })
        }
        KbCommand::Status => {
            let summary = ingest::kb_summary(dir.store.as_ref())?;
            print(json, &summary, || status_text(&summary))
        }
        KbCommand::Sync(args) => {
            let config = args.config(dir.store.as_ref())?;
            let progress = SyncBars {
                bars: Default::default(),
                quiet: json,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(feeds::sync(
                dir.store.as_ref(),
                &config,
                Utc::now(),
                &progress,
            ))?;
            print(json, &report, || report.to_string())?;
            if report.failures.is_empty() {
                Ok(())
            } else {
                anyhow::bail!(
                    "{} feed(s) failed; the KB keeps their previous records",
                    report.failures.len()
                )
            }
        }
    }
}

fn status_text(s: &ingest::KbSummary) -> String {
    let now = Utc::now();
    let mut lines = vec![format!("KB version {}", s.kb_version)];
    for (source, count) in &s.records {
        lines.push(format!("  {source}: {count} records"));
        if source == ingest::SOURCE_OSV {
            for (eco, n) in &s.osv_ecosystems {
                lines.push(format!("    {eco}: {n}"));
            }
        }
    }
    for f in &s.feeds {
        let when = |t: Option<chrono::DateTime<Utc>>| match t {
            Some(t) => format!("{} ({}h ago)", t.to_rfc3339(), (now - t).num_hours()),
            None => "never".to_owned(),
        };
        lines.push(format!(
            "  feed {}: last sync {}, last import {}, {} records",
            f.feed,
            when(f.last_sync),
            when(f.last_import),
            f.records
        ));
    }
    lines.join("\n")
}
