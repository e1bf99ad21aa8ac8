//! The `raftlab` command line: argument parsing and the subcommands.
//!
//! Every subcommand returns an [`ExitCode`]: 0 when all went well, 1 when a
//! check or an expectation failed (the output says which), 2 for bad input
//! (a malformed argument, an unreadable or malformed script).

mod args;
mod bench;
mod chart;
mod check;
mod client;
mod damage;
mod dashboard;
mod demo;
mod node;
mod page;
mod record;
mod replay;
mod script;
mod session;
mod shown;
#[cfg(test)]
mod tests;
mod tour;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{ExtensionFlags, Peers, SeedRange, parse_duration_us, parse_nodes, parse_peers};

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
    /// Run one Raft node as its own process over TCP, with its data in files.
    ///
    /// Start one per terminal, each with its own --id and the same --peers:
    ///
    ///   raftlab node --id 1 --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 --data-dir /tmp/raftlab
    ///
    /// The node logs to stderr and runs until stopped. Ctrl-C, SIGTERM and
    /// kill -9 are all safe: what it acknowledged is on disk, and a restart
    /// with the same --data-dir recovers. Bad input (malformed --peers, an
    /// id not in them, a port in use, an unusable data directory) exits 2.
    Node(node::NodeArgs),
    /// Talk to a cluster of `raftlab node` processes, like redis-cli.
    ///
    ///   raftlab client --peers 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003 put greeting hello
    ///
    /// Tries the nodes in turn and follows a follower's hint to the leader;
    /// a write is retried with the same session and sequence number, so it
    /// applies at most once. `get` prints the value alone (nothing, and
    /// (nil) on stderr, for an absent key). Exit 0 on an answer, 1 when no
    /// answer came within --timeout, 2 on bad arguments.
    Client(client::ClientArgs),
    /// Throughput and latency of the live cluster; with --failover or
    /// --idle, the failover time or the CPU use of an idle cluster.
    Bench(bench::BenchArgs),
    /// A narrated tour of Raft in the simulator, printed (no terminal UI).
    Demo(demo::DemoArgs),
    /// Guided tours over the live dashboard: without NAME, list them; with
    /// one, play it step by step (Enter or → runs the next step).
    Tour(tour::TourArgs),
    /// The classroom preset: the dashboard on the simulator, paused until
    /// you press space, slowed down so elections and replication can be
    /// watched, laid out for a projector at 100×30.
    ///
    ///   raftlab class              # 5 nodes, seed 1, speed 0.2
    ///   raftlab class --seed 7 --no-prevote
    ///
    /// Takes the dashboard's flags. It is simulated, so the same seed and
    /// the same keys give the same run every time: a rehearsed lesson
    /// replays exactly (R restarts it from time 0).
    Class(dashboard::DashboardArgs),
    /// Watch one seed's run of `raftlab check` on the dashboard, in the
    /// simulator: the same flags as check, for one seed.
    ///
    ///   raftlab replay --seeds 17 --nodes 5 --faults all --ops 1000
    ///
    /// The run is the check's exactly (same trace); the clock pauses where
    /// the check's run ends, or at a violation. R restarts it from time 0.
    /// More than one seed, or a bad flag, exits 2.
    Replay(replay::ReplayArgs),
    /// One simulated run's messages as a sequence diagram: Mermaid text
    /// (for slides and Markdown) or a self-contained SVG.
    ///
    ///   raftlab chart --seed 3 --faults none --to 400ms -o election.svg
    ///
    /// The run is `raftlab check`'s for that seed and flags (as `replay`
    /// shows it); --from/--to pick the window, --only-nodes and --types
    /// filter. Mermaid goes to standard output unless -o names a file.
    /// With no --seed, the run of seed 0.
    Chart(chart::ChartArgs),
    /// One simulated run as a single self-contained HTML page to share: the
    /// nodes, their logs, the messages in flight, with a scrubber and play.
    ///
    ///   raftlab page --seed 3 --faults crash,partition --to 3s -o run.html
    ///
    /// The run is `raftlab check`'s for that seed and flags; the page needs
    /// no network. Open it at a moment with run.html#t=MICROSECONDS.
    /// With no --seed, the run of seed 0.
    Page(page::PageArgs),
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
        Some(Command::Class(args)) => dashboard::run_class(args),
        Some(Command::Demo(args)) => demo::run(args.nodes, args.seed),
        Some(Command::Script(args)) => script::run(args),
        Some(Command::Check(args)) => check::run(args),
        Some(Command::Node(args)) => node::run(args),
        Some(Command::Client(args)) => client::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Tour(args)) => tour::run(args),
        Some(Command::Replay(args)) => replay::run(args),
        Some(Command::Chart(args)) => chart::run(args),
        Some(Command::Page(args)) => page::run(args),
    }
}
