//! Three `raftlab node` processes on loopback TCP, driven with `raftlab
//! client`: a write survives the leader's process being killed, and the
//! killed node rejoins from its data directory. Every wait is bounded;
//! the guard kills the children and removes the data even on failure.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_raftlab");

/// The node processes and their data directory; cleaned up on drop.
struct Cluster {
    dir: PathBuf,
    peers: String,
    children: Vec<Option<Child>>,
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("raftlab-mp-{}-{nanos}", std::process::id()));
        // Ports the system says are free: bound, read, released.
        let listeners: Vec<TcpListener> = (0..n)
            .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
            .collect();
        let peers = listeners
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{}={}", i + 1, l.local_addr().expect("local addr")))
            .collect::<Vec<_>>()
            .join(",");
        drop(listeners);
        let mut cluster = Cluster {
            dir,
            peers,
            children: (0..n).map(|_| None).collect(),
        };
        for id in 1..=n {
            cluster.start(id);
        }
        cluster
    }

    fn start(&mut self, id: usize) {
        std::fs::create_dir_all(&self.dir).expect("create the data directory");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node-{id}.log")))
            .expect("open the log");
        let child = Command::new(BIN)
            .args(["node", "--id", &id.to_string(), "--peers", &self.peers])
            .arg("--data-dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn raftlab node");
        self.children[id - 1] = Some(child);
    }

    fn kill(&mut self, id: usize) {
        if let Some(mut child) = self.children[id - 1].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn client(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["client", "--peers", &self.peers])
            .args(args)
            .output()
            .expect("run raftlab client")
    }

    /// Runs the client until it exits 0 with `want` on stdout (bounded).
    fn client_until(&self, args: &[&str], want: &str, within: Duration) -> Output {
        let deadline = Instant::now() + within;
        loop {
            let out = self.client(args);
            if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == want {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "{args:?} never printed {want:?}; last: {:?} {} {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `raftlab client status`, as (id, role, applied) of the nodes that answered.
    fn status(&self) -> Vec<(usize, String, u64)> {
        let out = self.client(&["status", "--timeout", "1s"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                let id = words.first()?.parse().ok()?;
                let role = words.get(2)?.to_string();
                let applied = words.iter().find_map(|w| w.strip_prefix("applied="))?;
                Some((id, role, applied.parse().ok()?))
            })
            .collect()
    }

    fn leader(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            if let Some((id, _, _)) = self.status().into_iter().find(|(_, r, _)| r == "Leader") {
                return id;
            }
            assert!(Instant::now() < deadline, "no leader: {:?}", self.status());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for id in 1..=self.children.len() {
            self.kill(id);
        }
        if std::thread::panicking() {
            for id in 1..=self.children.len() {
                let log = std::fs::read_to_string(self.dir.join(format!("node-{id}.log")));
                eprintln!("--- node {id} ---\n{}", log.unwrap_or_default());
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_write_survives_killing_the_leaders_process_and_the_node_rejoins() {
    let started = Instant::now();
    let mut cluster = Cluster::new(3);
    // The cluster is up once a linearizable get answers (absent: exit 0).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = cluster.client(&["get", "greeting", "--timeout", "1s"]);
        if out.status.success() {
            assert!(out.stdout.is_empty());
            assert!(String::from_utf8_lossy(&out.stderr).contains("(nil)"));
            break;
        }
        assert!(Instant::now() < deadline, "the cluster never served a get");
    }
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
            .arg(std::env::temp_dir())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    drop(free);
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
    assert!(err.contains("storage"), "{err}");
    let _ = std::fs::remove_file(&file);
}

#[test]
fn client_errors_exit_1_or_2() {
    let out = Command::new(BIN)
        .args([
            "client",
            "--peers",
            "1=127.0.0.1:1",
            "get",
            "k",
            "--timeout",
            "300ms",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no answer within 300ms"));
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
