//! What `raftlab class` lets a class see, measured on its own preset
//! (`raftlab class`'s flags, parsed as the command line parses them):
//! how long a Candidate and an uncommitted entry stay on screen.
//!
//! Computed from simulated time, not from a clock: the simulated dashboard
//! draws the state at every tick boundary (10 ms of cluster time) and a
//! tick lasts `TICK_WALL / speed` of wall time, so a state held from
//! cluster time `a` to `b` is on screen for (the tick boundaries in
//! `[a, b)`) × that. The figures are properties of the preset's latency
//! and speed, the same on every machine.

use clap::Parser;

use super::dashboard::{CLASS_SPEED, sim_flags};
use super::{Cli, Command};
use crate::kv::Op;
use crate::raft::{NodeId, Role};
use crate::runtime::TICK_CLUSTER_US;
use crate::sim::{Sim, SimOptions};
use crate::tui::layout::Preset;
use crate::tui::sim::TICK_WALL;

/// `raftlab class --seed SEED`'s simulator options and clock speed.
fn class_preset(seed: u64) -> (SimOptions, f64) {
    let seed = seed.to_string();
    let cli = Cli::try_parse_from(["raftlab", "class", "--seed", seed.as_str()]).unwrap();
    let Some(Command::Class(args)) = cli.command else {
        panic!("`raftlab class` did not parse as the class command");
    };
    let flags = sim_flags(args, "raftlab class", CLASS_SPEED, true, Preset::Class);
    assert!(flags.paused, "the class starts paused");
    (super::replay::sim_options(&flags).unwrap(), flags.speed)
}

/// Cluster time from `a` to `b` as the screen shows it: the tick
/// boundaries in `[a, b)`, each one view, times a tick.
fn on_screen_us(a: u64, b: u64) -> u64 {
    let first = a.div_ceil(TICK_CLUSTER_US);
    let end = b.div_ceil(TICK_CLUSTER_US);
    end.saturating_sub(first) * TICK_CLUSTER_US
}

/// Wall seconds that `us` of cluster time lasts at `speed`.
fn wall_s(us: u64, speed: f64) -> f64 {
    let ticks = us as f64 / TICK_CLUSTER_US as f64;
    TICK_WALL.as_secs_f64() * ticks / speed
}

/// One seed's run: every Candidate spell (cluster µs from becoming
/// Candidate to leaving it, as shown) and how long a `put` stayed
/// uncommitted on the leader (as shown).
struct Seen {
    candidates: Vec<u64>,
    uncommitted: u64,
}

/// Runs `until` µs more, noting each node's Candidate spells as they end.
fn run_noting(sim: &mut Sim, us: u64, since: &mut [Option<u64>], spells: &mut Vec<u64>) {
    sim.run_until(us, |sim| {
        for id in sim.node_ids() {
            let i = (id - 1) as usize;
            let candidate = sim.status(id).is_some_and(|s| s.role == Role::Candidate);
            match (since[i], candidate) {
                (None, true) => since[i] = Some(sim.now_us()),
                (Some(start), false) => {
                    spells.push(on_screen_us(start, sim.now_us()));
                    since[i] = None;
                }
                _ => {}
            }
        }
        false
    })
    .unwrap();
}

/// The first election, a `put` through the leader as the console sends it
/// (between ticks), then the leader killed and a second election.
fn watch(seed: u64) -> Seen {
    let (opts, _) = class_preset(seed);
    let mut sim = Sim::new(opts).unwrap();
    let mut since = vec![None; sim.node_ids().len()];
    let mut candidates = Vec::new();
    run_noting(&mut sim, 3_000_000, &mut since, &mut candidates);
    let leader: NodeId = sim.leader().expect("a leader within 3 s");
    // The console's request is applied at a tick boundary, and the view
    // drawn then shows the new entry.
    let at = sim.now_us();
    assert_eq!(at % TICK_CLUSTER_US, 0);
    let put = Op::Put {
        key: "x".into(),
        value: "1".into(),
    };
    assert!(sim.start_foreground(put, Some(leader), 5_000_000).unwrap());
    let index = sim.status(leader).unwrap().last_index;
    assert_eq!(
        sim.log(leader).unwrap().last().map(|e| e.index),
        Some(index)
    );
    let committed = sim
        .run_until(1_000_000, |s| {
            s.status(leader).is_some_and(|st| st.commit >= index)
        })
        .unwrap();
    assert!(committed, "seed {seed}: the put commits within 1 s");
    let uncommitted = on_screen_us(at, sim.now_us());
    run_noting(&mut sim, 500_000, &mut since, &mut candidates);
    let leader = sim.leader().expect("still a leader");
    sim.crash(leader).unwrap();
    run_noting(&mut sim, 3_000_000, &mut since, &mut candidates);
    assert!(sim.leader().is_some(), "seed {seed}: a new leader");
    Seen {
        candidates,
        uncommitted,
    }
}

/// The bar: over 20 seeds of the classroom preset, a Candidate
/// shows for at least 0.5 s of wall time in at least 90% of elections,
/// and a `put`'s entry stays uncommitted on the leader for at least 0.3 s.
#[test]
fn the_class_shows_candidates_and_uncommitted_entries_long_enough() {
    let (_, speed) = class_preset(1);
    assert_eq!(speed, CLASS_SPEED);
    let runs: Vec<Seen> = (1..=20).map(watch).collect();
    let spells: Vec<u64> = runs.iter().flat_map(|r| r.candidates.clone()).collect();
    let puts: Vec<u64> = runs.iter().map(|r| r.uncommitted).collect();
    assert!(
        spells.len() >= 40,
        "two elections a seed at least: {spells:?}"
    );
    let long = spells
        .iter()
        .filter(|&&us| wall_s(us, speed) >= 0.5)
        .count();
    let share = long as f64 / spells.len() as f64;
    let quantile = |v: &[u64], q: f64| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v[((v.len() - 1) as f64 * q).round() as usize]
    };
    for (name, at) in [("class", speed), ("speed 1", 1.0)] {
        println!(
            "{name} (speed {at}): Candidate on screen min {:.2} s, median {:.2} s over {} elections \
             ({:.0}% ≥ 0.5 s); put uncommitted on the leader min {:.2} s, median {:.2} s over {} puts",
            wall_s(quantile(&spells, 0.0), at),
            wall_s(quantile(&spells, 0.5), at),
            spells.len(),
            100.0 * spells.iter().filter(|&&us| wall_s(us, at) >= 0.5).count() as f64
                / spells.len() as f64,
            wall_s(quantile(&puts, 0.0), at),
            wall_s(quantile(&puts, 0.5), at),
            puts.len(),
        );
    }
    assert!(
        share >= 0.9,
        "only {long} of {} Candidate spells show for 0.5 s: {spells:?}",
        spells.len()
    );
    for (seed, us) in (1..).zip(&puts) {
        assert!(
            wall_s(*us, speed) >= 0.3,
            "seed {seed}: the put showed uncommitted for {} s only",
            wall_s(*us, speed)
        );
    }
}

/// The latency is what makes it: at `raftlab check`'s 0.5–2 ms the
/// Candidate of the first election is gone before the next view.
#[test]
fn without_visible_latency_the_candidate_hides_between_views() {
    let hidden = (1..=20)
        .filter(|&seed| {
            let (mut opts, _) = class_preset(seed);
            opts.latency_us = crate::net::Link::DEFAULT_DELAY_US;
            let mut sim = Sim::new(opts).unwrap();
            let mut since = vec![None; sim.node_ids().len()];
            let mut spells = Vec::new();
            run_noting(&mut sim, 3_000_000, &mut since, &mut spells);
            spells.first() == Some(&0)
        })
        .count();
    assert!(hidden >= 15, "{hidden} of 20 first Candidates were hidden");
}
