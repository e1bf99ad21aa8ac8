//! The live cluster over loopback TCP (`Transport::Tcp`): the same Raft,
//! clients and controls, with every message framed through a socket. Ports
//! are picked by the system; every wait is bounded.

use std::io::Write;
use std::net::TcpStream;

use std::time::Duration;

use raftlab::kv::{ClientOutcome, OpResult};
use raftlab::runtime::{Cluster, ClusterConfig, Transport};

mod common;

use common::wait_for;

const OP: Duration = Duration::from_secs(5);

fn start(nodes: usize, seed: u64) -> Cluster {
    common::start(ClusterConfig {
        nodes,
        seed,
        tick: Duration::from_millis(2),
        transport: Transport::Tcp { base_port: 0 },
        ..ClusterConfig::default()
    })
}

fn value(v: &str) -> ClientOutcome {
    ClientOutcome::Ok(OpResult::Value(Some(v.to_string())))
}

#[test]
fn t10_tcp_cluster_elects_and_serves() {
    let cluster = start(3, 1);
    let addrs = cluster.addresses();
    assert_eq!(addrs.len(), 3);
    assert!(
        addrs
            .values()
            .all(|a| a.ip().is_loopback() && a.port() != 0)
    );
    let view = wait_for(&cluster, "a leader", |v| v.leader().is_some());
    assert!(view.events.iter().any(|e| e.text.contains("on TCP")));
    let mut client = cluster.client();
    assert_eq!(client.put("x", "1", OP), ClientOutcome::Ok(OpResult::Done));
    assert_eq!(client.get("x", OP), value("1"));
    // Messages really crossed the sockets: every follower applied the write.
    wait_for(&cluster, "followers to apply", |v| {
        v.nodes.iter().all(|n| n.applied >= 2)
    });
}

#[test]
fn t20_bad_frames_are_said_once_and_the_node_keeps_working() {
    use raftlab::net::Claim;
    use raftlab::net::auth;
    let cluster = start(3, 2);
    wait_for(&cluster, "a leader", |v| v.leader().is_some());
    let target = 2;
    let addr = cluster.addresses()[&target];
    let key = cluster
        .config()
        .key
        .clone()
        .expect("a TCP cluster has a key");
    // A stranger's raw frame: the handshake fails, nothing is believed.
    let mut raw = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    raw.write_all(&[4, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef])
        .unwrap_or_else(|e| panic!("write: {e}"));
    // With the secret: a tagged payload that is no frame, then a 4 GiB
    // announcement.
    let ok = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let deadline = std::time::Instant::now() + OP;
    let (mut seal, _) = auth::connect(&ok, &key, Claim::Client, deadline)
        .unwrap_or_else(|e| panic!("handshake: {e}"));
    let garbage = seal.seal(&[0xff; 4], 1024).unwrap();
    (&ok)
        .write_all(&garbage)
        .and_then(|()| (&ok).write_all(&u32::MAX.to_le_bytes()))
        .unwrap_or_else(|e| panic!("write: {e}"));
    wait_for(&cluster, "the notices", |v| {
        let said: Vec<_> = v
            .events
            .iter()
            .filter(|e| e.node == Some(target))
            .map(|e| e.text.as_str())
            .collect();
        said.iter().any(|t| t.contains("failed to authenticate"))
            && said.iter().any(|t| t.contains("does not decode"))
            && said.iter().any(|t| t.contains("exceeds"))
    });
    let mut client = cluster.client();
    assert_eq!(client.put("y", "2", OP), ClientOutcome::Ok(OpResult::Done));
    assert_eq!(client.get("y", OP), value("2"));
    wait_for(&cluster, "n2 to apply the write", |v| {
        v.node(target).is_some_and(|n| n.applied >= 2)
    });
    assert_eq!(client.get_stale(target, "y", OP), Ok(Some("2".into())));
}

#[test]
fn t30_the_fabric_still_decides_over_tcp() {
    let cluster = start(3, 3);
    let view = wait_for(&cluster, "a leader", |v| v.leader().is_some());
    let old = view.leader().unwrap_or(0);
    cluster
        .isolate(old)
        .unwrap_or_else(|e| panic!("isolate: {e}"));
    let mut client = cluster.client();
    let others: Vec<_> = cluster.ids().into_iter().filter(|&id| id != old).collect();
    let mut client_majority = cluster.client().restrict_to(&others);
    assert_eq!(
        client_majority.put("z", "3", OP),
        ClientOutcome::Ok(OpResult::Done)
    );
    let view = wait_for(&cluster, "a new leader", |v| {
        v.leader().is_some_and(|l| l != old)
    });
    assert!(view.leader() != Some(old));
    cluster.heal().unwrap_or_else(|e| panic!("heal: {e}"));
    assert_eq!(client.get("z", OP), value("3"));
    cluster.shutdown();
}

#[test]
fn t40_kill_and_restart_over_tcp() {
    let cluster = start(3, 4);
    let view = wait_for(&cluster, "a leader", |v| v.leader().is_some());
    let old = view.leader().unwrap_or(0);
    let mut client = cluster.client();
    assert_eq!(client.put("k", "1", OP), ClientOutcome::Ok(OpResult::Done));
    cluster.kill(old).unwrap_or_else(|e| panic!("kill: {e}"));
    assert_eq!(client.put("k", "2", OP), ClientOutcome::Ok(OpResult::Done));
    cluster
        .restart(old)
        .unwrap_or_else(|e| panic!("restart: {e}"));
    // The restarted node catches up to the second write. (Not "applied
    // up to index 3": an append sent before the kill may arrive first and
    // carry it only part way.)
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let read = client.get_stale(old, "k", OP);
        if read == Ok(Some("2".into())) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the old leader never caught up: it reads {read:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn t30_a_clients_membership_change_is_refused_by_an_in_process_cluster() {
    use raftlab::net::{ChangeReply, ClientRequest, ClientResponse, Wire, exchange};
    use raftlab::raft::ConfChange;
    let cluster = start(3, 4);
    let view = wait_for(&cluster, "a leader", |v| v.leader().is_some());
    let leader = view.leader().unwrap_or(1);
    let addr = cluster.addresses()[&leader];
    let key = cluster
        .config()
        .key
        .clone()
        .expect("a TCP cluster has a key");
    let request = Wire::Request(ClientRequest::Change(ConfChange::AddLearner(4)));
    let answer = exchange(addr, &request, OP, &key).unwrap();
    assert!(
        matches!(&answer, ClientResponse::Change(ChangeReply::Refused(why)) if why.contains("dashboard")),
        "{answer:?}"
    );
    // Nothing changed; the process's own call still works.
    assert_eq!(cluster.ids(), vec![1, 2, 3]);
    assert!(cluster.add_learner(4).is_ok());
}

#[test]
fn t30_a_follower_forwards_over_tcp_too() {
    common::a_follower_forwards_to_the_leader(&start(3, 3));
}
