//! A guard for refactoring: the simulator's runs must not change.
//!
//! Each line of `tests/golden/trace_hashes.txt` names one run and two
//! digests of it: the simulator's own [`Sim::trace_hash`] (events, message
//! kinds and node states) and a digest of every message sent in full —
//! its bytes on the wire and its fate in the fabric — which catches a
//! changed `prev_index`, entry batch or hint that the trace hash alone
//! would not. The runs are `raftlab check`'s default configuration (5
//! nodes, all faults, 5 clients on 5 keys, 1000 operations over 10 s) for
//! seeds 0..200, a few seeds of every known-unsafe variant and of 1- and
//! 3-node clusters, and every scenario script, bug script and tour.
//!
//! A behaviour change made on purpose is blessed with
//! `RAFTLAB_BLESS=1 cargo test --release --test trace_hashes`; otherwise
//! the test lists every run whose digests moved.
//!
//! `cargo test --release --test trace_hashes -- --ignored --nocapture`
//! prints the digests of `raftlab check`'s default runs for the seeds in
//! `RAFTLAB_HASH_SEEDS` (default `0..200`), one line per seed, to compare
//! two builds over more seeds than the golden file holds.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use raftlab::raft::{Bugs, Message};
use raftlab::scenario::{Cluster, ClusterSpec, run_script};
use raftlab::sim::{FaultSchedule, SendFate, Sim, SimOptions};

/// A 64-bit FNV-1a digest, shared with the send hook of one simulation.
#[derive(Clone)]
struct Digest(Arc<Mutex<u64>>);

impl Digest {
    fn new() -> Digest {
        Digest(Arc::new(Mutex::new(0xcbf2_9ce4_8422_2325)))
    }

    fn add(&self, bytes: &[u8]) {
        let mut h = self.0.lock().unwrap();
        for &b in bytes {
            *h = (*h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn value(&self) -> u64 {
        *self.0.lock().unwrap()
    }

    /// Installs a hook on `sim` that folds every message it sends, with
    /// the time and its fate, into this digest.
    fn watch(&self, sim: &mut Sim) {
        let digest = self.clone();
        sim.on_send(Box::new(
            move |msg: &Message, time: u64, fate: SendFate<'_>| {
                digest.add(&postcard::to_allocvec(msg).unwrap());
                digest.add(&time.to_le_bytes());
                digest.add(format!("{fate:?}").as_bytes());
            },
        ));
    }
}

/// The options `raftlab check` uses by default for `seed` (see
/// `Plan::options` in `src/cli/check.rs`: 1000 ops over 10 s, 5 clients,
/// 5 keys, all faults, 5 nodes).
fn check_options(seed: u64, nodes: usize, bugs: Bugs) -> SimOptions {
    SimOptions {
        nodes,
        seed,
        bugs,
        faults: FaultSchedule::parse("all").unwrap(),
        clients: 5,
        ops_per_sec: 100,
        max_ops: 1000,
        keys: 5,
        ..SimOptions::default()
    }
}

/// Runs one check run (10 s of simulated time, then the history check)
/// and describes it as a golden line.
fn check_line(label: &str, opts: SimOptions) -> String {
    let mut sim = Sim::new(opts).unwrap();
    let digest = Digest::new();
    digest.watch(&mut sim);
    let result = sim.run_for(10_000_000).and_then(|()| sim.check_history());
    let outcome = if result.is_ok() { "ok" } else { "violation" };
    format!(
        "{label} trace={:016x} messages={:016x} {outcome}",
        sim.trace_hash(),
        digest.value()
    )
}

/// The `.scen` files in `dir` (relative to the crate), sorted.
fn scripts(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scen"))
        .collect();
    files.sort();
    files
}

/// Runs one script in the simulator as `raftlab script` does (default
/// seed 1) and describes it as a golden line.
fn script_line(dir: &str, path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    // The printed demo takes its size and seed from the command line.
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{nodes}", "5")
        .replace("{seed}", "1");
    let digest = Digest::new();
    let watched = digest.clone();
    let factory = move |spec: ClusterSpec| {
        let opts = SimOptions {
            nodes: spec.nodes,
            seed: spec.seed.unwrap_or(1),
            bugs: spec.bugs,
            ..SimOptions::default()
        };
        let mut sim = Sim::new(opts).map_err(|e| e.to_string())?;
        watched.watch(&mut sim);
        Ok(Box::new(sim) as Box<dyn Cluster>)
    };
    let report = run_script(&text, &name, factory).unwrap();
    let trace = report
        .trace_hash
        .map_or("none".to_string(), |h| format!("{h:016x}"));
    let outcome = if report.passed { "passed" } else { "failed" };
    format!(
        "{dir}/{name} trace={trace} messages={:016x} {outcome}",
        digest.value()
    )
}

/// Every run the golden file pins, in order.
fn all_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for seed in 0..200 {
        lines.push(check_line(
            &format!("check seed={seed}"),
            check_options(seed, 5, Bugs::default()),
        ));
    }
    for nodes in [1, 3] {
        for seed in 0..10 {
            lines.push(check_line(
                &format!("check nodes={nodes} seed={seed}"),
                check_options(seed, nodes, Bugs::default()),
            ));
        }
    }
    for (name, _) in Bugs::NAMES {
        let mut bugs = Bugs::default();
        assert!(bugs.enable(name));
        for seed in 0..10 {
            lines.push(check_line(
                &format!("check bug={name} seed={seed}"),
                check_options(seed, 5, bugs),
            ));
        }
    }
    for dir in ["tests/scenarios", "tests/bugs", "assets/tours"] {
        for path in scripts(dir) {
            lines.push(script_line(dir, &path));
        }
    }
    lines
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/trace_hashes.txt")
}

#[test]
fn simulated_runs_keep_their_trace_hashes() {
    let lines = all_lines();
    let mut text = String::from(
        "# Digests of simulated runs; see tests/trace_hashes.rs. Regenerate with\n\
         # RAFTLAB_BLESS=1 cargo test --release --test trace_hashes\n",
    );
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    let path = golden_path();
    if std::env::var_os("RAFTLAB_BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        println!("wrote {} runs to {}", lines.len(), path.display());
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with RAFTLAB_BLESS=1",
            path.display()
        )
    });
    let want: Vec<&str> = golden.lines().filter(|l| !l.starts_with('#')).collect();
    let label = |l: &str| l.split(" trace=").next().unwrap_or(l).to_string();
    let mut changed = Vec::new();
    for line in &lines {
        match want.iter().find(|w| label(w) == label(line)) {
            Some(w) if *w == line => {}
            Some(w) => changed.push(format!("  - {w}\n  + {line}")),
            None => changed.push(format!("  + {line} (not in the golden file)")),
        }
    }
    for w in &want {
        if !lines.iter().any(|l| label(l) == label(w)) {
            changed.push(format!("  - {w} (no longer run)"));
        }
    }
    assert!(
        changed.is_empty(),
        "{} of {} runs changed (bless a change made on purpose with RAFTLAB_BLESS=1):\n{}",
        changed.len(),
        lines.len(),
        changed.join("\n")
    );
}

/// Prints the digests of the default check runs for `RAFTLAB_HASH_SEEDS`
/// (`A..B`, default `0..200`), to compare two builds by hand.
#[test]
#[ignore]
fn print_check_hashes() {
    let range = std::env::var("RAFTLAB_HASH_SEEDS").unwrap_or_else(|_| "0..200".into());
    let (a, b) = range.split_once("..").expect("RAFTLAB_HASH_SEEDS is A..B");
    let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
    for seed in a..b {
        println!(
            "{}",
            check_line(
                &format!("check seed={seed}"),
                check_options(seed, 5, Bugs::default())
            )
        );
    }
}
