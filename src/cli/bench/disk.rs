//! The disk's own limit, measured where the file rows keep their logs.
//!
//! A durable write cannot be acknowledged before its log is synced, so the
//! latency of one `fdatasync` of a small append bounds what the file rows
//! can do: one client's writes at best one sync (plus a round trip) each,
//! many clients' at best one sync per batch. `raftlab bench` measures it
//! before the file rows and prints each row beside it, so the gap between
//! raftlab and the disk shows in every run.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use super::load::percentile;

/// Syncs the probe makes at most…
const PROBES: usize = 200;
/// …and the longest it spends making them.
const PROBE_TIME: Duration = Duration::from_millis(800);
/// Bytes appended before each sync: about one small put's log record.
const RECORD: usize = 128;

/// What one synced append costs on a disk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct SyncCost {
    /// Median latency of write + fdatasync.
    pub(super) p50: Duration,
    /// 99th percentile.
    pub(super) p99: Duration,
    /// Syncs measured.
    pub(super) samples: usize,
}

impl SyncCost {
    /// Durable writes per second one client could make if each cost one
    /// sync and nothing else.
    pub(super) fn sequential_bound(&self) -> f64 {
        1.0 / self.p50.as_secs_f64().max(1e-9)
    }
}

/// Appends and syncs a scratch file in `dir` until [`PROBES`] syncs or
/// [`PROBE_TIME`] have passed, then removes it.
pub(super) fn measure(dir: &Path) -> Result<SyncCost, String> {
    let path = dir.join(format!("raftlab-bench-sync-{}", std::process::id()));
    let result = probe(&path);
    let _ = std::fs::remove_file(&path);
    result
}

fn probe(path: &Path) -> Result<SyncCost, String> {
    let fail =
        |e: std::io::Error| format!("cannot measure the disk's sync at {}: {e}", path.display());
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(path)
        .map_err(fail)?;
    let record = [0x5au8; RECORD];
    // The first sync also makes the file's metadata durable: not measured.
    file.write_all(&record).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    let started = Instant::now();
    let mut samples = Vec::with_capacity(PROBES);
    while samples.len() < PROBES && started.elapsed() < PROBE_TIME {
        let t = Instant::now();
        file.write_all(&record).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    Ok(SyncCost {
        p50: percentile(&samples, 50),
        p99: percentile(&samples, 99),
        samples: samples.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_probe_measures_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("raftlab-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cost = measure(&dir).unwrap();
        assert!(cost.samples > 0);
        assert!(cost.p50 > Duration::ZERO && cost.p99 >= cost.p50);
        assert!(cost.sequential_bound() > 0.0);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "the scratch file stays"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_place_is_said_in_words() {
        let err = measure(Path::new("/nonexistent/raftlab")).unwrap_err();
        assert!(
            err.contains("cannot measure the disk's sync at /nonexistent/raftlab"),
            "{err}"
        );
    }
}
