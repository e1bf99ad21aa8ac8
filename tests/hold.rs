//! Messages held by hand on a live cluster, over channels and over
//! loopback TCP: while holding, what nodes send waits on its link,
//! numbered, and the view shows it; delivering one hands it to its
//! receiver at once (whose answer is held in turn), dropping one loses it
//! on its link, and releasing lets everything go and the cluster serves
//! again. Every wait is bounded.

use std::time::{Duration, Instant};

use raftlab::net::{HeldInfo, HeldRef, HoldError};
use raftlab::runtime::{Cluster, ClusterConfig, RuntimeError, Transport};

mod common;

use common::{leader, put_ok, wait_for};

/// Waits until the held messages satisfy `cond`; returns them.
fn wait_held(cluster: &Cluster, what: &str, cond: impl Fn(&[HeldInfo]) -> bool) -> Vec<HeldInfo> {
    let deadline = Instant::now() + common::WAIT;
    loop {
        let held = cluster.held();
        if cond(&held) {
            return held;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {held:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn hold_deliver_drop_release(transport: Transport) {
    let cluster = common::start(ClusterConfig {
        nodes: 3,
        seed: 4,
        tick: Duration::from_millis(2),
        transport,
        observe: true,
        ..ClusterConfig::default()
    });
    let l = leader(&cluster);
    assert!(!cluster.set_hold(true).unwrap());
    assert!(cluster.holding());
    // The leader's next heartbeats wait on their links.
    let held = wait_held(&cluster, "the leader's held heartbeats", |h| {
        h.iter()
            .filter(|m| m.from == l && m.kind == "Heartbeat")
            .count()
            >= 2
    });
    // Stop the clock: nothing new is sent but answers to what we deliver.
    cluster.pause_clock().unwrap();
    let beat = held
        .iter()
        .find(|m| m.from == l && m.kind == "Heartbeat")
        .cloned()
        .unwrap();
    // The view shows them on the wire.
    wait_for(&cluster, "the held heartbeat on the wire", |v| {
        v.teaching.wire.holding && v.teaching.wire.held_numbers().contains(&beat.number)
    });

    let delivered = cluster.deliver_held(HeldRef::One(beat.number)).unwrap();
    assert_eq!(delivered, std::slice::from_ref(&beat));
    // Its receiver answered, and the answer waits too.
    let held = wait_held(&cluster, "the follower's answer, held", |h| {
        h.iter()
            .any(|m| m.from == beat.to && m.to == l && m.kind == "HeartbeatResp")
    });
    assert!(held.iter().all(|m| m.number != beat.number));
    let answer = held
        .iter()
        .find(|m| m.from == beat.to && m.kind == "HeartbeatResp")
        .cloned()
        .unwrap();
    let dropped = cluster.drop_held(HeldRef::One(answer.number)).unwrap();
    assert_eq!(dropped, std::slice::from_ref(&answer));
    let view = wait_for(&cluster, "the drop counted on its link", |v| {
        v.link(beat.to, l).is_some_and(|link| link.dropped >= 1)
    });
    assert!(!view.teaching.wire.held_numbers().contains(&answer.number));
    let again = cluster.deliver_held(HeldRef::One(answer.number));
    assert_eq!(
        again,
        Err(RuntimeError::Hold(HoldError::NotHeld {
            number: answer.number,
            held: cluster.held().iter().map(|m| m.number).collect(),
        }))
    );

    let released = cluster.release().unwrap();
    assert!(!released.is_empty());
    assert!(!cluster.holding() && cluster.held().is_empty());
    cluster.resume_clock().unwrap();
    put_ok(
        cluster
            .client()
            .put("after", "release", Duration::from_secs(5)),
    );
    cluster.shutdown();
}

#[test]
fn t10_held_messages_go_by_hand_over_channels() {
    hold_deliver_drop_release(Transport::Channel);
}

#[test]
fn t20_held_messages_go_by_hand_over_tcp() {
    hold_deliver_drop_release(Transport::Tcp { base_port: 0 });
}

/// While holding, the first election waits for its votes: no leader
/// until they are released.
#[test]
fn t30_a_held_election_waits_until_release() {
    let cluster = common::start(ClusterConfig {
        nodes: 3,
        seed: 9,
        tick: Duration::from_millis(2),
        start_paused: true,
        ..ClusterConfig::default()
    });
    cluster.set_hold(true).unwrap();
    cluster.resume_clock().unwrap();
    wait_held(&cluster, "held pre-votes", |h| {
        h.iter().filter(|m| m.kind == "PreVote").count() >= 2
    });
    assert_eq!(cluster.leader(), None);
    cluster.release().unwrap();
    leader(&cluster);
    cluster.shutdown();
}
