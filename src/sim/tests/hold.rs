//! Messages held by hand in the simulator: held ones wait, numbered,
//! until delivered (at once) or dropped; a replay holds and numbers the
//! same messages.

use super::*;
use crate::net::{HeldRef, HoldError};

fn with_leader(seed: u64) -> (Sim, NodeId) {
    let mut sim = Sim::new(opts(seed)).unwrap();
    assert!(sim.run_until(3_000_000, |s| s.leader().is_some()).unwrap());
    let leader = sim.leader().unwrap();
    (sim, leader)
}

/// While holding, nothing arrives (once what was already on its way
/// has); each message delivered by hand arrives at once, in the order
/// asked.
#[test]
fn held_messages_wait_until_delivered_by_hand() {
    let (mut sim, leader) = with_leader(3);
    assert!(!sim.set_hold(true));
    sim.run_for(50_000).unwrap();
    let delivered = sim.stats().messages_delivered;
    sim.run_for(300_000).unwrap();
    assert_eq!(sim.stats().messages_delivered, delivered, "nothing arrives");
    let held = sim.held();
    assert!(held.len() >= 4, "the leader's heartbeats wait: {held:?}");
    assert!(held.iter().any(|h| h.from == leader));
    let numbers: Vec<u64> = held.iter().map(|h| h.number).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    // Held messages count as in flight on their links.
    let in_flight: u64 = sim.in_flight().values().sum();
    assert!(in_flight >= held.len() as u64);

    let first = held[0].clone();
    let got = sim.deliver_held(HeldRef::One(first.number)).unwrap();
    assert_eq!(got, std::slice::from_ref(&first));
    assert_eq!(
        sim.stats().messages_delivered,
        delivered + 1,
        "delivered at once"
    );
    assert!(sim.held().iter().all(|h| h.number != first.number));
    // It answered, and the answer is held too.
    assert!(
        sim.held()
            .iter()
            .any(|h| h.from == first.to && h.to == first.from),
        "{:?}",
        sim.held()
    );
    let missing = sim.deliver_held(HeldRef::One(first.number)).unwrap_err();
    assert!(matches!(
        missing,
        SimError::Hold(HoldError::NotHeld { number, .. }) if number == first.number
    ));
}

/// Every pre-vote of the first election is held: no leader until they are
/// let go, and then one is elected.
#[test]
fn a_held_election_waits_for_its_votes() {
    let mut sim = Sim::new(opts(5)).unwrap();
    sim.set_hold(true);
    sim.run_for(1_000_000).unwrap();
    assert_eq!(sim.leader(), None);
    assert!(sim.held().iter().any(|h| h.kind == "PreVote"));
    let released = sim.release().unwrap();
    assert!(!released.is_empty() && sim.held().is_empty() && !sim.holding());
    assert!(sim.run_until(2_000_000, |s| s.leader().is_some()).unwrap());
}

#[test]
fn dropped_ones_are_lost_and_counted() {
    let (mut sim, _) = with_leader(4);
    sim.set_hold(true);
    sim.run_for(120_000).unwrap();
    let held = sim.held().len();
    assert!(held > 0);
    let dropped = sim.stats().messages_dropped;
    let gone = sim.drop_held(HeldRef::All).unwrap();
    assert_eq!(gone.len(), held);
    assert_eq!(sim.stats().messages_dropped, dropped + held as u64);
    assert!(sim.held().is_empty());
    assert!(sim.deliver_held(HeldRef::All).unwrap().is_empty());
}

/// A message held for a node that crashed and came back since is lost
/// when it is delivered: it was meant for the earlier life.
#[test]
fn a_held_message_for_an_earlier_life_is_lost() {
    let (mut sim, leader) = with_leader(6);
    sim.set_hold(true);
    sim.run_for(60_000).unwrap();
    let to_follower = sim
        .held()
        .into_iter()
        .find(|h| h.from == leader)
        .expect("a heartbeat held");
    sim.crash(to_follower.to).unwrap();
    sim.restart(to_follower.to).unwrap();
    let (delivered, dropped) = (sim.stats().messages_delivered, sim.stats().messages_dropped);
    sim.deliver_held(HeldRef::One(to_follower.number)).unwrap();
    assert_eq!(sim.stats().messages_delivered, delivered);
    assert_eq!(sim.stats().messages_dropped, dropped + 1);
}

/// The same seed and the same hand, at the same times: the same held
/// messages with the same numbers, and the same run.
#[test]
fn holding_is_deterministic() {
    let run = || {
        let (mut sim, _) = with_leader(8);
        sim.set_hold(true);
        sim.run_for(80_000).unwrap();
        let first = sim.held();
        sim.deliver_held(HeldRef::One(2)).unwrap();
        sim.drop_held(HeldRef::One(1)).unwrap();
        sim.run_for(40_000).unwrap();
        sim.release().unwrap();
        sim.run_for(500_000).unwrap();
        (first, sim.trace_hash())
    };
    assert_eq!(run(), run());
}
