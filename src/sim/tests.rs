//! Simulator tests: determinism, the client path, crash and restart, and
//! faulty runs that must keep every invariant.

use super::*;

fn opts(seed: u64) -> SimOptions {
    SimOptions {
        seed,
        ..SimOptions::default()
    }
}

fn busy(seed: u64) -> SimOptions {
    SimOptions {
        seed,
        clients: 3,
        ops_per_sec: 200,
        faults: FaultSchedule::all(),
        ..SimOptions::default()
    }
}

fn run_hash(o: SimOptions, us: u64) -> u64 {
    let mut sim = Sim::new(o).unwrap();
    sim.run_for(us).unwrap();
    sim.trace_hash()
}

#[test]
fn same_seed_same_trace_different_seed_different_trace() {
    let a = run_hash(busy(7), 2_000_000);
    let b = run_hash(busy(7), 2_000_000);
    let c = run_hash(busy(8), 2_000_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn options_are_validated() {
    for nodes in [0, 10] {
        let o = SimOptions {
            nodes,
            ..SimOptions::default()
        };
        assert!(matches!(Sim::new(o), Err(SimError::InvalidOptions(_))));
    }
    let sim = Sim::new(opts(1)).unwrap();
    assert_eq!(sim.node_ids(), vec![1, 2, 3, 4, 5]);
    assert!(
        sim.replay_command()
            .contains("--seeds 1..2 --nodes 5 --faults none")
    );
}

#[test]
fn crash_and_restart_errors() {
    let mut sim = Sim::new(opts(1)).unwrap();
    assert!(matches!(sim.crash(9), Err(SimError::UnknownNode(9))));
    assert!(matches!(sim.restart(2), Err(SimError::NodeUp(2))));
    sim.crash(2).unwrap();
    assert!(!sim.is_up(2));
    assert_eq!(sim.status(2), None);
    assert_eq!(sim.local_get(2, "x"), None);
    assert!(sim.log(2).is_some());
    assert!(matches!(sim.crash(2), Err(SimError::NodeDown(2))));
    sim.run_for(100_000).unwrap();
    sim.restart(2).unwrap();
    assert!(sim.is_up(2));
}
