//! Leader forwarding between `raftlab node` processes: a client that can
//! reach only a follower gets its write done and its read answered (the
//! follower forwards them on its authenticated peer link and relays the
//! answers); a follower that cannot reach the leader sends the client
//! there instead; and a write retried through a follower after a leader
//! change keeps its session and number, so it is applied once. Every wait
//! is bounded; the guard kills the children and removes the data.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use raftlab::kv::{Op, OpResult};
use raftlab::net::{ClientReply, ClientRequest, ClientResponse, Wire, exchange, secret};

#[path = "common/procs.rs"]
mod procs;

use procs::{Mesh, Procs, free_addrs};

/// A follower of `leader` among `ids`.
fn follower(ids: impl IntoIterator<Item = u64>, leader: u64) -> u64 {
    ids.into_iter()
        .find(|&id| id != leader)
        .expect("a follower")
}

#[test]
fn a_client_that_reaches_only_a_follower_gets_its_answers() {
    let mut procs = Procs::new("fwd-follower");
    let real: BTreeMap<u64, SocketAddr> = (1..=3).zip(free_addrs(3)).collect();
    let mesh = Mesh::new(real.clone());
    for id in 1..=3 {
        procs.spawn(id, "data", &["--peers".into(), mesh.peers_of(id)]);
    }
    let all = mesh.client_peers();
    procs.client_until(
        &all,
        "data",
        &["put", "up", "1"],
        "OK",
        Duration::from_secs(15),
    );
    let leader = procs.leader(&all, "data", Duration::from_secs(5), None);
    let f = follower(1..=3, leader);
    let only = format!("{f}={}", real[&f]);
    // Once, not retried: the follower answers every one of them.
    let ask = |args: &[&str], want: &str| {
        let out = procs.client(&only, "data", args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert_eq!(stdout.trim(), want, "{args:?}: {stderr}");
    };
    ask(&["put", "x", "1"], "OK");
    ask(&["get", "x"], "1");
    ask(&["cas", "x", "1", "2"], "true");
    ask(&["cas", "x", "1", "3"], "false");
    ask(&["get", "x"], "2");
    // The follower still leads nothing: the leader did the work.
    let status = procs.status(&all, "data");
    assert!(status[&leader].contains(" Leader "), "{status:?}");
    assert!(
        status[&f].contains(&format!("leader={leader} ")),
        "{status:?}"
    );
    // Cut what the follower sends to the leader (it still hears it, so it
    // still knows who leads): its forwards go nowhere, and after waiting
    // for them it sends the client to the leader — which this client was
    // not given.
    mesh.proxy(f, leader).set_cut(true);
    let out = procs.client(&only, "data", &["put", "y", "1", "--timeout", "3s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "the leader is node {leader}, which is not in --peers"
        )),
        "{err}"
    );
    mesh.heal();
    ask(&["get", "x"], "2");
}

#[test]
fn a_forwarded_write_retried_after_a_leader_change_is_applied_once() {
    let mut procs = Procs::new("fwd-retry");
    let (addrs, peers) = procs.start_nodes(3, "data");
    let key = secret::load(&procs.dir.join("data").join("cluster.secret"), 1).expect("secret");
    // One session's write, as `raftlab client` sends it: (session, seq, op).
    let op = |session: u64, value: &str| {
        Wire::Request(ClientRequest::Op {
            session,
            seq: 1,
            op: Op::Put {
                key: "k".into(),
                value: value.into(),
            },
        })
    };
    // Asks node `id` until it answers Ok (bounded): right after an
    // election a follower may not know the leader yet.
    let ok = |id: u64, request: &Wire| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer = exchange(addrs[&id], request, Duration::from_secs(2), &key);
            if let Ok(ClientResponse::Op {
                reply: ClientReply::Ok(result),
                ..
            }) = answer
            {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "n{id} never served it: {answer:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let leader = procs.leader(&peers, "data", Duration::from_secs(5), None);
    let f = follower(1..=3, leader);
    assert_eq!(ok(f, &op(0xf0f0, "first")), OpResult::Done);
    // Another client's write after it.
    assert_eq!(ok(leader, &op(0xbeef, "second")), OpResult::Done);
    // The leader dies; the client, not knowing its write applied, sends
    // it again with the same session and number, through the follower of
    // the new leader.
    procs.kill(leader);
    let next = procs.leader(&peers, "data", Duration::from_secs(10), Some(leader));
    let through = follower((1..=3).filter(|&id| id != leader), next);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !procs
        .status(&peers, "data")
        .get(&through)
        .is_some_and(|l| l.contains(&format!("leader={next} ")) && !l.contains(" Leader "))
    {
        assert!(
            Instant::now() < deadline,
            "n{through} never followed n{next}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ok(through, &op(0xf0f0, "first")), OpResult::Done);
    // Applied once: the later write still stands.
    let get = Wire::Request(ClientRequest::Op {
        session: 0xcafe,
        seq: 1,
        op: Op::Get { key: "k".into() },
    });
    assert_eq!(
        ok(through, &get),
        OpResult::Value(Some("second".to_string()))
    );
}
