//! `posture serve`: serve the API from the data directory's snapshots.

use crate::args::{PublishArgs, ServeArgs};
use crate::datadir::DataDir;
use anyhow::Result;
use std::path::Path;

pub fn run(data_dir: &Path, s: &ServeArgs, p: &PublishArgs) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    crate::node::serve(&dir, s, p, false)
}
