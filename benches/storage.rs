//! Benchmarks of the file store (issue 4's figures), measured with
//! `std::time` and printed as tables.
//!
//! ```text
//! cargo bench --bench storage              # every section
//! cargo bench --bench storage -- append    # one section: append, recovery
//! ```
//!
//! - *append*: log append throughput with group commit — entries of 100
//!   bytes and 4 KiB, appended in batches of 1, 16 and 256 entries, one
//!   fsync per batch; entries per second and payload MB per second.
//! - *recovery*: the time `FileStorage::open` takes to replay a log of
//!   100,000 entries of 100 bytes (default 8 MiB segments).
//!
//! The data directory is under the system temp dir, so the figures are
//! those of its file system and its fsync. Nothing is asserted.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use raftlab::raft::{Entry, EntryData, LogWrite};
use raftlab::storage::{FileStorage, LogStorage};

/// How long each append configuration runs.
const APPEND_TIME: Duration = Duration::from_millis(1500);
/// Entries in the recovery log.
const RECOVERY_ENTRIES: u64 = 100_000;

/// A data directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!(
            "raftlab-bench-storage-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn batch(from: u64, n: u64, size: usize) -> LogWrite {
    LogWrite {
        from,
        entries: (from..from + n)
            .map(|index| Entry {
                index,
                term: 1,
                data: EntryData::Command(vec![(index % 251) as u8; size].into()),
            })
            .collect(),
    }
}

fn append(size: usize, per_sync: u64) -> Result<(f64, f64, f64), Box<dyn std::error::Error>> {
    let dir = TempDir::new(&format!("append-{size}-{per_sync}"));
    let (mut s, _) = FileStorage::open(&dir.0, 1, 1)?;
    let start = Instant::now();
    let mut next = 1;
    let mut syncs = 0u64;
    while start.elapsed() < APPEND_TIME {
        // Encoding the entries is the caller's work, not the store's.
        let write = batch(next, per_sync, size);
        s.append(&write)?;
        s.sync()?;
        next += per_sync;
        syncs += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let entries = (next - 1) as f64;
    Ok((
        entries / secs,
        entries * size as f64 / secs / 1e6,
        syncs as f64 / secs,
    ))
}

fn recovery() -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let dir = TempDir::new("recovery");
    let (mut s, _) = FileStorage::open(&dir.0, 1, 1)?;
    let mut next = 1;
    while next <= RECOVERY_ENTRIES {
        let n = 256.min(RECOVERY_ENTRIES + 1 - next);
        s.append(&batch(next, n, 100))?;
        next += n;
    }
    s.sync()?;
    let bytes: u64 = s
        .segment_paths()
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    drop(s);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        let (s, recovery) = FileStorage::open(&dir.0, 1, 1)?;
        best = best.min(start.elapsed().as_secs_f64());
        let found = recovery.durable.entries.len() as u64;
        if found != RECOVERY_ENTRIES {
            return Err(format!("recovered {found} entries, wrote {RECOVERY_ENTRIES}").into());
        }
        drop(s);
    }
    Ok((best, bytes))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if wants("append") {
        println!("append with group commit (one fsync per batch), {APPEND_TIME:?} each");
        println!(
            "{:>8} {:>7} {:>12} {:>10} {:>9}",
            "entry", "batch", "entries/s", "MB/s", "fsyncs/s"
        );
        for size in [100, 4096] {
            for per_sync in [1, 16, 256] {
                let (eps, mbps, sps) = append(size, per_sync)?;
                println!("{size:>7}B {per_sync:>7} {eps:>12.0} {mbps:>10.2} {sps:>9.0}");
            }
        }
        println!();
    }
    if wants("recovery") {
        let (secs, bytes) = recovery()?;
        println!(
            "recovery of {RECOVERY_ENTRIES} entries of 100 B ({:.1} MB of segments): {:.1} ms (best of 3), {:.2} M entries/s",
            bytes as f64 / 1e6,
            secs * 1e3,
            RECOVERY_ENTRIES as f64 / secs / 1e6
        );
    }
    Ok(())
}
