//! The load mode of `raftlab bench`: one fresh cluster per row, client
//! sessions doing sequential puts, committed writes per second and the
//! latency of each put's round trip (submit to completion, per session),
//! counted into a [`Histogram`] so a long run's memory is the cluster's.
//! The sessions are those of a `ClientPool`, multiplexed on a few driver
//! threads — N clients are N sessions, as openraft's benchmark runs N
//! async client tasks — so the figure measures the cluster, not the cost
//! of waking hundreds of OS threads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::histogram::Histogram;
use super::report::{Measured, Outcome, Printer, Setup};
use super::{BenchArgs, StorageKind, bench_config, start_cluster};
use crate::kv::{ClientOutcome, Op};
use crate::runtime::{Cluster, ClusterConfig, Completion, NodeStorage};
use crate::storage::FileStorage;

/// How long a cluster may take to elect a leader and commit a first write.
const READY_WAIT: Duration = Duration::from_secs(10);
/// A put that takes longer than this counts as an error.
const PUT_TIMEOUT: Duration = Duration::from_secs(5);
/// The cluster id written into file storage's meta files.
const BENCH_CLUSTER_ID: u64 = 0xbe4c;

/// Runs every row of the table and prints it.
pub(super) fn run(args: &BenchArgs) -> Result<(), String> {
    let duration = args.row_duration();
    let mut setups = Vec::new();
    for &nodes in &args.nodes {
        for &storage in &args.storage {
            for &transport in &args.transport {
                for &clients in &args.clients {
                    setups.push(Setup {
                        nodes,
                        storage,
                        transport,
                        clients,
                    });
                }
            }
        }
    }
    let base = args.data_dir.clone().unwrap_or_else(std::env::temp_dir);
    // The node counts of the file rows: each node syncs its own log on
    // this disk, all at the same moments.
    let syncers: Vec<usize> = setups
        .iter()
        .filter(|s| s.storage == StorageKind::File)
        .map(|s| s.nodes)
        .collect();
    let sync = if syncers.is_empty() {
        None
    } else {
        eprintln!(
            "raftlab bench: measuring the disk's sync in {}, alone and with one syncer per node at once",
            base.display()
        );
        Some(super::disk::measure(&base, &syncers)?)
    };
    let mut printer = Printer::new(args.json, duration, sync);
    printer.header();
    let mut failed = 0;
    for (i, setup) in setups.iter().enumerate() {
        eprintln!(
            "raftlab bench: [{}/{}] {} nodes, {} storage, {} transport, {} clients",
            i + 1,
            setups.len(),
            setup.nodes,
            setup.storage.name(),
            setup.transport.name(),
            setup.clients
        );
        let outcome = measure(setup, args, duration, &base, i);
        if matches!(outcome, Outcome::Failed(_)) {
            failed += 1;
        }
        printer.row(setup, &outcome);
    }
    match failed {
        0 => Ok(()),
        n => Err(format!("{n} of {} rows failed", setups.len())),
    }
}

/// Runs one row.
fn measure(
    setup: &Setup,
    args: &BenchArgs,
    duration: Duration,
    base: &Path,
    row: usize,
) -> Outcome {
    let mut config = bench_config(setup.nodes, args.tick);
    config.snapshot_threshold = args.snapshot_threshold;
    let drivers = usize::from(args.drivers);
    if let Err(why) = setup.transport.configure(&mut config) {
        return Outcome::Unavailable(why);
    }
    let dir = match setup.storage {
        StorageKind::Mem => None,
        StorageKind::File => match TempDir::create(base, row) {
            Ok(dir) => {
                config.storage = file_storage(dir.path.clone());
                Some(dir)
            }
            Err(e) => return Outcome::Failed(e),
        },
    };
    let result = load(config, setup.clients, drivers, duration);
    drop(dir);
    match result {
        Ok(measured) => Outcome::Measured(measured),
        Err(e) => Outcome::Failed(e),
    }
}

/// File storage for every node under `dir`.
fn file_storage(dir: PathBuf) -> crate::runtime::StorageFactory {
    Arc::new(move |id| {
        let (storage, _recovery) = FileStorage::open(&dir, BENCH_CLUSTER_ID, id)?;
        Ok(Box::new(storage) as NodeStorage)
    })
}

/// Starts the cluster, waits until it takes writes, runs the clients:
/// `clients` sessions of a [`ClientPool`](crate::runtime::ClientPool) on
/// `drivers` threads, each doing one put after another.
fn load(
    config: ClusterConfig,
    clients: usize,
    drivers: usize,
    duration: Duration,
) -> Result<Measured, String> {
    let cluster = start_cluster(config)?;
    wait_for_writes(&cluster)?;
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let sessions: Arc<Vec<Mutex<SessionLoad>>> = Arc::new(
        (0..clients)
            .map(|i| {
                Mutex::new(SessionLoad {
                    key: format!("c{i}"),
                    n: 0,
                    latencies: Histogram::default(),
                })
            })
            .collect(),
    );
    let handler = {
        let (stop, errors, sessions) = (stop.clone(), errors.clone(), sessions.clone());
        move |done: Completion| {
            if stop.load(Ordering::Acquire) {
                return None;
            }
            let mut session = sessions.get(done.session.index())?.lock().ok()?;
            match done.outcome {
                ClientOutcome::Ok(_) => session.latencies.record(done.latency()),
                _ => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some((session.next_put(), PUT_TIMEOUT))
        }
    };
    let mut pool = cluster
        .client_pool(drivers.min(clients), handler)
        .map_err(|e| format!("cannot start the client pool: {e}"))?;
    let start = Instant::now();
    for session in &*sessions {
        let id = pool.open();
        let op = match session.lock() {
            Ok(mut s) => s.next_put(),
            Err(_) => return Err("a client session's lock was poisoned".into()),
        };
        pool.submit(id, op, PUT_TIMEOUT)
            .map_err(|e| format!("cannot submit: {e}"))?;
    }
    std::thread::sleep(duration.saturating_sub(start.elapsed()));
    stop.store(true, Ordering::Release);
    let elapsed = start.elapsed();
    drop(pool);
    cluster.shutdown();
    let mut latencies = Histogram::default();
    for session in &*sessions {
        if let Ok(s) = session.lock() {
            latencies.merge(&s.latencies);
        }
    }
    Ok(Measured {
        ops: latencies.len(),
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        p50: latencies.percentile(50),
        p99: latencies.percentile(99),
    })
}

/// One bench client: a pool session doing sequential puts to its own key,
/// and the round trips of the puts that succeeded before the stop.
struct SessionLoad {
    key: String,
    n: u64,
    latencies: Histogram,
}

impl SessionLoad {
    /// The session's next put.
    fn next_put(&mut self) -> Op {
        self.n += 1;
        Op::Put {
            key: self.key.clone(),
            value: self.n.to_string(),
        }
    }
}

/// Waits until a leader is elected and a first write commits.
pub(super) fn wait_for_writes(cluster: &Cluster) -> Result<(), String> {
    let deadline = Instant::now() + READY_WAIT;
    let mut client = cluster.client();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "the cluster did not commit a write within {READY_WAIT:?}"
            ));
        }
        if let ClientOutcome::Ok(_) = client.put("ready", "1", left) {
            return Ok(());
        }
    }
}

/// A directory removed when dropped.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn create(base: &Path, row: usize) -> Result<TempDir, String> {
        let path = base.join(format!("raftlab-bench-{}-{row}", std::process::id()));
        // A leftover of a crashed earlier run with the same pid is stale.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
