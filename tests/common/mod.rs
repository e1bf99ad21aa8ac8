//! Helpers the live-cluster tests share: start a cluster, wait (boundedly)
//! for a view that satisfies a condition.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftlab::kv::{ClientOutcome, OpResult};
use raftlab::raft::NodeId;
use raftlab::runtime::{Cluster, ClusterConfig, ClusterView};

/// Longest wait for a view condition.
pub const WAIT: Duration = Duration::from_secs(10);

/// Starts `config`; panics with the error if it does not start.
pub fn start(config: ClusterConfig) -> Cluster {
    match Cluster::start(config) {
        Ok(c) => c,
        Err(e) => panic!("cluster did not start: {e}"),
    }
}

/// Waits until `cond` holds for a view; panics with `what` at the deadline.
pub fn wait_for(
    cluster: &Cluster,
    what: &str,
    cond: impl Fn(&ClusterView) -> bool,
) -> Arc<ClusterView> {
    let deadline = Instant::now() + WAIT;
    let mut watch = cluster.watch();
    let mut view = watch.current();
    loop {
        if cond(&view) {
            return view;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for {what}: {view:#?}");
        if let Some(v) = watch.wait(left.min(Duration::from_millis(50))) {
            view = v;
        } else {
            view = watch.current();
        }
    }
}

/// Starts `nodes` nodes on a fast clock (2 ms ticks) that compact every
/// 20 entries, as the live-cluster tests run them.
pub fn start_fast(nodes: usize, seed: u64) -> Cluster {
    start(ClusterConfig {
        nodes,
        seed,
        tick: Duration::from_millis(2),
        snapshot_threshold: 20,
        ..ClusterConfig::default()
    })
}

/// Waits for a leader and names it.
pub fn leader(cluster: &Cluster) -> NodeId {
    let view = wait_for(cluster, "a leader", |v| v.leader().is_some());
    view.leader().unwrap_or(0)
}

/// Asserts a write succeeded.
pub fn put_ok(outcome: ClientOutcome) {
    assert_eq!(outcome, ClientOutcome::Ok(OpResult::Done));
}

/// The outcome of a read that found `v`.
pub fn value(v: &str) -> ClientOutcome {
    ClientOutcome::Ok(OpResult::Value(Some(v.to_string())))
}

/// The `.scen` files in `dir` (relative to the crate root), sorted.
pub fn scen_files(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scen"))
        .collect();
    files.sort();
    files
}

/// Leader forwarding in one process: a client that reaches only a
/// follower gets its writes done and its reads answered (the follower
/// forwards them to the leader and relays the answers); a request pinned
/// to the follower (`put … on N`) is answered by the follower itself, not
/// forwarded; and a follower whose link to the leader is cut forwards
/// nothing, so its client is redirected — unavailable, nothing applied.
pub fn a_follower_forwards_to_the_leader(cluster: &Cluster) {
    const OP: Duration = Duration::from_secs(5);
    let short = Duration::from_millis(300);
    let leader = leader(cluster);
    let follower = cluster
        .ids()
        .into_iter()
        .find(|&id| id != leader)
        .unwrap_or(0);
    let mut client = cluster.client().restrict_to(&[follower]);
    put_ok(client.put("f", "1", OP));
    assert_eq!(client.get("f", OP), value("1"));
    assert_eq!(
        client.cas("f", "1", "2", OP),
        ClientOutcome::Ok(OpResult::Swapped(true))
    );
    assert_eq!(client.get("f", OP), value("2"));
    let absent = ClientOutcome::Ok(OpResult::Value(None));
    // Pinned to the follower: it says who leads instead.
    match cluster.client().pin_to(follower).put("g", "1", short) {
        ClientOutcome::Unavailable(why) => assert!(why.contains("not the leader"), "{why}"),
        other => panic!("a pinned request was served: {other:?}"),
    }
    assert_eq!(client.get("g", OP), absent);
    // The follower still hears the leader, but cannot reach it.
    assert_eq!(cluster.cut(follower, leader), Ok(()));
    match client.put("h", "1", short) {
        ClientOutcome::Unavailable(why) => assert!(why.contains("not the leader"), "{why}"),
        other => panic!("a forward crossed a cut link: {other:?}"),
    }
    assert_eq!(cluster.heal(), Ok(()));
    assert_eq!(client.get("h", OP), absent);
    put_ok(client.put("h", "2", OP));
}
