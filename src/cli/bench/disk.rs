//! The disk's own limit, measured where the file rows keep their logs.
//!
//! A durable write cannot be acknowledged before its log is synced, so the
//! latency of one `fdatasync` of a small append bounds what the file rows
//! can do: one client's writes at best one sync (plus a round trip) each,
//! many clients' at best one sync per batch. Every node of a benchmarked
//! cluster keeps its log on the same disk and syncs it at the same moments
//! (the leader and its followers each sync the same batch), so the honest
//! bound is the latency of a sync made while as many other syncs are under
//! way as the cluster has nodes — on one disk that is well above the
//! latency of a sync made alone. `raftlab bench` measures both before the
//! file rows and prints each row beside the concurrent one, so the gap
//! between raftlab and the disk shows in every run.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// Syncs each syncer makes at most (enough that a slow sync in a hundred
/// shows in the mean)…
const PROBES: usize = 1000;
/// …and the longest it spends making them.
const PROBE_TIME: Duration = Duration::from_secs(1);
/// Bytes appended before each sync: about one small put's log record.
pub(super) const RECORD: usize = 128;

/// What one synced append costs on a disk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SyncCost {
    /// Median latency of write + fdatasync.
    pub(super) p50: Duration,
    /// Mean latency: a disk whose syncs are now and then much slower
    /// than the median costs a client more than the median says.
    pub(super) mean: Duration,
    /// 99th percentile.
    pub(super) p99: Duration,
    /// Syncs measured (over every syncer).
    pub(super) samples: usize,
}

impl SyncCost {
    /// Durable writes per second one client could make if each cost one
    /// sync and nothing else: one over the mean sync, since a client's
    /// writes follow one another.
    pub(super) fn sequential_bound(&self) -> f64 {
        1.0 / self.mean.as_secs_f64().max(1e-9)
    }
}

/// The disk's sync measured alone and with several syncers at once.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DiskSync {
    /// One syncer alone.
    pub(super) alone: SyncCost,
    /// N syncers at once, each appending to and syncing its own file, by N
    /// (the node counts of the file rows).
    pub(super) together: BTreeMap<usize, SyncCost>,
}

impl DiskSync {
    /// The sync that bounds a cluster of `nodes` on this disk: the one
    /// measured with that many syncers at once (alone for one node).
    pub(super) fn for_nodes(&self, nodes: usize) -> SyncCost {
        self.together.get(&nodes).copied().unwrap_or(self.alone)
    }
}

/// Measures one syncer alone, then `syncers` at once for each count given
/// above one, in scratch files in `dir` that are removed afterwards.
pub(super) fn measure(dir: &Path, syncers: &[usize]) -> Result<DiskSync, String> {
    let alone = measure_together(dir, 1)?;
    let mut together = BTreeMap::new();
    for &n in syncers {
        if n > 1 && !together.contains_key(&n) {
            together.insert(n, measure_together(dir, n)?);
        }
    }
    Ok(DiskSync { alone, together })
}

/// `n` threads, each appending to and syncing its own scratch file, start
/// together; the latencies of all their syncs are pooled.
fn measure_together(dir: &Path, n: usize) -> Result<SyncCost, String> {
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| dir.join(format!("raftlab-bench-sync-{}-{i}", std::process::id())))
        .collect();
    let start = Barrier::new(n);
    let results: Vec<Result<Vec<Duration>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| {
                let start = &start;
                s.spawn(move || probe(path, start))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a disk probe thread failed".to_string()))
            })
            .collect()
    });
    for path in &paths {
        let _ = std::fs::remove_file(path);
    }
    let mut samples = Vec::with_capacity(n * PROBES);
    for result in results {
        samples.extend(result?);
    }
    samples.sort_unstable();
    let total: Duration = samples.iter().sum();
    Ok(SyncCost {
        p50: percentile(&samples, 50),
        mean: total / u32::try_from(samples.len().max(1)).unwrap_or(u32::MAX),
        p99: percentile(&samples, 99),
        samples: samples.len(),
    })
}

/// One syncer: waits for the others at `start`, then appends and syncs
/// until [`PROBES`] syncs or [`PROBE_TIME`] have passed.
fn probe(path: &Path, start: &Barrier) -> Result<Vec<Duration>, String> {
    let fail =
        |e: std::io::Error| format!("cannot measure the disk's sync at {}: {e}", path.display());
    let opened = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path);
    // Every syncer reaches the barrier, even one that cannot open its
    // file, so the others never wait forever.
    let mut file = match opened {
        Ok(file) => file,
        Err(e) => {
            start.wait();
            return Err(fail(e));
        }
    };
    let record = [0x5au8; RECORD];
    // The first sync also makes the file's metadata durable: not measured.
    let first = file.write_all(&record).and_then(|()| file.sync_all());
    start.wait();
    first.map_err(fail)?;
    let started = Instant::now();
    let mut samples = Vec::with_capacity(PROBES);
    while samples.len() < PROBES && started.elapsed() < PROBE_TIME {
        let t = Instant::now();
        file.write_all(&record).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

/// The `p`th percentile (nearest rank) of sorted `values`.
pub(super) fn percentile(values: &[Duration], p: usize) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (values.len() * p).div_ceil(100).max(1);
    values[rank.min(values.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_probe_measures_alone_and_together_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("raftlab-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let disk = measure(&dir, &[3, 1, 3]).unwrap();
        let cost = disk.alone;
        assert!(cost.samples > 0);
        assert!(cost.p50 > Duration::ZERO && cost.p99 >= cost.p50);
        assert!(cost.sequential_bound() > 0.0);
        // One concurrent measurement per count above one.
        assert_eq!(disk.together.keys().copied().collect::<Vec<_>>(), [3]);
        let three = disk.for_nodes(3);
        assert!(three.samples > 0 && three.p99 >= three.p50);
        assert_eq!(disk.for_nodes(1), disk.alone);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "a scratch file stays"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_place_is_said_in_words() {
        for n in [&[][..], &[3][..]] {
            let err = measure(Path::new("/nonexistent/raftlab"), n).unwrap_err();
            assert!(
                err.contains("cannot measure the disk's sync at /nonexistent/raftlab"),
                "{err}"
            );
        }
        let dir = Path::new("/nonexistent/raftlab");
        let err = measure_together(dir, 3).unwrap_err();
        assert!(err.contains("cannot measure the disk's sync"), "{err}");
    }

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
