//! `posture serve`: serve the API from the data directory's snapshots.

use crate::args::{PublishArgs, ServeArgs};
use crate::datadir::{DataDir, Location};
use anyhow::Result;

pub fn run(data_dir: &Location, s: &ServeArgs, p: &PublishArgs) -> Result<()> {
    let dir = DataDir::open(data_dir)?;
    crate::node::serve(&dir, s, p, false)
}
