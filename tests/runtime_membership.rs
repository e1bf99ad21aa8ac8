//! Membership changes of the live cluster: nodes join as learners, are
//! promoted, removed (the leader too), bad changes are refused with the
//! cluster unharmed, and clients stay linearizable throughout. Fast clock
//! (2 ms ticks), bounded waits, no timing assertions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftlab::kv::linearizability::{Verdict, check};
use raftlab::raft::{NodeId, Role};
use raftlab::runtime::{Cluster, ClusterConfig, MemberRole, RuntimeError, Transport};

mod common;

use common::{leader, put_ok, start_fast, value, wait_for};

const OP: Duration = Duration::from_secs(5);

fn voters(cluster: &Cluster) -> Vec<NodeId> {
    cluster
        .configuration()
        .map(|(c, _)| c.voters.to_vec())
        .unwrap_or_default()
}

/// Promotes `id`, retrying while it is still catching up.
fn promote(cluster: &Cluster, id: NodeId) {
    let deadline = Instant::now() + common::WAIT;
    loop {
        match cluster.promote(id) {
            Ok(_) => return,
            Err(RuntimeError::LearnerBehind { .. }) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("promote {id}: {e}"),
        }
    }
}

#[test]
fn t10_grow_from_three_to_five_and_serve_through_the_new_nodes() {
    let cluster = start_fast(3, 81);
    leader(&cluster);
    let mut client = cluster.client();
    // Enough writes for a snapshot (threshold 20): the newcomers catch up
    // from it rather than from the first entry.
    for i in 0..30 {
        put_ok(client.put(&format!("k{i}"), &i.to_string(), OP));
    }
    for id in [4, 5] {
        assert!(cluster.add_learner(id).is_ok(), "add {id}");
        let view = cluster.view();
        assert_eq!(view.member_role(id), MemberRole::Learner);
        promote(&cluster, id);
        assert_eq!(cluster.view().member_role(id), MemberRole::Voter);
    }
    assert_eq!(voters(&cluster), vec![1, 2, 3, 4, 5]);
    assert_eq!(cluster.ids(), vec![1, 2, 3, 4, 5]);
    let view = wait_for(&cluster, "n4 and n5 caught up", |v| {
        [4, 5]
            .iter()
            .all(|&id| v.node(id).is_some_and(|n| n.applied >= 30))
    });
    assert_eq!(view.nodes.len(), 5);
    assert!(view.link(4, 5).is_some() && view.link(1, 5).is_some());
    // The new nodes serve: kill two old ones, the five-voter quorum (3)
    // needs n4 or n5.
    let old = leader(&cluster);
    let others: Vec<NodeId> = [1, 2, 3].into_iter().filter(|&i| i != old).collect();
    assert_eq!(cluster.kill(old), Ok(()));
    assert_eq!(cluster.kill(others[0]), Ok(()));
    let mut client = cluster.client();
    put_ok(client.put("after", "grow", OP));
    assert_eq!(client.get("after", OP), value("grow"));
    assert_eq!(client.get("k7", OP), value("7"));
    assert!(matches!(
        check(&cluster.history()),
        Ok(Verdict::Linearizable)
    ));
}

#[test]
fn t20_remove_a_follower() {
    let cluster = start_fast(5, 82);
    let l = leader(&cluster);
    let follower = (1..=5).find(|&i| i != l).unwrap_or(1);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    assert!(cluster.remove(follower).is_ok());
    assert!(!voters(&cluster).contains(&follower));
    assert_eq!(voters(&cluster).len(), 4);
    let view = cluster.view();
    assert_eq!(view.member_role(follower), MemberRole::Removed);
    assert!(
        view.events
            .iter()
            .any(|e| e.text.contains("configuration committed"))
    );
    put_ok(client.put("x", "2", OP));
    assert_eq!(client.get("x", OP), value("2"));
}

#[test]
fn t20_remove_the_leader_and_a_new_one_takes_over() {
    let cluster = start_fast(3, 83);
    let old = leader(&cluster);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    assert!(cluster.remove(old).is_ok());
    let view = wait_for(&cluster, "a new leader", |v| {
        v.leader().is_some_and(|l| l != old)
    });
    assert_eq!(view.member_role(old), MemberRole::Removed);
    assert_ne!(view.node(old).map(|n| n.role), Some(Role::Leader));
    assert_eq!(voters(&cluster).len(), 2);
    let mut client2 = cluster.client();
    put_ok(client2.put("x", "2", OP));
    assert_eq!(client.get("x", OP), value("2"));
    assert!(matches!(
        check(&cluster.history()),
        Ok(Verdict::Linearizable)
    ));
}

#[test]
fn t30_bad_changes_are_refused_and_the_cluster_is_unharmed() {
    let cluster = start_fast(3, 84);
    leader(&cluster);
    assert_eq!(
        cluster.add_learner(0),
        Err(RuntimeError::NodeIdOutOfRange(0))
    );
    assert_eq!(
        cluster.add_learner(10),
        Err(RuntimeError::NodeIdOutOfRange(10))
    );
    assert_eq!(
        cluster.add_learner(2),
        Err(RuntimeError::AlreadyMember { id: 2, voter: true })
    );
    assert_eq!(cluster.promote(7), Err(RuntimeError::UnknownNode(7)));
    assert_eq!(cluster.remove(8), Err(RuntimeError::UnknownNode(8)));
    assert_eq!(
        cluster.promote(2),
        Err(RuntimeError::AlreadyMember { id: 2, voter: true })
    );
    // Shrink to one voter; removing it is refused.
    let l = leader(&cluster);
    for id in (1..=3).filter(|&i| i != l) {
        assert!(cluster.remove(id).is_ok(), "remove {id}");
    }
    assert_eq!(voters(&cluster), vec![l]);
    assert_eq!(cluster.remove(l), Err(RuntimeError::LastVoter(l)));
    // Removed nodes are not members: promote refuses.
    let gone = (1..=3).find(|&i| i != l).unwrap_or(1);
    assert_eq!(cluster.promote(gone), Err(RuntimeError::NotMember(gone)));
    // The cluster still works.
    let mut client = cluster.client();
    put_ok(client.put("y", "1", OP));
    assert_eq!(client.get("y", OP), value("1"));
    assert_eq!(voters(&cluster), vec![l]);
}

#[test]
fn t30_a_second_change_while_one_is_in_flight_is_refused() {
    let cluster = start_fast(3, 85);
    leader(&cluster);
    // The leader has committed an entry of its term (it may change now).
    put_ok(cluster.client().put("w", "0", OP));
    // With the clock stopped the leader appends the change but cannot
    // replicate it, so it stays in flight.
    assert_eq!(cluster.pause_clock(), Ok(()));
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| cluster.add_learner(4));
        let deadline = Instant::now() + common::WAIT;
        while !cluster.configuration().is_some_and(|(_, pending)| pending) {
            assert!(Instant::now() < deadline, "the first change never appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
        let second = cluster.add_learner(5);
        let removal = cluster.remove(2);
        assert_eq!(cluster.resume_clock(), Ok(()));
        (first.join(), (second, removal))
    });
    assert!(
        matches!(second.0, Err(RuntimeError::ChangeInFlight { .. })),
        "{:?}",
        second.0
    );
    assert!(matches!(second.1, Err(RuntimeError::ChangeInFlight { .. })));
    assert!(
        matches!(first, Ok(Ok(_))),
        "the first change commits: {first:?}"
    );
    let (config, pending) = cluster.configuration().unwrap_or_default();
    assert_eq!(
        (config.voters.to_vec(), config.learners.to_vec()),
        (vec![1, 2, 3], vec![4])
    );
    assert!(!pending);
    assert_eq!(cluster.ids(), vec![1, 2, 3, 4]);
    let mut client = cluster.client();
    put_ok(client.put("z", "1", OP));
    assert_eq!(client.get("z", OP), value("1"));
}

#[test]
fn t20_tcp_clusters_grow_from_three_to_four() {
    let cluster = common::start(ClusterConfig {
        nodes: 3,
        seed: 86,
        tick: Duration::from_millis(2),
        transport: Transport::Tcp { base_port: 0 },
        ..ClusterConfig::default()
    });
    leader(&cluster);
    assert_eq!(cluster.addresses().len(), 3);
    let added = cluster.add_learner(4);
    assert!(added.is_ok(), "{added:?}");
    // Node 4 listens on its own socket, and the others know it.
    assert_eq!(cluster.ids(), vec![1, 2, 3, 4]);
    let addrs = cluster.addresses();
    assert!(
        addrs.get(&4).is_some_and(|a| a.ip().is_loopback()),
        "{addrs:?}"
    );
    promote(&cluster, 4);
    assert_eq!(voters(&cluster), vec![1, 2, 3, 4]);
    let mut client = cluster.client();
    put_ok(client.put("tcp", "1", OP));
    // With one other first node down, a write needs node 4's
    // acknowledgement (3 of 4): it is a working voter over TCP.
    let l = leader(&cluster);
    let down = (1..=3).find(|&i| i != l).unwrap_or(1);
    assert_eq!(cluster.kill(down), Ok(()));
    put_ok(client.put("tcp", "2", OP));
    assert_eq!(client.get("tcp", OP), value("2"));
    wait_for(&cluster, "node 4 applies the write", |v| {
        v.node(4)
            .is_some_and(|n| n.applied >= v.node(l).map_or(0, |n| n.commit))
    });
    // A bad id is still refused, and a second TCP node joins too.
    assert_eq!(
        cluster.add_learner(12),
        Err(RuntimeError::NodeIdOutOfRange(12))
    );
    let added = cluster.add_learner(5);
    assert!(added.is_ok(), "{added:?}");
    assert_eq!(cluster.ids(), vec![1, 2, 3, 4, 5]);
}

#[test]
fn t50_clients_stay_linearizable_across_changes() {
    let cluster = Arc::new(start_fast(3, 87));
    leader(&cluster);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..3u64 {
        let mut client = cluster.client();
        let stop = stop.clone();
        workers.push(std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let key = if i.is_multiple_of(2) { "a" } else { "b" };
                let short = Duration::from_millis(300);
                match (i + w) % 3 {
                    0 => client.get(key, short),
                    1 => client.put(key, &format!("{w}.{i}"), short),
                    _ => client.cas(key, &format!("{w}.{}", i - 1), &format!("{w}.{i}"), short),
                };
            }
        }));
    }
    assert!(cluster.add_learner(4).is_ok());
    promote(&cluster, 4);
    let l = leader(&cluster);
    assert!(cluster.remove(l).is_ok());
    leader(&cluster);
    let added = cluster.add_learner(5);
    assert!(added.is_ok(), "{added:?}");
    promote(&cluster, 5);
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        assert!(w.join().is_ok());
    }
    assert_eq!(voters(&cluster).len(), 4);
    let history = cluster.history();
    let oks = history
        .iter()
        .filter(|e| e.kind == raftlab::kv::history::EventType::Ok)
        .count();
    assert!(oks > 10, "too few operations completed: {oks}");
    let verdict = check(&history);
    assert!(matches!(verdict, Ok(Verdict::Linearizable)), "{verdict:?}");
}

#[test]
fn t60_grow_live_from_one_node_to_nine() {
    // The promise: the cluster can grow from 1 to 9 nodes live.
    // One node at a time joins as a learner and is promoted; writes and
    // reads work after every step, and every node ends up holding them.
    let cluster = start_fast(1, 86);
    leader(&cluster);
    let mut client = cluster.client();
    put_ok(client.put("k1", "1", OP));
    for id in 2..=9 {
        let added = cluster.add_learner(id);
        assert!(added.is_ok(), "add {id}: {added:?}");
        promote(&cluster, id);
        let want: Vec<NodeId> = (1..=id).collect();
        assert_eq!(voters(&cluster), want, "after promoting {id}");
        put_ok(client.put(&format!("k{id}"), &id.to_string(), OP));
        assert_eq!(client.get("k1", OP), value("1"), "after promoting {id}");
        assert_eq!(
            client.get(&format!("k{id}"), OP),
            value(&id.to_string()),
            "after promoting {id}"
        );
    }
    assert_eq!(voters(&cluster), (1..=9).collect::<Vec<NodeId>>());
    assert_eq!(cluster.ids(), (1..=9).collect::<Vec<NodeId>>());
    let view = wait_for(&cluster, "all nine nodes applied every write", |v| {
        let commit = v.leader().and_then(|l| v.node(l)).map_or(0, |n| n.commit);
        commit > 0 && (1..=9).all(|id| v.node(id).is_some_and(|n| n.applied >= commit))
    });
    assert_eq!(view.nodes.len(), 9);
    // Nine voters: a quorum of five. Kill four and the cluster still serves.
    let l = leader(&cluster);
    for id in (1..=9).filter(|&i| i != l).take(4) {
        assert_eq!(cluster.kill(id), Ok(()));
    }
    put_ok(client.put("after", "nine", OP));
    assert_eq!(client.get("k9", OP), value("9"));
    assert!(matches!(
        check(&cluster.history()),
        Ok(Verdict::Linearizable)
    ));
}
