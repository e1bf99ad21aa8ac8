//! `raftlab check`: many seeded fault runs of the simulator, in parallel.
//!
//! Each seed is one independent run: a cluster under the chosen faults with
//! concurrent clients. The simulator checks Raft's invariants after every
//! step; at the end the client history must be linearizable. The first
//! violation (lowest seed among those found) is printed with the command
//! that replays it, and the exit code is 1.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use clap::Args;

use super::args::{SeedRange, parse_duration_us, parse_nodes};
use crate::raft::Bugs;
use crate::sim::{FaultSchedule, Sim, SimOptions, Violation};

/// The settings of one seeded run, shared by `raftlab check` and
/// `raftlab replay` (so a check's replay command works for both).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Nodes per cluster (1–9).
    #[arg(long, default_value = "5", value_parser = parse_nodes)]
    pub nodes: usize,
    /// Faults to inject: `all`, `none`, or a comma-separated list of crash,
    /// partition, isolate, bridge, oneway, loss, delay, duplicate, crashpoint,
    /// churn, membership, reconfig (membership changes raced against a
    /// partition and a change of leader).
    #[arg(long, default_value = "all")]
    pub faults: String,
    /// Client operations per run (spread over the run's duration).
    #[arg(long, default_value_t = 1000)]
    pub ops: u64,
    /// Simulated time per run, e.g. 10s or 500ms.
    #[arg(long, default_value = "10s", value_parser = parse_duration_us)]
    pub duration: u64,
    /// Concurrent clients per run.
    #[arg(long, default_value_t = 5)]
    pub clients: usize,
    /// Distinct keys the clients use.
    #[arg(long, default_value_t = 5)]
    pub keys: usize,
    /// Turn on a known-unsafe protocol variant (repeatable):
    /// commit-old-terms, skip-prev-check, forget-vote, stale-leader-reads,
    /// ack-before-fsync, two-changes-in-flight.
    #[arg(long = "bug", value_name = "NAME")]
    pub bugs: Vec<String>,
    #[command(flatten)]
    pub extensions: super::args::ExtensionFlags,
}

/// One run of `raftlab check`, chosen by its seed and check's flags, for
/// the commands that show one run (`replay`, `chart`, `page`).
#[derive(Debug, Args)]
pub struct OneRun {
    /// The seed of the run.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// The seed as `raftlab check` prints it: one seed, or `S..S+1`.
    #[arg(long)]
    seeds: Option<SeedRange>,
    #[command(flatten)]
    run: RunArgs,
}

impl OneRun {
    /// The seed (`None` when none is given) and the validated plan; the
    /// message, ready to print, begins with `shows` when more than one
    /// seed is given ("a chart shows one run, and …").
    pub fn resolve(&self, shows: &str) -> Result<(Option<u64>, Plan), String> {
        let seed = super::args::one_seed(self.seed, self.seeds, shows)?;
        Ok((seed, Plan::new(&self.run)?))
    }
}

/// Arguments of `raftlab check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Seeds to run, `A..B` (B excluded) or a single seed.
    #[arg(long, default_value = "0..1000")]
    seeds: SeedRange,
    #[command(flatten)]
    run: RunArgs,
    /// Write each run's client history to DIR/seed-N.jsonl.
    #[arg(long, value_name = "DIR")]
    history: Option<PathBuf>,
    /// Runs in parallel (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Keep going after a violation and report every failing seed.
    #[arg(long)]
    keep_going: bool,
}

/// Counters of runs, summed for the summary.
#[derive(Clone, Copy, Default)]
struct Counts {
    ops: u64,
    elections: u64,
    messages: u64,
    snapshots: u64,
    installed: u64,
    membership: u64,
    sim_us: u64,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.ops += o.ops;
        self.elections += o.elections;
        self.messages += o.messages;
        self.snapshots += o.snapshots;
        self.installed += o.installed;
        self.membership += o.membership;
        self.sim_us += o.sim_us;
    }
}

/// What the runs so far produced.
#[derive(Default)]
struct Totals {
    runs: u64,
    counts: Counts,
    violations: Vec<Failed>,
}

/// A seed whose run failed, with the report to print.
struct Failed {
    seed: u64,
    report: String,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.report)
    }
}

/// Runs `raftlab check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let plan = match Plan::new(&args.run) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("raftlab check: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(dir) = &args.history
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!(
            "raftlab check: cannot create the history directory {}: {e}",
            dir.display()
        );
        return ExitCode::from(2);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let started = Instant::now();
    let totals = Mutex::new(Totals::default());
    let next = AtomicU64::new(args.seeds.start);
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let progress = Progress::new(args.seeds.len());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let seed = next.fetch_add(1, Ordering::Relaxed);
                    if seed >= args.seeds.end {
                        return;
                    }
                    let outcome = plan.run_seed(seed, args.history.as_deref());
                    let mut t = totals.lock().unwrap_or_else(|e| e.into_inner());
                    t.runs += 1;
                    t.counts += outcome.counts;
                    if let Some(v) = outcome.violation {
                        t.violations.push(v);
                        if !args.keep_going {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.update(finished, t.violations.len());
                }
            });
        }
    });
    progress.finish();
    let mut totals = totals.into_inner().unwrap_or_else(|e| e.into_inner());
    totals.violations.sort_by_key(|v| v.seed);
    let elapsed = started.elapsed().as_secs_f64();
    for v in &totals.violations {
        println!("{v}\n");
    }
    println!(
        "checked {} runs (seeds {}, {} node{}, faults {}{}): {} client operations, {} elections, {} messages, {} snapshots ({} sent to followers), {} membership changes, {:.0} s simulated in {:.1} s ({:.0}x real time), {} violation{}",
        totals.runs,
        args.seeds,
        args.run.nodes,
        if args.run.nodes == 1 { "" } else { "s" },
        args.run.faults,
        plan.bug_label(),
        totals.counts.ops,
        totals.counts.elections,
        totals.counts.messages,
        totals.counts.snapshots,
        totals.counts.installed,
        totals.counts.membership,
        totals.counts.sim_us as f64 / 1e6,
        elapsed,
        totals.counts.sim_us as f64 / 1e6 / elapsed.max(1e-9),
        totals.violations.len(),
        if totals.violations.len() == 1 {
            ""
        } else {
            "s"
        },
    );
    if totals.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The validated settings every run of this check shares.
pub struct Plan {
    nodes: usize,
    faults: FaultSchedule,
    faults_text: String,
    ops: u64,
    duration_us: u64,
    clients: usize,
    keys: usize,
    bugs: Bugs,
    bug_names: Vec<String>,
    /// PreVote and CheckQuorum (`--no-prevote`, `--no-check-quorum`).
    extensions: crate::sim::Extensions,
}

/// What one seed's run produced.
struct Outcome {
    counts: Counts,
    violation: Option<Failed>,
}

impl Plan {
    /// Checks the settings; the message is ready to print.
    pub fn new(args: &RunArgs) -> Result<Plan, String> {
        let faults = FaultSchedule::parse(&args.faults).map_err(|e| e.to_string())?;
        let bugs = Bugs::from_names(&args.bugs).map_err(|e| e.to_string())?;
        if args.duration == 0 {
            return Err("the duration must be above zero".into());
        }
        // Catch what the simulator would refuse before starting any thread.
        if let Err(e) = Sim::new(SimOptions {
            nodes: args.nodes,
            clients: args.clients,
            keys: args.keys,
            ..SimOptions::default()
        }) {
            return Err(e.to_string());
        }
        if args.clients == 0 && args.ops > 0 {
            return Err("--ops needs at least one client (--clients)".into());
        }
        if args.keys == 0 {
            return Err("--keys must be at least 1".into());
        }
        Ok(Plan {
            nodes: args.nodes,
            faults,
            faults_text: args.faults.clone(),
            ops: args.ops,
            duration_us: args.duration,
            clients: args.clients,
            keys: args.keys,
            bugs,
            bug_names: args.bugs.clone(),
            extensions: args.extensions.extensions(),
        })
    }

    /// A plan of check's defaults with these `faults` and a lighter load
    /// (200 ops by 3 clients on 3 keys over 10 s), for tests.
    #[cfg(test)]
    pub fn for_tests(faults: &str) -> Plan {
        match Plan::new(&RunArgs {
            nodes: 5,
            faults: faults.to_string(),
            ops: 200,
            duration: 10_000_000,
            clients: 3,
            keys: 3,
            bugs: Vec::new(),
            extensions: Default::default(),
        }) {
            Ok(plan) => plan,
            Err(e) => panic!("a test plan with faults {faults}: {e}"),
        }
    }

    /// The simulator's options for `seed`.
    pub fn options(&self, seed: u64) -> SimOptions {
        let seconds = (self.duration_us as f64 / 1e6).max(1e-6);
        SimOptions {
            nodes: self.nodes,
            seed,
            bugs: self.bugs,
            faults: self.faults.clone(),
            clients: self.clients,
            ops_per_sec: (self.ops as f64 / seconds).ceil() as u64,
            max_ops: self.ops,
            keys: self.keys,
            extensions: self.extensions,
            ..SimOptions::default()
        }
    }

    fn run_seed(&self, seed: u64, history_dir: Option<&std::path::Path>) -> Outcome {
        let mut outcome = Outcome {
            counts: Counts::default(),
            violation: None,
        };
        let mut sim = match Sim::new(self.options(seed)) {
            Ok(sim) => sim,
            Err(e) => {
                let report = format!("seed {seed}: the simulation could not start: {e}");
                outcome.violation = Some(Failed { seed, report });
                return outcome;
            }
        };
        let result = sim
            .run_for(self.duration_us)
            .and_then(|()| sim.check_history());
        let stats = sim.stats();
        outcome.counts = Counts {
            ops: stats.ops_ok + stats.ops_fail + stats.ops_info,
            elections: stats.elections,
            messages: stats.messages_sent,
            snapshots: stats.snapshots,
            installed: stats.snapshots_installed,
            membership: stats.membership_changes,
            sim_us: sim.now_us(),
        };
        outcome.violation = result.err().map(|mut v: Violation| {
            // The simulator knows its options, not the whole command line.
            v.replay = self.replay_command(seed);
            let watch = self.watch_command(seed);
            Failed {
                seed,
                report: format!("{v}\nwatch it: {watch}"),
            }
        });
        if let Some(dir) = history_dir {
            let path = dir.join(format!("seed-{seed}.jsonl"));
            let written = std::fs::File::create(&path)
                .map_err(|e| e.to_string())
                .and_then(|f| {
                    crate::kv::history::write_jsonl(sim.history(), std::io::BufWriter::new(f))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = written {
                eprintln!(
                    "raftlab check: cannot write the history {}: {e}",
                    path.display()
                );
            }
        }
        outcome
    }

    fn bug_label(&self) -> String {
        let mut label = if self.bug_names.is_empty() {
            String::new()
        } else {
            format!(", bugs {}", self.bug_names.join(","))
        };
        if let Some(off) = self.extensions.badge() {
            label.push_str(&format!(", {off}"));
        }
        label
    }

    /// The simulated time of each run, µs.
    pub fn duration_us(&self) -> u64 {
        self.duration_us
    }

    /// The command that opens the dashboard on one seed's run of this check.
    pub fn watch_command(&self, seed: u64) -> String {
        self.replay_command(seed)
            .replacen("raftlab check", "raftlab replay", 1)
    }

    /// The command that replays exactly one seed of this check.
    pub fn replay_command(&self, seed: u64) -> String {
        let mut cmd = format!(
            "raftlab check --seeds {seed} --nodes {} --faults {} --ops {} --duration {}ms --clients {} --keys {}",
            self.nodes,
            self.faults_text,
            self.ops,
            self.duration_us / 1000,
            self.clients,
            self.keys
        );
        for bug in &self.bug_names {
            cmd.push_str(&format!(" --bug {bug}"));
        }
        cmd.push_str(&self.extensions.flags());
        cmd
    }
}

/// A progress line on stderr: rewritten in place on a terminal, printed
/// every few seconds otherwise.
struct Progress {
    total: u64,
    started: Instant,
    last: Mutex<Instant>,
    tty: bool,
}

impl Progress {
    fn new(total: u64) -> Progress {
        Progress {
            total,
            started: Instant::now(),
            last: Mutex::new(Instant::now()),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn update(&self, done: u64, violations: usize) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let every = if self.tty { 0.1 } else { 5.0 };
        if last.elapsed().as_secs_f64() < every && done < self.total {
            return;
        }
        *last = Instant::now();
        let line = format!(
            "checking: {done}/{} runs, {violations} violations, {:.1} s",
            self.total,
            self.started.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r{line}\x1b[K");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `raftlab check`'s defaults (faults all, 1000 ops over 10 s, 5
    /// clients on 5 keys), with the unsafe variants `bugs` on; the
    /// replay's tests run the same.
    pub(in crate::cli) fn check_defaults(bugs: &[&str]) -> RunArgs {
        RunArgs {
            nodes: 5,
            faults: "all".into(),
            ops: 1000,
            duration: 10_000_000,
            clients: 5,
            keys: 5,
            bugs: bugs.iter().map(|b| b.to_string()).collect(),
            extensions: Default::default(),
        }
    }

    #[test]
    fn seeds_replay_as_recorded_before_the_dashboards_got_visible_latency() {
        // Trace hashes recorded on the tree before the dashboards' link
        // latency became a setting: `check` keeps its own latency, so a
        // seed printed by an older check replays the same run.
        let recorded = [
            (0, 0x31c7_7b12_5598_2fd8),
            (1, 0xd6c1_5e6c_96b0_5484),
            (7, 0x5478_9372_cdfe_07d4),
            (42, 0x0aaf_be9d_e529_0633),
        ];
        let plan = Plan::new(&check_defaults(&[])).unwrap();
        for (seed, hash) in recorded {
            let mut sim = Sim::new(plan.options(seed)).unwrap();
            sim.run_for(plan.duration_us()).unwrap();
            assert_eq!(sim.trace_hash(), hash, "seed {seed}");
        }
    }
}
