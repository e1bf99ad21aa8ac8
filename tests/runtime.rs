//! The live cluster on real threads, with a fast clock (2 ms ticks) and
//! bounded waits: every wait has a deadline, nothing asserts on timing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftlab::kv::linearizability::{Verdict, check};
use raftlab::kv::{ClientOutcome, OpResult};
use raftlab::raft::{NodeId, Role};
use raftlab::runtime::{Cluster, ClusterConfig, NodeState, RuntimeError};

mod common;

use common::{WAIT, leader, put_ok, start_fast, value, wait_for};

const OP: Duration = Duration::from_secs(5);

#[test]
fn t10_elects_a_leader() {
    let cluster = start_fast(3, 1);
    let id = leader(&cluster);
    let view = cluster.view();
    let node = view.node(id).map(|n| (n.role, n.state));
    assert_eq!(node, Some((Role::Leader, NodeState::Up)));
    assert!(view.events.iter().any(|e| e.text.contains("became Leader")));
}

/// A write too large for one TCP frame is refused in words, and the
/// cluster keeps serving: its entry would have stalled every follower.
#[test]
fn t10_an_oversized_write_is_refused_and_the_cluster_keeps_serving() {
    let cluster = start_fast(3, 5);
    let mut client = cluster.client();
    let huge = "v".repeat(raftlab::runtime::MAX_COMMAND_BYTES + 1);
    match client.put("big", &huge, Duration::from_millis(500)) {
        ClientOutcome::Unavailable(why) => {
            assert!(why.contains("one write may carry at most 4 MiB"), "{why}")
        }
        other => panic!("an oversized write was not refused: {other:?}"),
    }
    put_ok(client.put("small", "1", OP));
    assert_eq!(
        client.get("big", OP),
        ClientOutcome::Ok(OpResult::Value(None))
    );
    assert_eq!(client.get("small", OP), value("1"));
}

#[test]
fn t10_put_then_get() {
    let cluster = start_fast(3, 2);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    assert_eq!(client.get("x", OP), value("1"));
    assert_eq!(
        client.cas("x", "1", "2", OP),
        ClientOutcome::Ok(OpResult::Swapped(true))
    );
    put_ok(client.delete("x", OP));
    assert_eq!(
        client.get("x", OP),
        ClientOutcome::Ok(OpResult::Value(None))
    );
    let view = wait_for(&cluster, "the log window", |v| {
        v.nodes
            .iter()
            .all(|n| n.applied >= 4 && n.log.iter().any(|e| e.text == "put x=1"))
    });
    assert_eq!(view.nodes.len(), 3);
}

#[test]
fn t20_kill_the_leader_and_a_new_one_takes_writes() {
    let cluster = start_fast(5, 3);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    let old = leader(&cluster);
    assert_eq!(cluster.kill(old), Ok(()));
    assert_eq!(cluster.node_state(old), Ok(NodeState::Down));
    put_ok(client.put("x", "2", OP));
    let new = leader(&cluster);
    assert_ne!(new, old);
    assert_eq!(client.get("x", OP), value("2"));
    let view = cluster.view();
    assert_eq!(view.node(old).map(|n| n.state), Some(NodeState::Down));
}

#[test]
fn t20_a_restarted_node_catches_up() {
    let cluster = start_fast(3, 4);
    let mut client = cluster.client();
    put_ok(client.put("a", "0", OP));
    let follower = cluster
        .ids()
        .into_iter()
        .find(|&id| Some(id) != cluster.leader())
        .unwrap_or(1);
    assert_eq!(cluster.kill(follower), Ok(()));
    // Enough writes for the others to compact past what it holds.
    for i in 0..30 {
        put_ok(client.put("a", &i.to_string(), OP));
    }
    assert_eq!(cluster.restart(follower), Ok(()));
    let view = wait_for(&cluster, "the restarted node to catch up", |v| {
        let commit = v.leader().and_then(|l| v.node(l)).map_or(0, |n| n.commit);
        v.node(follower)
            .is_some_and(|n| n.applied >= commit && commit > 30)
    });
    assert_eq!(view.node(follower).map(|n| n.state), Some(NodeState::Up));
    let stale = client.get_stale(follower, "a", OP);
    assert_eq!(stale, Ok(Some("29".to_string())));
}

#[test]
fn t30_pause_and_resume() {
    let cluster = start_fast(3, 5);
    let mut client = cluster.client();
    put_ok(client.put("k", "1", OP));
    let old = leader(&cluster);
    assert_eq!(cluster.pause(old), Ok(()));
    assert_eq!(cluster.node_state(old), Ok(NodeState::Paused));
    assert_eq!(cluster.pause(old), Err(RuntimeError::NodePaused(old)));
    wait_for(&cluster, "a new leader", |v| {
        v.leader().is_some_and(|l| l != old)
    });
    put_ok(client.put("k", "2", OP));
    assert_eq!(cluster.resume(old), Ok(()));
    wait_for(&cluster, "the old leader to step down and catch up", |v| {
        let commit = v.leader().and_then(|l| v.node(l)).map_or(0, |n| n.commit);
        v.node(old).is_some_and(|n| {
            n.role == Role::Follower && n.state == NodeState::Up && n.applied >= commit
        })
    });
    // A node answers a client before it publishes its view, so the commit
    // seen above may predate "2": poll the old leader's store until it
    // holds it (or the deadline passes).
    let deadline = Instant::now() + WAIT;
    let mut stale = client.get_stale(old, "k", OP);
    while stale != Ok(Some("2".to_string())) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
        stale = client.get_stale(old, "k", OP);
    }
    assert_eq!(stale, Ok(Some("2".to_string())));
}

#[test]
fn t30_a_minority_client_never_gets_a_stale_success() {
    let cluster = start_fast(5, 6);
    let mut client = cluster.client();
    put_ok(client.put("x", "old", OP));
    let old = leader(&cluster);
    let buddy = if old == 1 { 2 } else { 1 };
    let majority: Vec<NodeId> = cluster
        .ids()
        .into_iter()
        .filter(|&id| id != old && id != buddy)
        .collect();
    assert_eq!(
        cluster.partition(&[vec![old, buddy], majority.clone()]),
        Ok(())
    );
    let mut inside = cluster.client().restrict_to(&majority);
    put_ok(inside.put("x", "new", OP));
    let mut cut_off = cluster.client().restrict_to(&[old, buddy]);
    let short = Duration::from_millis(500);
    let read = cut_off.get("x", short);
    assert!(
        !matches!(read, ClientOutcome::Ok(_)),
        "stale read: {read:?}"
    );
    let write = cut_off.put("x", "lost", short);
    assert!(!matches!(write, ClientOutcome::Ok(_)), "{write:?}");
    // The cut-off write sits uncommitted in the old leader's log; the
    // majority's newer term overwrites it after the heal.
    assert_eq!(cluster.heal(), Ok(()));
    assert_eq!(inside.get("x", OP), value("new"));
}

#[test]
fn t30_transfer_leadership() {
    let cluster = start_fast(3, 7);
    let old = leader(&cluster);
    let target = if old == 3 { 2 } else { 3 };
    assert_eq!(cluster.transfer_leader(target), Ok(()));
    wait_for(&cluster, "the target to lead", |v| {
        v.leader() == Some(target)
    });
    let mut client = cluster.client();
    put_ok(client.put("t", "1", OP));
}

#[test]
fn t40_controls_on_unknown_or_wrong_state_nodes_are_errors() {
    let cluster = start_fast(3, 8);
    assert_eq!(cluster.kill(42), Err(RuntimeError::UnknownNode(42)));
    assert_eq!(cluster.restart(0), Err(RuntimeError::UnknownNode(0)));
    assert_eq!(cluster.pause(9), Err(RuntimeError::UnknownNode(9)));
    assert_eq!(cluster.resume(4), Err(RuntimeError::UnknownNode(4)));
    assert_eq!(
        cluster.transfer_leader(7),
        Err(RuntimeError::UnknownNode(7))
    );
    assert!(matches!(cluster.isolate(42), Err(RuntimeError::Fabric(_))));
    assert!(matches!(cluster.cut(1, 42), Err(RuntimeError::Fabric(_))));
    assert!(matches!(
        cluster.set_loss(1.5),
        Err(RuntimeError::Fabric(_))
    ));
    assert_eq!(cluster.restart(1), Err(RuntimeError::NodeRunning(1)));
    assert_eq!(cluster.resume(1), Err(RuntimeError::NodeRunning(1)));
    assert_eq!(cluster.kill(1), Ok(()));
    assert_eq!(cluster.kill(1), Err(RuntimeError::NodeDown(1)));
    assert_eq!(cluster.pause(1), Err(RuntimeError::NodeDown(1)));
    assert_eq!(cluster.transfer_leader(1), Err(RuntimeError::NodeDown(1)));
    let mut client = cluster.client();
    assert_eq!(client.get_stale(1, "x", OP), Err(RuntimeError::NodeDown(1)));
    assert_eq!(
        client.get_stale(42, "x", OP),
        Err(RuntimeError::UnknownNode(42))
    );
    assert_eq!(
        cluster.set_speed(20.0),
        Err(RuntimeError::InvalidSpeed(20.0))
    );
    assert_eq!(cluster.step(), Err(RuntimeError::ClockRunning));
    assert_eq!(cluster.resume_clock(), Err(RuntimeError::ClockRunning));
    let bad = ClusterConfig {
        nodes: 10,
        ..ClusterConfig::default()
    };
    assert!(matches!(
        Cluster::start(bad),
        Err(RuntimeError::InvalidConfig(_))
    ));
}

#[test]
fn t40_the_clock_pauses_steps_and_changes_speed() {
    let cluster = start_fast(3, 9);
    leader(&cluster);
    assert_eq!(cluster.pause_clock(), Ok(()));
    assert_eq!(cluster.pause_clock(), Err(RuntimeError::ClockPaused));
    // A tick already under way when the clock paused may still post its
    // view: wait (boundedly) until the view has settled, then see that no
    // tick follows while paused.
    let mut before = cluster.view().tick;
    for _ in 0..50 {
        std::thread::sleep(Duration::from_millis(20));
        let now = cluster.view().tick;
        if now == before {
            break;
        }
        before = now;
    }
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(cluster.view().tick, before);
    assert_eq!(cluster.step(), Ok(()));
    wait_for(&cluster, "one tick", |v| v.tick == before + 1);
    assert_eq!(cluster.set_speed(0.5), Ok(()));
    assert_eq!(cluster.resume_clock(), Ok(()));
    wait_for(&cluster, "ticks again", |v| {
        v.tick > before + 2 && v.speed == 0.5
    });
}

#[test]
fn t50_a_run_with_kills_and_partitions_is_linearizable() {
    let cluster = Arc::new(start_fast(5, 10));
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
                match (i + w) % 4 {
                    0 => client.get(key, short),
                    1 => client.put(key, &format!("{w}.{i}"), short),
                    2 => client.cas(key, &format!("{w}.{}", i - 1), &format!("{w}.{i}"), short),
                    _ => client.get(key, short),
                };
            }
        }));
    }
    let pause = || std::thread::sleep(Duration::from_millis(250));
    for round in 0..3 {
        pause();
        if let Some(l) = cluster.leader() {
            let _ = cluster.kill(l);
            pause();
            let _ = cluster.restart(l);
        }
        pause();
        let lone = (round % 5) + 1;
        let _ = cluster.isolate(lone);
        pause();
        let _ = cluster.partition(&[vec![1, 2], vec![3, 4, 5]]);
        pause();
        let _ = cluster.heal();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        assert!(w.join().is_ok());
    }
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
fn t60_dropping_a_running_cluster_returns_promptly() {
    let cluster = start_fast(5, 11);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    assert_eq!(cluster.pause(2), Ok(()));
    assert_eq!(cluster.kill(3), Ok(()));
    assert_eq!(cluster.pause_clock(), Ok(()));
    let started = Instant::now();
    drop(cluster);
    // A hang check, not a performance assert: shutdown waits at most 2 s.
    assert!(started.elapsed() < Duration::from_secs(5));
    let outcome = client.put("x", "2", Duration::from_millis(200));
    assert!(!matches!(outcome, ClientOutcome::Ok(_)));
}

/// With the file-backed WAL as every node's storage, a cluster shut down
/// and started again on the same data directory recovers every
/// acknowledged write from the files (snapshots included).
#[test]
fn t30_file_storage_survives_a_whole_cluster_restart() {
    use raftlab::runtime::NodeStorage;
    use raftlab::storage::FileStorage;

    let dir = std::env::temp_dir().join(format!("raftlab-rt-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = |data: std::path::PathBuf| ClusterConfig {
        nodes: 3,
        seed: 30,
        tick: Duration::from_millis(2),
        snapshot_threshold: 20,
        storage: Arc::new(move |id| {
            let (storage, _recovery) = FileStorage::open(&data, 7, id)?;
            Ok(Box::new(storage) as NodeStorage)
        }),
        ..ClusterConfig::default()
    };
    let cluster = Cluster::start(config(dir.clone())).unwrap_or_else(|e| panic!("start: {e}"));
    let mut client = cluster.client();
    for i in 0..50 {
        put_ok(client.put(&format!("k{i}"), &i.to_string(), OP));
    }
    cluster.shutdown();
    let snapshots = std::fs::read_dir(dir.join("node-1"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                .count()
        })
        .unwrap_or(0);
    assert!(snapshots >= 1, "node 1 wrote no snapshot file");
    // A new cluster, new threads, new storage objects: only the files remain.
    let cluster = Cluster::start(config(dir.clone())).unwrap_or_else(|e| panic!("restart: {e}"));
    leader(&cluster);
    let mut client = cluster.client();
    assert_eq!(client.get("k49", OP), value("49"));
    assert_eq!(client.get("k0", OP), value("0"));
    // A new client's writes are not mistaken for the old run's sessions.
    put_ok(client.put("after", "yes", OP));
    assert_eq!(client.get("after", OP), value("yes"));
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A node whose log file ends in a torn record (a crash mid-write) starts
/// with that record cut off, and says so in its events.
#[test]
fn t30_a_torn_log_tail_is_repaired_and_reported() {
    use raftlab::runtime::NodeStorage;
    use raftlab::storage::{FileStorage, LogStorage, StateStorage};

    let dir = std::env::temp_dir().join(format!("raftlab-rt-torn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // Node 1's log: one synced write, then a record whose write a crash
    // caught before its fsync, torn half way. (Synced records cut short
    // are damage, which a node refuses: see `raftlab node`'s tests.)
    {
        let (mut storage, _) = FileStorage::open(&dir, 7, 1).unwrap();
        let write = |index: u64| raftlab::raft::LogWrite {
            from: index,
            entries: vec![raftlab::raft::Entry {
                index,
                term: 1,
                data: raftlab::raft::EntryData::Noop,
            }],
        };
        let hard_state = raftlab::raft::HardState {
            term: 1,
            vote: Some(1),
        };
        storage.save_hard_state(hard_state).unwrap();
        storage.append(&write(1)).unwrap();
        storage.sync().unwrap();
        storage.append(&write(2)).unwrap();
    }
    let segment = std::fs::read_dir(dir.join("node-1"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let len = std::fs::metadata(&segment).unwrap().len();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&segment)
        .unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);
    let data = dir.clone();
    let config = ClusterConfig {
        nodes: 1,
        seed: 31,
        tick: Duration::from_millis(2),
        storage: Arc::new(move |id| {
            let (storage, _recovery) = FileStorage::open(&data, 7, id)?;
            Ok(Box::new(storage) as NodeStorage)
        }),
        ..ClusterConfig::default()
    };
    let cluster = Cluster::start(config).unwrap_or_else(|e| panic!("start: {e}"));
    let view = cluster.view();
    let note = view
        .events
        .iter()
        .find(|e| e.node == Some(1) && e.text.contains("torn"));
    assert!(note.is_some(), "no torn-tail event: {:#?}", view.events);
    leader(&cluster);
    let mut client = cluster.client();
    put_ok(client.put("x", "1", OP));
    cluster.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Pool sessions follow the blocking client's rules: through kills and
/// partitions their history is linearizable, and each completion names
/// the session that finished.
#[test]
fn t50_pool_sessions_through_kills_and_partitions_are_linearizable() {
    use raftlab::kv::Op;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let cluster = start_fast(5, 12);
    leader(&cluster);
    let sessions = 6;
    let stop = Arc::new(AtomicBool::new(false));
    let counters: Arc<Vec<AtomicU64>> =
        Arc::new((0..sessions).map(|_| AtomicU64::new(0)).collect());
    let short = Duration::from_millis(300);
    let next = |w: usize, i: u64| {
        let key = if i.is_multiple_of(2) { "a" } else { "b" };
        match (i + w as u64) % 4 {
            1 => Op::Put {
                key: key.into(),
                value: format!("{w}.{i}"),
            },
            2 => Op::Cas {
                key: key.into(),
                old: format!("{w}.{}", i - 1),
                new: format!("{w}.{i}"),
            },
            _ => Op::Get { key: key.into() },
        }
    };
    let handler = {
        let (stop, counters) = (stop.clone(), counters.clone());
        move |done: raftlab::runtime::Completion| {
            let w = done.session.index();
            if stop.load(Ordering::Acquire) {
                return None;
            }
            let i = counters[w].fetch_add(1, Ordering::Relaxed) + 1;
            Some((next(w, i), short))
        }
    };
    let mut pool = cluster.client_pool(2, handler).expect("pool");
    for w in 0..sessions {
        let id = pool.open();
        assert_eq!(id.index(), w);
        let i = counters[w].fetch_add(1, Ordering::Relaxed) + 1;
        assert_eq!(pool.submit(id, next(w, i), short), Ok(()));
    }
    let pause = || std::thread::sleep(Duration::from_millis(250));
    for round in 0..3 {
        pause();
        if let Some(l) = cluster.leader() {
            let _ = cluster.kill(l);
            pause();
            let _ = cluster.restart(l);
        }
        pause();
        let _ = cluster.isolate((round % 5) + 1);
        pause();
        let _ = cluster.partition(&[vec![1, 2], vec![3, 4, 5]]);
        pause();
        let _ = cluster.heal();
    }
    stop.store(true, Ordering::Release);
    // Let every open operation finish (or give up) before reading the history.
    std::thread::sleep(short * 2);
    drop(pool);
    let history = cluster.history();
    let oks = history
        .iter()
        .filter(|e| e.kind == raftlab::kv::history::EventType::Ok)
        .count();
    assert!(oks > 10, "too few operations completed: {oks}");
    let verdict = check(&history);
    assert!(matches!(verdict, Ok(Verdict::Linearizable)), "{verdict:?}");
}

/// A pool never hangs: a second operation on a busy session and any
/// operation on a stopped cluster complete as unavailable.
#[test]
fn t60_pool_refuses_a_busy_session_and_a_stopped_cluster() {
    use raftlab::kv::Op;
    let cluster = start_fast(3, 13);
    leader(&cluster);
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let mut pool = cluster
        .client_pool(1, move |done| {
            if let Ok(tx) = tx.lock() {
                let _ = tx.send(done.outcome);
            }
            None
        })
        .expect("pool");
    let s = pool.open();
    let put = || Op::Put {
        key: "k".into(),
        value: "v".into(),
    };
    assert_eq!(pool.submit(s, put(), OP), Ok(()));
    assert_eq!(pool.submit(s, put(), OP), Ok(()));
    let first = rx.recv_timeout(OP * 2).expect("an outcome");
    let second = rx.recv_timeout(OP * 2).expect("an outcome");
    let mut got = [first, second];
    got.sort_by_key(|o| matches!(o, ClientOutcome::Ok(_)));
    assert!(matches!(got[0], ClientOutcome::Unavailable(_)), "{got:?}");
    put_ok(got[1].clone());
    let t = pool.open();
    cluster.shutdown();
    assert_eq!(pool.submit(t, put(), OP), Err(RuntimeError::Stopped));
}

#[test]
fn t30_a_follower_forwards_a_clients_requests_to_the_leader() {
    common::a_follower_forwards_to_the_leader(&start_fast(3, 3));
}
