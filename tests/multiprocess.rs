//! Three `raftlab node` processes on loopback TCP, driven with `raftlab
//! client`: a write survives the leader's process being killed, and the
//! killed node rejoins from its data directory; nodes join with `--join`,
//! are added, promoted and removed with the client, and bad changes are
//! refused in words; a node whose log was emptied, cut, deleted or
//! flipped while it was down refuses to start, no acknowledged write is
//! lost, and the repair it prints works. Every wait is bounded; the guard
//! kills the children and removes the data even on failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "common/procs.rs"]
mod procs;

use procs::{BIN, Procs, free_port};

/// The node processes of one cluster, sharing one data root (the test's
/// directory); cleaned up on drop.
struct Cluster {
    procs: Procs,
    /// Every reserved node's address, for the client.
    peers: String,
    /// Each reserved node's `ID=ADDR`.
    addrs: Vec<String>,
    /// How many nodes the cluster started with; later ones join.
    first: usize,
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        Cluster::reserve(n, n)
    }

    /// `reserved` addresses; nodes 1 to `first` start now, as the first
    /// voters (the others can join later).
    fn reserve(first: usize, reserved: usize) -> Cluster {
        let listeners: Vec<TcpListener> = (0..reserved).map(|_| free_port()).collect();
        let addrs: Vec<String> = listeners
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}={}", i + 1, l.local_addr().expect("local addr")))
            .collect();
        drop(listeners);
        let mut cluster = Cluster {
            procs: Procs::new("mp"),
            peers: addrs.join(","),
            addrs,
            first,
        };
        for id in 1..=first {
            cluster.start(id);
        }
        cluster
    }

    /// The test's directory: the nodes' data root.
    fn dir(&self) -> &std::path::Path {
        &self.procs.dir
    }

    /// The `--peers` of nodes 1 to `n`.
    fn peers_upto(&self, n: usize) -> String {
        self.addrs[..n].join(",")
    }

    /// Starts node `id`: a first node with the first nodes' `--peers`, a
    /// later one with `--join` and the peers up to itself.
    fn start(&mut self, id: usize) {
        if id <= self.first {
            let peers = self.peers_upto(self.first);
            self.spawn(id, &["--peers", &peers]);
        } else {
            let peers = self.peers_upto(id);
            self.spawn(id, &["--join", "--peers", &peers]);
        }
    }

    fn spawn(&mut self, id: usize, args: &[&str]) {
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        self.procs.spawn(id as u64, "", &args);
    }

    fn kill(&mut self, id: usize) {
        self.procs.kill(id as u64);
    }

    fn client(&self, args: &[&str]) -> Output {
        self.procs.client(&self.peers, "", args)
    }

    /// Runs the client until it exits 0 with `want` on stdout (bounded).
    fn client_until(&self, args: &[&str], want: &str, within: Duration) -> Output {
        self.procs.client_until(&self.peers, "", args, want, within)
    }

    /// `raftlab client status`, as (id, role, applied) of the nodes that answered.
    fn status(&self) -> Vec<(usize, String, u64)> {
        self.procs
            .status(&self.peers, "")
            .into_iter()
            .filter_map(|(id, line)| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let role = words.get(2)?.to_string();
                let applied = words.iter().find_map(|w| w.strip_prefix("applied="))?;
                Some((id as usize, role, applied.parse().ok()?))
            })
            .collect()
    }

    /// Node `id`'s log so far.
    fn log(&self, id: usize) -> String {
        self.procs.log(id as u64)
    }

    /// Waits (bounded) until node `id`'s log contains `text`.
    fn log_until(&self, id: usize, text: &str, within: Duration) {
        self.procs.log_until(id as u64, text, within);
    }

    /// `raftlab client status`'s line for node `id`, if it answered.
    fn status_line(&self, id: usize) -> Option<String> {
        self.procs.status(&self.peers, "").remove(&(id as u64))
    }

    /// Runs a membership change until it succeeds (bounded): the leader
    /// may be between elections or the new node not introduced yet.
    fn change_ok(&self, args: &[&str], within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let out = self.client(args);
            let stdout = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() {
                return stdout;
            }
            assert!(
                Instant::now() < deadline,
                "{args:?} failed: {:?} {stdout} {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs the client once and expects exit `code` with `text` on stderr.
    fn refused(&self, args: &[&str], code: i32, text: &str) {
        let out = self.client(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(text), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }

    fn leader(&self, within: Duration) -> usize {
        self.procs.leader(&self.peers, "", within, None) as usize
    }

    /// Waits (bounded) for node `id`'s process to exit; its exit code.
    fn exit_code(&mut self, id: usize, within: Duration) -> Option<i32> {
        self.procs.exit_code(id as u64, within)
    }
}

/// `raftlab node --no-prevote --no-check-quorum`: the paper's Raft over
/// TCP. Each node says so when it starts, and the cluster elects a leader
/// and takes a write.
#[test]
fn nodes_run_the_papers_raft_when_asked() {
    let started = Instant::now();
    let mut cluster = Cluster::reserve(0, 3);
    cluster.procs.flags = vec!["--no-prevote".into(), "--no-check-quorum".into()];
    cluster.first = 3;
    for id in 1..=3 {
        cluster.start(id);
    }
    for id in 1..=3 {
        cluster.log_until(id, "no PreVote, no CheckQuorum", Duration::from_secs(5));
    }
    cluster.client_until(&["put", "paper", "raft"], "OK", Duration::from_secs(10));
    cluster.client_until(&["get", "paper"], "raft", Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_write_survives_killing_the_leaders_process_and_the_node_rejoins() {
    let started = Instant::now();
    let mut cluster = Cluster::new(3);
    wait_up(&cluster);
    // An absent key: nothing on stdout, (nil) on stderr, exit 0.
    let out = cluster.client(&["get", "greeting"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("(nil)"));
    let out = cluster.client(&["put", "greeting", "hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");

    let leader = cluster.leader(Duration::from_secs(5));
    cluster.kill(leader);
    cluster.client_until(&["get", "greeting"], "hello", Duration::from_secs(8));
    // A write while it is down, which it must catch up on.
    cluster.client_until(&["put", "greeting", "again"], "OK", Duration::from_secs(5));

    cluster.start(leader);
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let status = cluster.status();
        let others = status.iter().filter(|s| s.0 != leader).map(|s| s.2).max();
        let back = status.iter().find(|s| s.0 == leader).map(|s| s.2);
        if back.is_some() && back >= others {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "n{leader} did not catch up: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // With another node down, the rejoined one is needed for every quorum.
    let other = if leader == 1 { 2 } else { 1 };
    cluster.kill(other);
    cluster.client_until(&["get", "greeting"], "again", Duration::from_secs(8));
    assert!(started.elapsed() < Duration::from_secs(40));
}

#[test]
fn bad_node_arguments_exit_2_with_one_line() {
    let free = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr");
    let peers = format!("1={addr},2=127.0.0.1:1");
    let file = std::env::temp_dir().join(format!("raftlab-mp-file-{}", std::process::id()));
    std::fs::write(&file, "not a directory").expect("write");
    let root = std::env::temp_dir().join(format!("raftlab-mp-args-{}", std::process::id()));
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--id".into(), "3".into(), "--peers".into(), peers.clone()],
            "not in --peers",
        ),
        (
            vec!["--id".into(), "1".into(), "--peers".into(), peers.clone()],
            "cannot listen",
        ),
        (
            vec![
                "--id".into(),
                "2".into(),
                "--peers".into(),
                "12=127.0.0.1:7012".into(),
            ],
            "1 to 9",
        ),
        (
            vec![
                "--id".into(),
                "1".into(),
                "--peers".into(),
                "1=nowhere".into(),
            ],
            "ID=IP:PORT",
        ),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .arg("node")
            .args(&args)
            .arg("--data-dir")
            .arg(&root)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    drop(free);
    // --join with no other peer to join.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let alone = std::env::temp_dir().join(format!("raftlab-mp-alone-{}", std::process::id()));
    let out = Command::new(BIN)
        .args([
            "node",
            "--id",
            "1",
            "--join",
            "--peers",
            &format!("1={port}"),
        ])
        .arg("--data-dir")
        .arg(&alone)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("at least one member"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Nothing written for a node that did not start.
    assert!(!alone.join("node-1").join("peers").exists());
    let _ = std::fs::remove_dir_all(&alone);
    // A data directory that is a file.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let out = Command::new(BIN)
        .args([
            "node",
            "--id",
            "1",
            "--peers",
            &format!("1={port}"),
            "--data-dir",
        ])
        .arg(&file)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    let _ = std::fs::remove_file(&file);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn client_errors_exit_1_or_2() {
    let dir = std::env::temp_dir().join(format!("raftlab-mp-client-{}", std::process::id()));
    let secret = dir.join("cluster.secret");
    raftlab::net::secret::load_or_create(&secret, 1).expect("a secret");
    let out = Command::new(BIN)
        .args([
            "client",
            "--peers",
            "1=127.0.0.1:1",
            "get",
            "k",
            "--timeout",
            "300ms",
            "--secret-file",
        ])
        .arg(&secret)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no answer within 300ms"));
    // No secret, or none where the data root says: exit 2, in words.
    for extra in [
        vec![],
        vec!["--data-dir".to_string(), "/nonexistent".into()],
    ] {
        let out = Command::new(BIN)
            .args(["client", "--peers", "1=127.0.0.1:1", "get", "k"])
            .args(&extra)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--secret-file"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(BIN)
        .args(["client", "get", "k"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(BIN)
        .args(["client", "--peers", "1=127.0.0.1:1", "frobnicate"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// Waits (bounded) until the cluster serves a linearizable get.
fn wait_up(cluster: &Cluster) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cluster
        .client(&["get", "up", "--timeout", "1s"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "the cluster never served a get");
    }
}

#[test]
fn a_node_joins_is_promoted_and_old_nodes_find_it_after_a_restart() {
    let started = Instant::now();
    let mut cluster = Cluster::reserve(3, 4);
    wait_up(&cluster);
    cluster.start(4);
    cluster.log_until(4, "joining", Duration::from_secs(5));
    let out = cluster.change_ok(&["add", "4"], Duration::from_secs(5));
    assert!(
        out.starts_with("OK: node 4 added as a learner (entry "),
        "{out}"
    );
    assert!(out.contains("voters 1 2 3, learners 4"), "{out}");
    // Promote retries while the learner catches up (the client does).
    let out = cluster.change_ok(&["promote", "4"], Duration::from_secs(5));
    assert!(out.starts_with("OK: node 4 promoted to voter"), "{out}");
    assert!(out.contains("voters 1 2 3 4"), "{out}");
    cluster.log_until(4, "is now a voter", Duration::from_secs(5));
    // Node 1 heard node 4's hello (sent first on every connection and
    // every 2 s) and wrote its address down.
    cluster.log_until(1, "learned n4's address", Duration::from_secs(5));
    cluster.client_until(&["put", "a", "1"], "OK", Duration::from_secs(5));

    // With node 1 down, every write needs all of 2, 3 and 4: node 4 votes
    // and acknowledges.
    cluster.kill(1);
    cluster.client_until(&["put", "b", "2"], "OK", Duration::from_secs(8));
    cluster.client_until(&["get", "a"], "1", Duration::from_secs(5));

    // Node 1 comes back with its original --peers (1 to 3) while node 4
    // is down: only its address book can tell it where node 4 is.
    cluster.kill(4);
    cluster.start(1);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let line = cluster.status_line(1).unwrap_or_default();
        if line.contains("knows=1,2,3,4") {
            break;
        }
        assert!(Instant::now() < deadline, "n1 does not know n4: {line}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Node 4 restarts (its data decides: it is a voter now), node 2 goes:
    // writes need 1, 3 and 4 together.
    cluster.start(4);
    cluster.kill(2);
    cluster.client_until(&["put", "c", "3"], "OK", Duration::from_secs(10));
    cluster.client_until(&["get", "b"], "2", Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn the_leader_is_removed_and_bad_changes_are_refused_in_words() {
    let started = Instant::now();
    let cluster = Cluster::reserve(3, 5);
    wait_up(&cluster);
    cluster.refused(&["add", "12"], 2, "node ids are 1 to 9, not 12");
    cluster.refused(&["add", "2"], 1, "node 2 is already a voter");
    cluster.refused(&["add", "5"], 1, "node 5 has not introduced itself");
    cluster.refused(&["promote", "4"], 1, "node 4 is not a member");
    cluster.refused(&["remove", "4"], 1, "node 4 is not a member");

    // --join with an id the cluster has: refused before it binds.
    let out = Command::new(BIN)
        .args([
            "node",
            "--id",
            "2",
            "--join",
            "--peers",
            &cluster.peers_upto(3),
        ])
        .arg("--secret-file")
        .arg(cluster.dir().join("cluster.secret"))
        .arg("--data-dir")
        .arg(cluster.dir().join("impostor"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("node 2 is already a member"), "{err}");
    // A new id without --join would campaign in a configuration of its
    // own: refused too.
    let out = Command::new(BIN)
        .args(["node", "--id", "5", "--peers", &cluster.peers_upto(5)])
        .arg("--secret-file")
        .arg(cluster.dir().join("cluster.secret"))
        .arg("--data-dir")
        .arg(cluster.dir().join("impostor"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("start a new node with --join"), "{err}");

    // Hellos with bogus ids, even from holders of the secret, are
    // ignored, with a line in the log.
    let leader = cluster.leader(Duration::from_secs(5));
    let addr: std::net::SocketAddr = cluster.addrs[leader - 1]
        .split_once('=')
        .and_then(|(_, a)| a.parse().ok())
        .expect("address");
    {
        use raftlab::net::{Claim, Wire, auth, frame, secret};
        use std::io::Write;
        let key = secret::load(&cluster.dir().join("cluster.secret"), 1).expect("the secret");
        let hello = |claim: Claim, id: u64| {
            let stream = std::net::TcpStream::connect(addr).expect("connect");
            let deadline = Instant::now() + Duration::from_secs(5);
            let (mut seal, _) = auth::connect(&stream, &key, claim, deadline).expect("handshake");
            let bogus = Wire::Hello {
                id,
                addr: "127.0.0.1:1".parse().expect("addr"),
            };
            let payload = frame::encode_payload(&bogus, 1024).expect("encode");
            (&stream)
                .write_all(&seal.seal(&payload, 1024).expect("seal"))
                .expect("write");
            stream
        };
        let _a = hello(Claim::Node(12), 12);
        let _b = hello(Claim::Node(leader as u64), leader as u64);
        let _c = hello(Claim::Client, 3);
        cluster.log_until(leader, "node id 12 is out of range", Duration::from_secs(5));
        cluster.log_until(leader, "claims to be this node", Duration::from_secs(5));
        cluster.log_until(
            leader,
            "ignored a hello that claims to be n3",
            Duration::from_secs(5),
        );
    }

    // The leader removes itself; the others elect another.
    let out = cluster.change_ok(&["remove", &leader.to_string()], Duration::from_secs(5));
    assert!(
        out.starts_with(&format!("OK: node {leader} removed")),
        "{out}"
    );
    cluster.log_until(
        leader,
        "was removed from the cluster",
        Duration::from_secs(5),
    );
    let deadline = Instant::now() + Duration::from_secs(8);
    let next = loop {
        let status = cluster.status();
        if let Some((id, _, _)) = status
            .iter()
            .find(|(id, r, _)| r == "Leader" && *id != leader)
        {
            break *id;
        }
        assert!(Instant::now() < deadline, "no new leader: {status:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    cluster.client_until(&["put", "after", "yes"], "OK", Duration::from_secs(5));
    cluster.client_until(&["get", "after"], "yes", Duration::from_secs(5));
    // Down to one voter, which cannot be removed.
    let other = (1..=3)
        .find(|&i| i != leader && i != next)
        .expect("a third node");
    cluster.change_ok(&["remove", &other.to_string()], Duration::from_secs(5));
    cluster.refused(
        &["remove", &next.to_string()],
        1,
        &format!("node {next}: it is the last voter"),
    );
    cluster.client_until(&["get", "after"], "yes", Duration::from_secs(5));
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// Node `id`'s only log segment.
fn only_segment(cluster: &Cluster, id: usize) -> PathBuf {
    let dir = cluster.dir().join(format!("node-{id}"));
    let segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read the node directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    assert_eq!(segments.len(), 1, "{segments:?}");
    segments[0].clone()
}

/// Issue 14, case 4: with node 3 down, 20 puts are acknowledged by nodes 1
/// and 2; node 2 stops and `damage` hits its only segment; node 1 stops;
/// nodes 2 and 3 start. Node 2 must refuse to start, naming the file, so
/// no leader is elected without the writes; node 1's return brings them
/// all back, and node 2, rebuilt from its peers as the refusal says, holds
/// them too (with node 1 down, nodes 2 and 3 serve all 20).
fn damaged_storage_loses_no_acknowledged_write(damage: impl Fn(&std::path::Path)) {
    let started = Instant::now();
    let mut cluster = Cluster::new(3);
    wait_up(&cluster);
    cluster.kill(3);
    for i in 0..20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        cluster.client_until(&["put", &k, &v], "OK", Duration::from_secs(8));
    }
    cluster.kill(2);
    let segment = only_segment(&cluster, 2);
    damage(&segment);
    let damaged = std::fs::read(&segment).ok();
    cluster.kill(1);

    cluster.start(2);
    assert_eq!(cluster.exit_code(2, Duration::from_secs(10)), Some(2));
    let log = cluster.log(2);
    let name = segment
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    assert!(
        log.contains(&name) && log.contains("is damaged at byte"),
        "{log}"
    );
    assert!(
        log.contains("may have lost writes it acknowledged"),
        "{log}"
    );
    assert!(log.contains("node 2 will not start"), "{log}");
    assert!(log.contains("remove 2"), "{log}");
    assert!(!log.contains("torn"), "{log}");
    // Refusing left the evidence as it was.
    assert_eq!(std::fs::read(&segment).ok(), damaged);

    cluster.start(3);
    cluster.start(1);
    for i in 0..20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        cluster.client_until(&["get", &k], &v, Duration::from_secs(10));
    }

    // The repair the refusal prints: out of the cluster, a new directory,
    // back in as a learner that catches up, then a voter.
    cluster.change_ok(&["remove", "2"], Duration::from_secs(8));
    let node2 = cluster.dir().join("node-2");
    std::fs::rename(&node2, cluster.dir().join("node-2.damaged")).expect("move aside");
    let peers = cluster.peers_upto(3);
    cluster.spawn(2, &["--join", "--peers", &peers]);
    cluster.log_until(2, "joining", Duration::from_secs(5));
    cluster.change_ok(&["add", "2"], Duration::from_secs(8));
    cluster.change_ok(&["promote", "2"], Duration::from_secs(8));
    cluster.log_until(2, "is now a voter", Duration::from_secs(8));
    cluster.kill(1);
    for i in 0..20 {
        let (k, v) = (format!("k{i}"), format!("v{i}"));
        cluster.client_until(&["get", &k], &v, Duration::from_secs(10));
    }
    assert!(started.elapsed() < Duration::from_secs(90));
}

#[test]
fn a_segment_emptied_while_the_node_was_down_is_refused_and_loses_nothing() {
    damaged_storage_loses_no_acknowledged_write(|segment| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(segment)
            .expect("open")
            .set_len(0)
            .expect("truncate");
    });
}

#[test]
fn a_flipped_byte_in_the_last_record_is_refused_and_loses_nothing() {
    // The segment ends with its last whole record (the sync mark lives in
    // the header): flip that record's last byte.
    damaged_storage_loses_no_acknowledged_write(|segment| {
        let mut bytes = std::fs::read(segment).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(segment, bytes).expect("write");
    });
}

#[test]
fn a_segment_cut_to_half_or_deleted_is_refused_and_loses_nothing() {
    damaged_storage_loses_no_acknowledged_write(|segment| {
        let len = std::fs::metadata(segment).expect("stat").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(segment)
            .expect("open")
            .set_len(len / 2)
            .expect("truncate");
    });
    damaged_storage_loses_no_acknowledged_write(|segment| {
        std::fs::remove_file(segment).expect("remove");
    });
}

#[test]
fn client_polish_stdin_values_and_a_whole_timeout() {
    let cluster = Cluster::new(3);
    wait_up(&cluster);
    // `put K -` takes the value from standard input: longer than a
    // command line may be.
    let big = "0123456789abcdef".repeat(200 * 1024 / 16);
    let mut child = Command::new(BIN)
        .args(["client", "--peers", &cluster.peers])
        .arg("--data-dir")
        .arg(cluster.dir())
        .args(["put", "big", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run raftlab client");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(big.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK");
    let out = cluster.client(&["get", "big"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), big);
    // `status --timeout 1s` with three nodes that accept and never
    // answer ends within its timeout, not one timeout per node.
    let silent: Vec<TcpListener> = (0..3).map(|_| free_port()).collect();
    let peers: Vec<String> = silent
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{}={}", i + 1, l.local_addr().expect("addr")))
        .collect();
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(["client", "--peers", &peers.join(","), "--timeout", "1s"])
        .arg("--data-dir")
        .arg(cluster.dir())
        .arg("status")
        .output()
        .expect("run");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(1));
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    drop(silent);
}
