//! Clusters of `raftlab node` processes for the multi-process tests:
//! free ports, node children with their logs, `raftlab client` runs,
//! SIGSTOP and SIGCONT, and TCP proxies — one per ordered pair of nodes
//! ([`Mesh`]) — that can be cut to make partitions the nodes cannot route
//! around. Every wait is bounded; dropping a [`Procs`] kills its children
//! and removes its directory even when the test failed (printing the
//! nodes' logs first; `RAFTLAB_KEEP_TEST_DATA=1` keeps a failed test's
//! data to look at), and dropping a proxy ends its threads.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_raftlab");

/// A free port below the system's range of ephemeral ports (32768 and
/// up on Linux), held until the caller drops it. A port the system picks
/// (port 0) would come from that range, where the many client
/// connections of the tests running alongside may take it between its
/// release and the node's bind. Ports are handed out in turn from a base
/// that differs per process, so the tests of one binary never pick the
/// same one and two binaries rarely meet.
pub fn free_port() -> TcpListener {
    const FIRST: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id().wrapping_mul(7919) % SPAN;
    for _ in 0..SPAN {
        let port = FIRST + (base + NEXT.fetch_add(1, Ordering::Relaxed)) % SPAN;
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port as u16)) {
            return listener;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + SPAN);
}

/// `n` free addresses (released: the nodes bind them next).
pub fn free_addrs(n: usize) -> Vec<SocketAddr> {
    let held: Vec<TcpListener> = (0..n).map(|_| free_port()).collect();
    held.iter().map(|l| l.local_addr().expect("addr")).collect()
}

/// `1=ADDR,2=ADDR,…`.
pub fn peers_arg(addrs: &BTreeMap<u64, SocketAddr>) -> String {
    addrs
        .iter()
        .map(|(id, a)| format!("{id}={a}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Node processes, their logs and data, under one temporary directory.
pub struct Procs {
    /// The test's directory: data roots and `node-I.log` files.
    pub dir: PathBuf,
    children: BTreeMap<u64, Child>,
    /// How each node was last started (data root, arguments), to restart it.
    started: BTreeMap<u64, (String, Vec<String>)>,
    /// Flags every node gets (e.g. `--no-prevote`).
    pub flags: Vec<String>,
}

impl Procs {
    /// A fresh directory named after the test.
    pub fn new(name: &str) -> Procs {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("raftlab-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        Procs {
            dir,
            children: BTreeMap::new(),
            started: BTreeMap::new(),
            flags: Vec::new(),
        }
    }

    /// Starts node `id` with `args`, its data under `root` (relative to
    /// the test's directory; "" for the directory itself), its stderr
    /// appended to `node-ID.log`.
    pub fn spawn(&mut self, id: u64, root: &str, args: &[String]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .expect("open the log");
        let child = Command::new(BIN)
            .args(["node", "--id", &id.to_string()])
            .args(args)
            .args(&self.flags)
            .arg("--data-dir")
            .arg(self.dir.join(root))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn raftlab node");
        self.children.insert(id, child);
        self.started.insert(id, (root.to_string(), args.to_vec()));
    }

    /// Starts nodes 1 to `n` on free addresses, their data under `root`,
    /// each with every address as `--peers`, and waits (bounded) until
    /// they take a first write (`up` = `1`). The addresses, and as a
    /// client's `--peers`.
    pub fn start_nodes(&mut self, n: u64, root: &str) -> (BTreeMap<u64, SocketAddr>, String) {
        let addrs: BTreeMap<u64, SocketAddr> = (1..=n).zip(free_addrs(n as usize)).collect();
        let peers = peers_arg(&addrs);
        for id in 1..=n {
            self.spawn(id, root, &["--peers".into(), peers.clone()]);
        }
        let up = ["put", "up", "1"];
        self.client_until(&peers, root, &up, "OK", Duration::from_secs(15));
        (addrs, peers)
    }

    /// Starts node `id` again as it was last started.
    pub fn restart(&mut self, id: u64) {
        let (root, args) = self.started.get(&id).cloned().expect("started before");
        self.spawn(id, &root, &args);
    }

    /// Kills node `id`'s process (SIGKILL, as `kill -9`) and reaps it.
    pub fn kill(&mut self, id: u64) {
        if let Some(mut child) = self.children.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether node `id` has a process (running or stopped).
    pub fn is_running(&self, id: u64) -> bool {
        self.children.contains_key(&id)
    }

    /// Sends `signal` (`STOP`, `CONT`) to node `id`'s process.
    pub fn signal(&self, id: u64, signal: &str) {
        let Some(child) = self.children.get(&id) else {
            return;
        };
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} n{id} failed");
    }

    /// Waits (bounded) for node `id`'s process to exit; its exit code.
    pub fn exit_code(&mut self, id: u64, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        let child = self.children.get_mut(&id).expect("node started");
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                self.children.remove(&id);
                return status.code();
            }
            assert!(Instant::now() < deadline, "n{id} did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("node-{id}.log"))
    }

    /// Node `id`'s log so far.
    pub fn log(&self, id: u64) -> String {
        std::fs::read_to_string(self.log_path(id)).unwrap_or_default()
    }

    /// Waits (bounded) until node `id`'s log contains `text`; the log.
    pub fn log_until(&self, id: u64, text: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log(id);
            if log.contains(text) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "n{id} never logged {text:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `raftlab client` against `peers`, with the secret of data root `root`.
    pub fn client(&self, peers: &str, root: &str, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["client", "--peers", peers, "--data-dir"])
            .arg(self.dir.join(root))
            .args(args)
            .output()
            .expect("run raftlab client")
    }

    /// Runs the client until it exits 0 printing `want` (bounded).
    pub fn client_until(
        &self,
        peers: &str,
        root: &str,
        args: &[&str],
        want: &str,
        within: Duration,
    ) -> Output {
        let deadline = Instant::now() + within;
        loop {
            let out = self.client(peers, root, args);
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

    /// `client status` lines of the nodes that answered, by node id.
    pub fn status(&self, peers: &str, root: &str) -> BTreeMap<u64, String> {
        let out = self.client(peers, root, &["status", "--timeout", "1s"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.contains("unreachable"))
            .filter_map(|l| Some((l.split_whitespace().next()?.parse().ok()?, l.to_string())))
            .collect()
    }

    /// Waits (bounded) for a node of `peers` that says it leads, other
    /// than `not`.
    pub fn leader(&self, peers: &str, root: &str, within: Duration, not: Option<u64>) -> u64 {
        let deadline = Instant::now() + within;
        loop {
            let status = self.status(peers, root);
            if let Some(id) = leader_of(&status, not) {
                return id;
            }
            assert!(Instant::now() < deadline, "no leader: {status:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The node of `status` lines that says it leads, other than `not`.
pub fn leader_of(status: &BTreeMap<u64, String>, not: Option<u64>) -> Option<u64> {
    status
        .iter()
        .find(|(id, l)| l.contains(" Leader ") && Some(**id) != not)
        .map(|(id, _)| *id)
}

impl Drop for Procs {
    fn drop(&mut self) {
        let ids: Vec<u64> = self.children.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
        let panicking = std::thread::panicking();
        if panicking {
            for id in self.started.keys() {
                eprintln!("--- n{id} ---\n{}", self.log(*id));
            }
        }
        if panicking && std::env::var_os("RAFTLAB_KEEP_TEST_DATA").is_some() {
            eprintln!("data kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A TCP proxy from a listener to `target` that can be cut: open
/// connections are closed and new ones refused until it is healed. Its
/// threads end when it is dropped.
pub struct Proxy {
    /// Where it listens.
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// Both ends of every connection it carries, to close on a cut.
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// Bytes it carried, both ways.
    pub bytes: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Proxies `listener`'s connections to `target`.
    pub fn start(listener: TcpListener, target: SocketAddr) -> Proxy {
        let addr = listener.local_addr().expect("addr");
        listener.set_nonblocking(true).expect("nonblocking");
        let cut = Arc::new(AtomicBool::new(false));
        let bytes = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (c, b, s, o) = (cut.clone(), bytes.clone(), stop.clone(), open.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((inbound, _)) if !c.load(Ordering::Relaxed) => {
                        if let Ok(outbound) =
                            TcpStream::connect_timeout(&target, Duration::from_millis(500))
                        {
                            let mut open = o.lock().unwrap_or_else(|p| p.into_inner());
                            open.retain(|s| s.peer_addr().is_ok());
                            open.extend(inbound.try_clone().ok());
                            open.extend(outbound.try_clone().ok());
                            drop(open);
                            pipe(&inbound, &outbound, &c, &b, &s);
                            pipe(&outbound, &inbound, &c, &b, &s);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Proxy {
            addr,
            cut,
            open,
            bytes,
            stop,
        }
    }

    /// Cuts (`true`: the connections it carries are closed at once, and
    /// new ones refused) or heals (`false`) the proxy.
    pub fn set_cut(&self, cut: bool) {
        self.cut.store(cut, Ordering::Relaxed);
        if cut {
            let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            for stream in open.drain(..) {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Whether it is cut.
    pub fn is_cut(&self) -> bool {
        self.cut.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies `from` to `to` on a thread until either ends or the proxy is
/// cut or stopped (then both are shut down).
fn pipe(
    from: &TcpStream,
    to: &TcpStream,
    cut: &Arc<AtomicBool>,
    bytes: &Arc<AtomicU64>,
    stop: &Arc<AtomicBool>,
) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    let (cut, bytes, stop) = (cut.clone(), bytes.clone(), stop.clone());
    std::thread::spawn(move || {
        let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
        let mut buf = [0u8; 16 * 1024];
        while !cut.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
            match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => break,
            }
        }
        let _ = from.shutdown(std::net::Shutdown::Both);
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// One proxy per ordered pair of nodes: node `i` reaches node `j` only
/// through `proxy(i, j)`, so cutting proxies makes partitions (and one-way
/// cuts) that the nodes cannot route around.
pub struct Mesh {
    /// Where each node really listens (clients use these).
    pub real: BTreeMap<u64, SocketAddr>,
    proxies: BTreeMap<(u64, u64), Proxy>,
}

impl Mesh {
    /// Proxies between every ordered pair of `real`'s nodes.
    pub fn new(real: BTreeMap<u64, SocketAddr>) -> Mesh {
        let mut proxies = BTreeMap::new();
        for &i in real.keys() {
            for (&j, &addr) in real.iter().filter(|(j, _)| **j != i) {
                proxies.insert((i, j), Proxy::start(free_port(), addr));
            }
        }
        Mesh { real, proxies }
    }

    /// The proxy node `i` reaches node `j` through.
    pub fn proxy(&self, i: u64, j: u64) -> &Proxy {
        &self.proxies[&(i, j)]
    }

    /// Every proxy, by (from, to).
    pub fn proxies(&self) -> &BTreeMap<(u64, u64), Proxy> {
        &self.proxies
    }

    /// Node `i`'s `--peers`: its own real address, the others' proxies.
    pub fn peers_of(&self, i: u64) -> String {
        let peers: BTreeMap<u64, SocketAddr> = self
            .real
            .iter()
            .map(|(&j, &real)| (j, if i == j { real } else { self.proxy(i, j).addr }))
            .collect();
        peers_arg(&peers)
    }

    /// The real addresses, as a client's `--peers`.
    pub fn client_peers(&self) -> String {
        peers_arg(&self.real)
    }

    /// Cuts every link between `side` and the other nodes, both ways
    /// (healing none: call [`heal`](Self::heal) first for a fresh cut).
    pub fn partition(&self, side: &BTreeSet<u64>) {
        for ((i, j), p) in &self.proxies {
            if side.contains(i) != side.contains(j) {
                p.set_cut(true);
            }
        }
    }

    /// Cuts node `id` off from every other node, both ways.
    pub fn isolate(&self, id: u64) {
        self.partition(&BTreeSet::from([id]));
    }

    /// Heals every link.
    pub fn heal(&self) {
        for p in self.proxies.values() {
            p.set_cut(false);
        }
    }
}
