//! Runs the agent standalone: `cargo run -p agent --example agent -- --print`.
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    agent: agent::AgentArgs,
}

fn main() -> std::process::ExitCode {
    match agent::run(&Cli::parse().agent) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
