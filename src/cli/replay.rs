//! `raftlab replay` and `raftlab --sim`: the dashboard on the deterministic
//! simulator.
//!
//! `raftlab replay` takes `raftlab check`'s flags for one seed and opens
//! the dashboard on exactly the run the check made for it (same options,
//! same trace), stopping where the check's run ends — so the replay
//! command a failing check prints can be watched. `raftlab --sim` opens it
//! on a quiet simulated cluster (no faults, no background clients unless
//! asked), a run that is the same every time for the same seed and inputs.
//! A tour's script as read ([`TourText`]) is defined here, below the
//! dashboard (`dashboard.rs`) and `raftlab tour` that hand it on.

use std::io::IsTerminal;
use std::process::ExitCode;

#[cfg(test)]
use super::args::SeedRange;
use super::check::{OneRun, Plan, RunArgs};
use crate::raft::Bugs;
use crate::tui::layout::Preset;
use crate::tui::sim::{SimSession, SimTours, run_sim};
use crate::tui::{Options, Theme, TourSetup};

/// A tour's script, not yet parsed: its name (a path or a tour's file) and text.
pub struct TourText {
    /// The name errors are reported under.
    pub name: String,
    /// The caption pane's title.
    pub title: String,
    /// The script.
    pub text: String,
}

impl TourText {
    /// The script at `path`, titled by its file's stem; exit 2, after
    /// saying so under `command`'s name, when it cannot be read.
    pub(super) fn read(path: &std::path::Path, command: &str) -> Result<TourText, ExitCode> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(TourText {
                name: path.display().to_string(),
                title: path
                    .file_stem()
                    .map_or_else(|| "script".into(), |s| s.to_string_lossy().into_owned()),
                text,
            }),
            Err(e) => {
                eprintln!("{command}: cannot read {}: {e}", path.display());
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Log entries per node the dashboard keeps in view (as in live mode).
const LOG_WINDOW: usize = 256;
/// The simulated duration `--ops` is spread over in `raftlab --sim`.
const SIM_OPS_SPAN: &str = "10s";

/// Arguments of `raftlab replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    run: OneRun,
    /// Speed factor of the clock (0.1 to 10).
    #[arg(long, default_value_t = 1.0, value_parser = super::args::parse_speed)]
    speed: f64,
    /// Start with the clock paused.
    #[arg(long)]
    paused: bool,
    /// Do not capture the mouse.
    #[arg(long)]
    no_mouse: bool,
    /// Draw with ASCII only.
    #[arg(long)]
    ascii: bool,
    /// Record what the dashboard draws to FILE.cast (asciicast v2), with a
    /// marker at the violation.
    #[arg(long, value_name = "FILE.cast")]
    record: Option<std::path::PathBuf>,
}

/// The one seed `--seed` or `--seeds` names; the message is ready to print.
#[cfg(test)]
fn one_seed(seed: Option<u64>, seeds: Option<SeedRange>) -> Result<u64, String> {
    require_seed(super::args::one_seed(seed, seeds, "replay shows")?)
}

/// A replay needs a seed: there is no default run to watch.
fn require_seed(seed: Option<u64>) -> Result<u64, String> {
    seed.ok_or_else(|| "which run? give its seed: --seed S (or --seeds S..S+1)".into())
}

/// Runs `raftlab replay`.
pub fn run(args: ReplayArgs) -> ExitCode {
    let fail = |message: String| {
        eprintln!("raftlab replay: {message}");
        ExitCode::from(2)
    };
    let (seed, plan) = match args.run.resolve("replay shows") {
        Ok((seed, plan)) => match require_seed(seed) {
            Ok(seed) => (seed, plan),
            Err(m) => return fail(m),
        },
        Err(m) => return fail(m),
    };
    let label = format!("replay of {}", plan.replay_command(seed));
    let session = SimSession::new(
        plan.options(seed),
        Some(plan.duration_us()),
        LOG_WINDOW,
        label,
    );
    let session = match session {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    // A tour chosen in the menu plays on a quiet run of its own.
    let tours = SimTours {
        seed,
        window: LOG_WINDOW,
        ..SimTours::default()
    };
    let look = Look {
        ascii: args.ascii,
        mouse: !args.no_mouse,
        preset: Preset::Dashboard,
        record: args.record,
    };
    show(session, None, (args.speed, args.paused), look, tours)
}

/// The settings of `raftlab --sim` and `raftlab class`.
pub struct SimFlags {
    /// The command, for messages (`raftlab --sim`, `raftlab class`).
    pub name: String,
    /// Cluster size.
    pub nodes: usize,
    /// The seed.
    pub seed: u64,
    /// `--faults` (default none).
    pub faults: Option<String>,
    /// `--clients` (default 0).
    pub clients: Option<usize>,
    /// `--ops` (default 1000 with clients, else 0).
    pub ops: Option<u64>,
    /// Clock speed.
    pub speed: f64,
    /// Start with the clock paused.
    pub paused: bool,
    /// Every link's latency, µs.
    pub latency_us: (u64, u64),
    /// PreVote and CheckQuorum on or off.
    pub extensions: crate::sim::Extensions,
    /// ASCII only.
    pub ascii: bool,
    /// Mouse on.
    pub mouse: bool,
    /// `--bug` names: known-unsafe protocol variants switched on.
    pub bugs: Vec<String>,
    /// The layout (`raftlab class` has its own).
    pub preset: Preset,
    /// `--record FILE.cast`.
    pub record: Option<std::path::PathBuf>,
    /// In a tour's auto mode, the delay before each step.
    pub auto: Option<std::time::Duration>,
}

impl SimFlags {
    /// How the dashboard makes a tour's run from these flags.
    pub(super) fn tours(&self) -> Result<SimTours, String> {
        let bugs = Bugs::from_names(&self.bugs).map_err(|e| e.to_string())?;
        Ok(SimTours {
            latency_us: self.latency_us,
            extensions: self.extensions,
            bugs,
            seed: self.seed,
            window: LOG_WINDOW,
            auto: self.auto,
        })
    }

    /// How the dashboard draws (and records) for these flags.
    pub(super) fn look(&self) -> Look {
        Look {
            ascii: self.ascii,
            mouse: self.mouse,
            preset: self.preset,
            record: self.record.clone(),
        }
    }
}

/// How the dashboard draws: ASCII only, mouse captured, which layout,
/// and where it records what it draws (`--record FILE.cast`).
pub(super) struct Look {
    ascii: bool,
    mouse: bool,
    preset: Preset,
    record: Option<std::path::PathBuf>,
}

/// Runs `raftlab --sim` or `raftlab class`.
pub fn run_dashboard_sim(flags: SimFlags) -> ExitCode {
    let fail = |message: String| {
        eprintln!("{}: {message}", flags.name);
        ExitCode::from(2)
    };
    let options = match sim_options(&flags) {
        Ok(options) => options,
        Err(m) => return fail(m),
    };
    let tours = match flags.tours() {
        Ok(tours) => tours,
        Err(m) => return fail(m),
    };
    let label = format!("sim seed {}", flags.seed);
    let session = match SimSession::new(options, None, LOG_WINDOW, label) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    show(
        session,
        None,
        (flags.speed, flags.paused),
        flags.look(),
        tours,
    )
}

/// Plays `tour` on the dashboard over the simulator: the run its script
/// makes at the flags' latency, paced by the dashboard's clock.
pub fn run_tour_sim(flags: SimFlags, tour: TourText) -> ExitCode {
    let fail = |message: String| {
        eprintln!("{}: {message}", flags.name);
        ExitCode::from(2)
    };
    if flags.faults.is_some() || flags.clients.is_some() || flags.ops.is_some() {
        return fail(
            "a tour's script drives its cluster: --faults, --clients and --ops are for --sim without a tour".into(),
        );
    }
    let (setup, spec) = match TourSetup::prepare(&tour.name, &tour.title, &tour.text, flags.auto) {
        Ok(prepared) => prepared,
        Err(m) => {
            eprintln!("{m}");
            return ExitCode::from(2);
        }
    };
    let tours = match flags.tours() {
        Ok(tours) => tours,
        Err(m) => return fail(m),
    };
    let session = match tours.session(&setup.name, &spec) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    show(
        session,
        Some(setup),
        (flags.speed, true),
        flags.look(),
        tours,
    )
}

/// The simulator's options for `flags`; the message is ready to print.
pub(super) fn sim_options(flags: &SimFlags) -> Result<crate::sim::SimOptions, String> {
    let clients = flags.clients.unwrap_or(0);
    let ops = flags.ops.unwrap_or(if clients > 0 { 1000 } else { 0 });
    if clients > 0 && ops == 0 {
        return Err("--ops must be at least 1 when --clients runs background clients".into());
    }
    let run = RunArgs {
        nodes: flags.nodes,
        faults: flags.faults.clone().unwrap_or_else(|| "none".into()),
        ops,
        duration: super::args::parse_duration_us(SIM_OPS_SPAN).unwrap_or(10_000_000),
        clients,
        keys: 5,
        bugs: flags.bugs.clone(),
        extensions: super::args::ExtensionFlags {
            no_prevote: !flags.extensions.pre_vote,
            no_check_quorum: !flags.extensions.check_quorum,
        },
    };
    let plan = Plan::new(&run)?;
    let mut options = plan.options(flags.seed);
    options.latency_us = flags.latency_us;
    Ok(options)
}

/// Opens the dashboard on `session` (playing `tour` if given), its clock
/// at `speed` and paused or not; exit 2 without a terminal.
pub(super) fn show(
    session: SimSession,
    tour: Option<TourSetup>,
    clock: (f64, bool),
    look: Look,
    tours: SimTours,
) -> ExitCode {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "raftlab: the dashboard needs a terminal, and stdout or stdin is not one.\n\
             Run it in a terminal, or try `raftlab check` (or `raftlab script FILE` for a tour's script) for the same run without one."
        );
        return ExitCode::from(2);
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = Options {
        theme: Theme {
            color: !no_color,
            ascii: look.ascii,
        },
        mouse: look.mouse,
        preset: look.preset,
    };
    let record = match super::record::recording(look.record.as_deref()) {
        Ok(record) => record,
        Err(message) => {
            eprintln!("raftlab: {message}");
            return ExitCode::from(2);
        }
    };
    match run_sim(session, tour, clock, options, tours, record) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab: the terminal failed: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::check::tests::check_defaults;
    use crate::runtime::observe::LinStatus;
    use crate::sim::Sim;
    use crate::tui::sim_status::HistoryCheck;

    /// Runs a replay session tick by tick to its end (or violation).
    fn watch(plan: &Plan, seed: u64) -> SimSession {
        let mut s =
            SimSession::new(plan.options(seed), Some(plan.duration_us()), 16, "t".into()).unwrap();
        for _ in 0..=plan.duration_us() / 10_000 {
            let report = s.tick();
            if report.ended || report.violation.is_some() {
                break;
            }
        }
        s
    }

    #[test]
    fn the_replay_is_the_check_run() {
        let plan = Plan::new(&check_defaults(&[])).unwrap();
        for seed in [0, 42] {
            let mut check = Sim::new(plan.options(seed)).unwrap();
            check.run_for(plan.duration_us()).unwrap();
            check.check_history().unwrap();
            let watched = watch(&plan, seed);
            let status = watched.status();
            assert!(status.ended, "seed {seed}");
            assert_eq!(status.now_us, check.now_us(), "seed {seed}");
            assert_eq!(status.trace_hash, check.trace_hash(), "seed {seed}");
            assert_eq!(status.history, HistoryCheck::Linearizable, "seed {seed}");
            assert_eq!(status.violation, None);
            // The checker panel: every row OK, the history linearizable.
            let checks = watched.checks();
            assert!(checks.simulated && checks.active);
            assert_eq!(checks.findings, vec![], "seed {seed}");
            assert!(
                matches!(checks.linearizability, LinStatus::Linearizable { ops, .. } if ops > 0),
                "seed {seed}: {:?}",
                checks.linearizability
            );
        }
    }

    #[test]
    fn the_replay_stops_at_the_checks_violation() {
        let plan = Plan::new(&check_defaults(&["forget-vote"])).unwrap();
        let mut check = Sim::new(plan.options(1)).unwrap();
        let caught = check.run_for(plan.duration_us()).unwrap_err();
        let watched = watch(&plan, 1);
        let status = watched.status();
        let shown = status.violation.expect("the replay hits it too");
        assert_eq!(shown.invariant, caught.invariant);
        assert_eq!(shown.time_us, caught.time_us);
        assert_eq!(shown.details, caught.details);
        assert_eq!(status.trace_hash, check.trace_hash());
        assert!(!status.ended);
        // The checker panel shows it on its row, with the evidence, and
        // the badge shows the bug.
        let mut watched = watched;
        let view = watched.view(crate::tui::sim::ClockState {
            paused: true,
            speed: 1.0,
            tick_wall: crate::tui::sim::TICK_WALL,
        });
        let checks = &view.teaching.checks;
        let row = caught.invariant.row().expect("a row for it");
        let finding = checks.finding(row).expect("the row is VIOLATED");
        assert_eq!(finding.details, caught.details);
        assert_eq!(checks.findings.len(), 1, "{:?}", checks.findings);
        assert_eq!(view.teaching.bugs.names(), vec!["forget-vote"]);
        assert!(
            view.teaching
                .messages
                .recent(&Default::default(), 0, 1)
                .len()
                == 1
        );
    }

    #[test]
    fn a_history_that_is_not_linearizable_shows_in_the_checks() {
        let plan = Plan::new(&check_defaults(&["stale-leader-reads"])).unwrap();
        let watched = watch(&plan, 1);
        let status = watched.status();
        let shown = status.violation.expect("seed 1 reads stale");
        assert_eq!(shown.invariant, crate::check::Invariant::Linearizability);
        let checks = watched.checks();
        // Not an invariant row: the history line.
        assert_eq!(checks.findings, vec![]);
        match &checks.linearizability {
            LinStatus::NotLinearizable { key, ops, .. } => {
                assert_eq!(key, "k0");
                assert!(*ops > 0);
            }
            other => panic!("{other:?}"),
        }
        assert!(checks.violated());
    }

    #[test]
    fn one_seed_only() {
        assert_eq!(one_seed(Some(4), None), Ok(4));
        assert_eq!(one_seed(None, "9..10".parse().ok()), Ok(9));
        assert_eq!(one_seed(None, "9".parse().ok()), Ok(9));
        let many = one_seed(None, "3..7".parse().ok()).unwrap_err();
        assert!(many.contains("holds 4 seeds"), "{many}");
        assert!(one_seed(None, None).is_err());
    }
}
