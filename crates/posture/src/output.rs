//! What commands write: stdout (text or `--json`) and progress bars on stderr.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;

/// Prints `value` as pretty JSON with `--json`, else the text summary.
pub fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> Result<()> {
    let out = if json {
        serde_json::to_string_pretty(value)?
    } else {
        text()
    };
    write_stdout(&out)
}

/// Writes a command's output; a closed pipe (`posture ... | head`) ends the program quietly.
pub fn write_stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|_| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => Ok(other?),
    }
}

/// A progress bar for long CLI work (hidden when stderr is not a terminal or with --json).
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
