//! Times the linearizability checker on generated histories.
//!
//! Plain `std::time` timing (no harness): it prints, for each shape of
//! history, how long generation and checking took. The headline figure is
//! 10,000 operations over 10 keys from 20 clients, which should check in
//! about a second or less. Run with `cargo bench --bench checker`.

use std::time::{Duration, Instant};

use raftlab::kv::linearizability::generate::{corrupt_read, random_history};
use raftlab::kv::linearizability::{Verdict, check_with_budget};

/// Runs `f` `runs` times and returns its result and the fastest time,
/// which is the least disturbed by other work on the machine.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        out = Some(value);
    }
    match out {
        Some(value) => (value, best),
        None => unreachable!("runs is at least 1"),
    }
}

fn verdict_name(v: &Result<Verdict, raftlab::kv::history::HistoryError>) -> &'static str {
    match v {
        Ok(Verdict::Linearizable) => "linearizable",
        Ok(Verdict::NotLinearizable { .. }) => "NOT linearizable",
        Ok(Verdict::Unknown) => "unknown",
        Err(_) => "error",
    }
}

/// Runs per figure; the fastest is reported.
const RUNS: usize = 3;

/// Beyond this a check answers `unknown`, so a pathological shape cannot
/// hang the benchmark.
const BUDGET: Duration = Duration::from_secs(5);

fn main() {
    let seed = 42;
    println!(
        "{:<36} {:>10} {:>12}  verdict",
        "history", "events", "check"
    );
    for &(ops, keys, clients) in &[
        (10_000, 10, 20),
        (10_000, 1, 5),
        (10_000, 1, 10),
        (10_000, 1, 20),
        (100_000, 10, 20),
        (10_000, 10, 100),
    ] {
        let mut events = random_history(seed, ops, keys, clients);
        let (verdict, took) = time(RUNS, || check_with_budget(&events, BUDGET));
        println!(
            "{:<36} {:>10} {:>10.1}ms  {}",
            format!("{ops} ops, {keys} keys, {clients} clients"),
            events.len(),
            took.as_secs_f64() * 1e3,
            verdict_name(&verdict)
        );
        corrupt_read(&mut events, seed);
        let (verdict, took) = time(RUNS, || check_with_budget(&events, BUDGET));
        println!(
            "{:<36} {:>10} {:>10.1}ms  {}",
            "  same, one read corrupted",
            events.len(),
            took.as_secs_f64() * 1e3,
            verdict_name(&verdict)
        );
    }
}
