//! Snapshot and restore time of the KV state machine at 100,000 keys.
//!
//! `cargo bench --bench snapshot` prints, for stores of 10,000 and 100,000
//! keys, the size of the snapshot and the time to take and to restore it
//! (fastest of several rounds).

use std::time::{Duration, Instant};

use raftlab::kv::{Command, KvStore, Op};
use raftlab::raft::{Entry, EntryData};

fn store_with(keys: usize) -> KvStore {
    let mut kv = KvStore::new();
    for i in 0..keys {
        let command = Command {
            client: (i % 50) as u64 + 1,
            seq: (i / 50) as u64 + 1,
            op: Op::Put {
                key: format!("key-{i:08}"),
                value: format!("value-{i}-{}", "x".repeat(20)),
            },
        };
        let entry = Entry {
            index: i as u64 + 1,
            term: 1,
            data: EntryData::Command(command.encode().into()),
        };
        if let Err(e) = kv.apply(&entry) {
            eprintln!("cannot build the store: {e}");
            std::process::exit(1);
        }
    }
    kv
}

fn fastest<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed());
        last = Some(out);
    }
    match last {
        Some(out) => (best, out),
        None => (best, f()),
    }
}

fn main() {
    println!(
        "{:>8}  {:>10}  {:>10}  {:>10}",
        "keys", "bytes", "snapshot", "restore"
    );
    for keys in [10_000, 100_000] {
        let kv = store_with(keys);
        let (take, bytes) = fastest(5, || kv.snapshot());
        let (restore, restored) = fastest(5, || KvStore::restore(&bytes));
        match restored {
            Ok(restored) if restored == kv => {}
            Ok(_) => {
                eprintln!("the restored store differs");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("restore failed: {e}");
                std::process::exit(1);
            }
        }
        println!(
            "{keys:>8}  {:>10}  {:>8.1}ms  {:>8.1}ms",
            bytes.len(),
            take.as_secs_f64() * 1e3,
            restore.as_secs_f64() * 1e3
        );
    }
}
