//! `raftlab bench`: how fast the live cluster is.
//!
//! Three modes, each on the real runtime (node threads, the fabric, the
//! client API), never the simulator:
//!
//! - the default *load* mode: for every combination of `--nodes`,
//!   `--storage`, `--transport` and `--clients`, start a fresh cluster, let
//!   that many client sessions do sequential puts for `--duration`, and
//!   report committed writes per second and the p50/p99 of a put's round
//!   trip, submit to completion (`load.rs`). The sessions are multiplexed
//!   on `--drivers` threads of a `ClientPool` (default 1, like the one
//!   client worker of openraft's benchmark), not one OS thread each;
//! - `--failover N`: N times, kill the leader and time until a client's
//!   write succeeds again (`figures.rs`);
//! - `--idle DURATION`: the CPU an idle cluster at default speed uses
//!   (`figures.rs`).
//!
//! Results go to stdout as a table (or JSON lines with `--json`); progress
//! goes to stderr. The load and failover modes run the clock as fast as the
//! runtime allows (speed 10 with a 10 ms tick: one tick per wall
//! millisecond, elections in 15–30 ms; `--tick 50ms` is the playground's
//! own tick at its fastest speed) so a run never waits on a timer;
//! replication itself is not tick-driven (a proposal is sent at once and
//! commits when a quorum answers). Their links have no simulated delay.

mod disk;
mod figures;
mod histogram;
mod load;
mod report;

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;

use super::args::{parse_duration_us, parse_nodes};
use crate::runtime::{Cluster, ClusterConfig};

/// The speed of load and failover runs: the fastest the clock allows.
const BENCH_SPEED: f64 = 10.0;
/// The runtime's own compaction threshold, the bench's default.
const DEFAULT_SNAPSHOT_THRESHOLD: u64 = 100;
/// Run length per row with `--quick` (unless `--duration` is given).
const QUICK_DURATION_US: u64 = 300_000;

/// Arguments of `raftlab bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// How long each row runs, e.g. 3s or 500ms.
    #[arg(long, value_parser = parse_duration_us)]
    duration: Option<u64>,
    /// Cluster sizes, comma-separated (each 1–9).
    #[arg(long, default_value = "3,5", value_parser = parse_nodes, value_delimiter = ',')]
    nodes: Vec<usize>,
    /// Concurrent clients, comma-separated; each is a client session (its
    /// own KV session id) doing sequential puts, one at a time. Sessions are
    /// not threads: they share the --drivers threads, as async tasks would.
    #[arg(long, default_value = "1,16,256", value_parser = parse_clients, value_delimiter = ',')]
    clients: Vec<usize>,
    /// Storage kinds, comma-separated: mem, file (file rows use a temporary
    /// data directory that is removed afterwards).
    #[arg(long, default_value = "mem,file", value_delimiter = ',')]
    storage: Vec<StorageKind>,
    /// Transports, comma-separated: channel, tcp.
    #[arg(long, default_value = "channel", value_delimiter = ',')]
    transport: Vec<Transport>,
    /// Compact each node's log every this many applied entries (0: never).
    /// The runtime's default is 100, small enough to watch snapshots in the
    /// dashboard. openraft's default is 5000.
    #[arg(long, value_name = "ENTRIES", default_value_t = DEFAULT_SNAPSHOT_THRESHOLD)]
    snapshot_threshold: u64,
    /// Threads that drive the client sessions (1–64).
    #[arg(long, default_value = "1", value_parser = clap::value_parser!(u16).range(1..=64))]
    drivers: u16,
    /// Print JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// A short run (0.3 s per row unless --duration is given).
    #[arg(long)]
    quick: bool,
    /// Instead of the load table: kill the leader N times and time until a
    /// write succeeds again (on the largest --nodes size, mem storage).
    #[arg(long, value_name = "N", conflicts_with = "idle")]
    failover: Option<u32>,
    /// Instead of the load table: measure the CPU an idle cluster at the
    /// default speed uses over this long (largest --nodes size).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration_us)]
    idle: Option<u64>,
    /// Wall length of a tick at speed 1.0 for load and failover runs
    /// (they run at speed 10): 10ms gives one tick per wall millisecond;
    /// 50ms is the playground's default tick.
    #[arg(long, default_value = "10ms", value_parser = parse_tick)]
    tick: Duration,
    /// Where file storage makes its temporary directories (default: the
    /// system's temporary directory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
}

/// Parses a tick length, 1 ms to 10 s.
fn parse_tick(s: &str) -> Result<Duration, String> {
    let us = parse_duration_us(s)?;
    if !(1_000..=10_000_000).contains(&us) {
        return Err(format!("a tick is 1ms to 10s, not {s}"));
    }
    Ok(Duration::from_micros(us))
}

/// Parses a client count, 1 to 4096.
fn parse_clients(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=4096).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' is not a client count (1–4096)")),
    }
}

/// Where a benchmarked cluster keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// In memory.
    Mem,
    /// The file WAL, in a temporary directory.
    File,
}

impl StorageKind {
    fn name(self) -> &'static str {
        match self {
            StorageKind::Mem => "mem",
            StorageKind::File => "file",
        }
    }
}

impl FromStr for StorageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<StorageKind, String> {
        match s.trim() {
            "mem" | "memory" => Ok(StorageKind::Mem),
            "file" => Ok(StorageKind::File),
            _ => Err(format!("'{s}' is not a storage kind: write mem or file")),
        }
    }
}

/// How a benchmarked cluster's nodes talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// In-memory channels.
    Channel,
    /// Loopback TCP.
    Tcp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Channel => "channel",
            Transport::Tcp => "tcp",
        }
    }

    /// Sets `config` up for this transport, or says why the runtime cannot
    /// run it. Adding a transport to the runtime is one arm here.
    fn configure(self, config: &mut ClusterConfig) -> Result<(), String> {
        match self {
            Transport::Channel => Ok(()),
            Transport::Tcp => {
                // Loopback sockets on ports the system picks.
                config.transport = crate::runtime::Transport::Tcp { base_port: 0 };
                Ok(())
            }
        }
    }
}

impl FromStr for Transport {
    type Err = String;

    fn from_str(s: &str) -> Result<Transport, String> {
        match s.trim() {
            "channel" => Ok(Transport::Channel),
            "tcp" => Ok(Transport::Tcp),
            _ => Err(format!("'{s}' is not a transport: write channel or tcp")),
        }
    }
}

/// The cluster settings every load and failover run starts from.
fn bench_config(nodes: usize, tick: Duration) -> ClusterConfig {
    ClusterConfig {
        nodes,
        seed: 1,
        tick,
        speed: BENCH_SPEED,
        record_history: false,
        ..ClusterConfig::default()
    }
}

/// Starts a load or failover cluster: links without simulated delay (the
/// playground's default 0.5–2 ms per hop models a network; the bench
/// measures raftlab itself, like openraft's in-process benchmark).
fn start_cluster(config: ClusterConfig) -> Result<Cluster, String> {
    let cluster = Cluster::start(config).map_err(|e| e.to_string())?;
    cluster.set_delay(0, 0).map_err(|e| e.to_string())?;
    Ok(cluster)
}

/// Runs `raftlab bench`.
pub fn run(args: BenchArgs) -> ExitCode {
    let largest = args.nodes.iter().copied().max().unwrap_or(5);
    let result = if let Some(tries) = args.failover {
        figures::failover(largest, args.tick, tries, args.json)
    } else if let Some(us) = args.idle {
        figures::idle(largest, Duration::from_micros(us), args.json)
    } else {
        load::run(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab bench: {e}");
            ExitCode::from(1)
        }
    }
}

impl BenchArgs {
    /// How long each load row runs.
    fn row_duration(&self) -> Duration {
        let default = if self.quick {
            QUICK_DURATION_US
        } else {
            3_000_000
        };
        Duration::from_micros(self.duration.unwrap_or(default))
    }
}
