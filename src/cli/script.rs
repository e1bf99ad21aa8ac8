//! `raftlab script FILE…`: runs scenario scripts in the simulator and
//! prints each transcript. With the dashboards' `--latency` it rehearses a
//! tour: the transcript is the run the simulated dashboard plays. A saved
//! dashboard session keeps the latency it was saved with; `--latency` is
//! then ignored, and a line on stderr says so.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::scenario::{self, ScriptError};

/// Arguments of `raftlab script`.
#[derive(Debug, Args)]
pub struct ScriptArgs {
    /// Scenario files to run, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Seed for scripts whose `cluster` statement names none.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print only the verdict line of each script.
    #[arg(long, short)]
    quiet: bool,
    /// Link latency, in cluster time (default 0.5..2ms, what the scenario
    /// tests assume). `--latency 10..20ms` runs a tour as the dashboard
    /// plays it on the simulator: the same run, step for step.
    #[arg(long, value_name = "A..Bms", value_parser = crate::net::parse_delay_range)]
    latency: Option<(u64, u64)>,
}

/// Runs `raftlab script`: exit 0 when every script passed, 1 when an
/// expectation failed, 2 when a script could not be read or parsed.
pub fn run(args: ScriptArgs) -> ExitCode {
    let mut bad_input = false;
    let mut failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("raftlab script: cannot read {name}: {e}");
                bad_input = true;
                continue;
            }
        };
        // A saved dashboard session plays on the dashboard's own engine, with
        // the settings it was saved with: `--latency` cannot change its run,
        // and saying so beats ignoring the flag in silence.
        let session = super::session::headless(&text, &name, args.seed, args.quiet);
        if session.is_some() && args.latency.is_some() {
            eprintln!(
                "raftlab script: {name} is a saved session; it plays at the latency it was saved with, so --latency is ignored"
            );
        }
        match session {
            Some(super::session::Headless::Same) => continue,
            Some(super::session::Headless::Differs) => {
                failed = true;
                continue;
            }
            Some(super::session::Headless::Bad) => {
                bad_input = true;
                continue;
            }
            None => {}
        }
        let latency = args.latency.unwrap_or(crate::net::Link::DEFAULT_DELAY_US);
        let factory = scenario::sim_factory_with(args.seed, latency, Default::default());
        match scenario::run_script(&text, &name, factory) {
            Ok(report) => {
                let rendered = report.render();
                if args.quiet {
                    print!("{}", rendered.lines().last().unwrap_or_default());
                    println!();
                } else {
                    print!("{rendered}");
                }
                failed |= !report.passed;
            }
            Err(ScriptError::Parse(errors)) => {
                eprintln!("{errors}");
                bad_input = true;
            }
            Err(e) => {
                eprintln!("{e}");
                bad_input = true;
            }
        }
    }
    if bad_input {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
