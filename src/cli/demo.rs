//! `raftlab demo`: a narrated tour in the simulator that prints what the
//! cluster does, step by step — the playground without a terminal UI.

use std::process::ExitCode;

use super::args::parse_nodes;

/// The flags of `raftlab demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of nodes (1–9).
    #[arg(long, default_value = "5", value_parser = parse_nodes)]
    pub nodes: usize,
    /// Seed of the run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

use crate::scenario;

/// The tour, with `{nodes}` and `{seed}` filled in from the command line.
const DEMO: &str = include_str!("../../assets/tours/demo.scen");

/// Plays the demo on `nodes` nodes from `seed`.
pub fn run(nodes: usize, seed: u64) -> ExitCode {
    let text = DEMO
        .replace("{nodes}", &nodes.to_string())
        .replace("{seed}", &seed.to_string());
    println!("raftlab: a {nodes}-node Raft cluster in the deterministic simulator (seed {seed}).");
    println!("A narrated run (the live dashboard is `raftlab` alone). Same seed, same run.\n");
    match scenario::run_script(&text, "demo", scenario::sim_factory(seed)) {
        Ok(report) => {
            print!("{}", report.render());
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("raftlab: the demo could not run: {e}");
            ExitCode::from(2)
        }
    }
}
