//! `raftlab` with no subcommand: the dashboard on a live cluster.
//!
//! Checks that stdout is a terminal (else says so and exits 2), starts the
//! cluster (in memory, or file storage per node under `--data-dir`), runs
//! the TUI, and shuts the cluster down when it ends. With `--script FILE`
//! (or `raftlab tour NAME`) it plays a scenario as a guided tour: the
//! script is read and parsed first (a bad one exits 2 before the terminal
//! is touched), and its `cluster` statement sets the size, seed and bugs of
//! the cluster, whose clock is held until the first step. A tour plays on
//! the simulator (see `replay.rs`) unless `--live` asks for the live
//! cluster.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::time::Duration;

use super::args::{ExtensionFlags, parse_duration_us, parse_nodes, parse_speed};
use super::damage::{DamageWatch, dashboard_advice};
use super::replay::TourText;
use crate::net::parse_delay_range;
use crate::raft::Bugs;
use crate::runtime::{Cluster, ClusterConfig, NodeStorage, Transport};
use crate::scenario::ClusterSpec;
use crate::storage::FileStorage;
use crate::tui::layout::Preset;
use crate::tui::sim::saved::Recording;
use crate::tui::{Fresh, Options, Theme, TourSetup, VISIBLE_LATENCY_US, run_live};

/// The cluster id file storage is opened with: one dashboard cluster per
/// data directory.
const DASHBOARD_CLUSTER_ID: u64 = 1;
/// Log entries per node the dashboard keeps in view (scrollable).
const LOG_WINDOW: usize = 256;

/// `raftlab class`'s clock speed: a fifth of the dashboard's, so one
/// cluster millisecond lasts 25 ms on screen: a vote's round trip (at
/// least 20 ms of cluster time) shows for half a second at least.
pub const CLASS_SPEED: f64 = 0.2;

/// The flags of the dashboard.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Number of nodes of the playground cluster (1–9).
    #[arg(long, default_value = "5", value_parser = parse_nodes)]
    nodes: usize,
    /// Seed of the playground run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Speed factor of the cluster clock, 0.1 to 10 (default 1; `raftlab
    /// class`: 0.2). At 1 a tick of 10 ms of cluster time lasts 50 ms.
    #[arg(long, value_parser = parse_speed)]
    speed: Option<f64>,
    /// Start with the clock paused (space starts it). `raftlab class`
    /// always starts paused.
    #[arg(long)]
    paused: bool,
    /// Link latency, in cluster time: e.g. 10..20ms (the default), 50ms,
    /// or 0.5..2ms for the fast links `raftlab check` uses. The console's
    /// `delay` changes it later, per link or for all.
    #[arg(long, value_name = "A..Bms", value_parser = parse_delay_range)]
    latency: Option<(u64, u64)>,
    #[command(flatten)]
    extensions: ExtensionFlags,
    /// Keep each node's log in files under DIR, so nodes survive restarts
    /// (default: in memory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Do not capture the mouse.
    #[arg(long)]
    no_mouse: bool,
    /// Draw with ASCII only (no box drawing or Unicode symbols).
    #[arg(long)]
    ascii: bool,
    /// Record what the dashboard draws to FILE.cast (asciicast v2: play it
    /// with `asciinema play FILE.cast`), with a marker at each tour step
    /// and at a violation.
    #[arg(long, value_name = "FILE.cast")]
    record: Option<PathBuf>,
    /// How the live cluster's nodes talk: channel (in memory), tcp
    /// (loopback sockets on free ports) or tcp:PORT (node i on PORT+i).
    #[arg(long, default_value = "channel")]
    transport: Transport,
    /// Play a scenario script as a guided tour over the dashboard.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// In a tour, run each step by itself after --delay instead of waiting
    /// for Enter.
    #[arg(long)]
    auto: bool,
    /// The pause before each step in --auto mode (e.g. 3s, 500ms).
    #[arg(long, default_value = "3s", value_parser = parse_duration_us)]
    delay: u64,
    /// Drive the dashboard with the deterministic simulator instead of a
    /// live cluster: the same seed and inputs give the same run (R replays).
    /// A tour (--script, `raftlab tour`) plays on the simulator anyway.
    #[arg(long)]
    sim: bool,
    /// Play a tour (--script, `raftlab tour`) on the live threaded
    /// cluster instead of the simulator.
    #[arg(long, conflicts_with = "sim")]
    live: bool,
    /// With --sim (or `class`): the faults to inject, as for `raftlab
    /// check` (default none).
    #[arg(long)]
    faults: Option<String>,
    /// With --sim (or `class`): background clients (default 0).
    #[arg(long)]
    clients: Option<usize>,
    /// With --sim (or `class`): background operations, spread over 10 s
    /// (default 1000 with clients).
    #[arg(long)]
    ops: Option<u64>,
    /// Switch on a known-unsafe protocol variant from the start (the names
    /// of `raftlab check --bug`; repeatable). The console's `bug` command
    /// switches them live.
    #[arg(long = "bug", value_name = "NAME")]
    bugs: Vec<String>,
}

impl DashboardArgs {
    /// The tour script file given with `--script`, if any.
    pub fn script_file(&self) -> Option<&PathBuf> {
        self.script.as_ref()
    }
}

/// The saved session `--script` names, if it names one; a file that
/// cannot be read is reported as `name` (the exit code is the error).
fn saved_session(args: &DashboardArgs, name: &str) -> Option<Result<Recording, ExitCode>> {
    let path = args.script.as_deref()?;
    match super::session::recording(path) {
        Ok(recording) => recording.map(Ok),
        Err(message) => {
            eprintln!("{name}: {message}");
            Some(Err(ExitCode::from(2)))
        }
    }
}

/// Runs the dashboard; exit 2 without a terminal or with a bad setup.
pub fn run(args: DashboardArgs) -> ExitCode {
    let name = "raftlab --script";
    match saved_session(&args, name) {
        Some(Ok(recording)) => {
            return super::session::play(
                recording,
                sim_flags(args, name, 1.0, true, Preset::Dashboard),
            );
        }
        Some(Err(code)) => return code,
        None => {}
    }
    if let Some(path) = args.script.clone() {
        return match TourText::read(&path, "raftlab") {
            Ok(tour) => play(args, tour),
            Err(code) => code,
        };
    }
    if args.sim {
        return run_sim(args, "raftlab --sim", 1.0, false, Preset::Dashboard);
    }
    if args.faults.is_some() || args.clients.is_some() || args.ops.is_some() {
        eprintln!(
            "raftlab: --faults, --clients and --ops drive the simulator: add --sim (or use `raftlab class`)"
        );
        return ExitCode::from(2);
    }
    run_with(args, None)
}

/// Plays `tour`: on the simulator (a rehearsed tour replays exactly),
/// or with `--live` on the live threaded cluster.
pub fn play(args: DashboardArgs, tour: TourText) -> ExitCode {
    play_at(args, tour, "raftlab", 1.0, Preset::Dashboard)
}

/// [`play`] with `speed` as the clock's speed unless `--speed` says
/// otherwise (`raftlab class` plays slower), laid out as `preset` says.
fn play_at(
    args: DashboardArgs,
    tour: TourText,
    name: &str,
    speed: f64,
    preset: Preset,
) -> ExitCode {
    if args.live {
        if args.faults.is_some() || args.clients.is_some() || args.ops.is_some() {
            eprintln!("{name}: --faults, --clients and --ops drive the simulator, not a live tour");
            return ExitCode::from(2);
        }
        return run_with(args, Some(tour));
    }
    if args.data_dir.is_some() || args.transport != Transport::Channel {
        eprintln!(
            "{name}: a tour plays on the simulator, in memory; --data-dir and --transport are for the live cluster: add --live"
        );
        return ExitCode::from(2);
    }
    let auto = args.auto.then(|| Duration::from_micros(args.delay));
    let mut flags = sim_flags(args, name, speed, true, preset);
    flags.auto = auto;
    super::replay::run_tour_sim(flags, tour)
}

/// Runs `raftlab class`: the dashboard on the simulator, paused, at
/// [`CLASS_SPEED`] unless `--speed` says otherwise; with `--script`, that
/// tour at that speed.
pub fn run_class(args: DashboardArgs) -> ExitCode {
    let name = "raftlab class";
    match saved_session(&args, name) {
        Some(Ok(recording)) => {
            let flags = sim_flags(args, name, CLASS_SPEED, true, Preset::Class);
            return super::session::play(recording, flags);
        }
        Some(Err(code)) => return code,
        None => {}
    }
    if let Some(path) = args.script.clone() {
        return match TourText::read(&path, "raftlab class") {
            Ok(tour) => play_at(args, tour, "raftlab class", CLASS_SPEED, Preset::Class),
            Err(code) => code,
        };
    }
    run_sim(args, "raftlab class", CLASS_SPEED, true, Preset::Class)
}

/// The dashboard on the simulator (`--sim`, `class`): `speed` and
/// `paused` unless the flags say otherwise, laid out as `preset` says.
fn run_sim(args: DashboardArgs, name: &str, speed: f64, paused: bool, preset: Preset) -> ExitCode {
    if args.live {
        eprintln!(
            "{name}: the simulator drives this dashboard; --live is for playing a tour on the live cluster"
        );
        return ExitCode::from(2);
    }
    if args.data_dir.is_some() || args.transport != Transport::Channel {
        eprintln!(
            "{name}: the simulator runs in memory; drop --data-dir and --transport (they are for the live cluster)"
        );
        return ExitCode::from(2);
    }
    super::replay::run_dashboard_sim(sim_flags(args, name, speed, paused, preset))
}

/// What the dashboard's flags ask of a simulated run; `speed`, `paused`
/// and the layout `preset` are the command's own.
pub(super) fn sim_flags(
    args: DashboardArgs,
    name: &str,
    speed: f64,
    paused: bool,
    preset: Preset,
) -> super::replay::SimFlags {
    super::replay::SimFlags {
        name: name.to_string(),
        nodes: args.nodes,
        seed: args.seed,
        faults: args.faults,
        clients: args.clients,
        ops: args.ops,
        speed: args.speed.unwrap_or(speed),
        paused: paused || args.paused,
        latency_us: args.latency.unwrap_or(VISIBLE_LATENCY_US),
        extensions: args.extensions.extensions(),
        ascii: args.ascii,
        mouse: !args.no_mouse,
        bugs: args.bugs,
        preset,
        record: args.record,
        auto: None,
    }
}

/// Parses a tour and finds the cluster it asks for; the message is ready
/// to print.
fn prepare(tour: &TourText, auto: Option<Duration>) -> Result<(TourSetup, ClusterSpec), String> {
    TourSetup::prepare(&tour.name, &tour.title, &tour.text, auto)
}

/// Runs the dashboard, playing `tour` over it if given.
pub fn run_with(args: DashboardArgs, tour: Option<TourText>) -> ExitCode {
    let auto = args.auto.then(|| Duration::from_micros(args.delay));
    let tour = match tour.map(|t| prepare(&t, auto)).transpose() {
        Ok(tour) => tour,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let bugs = match Bugs::from_names(&args.bugs) {
        Ok(bugs) => bugs,
        Err(e) => {
            eprintln!("raftlab: {e}");
            return ExitCode::from(2);
        }
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "raftlab: the dashboard needs a terminal, and stdout or stdin is not one.\n\
             Run it in a terminal, or try `raftlab demo` (a printed tour), `raftlab script FILE` or `raftlab check`."
        );
        return ExitCode::from(2);
    }
    let record = match super::record::recording(args.record.as_deref()) {
        Ok(record) => record,
        Err(message) => {
            eprintln!("raftlab: {message}");
            return ExitCode::from(2);
        }
    };
    let mut config = ClusterConfig {
        nodes: args.nodes,
        seed: args.seed,
        speed: args.speed.unwrap_or(1.0),
        start_paused: args.paused,
        latency_us: args.latency.unwrap_or(VISIBLE_LATENCY_US),
        extensions: args.extensions.extensions(),
        log_window: LOG_WINDOW,
        transport: args.transport,
        bugs,
        // The dashboard shows messages and live checks.
        observe: true,
        ..ClusterConfig::default()
    };
    let damage = DamageWatch::default();
    if let Some(dir) = args.data_dir.clone() {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!(
                "raftlab: cannot create the data directory {}: {e}",
                dir.display()
            );
            return ExitCode::from(2);
        }
        let dir = dir.clone();
        config.storage = damage.wrap(move |id| {
            let (storage, _recovery) = FileStorage::open(&dir, DASHBOARD_CLUSTER_ID, id)?;
            Ok(Box::new(storage) as NodeStorage)
        });
    }
    // A tour chosen in the dashboard gets a fresh cluster made from these.
    let fresh = Fresh {
        base: config.clone(),
        auto,
    };
    if let Some((_, spec)) = &tour {
        config.nodes = spec.nodes;
        config.seed = spec.seed.unwrap_or(args.seed);
        for name in spec.bugs.names() {
            config.bugs.enable(name);
        }
        // Nothing happens until the tour's first step.
        config.start_paused = true;
    }
    let cluster = match Cluster::start(config) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("raftlab: cannot start the cluster: {e}");
            if let (Some(id), Some(dir)) = (damage.node(), &args.data_dir) {
                eprintln!("{}", dashboard_advice(id, dir));
            }
            return ExitCode::from(2);
        }
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let options = Options {
        theme: Theme {
            color: !no_color,
            ascii: args.ascii,
        },
        mouse: !args.no_mouse,
        preset: Preset::Dashboard,
    };
    // run_live shuts down whichever cluster is current when it ends.
    let result = run_live(
        cluster,
        options,
        tour.map(|(setup, _)| setup),
        fresh,
        record,
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab: the terminal failed: {e}");
            ExitCode::from(1)
        }
    }
}
