//! Membership changes in the simulator: growing with a new node, replacing
//! a crashed one, refusals that leave the cluster as it was, and fault runs
//! with the membership track that keep every invariant.

use super::*;
use crate::raft::{ConfChange, Membership, RaftError};

fn voters(sim: &Sim) -> Vec<NodeId> {
    sim.membership().unwrap().voters.to_vec()
}

/// Waits until every up node uses the leader's configuration.
fn settle(sim: &mut Sim) {
    let agreed = sim
        .run_until(2_000_000, |s| {
            let Some(want) = s.membership() else {
                return false;
            };
            want.members()
                .into_iter()
                .filter(|&id| s.is_up(id))
                .all(|id| {
                    s.membership_of(id) == Some(want) && !s.status(id).unwrap().membership_pending
                })
        })
        .unwrap();
    assert!(agreed, "configurations did not settle");
}

#[test]
fn a_new_node_joins_as_a_learner_and_is_promoted() {
    let mut sim = Sim::new(opts(11)).unwrap();
    elect(&mut sim);
    sim.submit(put("x", "1"), None, 1_000_000).unwrap();
    sim.change_membership(ConfChange::AddLearner(6)).unwrap();
    assert_eq!(sim.node_ids(), vec![1, 2, 3, 4, 5, 6]);
    settle(&mut sim);
    assert_eq!(sim.membership().unwrap().learners.to_vec(), vec![6]);
    sim.run_for(300_000).unwrap();
    assert_eq!(sim.local_get(6, "x"), Some(Some("1".into())));
    sim.change_membership(ConfChange::Promote(6)).unwrap();
    settle(&mut sim);
    assert_eq!(voters(&sim), vec![1, 2, 3, 4, 5, 6]);
    sim.submit(put("y", "2"), Some(6), 1_000_000).unwrap();
    sim.check_history().unwrap();
}

#[test]
fn a_crashed_node_is_replaced() {
    let mut sim = Sim::new(opts(12)).unwrap();
    let leader = elect(&mut sim);
    sim.run_for(100_000).unwrap();
    let dead = sim.node_ids().into_iter().find(|&i| i != leader).unwrap();
    sim.crash(dead).unwrap();
    sim.change_membership(ConfChange::Remove(dead)).unwrap();
    settle(&mut sim);
    sim.change_membership(ConfChange::AddLearner(6)).unwrap();
    settle(&mut sim);
    sim.run_for(300_000).unwrap();
    sim.change_membership(ConfChange::Promote(6)).unwrap();
    settle(&mut sim);
    let want: Vec<NodeId> = (1..=6).filter(|&i| i != dead).collect();
    assert_eq!(voters(&sim), want);
    sim.submit(put("x", "1"), None, 1_000_000).unwrap();
    sim.check_history().unwrap();
}

#[test]
fn bad_changes_are_refused_and_harm_nothing() {
    let mut sim = Sim::new(opts(13)).unwrap();
    elect(&mut sim);
    sim.run_for(100_000).unwrap();
    let before: Membership = sim.membership().unwrap();
    assert!(matches!(
        sim.change_membership(ConfChange::AddLearner(10)),
        Err(SimError::NodeLimit(10))
    ));
    assert!(matches!(
        sim.change_membership(ConfChange::AddLearner(8)),
        Err(SimError::NotNextNode { id: 8, next: 6 })
    ));
    assert!(matches!(
        sim.change_membership(ConfChange::AddLearner(3)),
        Err(SimError::Raft(RaftError::AlreadyMember {
            id: 3,
            voter: true
        }))
    ));
    assert!(matches!(
        sim.change_membership(ConfChange::Promote(7)),
        Err(SimError::UnknownNode(7))
    ));
    sim.change_membership(ConfChange::Remove(2)).unwrap();
    let second = sim.change_membership(ConfChange::Remove(3));
    assert!(
        matches!(
            second,
            Err(SimError::Raft(RaftError::ChangeInProgress { .. }))
        ),
        "{second:?}"
    );
    settle(&mut sim);
    assert_eq!(voters(&sim), vec![1, 3, 4, 5]);
    assert_ne!(sim.membership(), Some(before));
    assert_eq!(sim.node_ids(), vec![1, 2, 3, 4, 5], "nothing was added");
    sim.submit(put("x", "1"), None, 1_000_000).unwrap();
    sim.check_history().unwrap();
}

/// Runs seeds 0 to 5 with `faults` for 5 s each, every invariant and the
/// history checked; returns their stats.
fn six_checked_runs(faults: &str) -> Vec<crate::sim::SimStats> {
    (0..6)
        .map(|seed| {
            let mut o = busy(seed);
            o.faults = FaultSchedule::parse(faults).unwrap();
            let mut sim = Sim::new(o).unwrap();
            if let Err(v) = sim.run_for(5_000_000) {
                panic!("{v}");
            }
            if let Err(v) = sim.check_history() {
                panic!("{v}");
            }
            let s = sim.stats();
            assert!(s.ops_ok > 0, "seed {seed}: {s}");
            s.clone()
        })
        .collect()
}

#[test]
fn runs_with_membership_changes_keep_invariants() {
    let stats = six_checked_runs("membership,crash,partition");
    let changes: u64 = stats.iter().map(|s| s.membership_changes).sum();
    assert!(changes >= 6, "only {changes} membership changes");
}

#[test]
fn membership_runs_replay_exactly() {
    let mut o = busy(21);
    o.faults = FaultSchedule::parse("membership,crash").unwrap();
    assert_eq!(run_hash(o.clone(), 3_000_000), run_hash(o, 3_000_000));
}

#[test]
fn reconfiguration_races_keep_invariants() {
    let stats = six_checked_runs("reconfig,membership,crash");
    let races: u64 = stats.iter().map(|s| s.races).sum();
    assert!(races >= 6, "only {races} races");
}

#[test]
fn a_reconfiguration_race_catches_two_changes_in_flight() {
    let mut o = busy(1);
    o.faults = FaultSchedule::parse("reconfig").unwrap();
    o.bugs.two_changes_in_flight = true;
    let mut sim = Sim::new(o).unwrap();
    let v = sim.run_for(10_000_000).unwrap_err();
    assert_eq!(
        v.invariant,
        crate::check::Invariant::LeaderCompleteness,
        "{v}"
    );
    assert!(sim.stats().races >= 1);
}

#[test]
fn reconfiguration_races_replay_exactly() {
    let mut o = busy(22);
    o.faults = FaultSchedule::parse("reconfig,partition,crash").unwrap();
    assert_eq!(run_hash(o.clone(), 3_000_000), run_hash(o, 3_000_000));
}
