//! The `raftlab` command line: argument parsing and the subcommands.
//!
//! Every subcommand returns an [`ExitCode`]: 0 when all went well, 1 when a
//! check or an expectation failed (the output says which), 2 for bad input
//! (a malformed argument, an unreadable or malformed script).

mod args;
mod check;
mod dashboard;
mod demo;
mod script;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{SeedRange, parse_duration_us, parse_nodes};

/// raftlab: an interactive Raft cluster playground and a deterministic
/// simulator that checks Raft's safety and the linearizability of its clients.
#[derive(Debug, Parser)]
#[command(name = "raftlab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    dashboard: dashboard::DashboardArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run scenario scripts in the simulator and print their transcripts.
    Script(script::ScriptArgs),
    /// Randomized fault runs in the simulator, checking every invariant and
    /// the linearizability of every client history.
    Check(check::CheckArgs),
    /// A narrated tour of Raft in the simulator, printed (no terminal UI).
    Demo(demo::DemoArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help and version to stdout with exit 0, and usage
            // errors to stderr with exit 2.
            let _ = err.print();
            return ExitCode::from(err.exit_code().clamp(0, 255) as u8);
        }
    };
    match cli.command {
        None => dashboard::run(cli.dashboard),
        Some(Command::Demo(args)) => demo::run(args.nodes, args.seed),
        Some(Command::Script(args)) => script::run(args),
        Some(Command::Check(args)) => check::run(args),
    }
}
