//! The load mode of `raftlab bench`: one fresh cluster per row, client
//! threads doing sequential puts, committed writes per second and the
//! latency of each put's round trip.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::report::{Measured, Outcome, Printer, Setup};
use super::{BenchArgs, StorageKind, bench_config, start_cluster};
use crate::kv::ClientOutcome;
use crate::runtime::{Cluster, ClusterConfig, NodeStorage};
use crate::storage::FileStorage;

/// How long a cluster may take to elect a leader and commit a first write.
const READY_WAIT: Duration = Duration::from_secs(10);
/// A put that takes longer than this counts as an error.
const PUT_TIMEOUT: Duration = Duration::from_secs(5);
/// The cluster id written into file storage's meta files.
const BENCH_CLUSTER_ID: u64 = 0xbe4c;
/// Stack of a client thread: it only runs the client's retry loop.
const CLIENT_STACK: usize = 256 * 1024;

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
    let mut printer = Printer::new(args.json, duration);
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
        let outcome = measure(setup, args.tick, duration, &base, i);
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
fn measure(setup: &Setup, tick: Duration, duration: Duration, base: &Path, row: usize) -> Outcome {
    let mut config = bench_config(setup.nodes, tick);
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
    let result = load(config, setup.clients, duration);
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

/// Starts the cluster, waits until it takes writes, runs the clients.
fn load(config: ClusterConfig, clients: usize, duration: Duration) -> Result<Measured, String> {
    let cluster = start_cluster(config)?;
    wait_for_writes(&cluster)?;
    let stop = AtomicBool::new(false);
    let errors = AtomicU64::new(0);
    let barrier = Barrier::new(clients + 1);
    let (elapsed, mut latencies) = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(clients);
        for i in 0..clients {
            let (cluster, stop, errors, barrier) = (&cluster, &stop, &errors, &barrier);
            let spawned = std::thread::Builder::new()
                .name(format!("bench-client-{i}"))
                .stack_size(CLIENT_STACK)
                .spawn_scoped(scope, move || {
                    client_loop(cluster, i, barrier, stop, errors)
                });
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Unblock the threads already waiting, then report.
                    stop.store(true, Ordering::Release);
                    errors.fetch_add(1, Ordering::Relaxed);
                    eprintln!("raftlab bench: cannot start client thread {i}: {e}");
                    break;
                }
            }
        }
        if handles.len() < clients {
            // The barrier will never fill: let no one wait on it.
            return (Duration::ZERO, Vec::new());
        }
        barrier.wait();
        let start = Instant::now();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Release);
        let elapsed = start.elapsed();
        let mut all = Vec::new();
        for h in handles {
            if let Ok(mut l) = h.join() {
                all.append(&mut l);
            }
        }
        (elapsed, all)
    });
    cluster.shutdown();
    if elapsed.is_zero() {
        return Err("could not start every client thread".into());
    }
    latencies.sort_unstable();
    Ok(Measured {
        ops: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        p50: percentile(&latencies, 50),
        p99: percentile(&latencies, 99),
    })
}

/// One client: sequential puts until told to stop. Returns the round trip
/// of every put that succeeded before the stop.
fn client_loop(
    cluster: &Cluster,
    i: usize,
    barrier: &Barrier,
    stop: &AtomicBool,
    errors: &AtomicU64,
) -> Vec<Duration> {
    let mut client = cluster.client();
    let key = format!("c{i}");
    let mut latencies = Vec::with_capacity(1 << 12);
    barrier.wait();
    let mut n: u64 = 0;
    while !stop.load(Ordering::Acquire) {
        n += 1;
        let value = n.to_string();
        let start = Instant::now();
        let outcome = client.put(&key, &value, PUT_TIMEOUT);
        let took = start.elapsed();
        if stop.load(Ordering::Acquire) {
            break;
        }
        match outcome {
            ClientOutcome::Ok(_) => latencies.push(took),
            _ => {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    latencies
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

/// The `p`th percentile (nearest rank) of sorted `values`.
fn percentile(values: &[Duration], p: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank.min(values.len()) - 1]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let ms = |n| Duration::from_millis(n);
        let values: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&values, 50), ms(50));
        assert_eq!(percentile(&values, 99), ms(99));
        assert_eq!(percentile(&[ms(7)], 99), ms(7));
        assert_eq!(percentile(&[], 50), Duration::ZERO);
    }
}
