//! `raftlab` with no subcommand: the playground. Until the live dashboard
//! exists, it plays a narrated tour in the simulator and prints what the
//! cluster does, step by step.

use std::process::ExitCode;

use crate::scenario;

/// The tour, with `{nodes}` and `{seed}` filled in from the command line.
const DEMO: &str = include_str!("../../assets/tours/demo.scen");

/// Plays the demo on `nodes` nodes from `seed`.
pub fn run(nodes: usize, seed: u64) -> ExitCode {
    let text = DEMO
        .replace("{nodes}", &nodes.to_string())
        .replace("{seed}", &seed.to_string());
    println!("raftlab: a {nodes}-node Raft cluster in the deterministic simulator (seed {seed}).");
    println!("The live dashboard is not built yet; this is a narrated run. Same seed, same run.\n");
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
