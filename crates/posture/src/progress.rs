//! Progress bars for long CLI work (hidden when stderr is not a terminal or with --json).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

pub fn bar(total: u64, what: &str, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if quiet || !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>18} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Adapts a progress bar to the publisher's progress callbacks.
pub struct PublishProgress(pub ProgressBar);

impl snapshot::Progress for PublishProgress {
    fn stage(&self, stage: &str) {
        self.0.set_message(stage.to_owned());
    }
    fn devices(&self, done: u64) {
        self.0.set_position(done);
    }
}
