//! A cluster of `raftlab node` processes trusts nothing it cannot verify
//! (issue 14): a stranger's raw frames of every `Wire` variant — the
//! forged InstallSnapshot (term 200, last index 300) and the hijacking
//! Hellos included — change nothing and lose nothing; nodes with
//! different secrets say which peer failed and how to fix it, once; a
//! node will not listen beyond loopback without an explicit secret;
//! addresses from `--peers` win over Hellos, so nodes behind proxies keep
//! using the proxies (and `--advertise` tells joiners where to go); 2,000
//! idle sockets keep out neither clients nor peers; a node stopped with
//! SIGSTOP does not hold up clients; nodes of two clusters say so on both
//! sides. Every wait is bounded;
//! the guard kills the children and removes the data even on failure.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use raftlab::kv::Op;
use raftlab::net::{ChangeReply, ClientReply, ClientRequest, ClientResponse, Wire, frame};
use raftlab::raft::{Body, ConfChange, Membership, Message, SnapshotMeta};

#[path = "common/procs.rs"]
mod procs;

use procs::{BIN, Mesh, Procs, Proxy, free_addrs, free_port, peers_arg};

/// `term=T` of a status line.
fn term_of(line: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("term="))
        .and_then(|t| t.parse().ok())
        .unwrap_or(0)
}

/// Every `Wire` variant a stranger could send, with every Raft message
/// type, aimed at node `to` and claiming to be `from`; the Hellos point
/// every id at `dead`.
fn forged_frames(from: u64, to: u64, dead: SocketAddr) -> Vec<Wire> {
    let msg = |body: Body| {
        Wire::Raft(Message {
            from,
            to,
            term: 200,
            body,
        })
    };
    let mut frames = vec![
        // The attack of issue 14, item 1.
        msg(Body::InstallSnapshot {
            meta: SnapshotMeta::at(300, 200),
            offset: 0,
            data: Vec::new(),
            done: true,
        }),
        msg(Body::PreVote {
            last_index: 300,
            last_term: 200,
        }),
        msg(Body::PreVoteResponse { granted: true }),
        msg(Body::Vote {
            last_index: 300,
            last_term: 200,
            transfer: true,
        }),
        msg(Body::VoteResponse { granted: true }),
        msg(Body::Append {
            prev_index: 0,
            prev_term: 0,
            entries: Vec::new(),
            commit: 300,
        }),
        msg(Body::AppendResponse {
            success: true,
            index: 300,
            hint: 301,
        }),
        msg(Body::Heartbeat {
            commit: 300,
            read_seq: 9,
        }),
        msg(Body::HeartbeatResponse { read_seq: 9 }),
        msg(Body::TimeoutNow),
        msg(Body::InstallSnapshotResponse {
            index: 300,
            offset: 0,
            done: true,
        }),
        Wire::Request(ClientRequest::Op {
            session: 77,
            seq: 1,
            op: Op::Put {
                key: "k1".into(),
                value: "forged".into(),
            },
        }),
        Wire::Request(ClientRequest::Status),
        Wire::Request(ClientRequest::Change(ConfChange::Remove(to))),
        Wire::Request(ClientRequest::Members),
        Wire::Response(ClientResponse::Op {
            session: 77,
            seq: 1,
            reply: ClientReply::Ok(raftlab::kv::OpResult::Done),
        }),
        Wire::Response(ClientResponse::Change(ChangeReply::Done {
            index: 300,
            membership: Membership::of_voters([from]),
        })),
    ];
    // The hijack of item 2: every id at a dead port.
    frames.extend((1..=9).map(|id| Wire::Hello { id, addr: dead }));
    frames
}

#[test]
fn a_strangers_frames_of_every_kind_change_nothing_and_lose_nothing() {
    let mut procs = Procs::new("trust-forged");
    let (addrs, peers) = procs.start_nodes(3, "data");
    for i in 1..=3 {
        procs.client_until(
            &peers,
            "data",
            &["put", &format!("k{i}"), &format!("v{i}")],
            "OK",
            Duration::from_secs(15),
        );
    }
    let leader = procs.leader(&peers, "data", Duration::from_secs(5), None);
    let before: BTreeMap<u64, u64> = procs
        .status(&peers, "data")
        .iter()
        .map(|(id, l)| (*id, term_of(l)))
        .collect();
    // A stranger (no secret) sends raw frames, the format nodes took
    // before, claiming to be each other node, to each node: 30 rounds
    // of one connection per (sender, receiver).
    let dead = free_addrs(1)[0];
    let mut sent = 0;
    for _round in 0..30 {
        for (&to, &addr) in &addrs {
            for from in (1..=3).filter(|&f| f != to) {
                let Ok(mut stream) = TcpStream::connect(addr) else {
                    continue;
                };
                let mut bytes = Vec::new();
                for frame in forged_frames(from, to, dead) {
                    bytes.extend(frame::encode(&frame, 1 << 20).expect("encode"));
                }
                if stream.write_all(&bytes).is_ok() {
                    sent += 1;
                }
            }
        }
    }
    assert!(sent > 100, "only {sent} connections took the frames");
    std::thread::sleep(Duration::from_secs(1));
    // Nothing changed: terms are where they were (not 200), the leader
    // still leads, the membership is 1 2 3, every node knows the real
    // addresses, and the acknowledged writes read back unchanged.
    let status = procs.status(&peers, "data");
    assert_eq!(status.len(), 3, "{status:?}");
    for (id, line) in &status {
        assert!(term_of(line) < 200, "{line}");
        assert_eq!(term_of(line), before[id], "n{id}'s term moved: {line}");
        assert!(line.contains("voters=1,2,3 "), "{line}");
        assert!(line.contains(&format!("leader={leader}")), "{line}");
    }
    for i in 1..=3 {
        procs.client_until(
            &peers,
            "data",
            &["get", &format!("k{i}")],
            &format!("v{i}"),
            Duration::from_secs(5),
        );
    }
    // The cluster still works, and its data is whole after the leader's
    // process is killed (the followers hold every acknowledged write).
    procs.client_until(
        &peers,
        "data",
        &["put", "k4", "v4"],
        "OK",
        Duration::from_secs(5),
    );
    procs.kill(leader);
    for i in 1..=4 {
        procs.client_until(
            &peers,
            "data",
            &["get", &format!("k{i}")],
            &format!("v{i}"),
            Duration::from_secs(15),
        );
    }
    for id in 1..=3 {
        let log = procs.log(id);
        assert!(!log.contains("learned n"), "n{id}: {log}");
        assert!(!log.contains("moved from"), "n{id}: {log}");
        assert!(!log.contains(&dead.to_string()), "n{id}: {log}");
        // Said once, then counted: not one line per bad connection.
        let lines = log.lines().filter(|l| l.contains("authenticate")).count();
        assert!(lines <= 3, "n{id} said {lines} lines:\n{log}");
    }
    // The summary of the interval comes with its counts.
    let survivor = (1..=3).find(|&id| id != leader).unwrap_or(1);
    let log = procs.log_until(survivor, "failed handshakes from", Duration::from_secs(15));
    assert!(log.contains("in the last 10s"), "{log}");
}

#[test]
fn nodes_with_different_secrets_say_which_peer_failed_and_how_to_fix_it() {
    let mut procs = Procs::new("trust-mismatch");
    let addrs: BTreeMap<u64, SocketAddr> = (1..=3).zip(free_addrs(3)).collect();
    let peers = peers_arg(&addrs);
    // Nodes 1 and 2 share a data root (and so a secret); node 3 has its own.
    procs.spawn(1, "a", &["--peers".into(), peers.clone()]);
    procs.spawn(2, "a", &["--peers".into(), peers.clone()]);
    procs.spawn(3, "b", &["--peers".into(), peers.clone()]);
    let at_3 = procs.log_until(3, "cannot authenticate to n1", Duration::from_secs(10));
    assert!(at_3.contains("different cluster secrets"), "{at_3}");
    assert!(at_3.contains("--secret-file"), "{at_3}");
    let at_1 = procs.log_until(
        1,
        "claiming to be n3 failed to authenticate",
        Duration::from_secs(10),
    );
    assert!(at_1.contains("--data-dir"), "{at_1}");
    // Nodes 1 and 2 are a majority and serve the clients of their root.
    procs.client_until(
        &peers,
        "a",
        &["put", "x", "1"],
        "OK",
        Duration::from_secs(15),
    );
    // A client with the other secret is told why in words.
    let only_1 = format!("1={}", addrs[&1]);
    let out = procs.client(&only_1, "b", &["get", "x", "--timeout", "1s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("secret differs"), "{err}");
    // Node 3 retried all along, but said it once per interval.
    std::thread::sleep(Duration::from_secs(2));
    let log = procs.log(3);
    // (On a slow machine a 10 s interval may have ended: its one summary
    // line counts the retries.)
    let said: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("authenticate to n1"))
        .collect();
    let first = said.iter().filter(|l| !l.contains("] ignored ")).count();
    assert_eq!(first, 1, "{log}");
    for summary in said.iter().filter(|l| l.contains("] ignored ")) {
        assert!(
            summary.contains("failed attempts to authenticate to n1 from"),
            "{summary}"
        );
    }
    assert!(said.len() <= 3, "{log}");
    // Both roots made their own secret, mode 0600.
    for root in ["a", "b"] {
        let path = procs.dir.join(root).join("cluster.secret");
        let mode = std::fs::metadata(&path).expect("the secret").permissions();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.mode() & 0o777, 0o600, "{}", path.display());
    }
}

#[test]
fn a_node_will_not_listen_beyond_loopback_without_an_explicit_secret() {
    let procs = Procs::new("trust-exposed");
    let out = Command::new(BIN)
        .args([
            "node",
            "--id",
            "1",
            "--peers",
            "1=0.0.0.0:7999",
            "--data-dir",
        ])
        .arg(procs.dir.join("data"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--secret-file"), "{err}");
    assert!(err.contains("0.0.0.0:7999"), "{err}");
    // It refused before making anything.
    assert!(!Path::new(&procs.dir.join("data")).exists());
}

#[test]
fn nodes_configured_through_proxies_keep_using_them_and_advertise_is_told() {
    let mut procs = Procs::new("trust-proxies");
    let real: BTreeMap<u64, SocketAddr> = (1..=4).zip(free_addrs(4)).collect();
    // One proxy per ordered pair of the first three nodes: i reaches j
    // only through mesh.proxy(i, j).
    let first3: BTreeMap<u64, SocketAddr> = real
        .iter()
        .filter(|(id, _)| **id <= 3)
        .map(|(a, b)| (*a, *b))
        .collect();
    let mesh = Mesh::new(first3.clone());
    for i in 1..=3u64 {
        procs.spawn(i, "data", &["--peers".into(), mesh.peers_of(i)]);
    }
    let client_peers = mesh.client_peers();
    procs.client_until(
        &client_peers,
        "data",
        &["put", "a", "1"],
        "OK",
        Duration::from_secs(15),
    );
    let leader = procs.leader(&client_peers, "data", Duration::from_secs(5), None);
    // Hellos said the real addresses; nobody moved off the proxies.
    std::thread::sleep(Duration::from_secs(3));
    for id in 1..=3 {
        let log = procs.log(id);
        assert!(!log.contains("moved from"), "n{id}: {log}");
    }
    assert!(
        mesh.proxies()
            .values()
            .all(|p| p.bytes.load(Ordering::Relaxed) > 0)
    );
    // Cut the leader off at its proxies: the others elect another leader,
    // which they could not if they had routed around the proxies.
    mesh.isolate(leader);
    let next = procs.leader(&client_peers, "data", Duration::from_secs(15), Some(leader));
    assert_ne!(next, leader);
    let majority: BTreeMap<u64, SocketAddr> = first3
        .iter()
        .filter(|(id, _)| **id != leader)
        .map(|(a, b)| (*a, *b))
        .collect();
    procs.client_until(
        &peers_arg(&majority),
        "data",
        &["put", "b", "2"],
        "OK",
        Duration::from_secs(10),
    );
    mesh.heal();
    procs.client_until(
        &client_peers,
        "data",
        &["get", "b"],
        "2",
        Duration::from_secs(10),
    );
    // A node that joins tells the others where to reach it: its
    // --advertise (here a proxy in front of it), not where it listens.
    let front = Proxy::start(free_port(), real[&4]);
    let join_peers = format!("1={},4={}", real[&1], real[&4]);
    procs.spawn(
        4,
        "data",
        &[
            "--join".into(),
            "--peers".into(),
            join_peers,
            "--advertise".into(),
            front.addr.to_string(),
        ],
    );
    procs.log_until(
        1,
        &format!("learned n4's address {}", front.addr),
        Duration::from_secs(10),
    );
    procs.log_until(
        4,
        &format!("tells peers to reach it at {}", front.addr),
        Duration::from_secs(2),
    );
}

#[test]
fn two_thousand_idle_sockets_keep_out_neither_clients_nor_peers() {
    // The test holds the sockets: it needs as many descriptors (the
    // node closes what it does not serve). Fewer when the limit is low.
    let limit: usize = Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(1024);
    let count = 2000.min(limit.saturating_sub(200));
    if count < 2000 {
        eprintln!("ulimit -n is {limit}: holding {count} idle sockets instead of 2000");
    }
    let mut procs = Procs::new("trust-idle");
    let (addrs, peers) = procs.start_nodes(3, "data");
    let leader = procs.leader(&peers, "data", Duration::from_secs(5), None);
    let follower = (1..=3).find(|&id| id != leader).unwrap_or(1);
    // Bounded: `count` sockets to the leader, all dropped at the end.
    let idle: Vec<TcpStream> = (0..count)
        .filter_map(|_| TcpStream::connect_timeout(&addrs[&leader], Duration::from_secs(1)).ok())
        .collect();
    assert!(
        idle.len() >= count * 9 / 10,
        "only {} connected",
        idle.len()
    );
    // Clients still get answers from the leader…
    let started = Instant::now();
    let only_leader = format!("{leader}={}", addrs[&leader]);
    procs.client_until(
        &only_leader,
        "data",
        &["put", "b", "2"],
        "OK",
        Duration::from_secs(5),
    );
    procs.client_until(
        &only_leader,
        "data",
        &["get", "b"],
        "2",
        Duration::from_secs(5),
    );
    // …and a follower restarted meanwhile reconnects to it and catches up.
    procs.kill(follower);
    procs.spawn(follower, "data", &["--peers".into(), peers.clone()]);
    procs.client_until(
        &peers,
        "data",
        &["put", "c", "3"],
        "OK",
        Duration::from_secs(10),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = procs.status(&peers, "data");
        let applied = |id: u64| {
            status.get(&id).and_then(|l| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix("applied="))
                    .and_then(|a| a.parse::<u64>().ok())
            })
        };
        if applied(follower).is_some() && applied(follower) == applied(leader) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "n{follower} never caught up: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "served clients and a peer with {} idle sockets open in {:?}",
        idle.len(),
        started.elapsed()
    );
    drop(idle);
}

/// A node stopped with SIGSTOP still accepts connections (the kernel
/// does it) but never answers. A client dials every node at once and
/// asks the first that proves itself, so with a follower stopped, and
/// then with the leader stopped and replaced, every client run finishes
/// within a `--timeout` shorter than the one second a stopped node used
/// to cost it whenever it tried that node first (a third of the runs).
#[test]
fn a_stopped_node_does_not_hold_up_clients() {
    let mut procs = Procs::new("trust-stopped");
    let (_, peers) = procs.start_nodes(3, "data");
    let leader = procs.leader(&peers, "data", Duration::from_secs(5), None);
    let runs = |procs: &Procs, what: &str| {
        for i in 0..10 {
            let key = format!("{what}{i}");
            for args in [
                vec!["put", &key, "v", "--timeout", "900ms"],
                vec!["get", &key, "--timeout", "900ms"],
            ] {
                let out = procs.client(&peers, "data", &args);
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "{what}: {args:?}: {err}");
            }
        }
    };
    let follower = (1..=3).find(|&id| id != leader).unwrap_or(1);
    procs.signal(follower, "STOP");
    runs(&procs, "f");
    procs.signal(follower, "CONT");
    procs.signal(leader, "STOP");
    procs.leader(&peers, "data", Duration::from_secs(15), Some(leader));
    runs(&procs, "l");
    procs.signal(leader, "CONT");
}

/// Nodes of two clusters (`--cluster-id 1` and `2`) that name each other
/// in `--peers`: each says so on both sides — as the one connecting and
/// as the one connected to — with how to fix it.
#[test]
fn nodes_of_two_clusters_each_say_so_on_both_sides() {
    let mut procs = Procs::new("trust-clusters");
    let addrs: BTreeMap<u64, SocketAddr> = (1..=2).zip(free_addrs(2)).collect();
    let peers = peers_arg(&addrs);
    for id in 1..=2u64 {
        let cluster = id.to_string();
        procs.spawn(
            id,
            "data",
            &[
                "--peers".into(),
                peers.clone(),
                "--cluster-id".into(),
                cluster,
            ],
        );
    }
    for (me, other) in [(1u64, 2u64), (2, 1)] {
        // Connecting to the other.
        let log = procs.log_until(
            me,
            &format!("n{me} cannot talk to n{other} at {}", addrs[&other]),
            Duration::from_secs(10),
        );
        assert!(
            log.contains(&format!(
                "belongs to cluster {other}, and this node to cluster {me}"
            )),
            "{log}"
        );
        // Connected to by the other.
        let log = procs.log_until(
            me,
            &format!("n{other} of cluster {other} connected from"),
            Duration::from_secs(10),
        );
        assert!(
            log.contains(&format!("this node belongs to cluster {me}")),
            "{log}"
        );
        assert!(log.contains("the same --cluster-id"), "{log}");
    }
}
