//! The black-box fault test of the multi-process cluster (issue 14).
//!
//! `raftlab node` processes reach each other only through one TCP proxy
//! per ordered pair of nodes (each node's `--peers` names its proxies), so
//! a partition made by cutting proxies is one the nodes cannot route
//! around. While concurrent clients — `raftlab client` processes, one
//! operation each, with the client's own retries and `--timeout` — put,
//! get, cas and delete, a nemesis cuts the leader off at its proxies
//! (and checks that the others replace it), partitions the nodes, kill
//! -9s and restarts them, and SIGSTOPs and SIGCONTs them. Every operation
//! goes into a history in the project's format (exit 0: `ok` with what
//! the client printed; no answer in time: `info` for a write, which may
//! have applied, `fail` for a read). At the end the network heals, every
//! node runs again, every write the clients were told succeeded is read
//! back, and the whole history — read-backs included — is checked by the
//! crate's linearizability checker.
//!
//! Two runs: `a_short_run_under_every_fault_loses_nothing_and_is_linearizable`
//! (in `cargo test`: three nodes, a fixed schedule of each fault, about
//! half a minute) and the long one, ignored by default, whose knobs are
//! environment variables:
//!
//! ```sh
//! RAFTLAB_BLACKBOX_SECS=300 RAFTLAB_BLACKBOX_NODES=5 RAFTLAB_BLACKBOX_CLIENTS=4 \
//! RAFTLAB_BLACKBOX_TIMEOUT_MS=3000 \
//! RAFTLAB_BLACKBOX_SEED=7 RAFTLAB_BLACKBOX_HISTORY=/tmp/blackbox.jsonl \
//!   cargo test --release --test blackbox -- --ignored --nocapture
//! ```
//!
//! Each prints its figures: operations ok/fail/info, the longest time no
//! operation succeeded (and what the nemesis was doing then), how often an
//! isolated leader was replaced, acknowledged writes lost (must be 0).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use raftlab::kv::history::{EventType, HistoryEvent, write_jsonl};
use raftlab::kv::linearizability::{Verdict, check_with_budget};
use raftlab::kv::{Op, OpResult};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[path = "common/procs.rs"]
mod procs;

use procs::{BIN, Mesh, Procs, free_addrs, leader_of};

/// The data root every node and client shares (and so its secret).
const ROOT: &str = "data";
/// How long a client process may overrun its own `--timeout` before the
/// harness calls it hung (and fails).
const HUNG_GRACE: Duration = Duration::from_secs(10);
/// Shared keys change name this often, so no key's history grows too
/// long for the checker.
const KEY_EPOCH: Duration = Duration::from_secs(8);
/// How many shared keys the clients contend on at once.
const SHARED_KEYS: u64 = 3;
/// History process numbers of the read-back readers start here.
const READER_BASE: u64 = 1000;

/// What a run is made of.
struct Knobs {
    nodes: u64,
    clients: u64,
    /// Length of the nemesis' part of the run (the long run).
    secs: u64,
    seed: u64,
    /// Each client process' `--timeout`.
    op_timeout: Duration,
    /// Where to write the history too.
    history: Option<PathBuf>,
}

impl Knobs {
    /// The long run's knobs, from `RAFTLAB_BLACKBOX_*`.
    fn from_env() -> Knobs {
        let var = |name: &str, default: u64| {
            std::env::var(format!("RAFTLAB_BLACKBOX_{name}"))
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let clock = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Knobs {
            nodes: var("NODES", 5).clamp(3, 9),
            clients: var("CLIENTS", 4).clamp(1, 64),
            secs: var("SECS", 300),
            seed: var("SEED", clock),
            op_timeout: Duration::from_millis(var("TIMEOUT_MS", 3000)),
            history: std::env::var_os("RAFTLAB_BLACKBOX_HISTORY").map(PathBuf::from),
        }
    }
}

/// The history, as the clients and readers add to it.
struct Recorder {
    start: Instant,
    events: Mutex<Vec<HistoryEvent>>,
}

impl Recorder {
    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn push(&self, event: HistoryEvent) {
        self.events.lock().expect("history").push(event);
    }
}

/// What one client process said.
enum Answer {
    /// Exit 0: the result it printed.
    Ok(OpResult),
    /// Exit 1: no answer within its timeout.
    NoAnswer,
}

/// What the clients share.
struct Ctx {
    recorder: Recorder,
    /// The nodes' real addresses, as the client's `--peers`.
    peers: String,
    root: PathBuf,
    op_timeout: Duration,
    /// Client processes that overran their timeout by [`HUNG_GRACE`].
    hung: Mutex<Vec<String>>,
}

impl Ctx {
    /// Runs one `raftlab client` process for `op`, bounded.
    fn run(&self, op: &Op) -> Answer {
        let timeout = format!("{}ms", self.op_timeout.as_millis());
        let mut cmd = Command::new(BIN);
        cmd.args(["client", "--peers", &self.peers, "--timeout", &timeout])
            .arg("--data-dir")
            .arg(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match op {
            Op::Put { key, value } => cmd.args(["put", key, value]),
            Op::Get { key } => cmd.args(["get", key]),
            Op::Delete { key } => cmd.args(["delete", key]),
            Op::Cas { key, old, new } => cmd.args(["cas", key, old, new]),
        };
        let mut child = cmd.spawn().expect("spawn raftlab client");
        let deadline = Instant::now() + self.op_timeout + HUNG_GRACE;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the client") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.hung.lock().expect("hung").push(format!("{op:?}"));
                return Answer::NoAnswer;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let out = child.wait_with_output().expect("client output");
        let stdout = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        match status.code() {
            Some(0) => Answer::Ok(match op {
                Op::Put { .. } | Op::Delete { .. } => {
                    assert_eq!(stdout, "OK", "{op:?}: {stderr}");
                    OpResult::Done
                }
                Op::Get { .. } if stdout.is_empty() && stderr.contains("(nil)") => {
                    OpResult::Value(None)
                }
                Op::Get { .. } => OpResult::Value(Some(stdout)),
                Op::Cas { .. } => OpResult::Swapped(stdout == "true"),
            }),
            Some(1) => Answer::NoAnswer,
            other => panic!("client {op:?} exited {other:?}: {stderr}"),
        }
    }

    /// Runs `op` as history process `process` and records it.
    fn record(&self, process: u64, op: &Op) -> Answer {
        let r = &self.recorder;
        r.push(HistoryEvent::invoke(process, op, r.now()));
        let answer = self.run(op);
        let done = match &answer {
            Answer::Ok(result) => HistoryEvent::ok(process, op, result, r.now()),
            // A write may have applied; a read changed nothing.
            Answer::NoAnswer if op.is_write() => HistoryEvent::info(process, op, r.now()),
            Answer::NoAnswer => HistoryEvent::fail(process, op, r.now()),
        };
        r.push(done);
        answer
    }
}

/// What a client learned of its own writes to keys no one else writes.
#[derive(Default)]
struct Own {
    /// Acknowledged: key → value.
    acked: BTreeMap<String, String>,
    /// Of unknown outcome: key → value.
    unknown: BTreeMap<String, String>,
    /// Shared keys it touched.
    shared: BTreeSet<String>,
}

/// One client's loop until `stop`: a third of its operations write a
/// key of its own (to read back at the end), the rest put, get, cas and
/// delete the shared keys of the current epoch.
fn client(ctx: &Ctx, c: u64, seed: u64, stop: &AtomicBool) -> Own {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (c << 32));
    let mut own = Own::default();
    // The last value this client saw or wrote per shared key: its cas' old.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let value = format!("{c}.{n}");
        let epoch = ctx.recorder.start.elapsed().as_millis() / KEY_EPOCH.as_millis();
        let shared = format!("s{epoch}.{}", rng.random_range(0..SHARED_KEYS));
        let roll = rng.random_range(0..100);
        let op = match roll {
            0..35 => Op::Put {
                key: format!("u{c}.{n}"),
                value: value.clone(),
            },
            35..60 => Op::Put {
                key: shared.clone(),
                value: value.clone(),
            },
            60..85 => Op::Get {
                key: shared.clone(),
            },
            85..95 => Op::Cas {
                key: shared.clone(),
                old: seen.get(&shared).cloned().unwrap_or_else(|| "none".into()),
                new: value.clone(),
            },
            _ => Op::Delete {
                key: shared.clone(),
            },
        };
        if roll >= 35 {
            own.shared.insert(shared.clone());
        }
        let answer = ctx.record(c, &op);
        match (&op, answer) {
            (Op::Put { key, value }, Answer::Ok(_)) if roll < 35 => {
                own.acked.insert(key.clone(), value.clone());
            }
            (Op::Put { key, value }, Answer::NoAnswer) if roll < 35 => {
                own.unknown.insert(key.clone(), value.clone());
            }
            (Op::Put { key, value }, Answer::Ok(_)) => {
                seen.insert(key.clone(), value.clone());
            }
            (Op::Get { key }, Answer::Ok(OpResult::Value(Some(v)))) => {
                seen.insert(key.clone(), v);
            }
            (Op::Cas { key, new, .. }, Answer::Ok(OpResult::Swapped(true))) => {
                seen.insert(key.clone(), new.clone());
            }
            _ => {}
        }
    }
    own
}

/// What the nemesis did, when (µs of the run).
#[derive(Default)]
struct Timeline {
    notes: Vec<(u64, String)>,
    isolations: u32,
    replaced: u32,
    kills: u32,
    stops: u32,
    partitions: u32,
    one_way: u32,
}

/// The nemesis: the node processes, the proxies, and what it did.
struct Nemesis<'a> {
    procs: &'a mut Procs,
    mesh: &'a Mesh,
    recorder: &'a Recorder,
    timeline: Timeline,
    /// Nodes killed (to restart) or stopped (to continue).
    killed: BTreeSet<u64>,
    stopped: BTreeSet<u64>,
}

impl Nemesis<'_> {
    fn note(&mut self, text: String) {
        let at = self.recorder.now();
        eprintln!("[{:>8.3}s] {text}", at as f64 / 1e6);
        self.timeline.notes.push((at, text));
    }

    /// The node that leads now (bounded wait), other than `not`.
    fn leader(&self, within: Duration, not: Option<u64>) -> Option<u64> {
        let deadline = Instant::now() + within;
        loop {
            let status = self.procs.status(&self.mesh.client_peers(), ROOT);
            let leader = leader_of(&status, not);
            if leader.is_some() || Instant::now() > deadline {
                return leader;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Cuts the leader off at its proxies and waits (bounded) for the
    /// others to elect another: the proof that proxy-made partitions take
    /// effect. Returns whether it was replaced.
    fn isolate_leader(&mut self, hold: Duration) -> bool {
        let Some(old) = self.leader(Duration::from_secs(10), None) else {
            self.note("no leader to isolate".into());
            return false;
        };
        self.mesh.heal();
        self.mesh.isolate(old);
        self.timeline.isolations += 1;
        self.note(format!("isolate the leader n{old} at its proxies"));
        let next = self.leader(Duration::from_secs(15), Some(old));
        let replaced = next.is_some_and(|n| n != old);
        if let Some(next) = next {
            self.timeline.replaced += 1;
            self.note(format!("n{next} leads: the isolated n{old} was replaced"));
        } else {
            self.note(format!("no leader replaced the isolated n{old}"));
        }
        std::thread::sleep(hold);
        self.heal();
        replaced
    }

    /// Cuts `side` off from the other nodes, both ways, for `hold`.
    fn partition(&mut self, side: BTreeSet<u64>, hold: Duration) {
        self.mesh.heal();
        self.mesh.partition(&side);
        self.timeline.partitions += 1;
        self.note(format!("partition {side:?} from the others"));
        std::thread::sleep(hold);
        self.heal();
    }

    /// Cuts what `from` sends to every other node (it still hears them).
    fn one_way(&mut self, from: u64, hold: Duration) {
        self.mesh.heal();
        for &to in self.mesh.real.keys().filter(|&&to| to != from) {
            self.mesh.proxy(from, to).set_cut(true);
        }
        self.timeline.one_way += 1;
        self.note(format!(
            "cut what n{from} sends (it still hears the others)"
        ));
        std::thread::sleep(hold);
        self.heal();
    }

    fn heal(&mut self) {
        self.mesh.heal();
        self.note("heal the network".into());
    }

    /// kill -9s node `id`, and restarts it after `down`.
    fn kill(&mut self, id: u64, down: Duration) {
        self.procs.kill(id);
        self.killed.insert(id);
        self.timeline.kills += 1;
        self.note(format!("kill -9 n{id}"));
        std::thread::sleep(down);
        self.restart_all();
    }

    /// SIGSTOPs node `id`, and SIGCONTs it after `paused`.
    fn stop(&mut self, id: u64, paused: Duration) {
        self.procs.signal(id, "STOP");
        self.stopped.insert(id);
        self.timeline.stops += 1;
        self.note(format!("SIGSTOP n{id}"));
        std::thread::sleep(paused);
        self.restart_all();
    }

    /// Every node running again: killed ones restarted, stopped ones
    /// continued.
    fn restart_all(&mut self) {
        for id in std::mem::take(&mut self.killed) {
            self.procs.restart(id);
            self.note(format!("restart n{id}"));
        }
        for id in std::mem::take(&mut self.stopped) {
            self.procs.signal(id, "CONT");
            self.note(format!("SIGCONT n{id}"));
        }
    }

    /// The leader, or else some node: a fault's victim.
    fn victim(&self, rng: &mut ChaCha8Rng, leader_first: bool) -> u64 {
        let ids: Vec<u64> = self.mesh.real.keys().copied().collect();
        let random = ids[rng.random_range(0..ids.len())];
        if leader_first {
            self.leader(Duration::from_secs(3), None).unwrap_or(random)
        } else {
            random
        }
    }
}

/// The short run's schedule: each fault once, the leader its victim.
fn scripted(nemesis: &mut Nemesis<'_>) {
    let pause = |ms| std::thread::sleep(Duration::from_millis(ms));
    pause(2000);
    assert!(
        nemesis.isolate_leader(Duration::from_millis(1000)),
        "cutting the leader's proxies did not get it replaced"
    );
    pause(2000);
    let leader = nemesis.leader(Duration::from_secs(10), None);
    if let Some(id) = leader {
        nemesis.kill(id, Duration::from_millis(2000));
    }
    pause(2000);
    let leader = nemesis.leader(Duration::from_secs(10), None);
    if let Some(id) = leader {
        nemesis.stop(id, Duration::from_millis(2000));
    }
    pause(2000);
    let leader = nemesis.leader(Duration::from_secs(10), None);
    if let Some(id) = leader {
        nemesis.one_way(id, Duration::from_millis(2000));
    }
    pause(2000);
    let follower = nemesis
        .mesh
        .real
        .keys()
        .copied()
        .find(|&id| Some(id) != leader);
    if let Some(id) = follower {
        nemesis.partition(BTreeSet::from([id]), Duration::from_millis(2000));
    }
    pause(2000);
}

/// The long run's schedule: a seeded random fault at a time, then quiet,
/// until `secs` have passed.
fn random(nemesis: &mut Nemesis<'_>, seed: u64, secs: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let end = Instant::now() + Duration::from_secs(secs);
    let n = nemesis.mesh.real.len();
    while Instant::now() < end {
        let hold = Duration::from_millis(rng.random_range(1000..5000));
        let leader_first = rng.random_range(0..2) == 0;
        match rng.random_range(0..5) {
            0 => {
                let hold = Duration::from_millis(rng.random_range(0..2000));
                nemesis.isolate_leader(hold);
            }
            1 => {
                let mut ids: Vec<u64> = nemesis.mesh.real.keys().copied().collect();
                let size = rng.random_range(1..=(n - 1) / 2);
                let mut side = BTreeSet::new();
                while side.len() < size {
                    side.insert(ids.swap_remove(rng.random_range(0..ids.len())));
                }
                nemesis.partition(side, hold);
            }
            2 => {
                let id = nemesis.victim(&mut rng, leader_first);
                nemesis.kill(id, hold);
            }
            3 => {
                let id = nemesis.victim(&mut rng, leader_first);
                nemesis.stop(id, hold);
            }
            _ => {
                let id = nemesis.victim(&mut rng, true);
                nemesis.one_way(id, hold);
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(1000..3000)));
    }
}

/// What a run measured.
struct Figures {
    ok: usize,
    fail: usize,
    info: usize,
    /// Longest stretch with no operation completing `ok`: its length,
    /// start and end (µs).
    gap: (u64, u64, u64),
    acked: usize,
    lost: Vec<String>,
    unread: Vec<String>,
    verdict: Verdict,
    events: usize,
    timeline: Timeline,
}

/// Runs a cluster under `knobs`, its nemesis being `schedule`.
fn run(knobs: &Knobs, schedule: impl FnOnce(&mut Nemesis<'_>)) -> Figures {
    let mut procs = Procs::new("blackbox");
    let real: BTreeMap<u64, _> = (1..=knobs.nodes)
        .zip(free_addrs(knobs.nodes as usize))
        .collect();
    let mesh = Mesh::new(real);
    for id in 1..=knobs.nodes {
        procs.spawn(id, ROOT, &["--peers".into(), mesh.peers_of(id)]);
    }
    let peers = mesh.client_peers();
    procs.client_until(
        &peers,
        ROOT,
        &["put", "up", "1"],
        "OK",
        Duration::from_secs(20),
    );
    let ctx = Arc::new(Ctx {
        recorder: Recorder {
            start: Instant::now(),
            events: Mutex::new(Vec::new()),
        },
        peers: peers.clone(),
        root: procs.dir.join(ROOT),
        op_timeout: knobs.op_timeout,
        hung: Mutex::new(Vec::new()),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (1..=knobs.clients)
        .map(|c| {
            let (ctx, stop, seed) = (ctx.clone(), stop.clone(), knobs.seed);
            std::thread::spawn(move || client(&ctx, c, seed, &stop))
        })
        .collect();
    // The workers stop even if the nemesis panics (Procs then cleans up).
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let guard = StopOnDrop(stop.clone());
    let mut nemesis = Nemesis {
        procs: &mut procs,
        mesh: &mesh,
        recorder: &ctx.recorder,
        timeline: Timeline::default(),
        killed: BTreeSet::new(),
        stopped: BTreeSet::new(),
    };
    schedule(&mut nemesis);
    nemesis.heal();
    nemesis.restart_all();
    let timeline = std::mem::take(&mut nemesis.timeline);
    drop(guard);
    let run_end = ctx.recorder.now();
    let owns: Vec<Own> = workers
        .into_iter()
        .map(|w| w.join().expect("a client thread panicked"))
        .collect();
    let workload: Vec<HistoryEvent> = ctx.recorder.events.lock().expect("history").clone();
    let count = |kind| workload.iter().filter(|e| e.kind == kind).count();
    let (ok, fail, info) = (
        count(EventType::Ok),
        count(EventType::Fail),
        count(EventType::Info),
    );
    let gap = longest_gap(&workload, run_end);
    // Read back every key a client wrote alone, and the shared ones.
    let mut expect: BTreeMap<String, Option<String>> = BTreeMap::new();
    for own in &owns {
        for (k, v) in &own.acked {
            expect.insert(k.clone(), Some(v.clone()));
        }
        for k in own.unknown.keys().chain(&own.shared) {
            expect.insert(k.clone(), None);
        }
    }
    let read = read_back(&ctx, expect.keys().cloned().collect());
    let mut lost = Vec::new();
    let mut unread = Vec::new();
    let mut acked = 0;
    for (key, want) in &expect {
        let Some(want) = want else { continue };
        acked += 1;
        match read.get(key) {
            Some(Some(got)) if got == want => {}
            Some(got) => lost.push(format!("{key}: wrote {want}, read {got:?}")),
            None => unread.push(key.clone()),
        }
    }
    let mut events = ctx.recorder.events.lock().expect("history").clone();
    // Time order (stable: each process' events keep theirs).
    events.sort_by_key(|e| e.time);
    let path = procs.dir.join("history.jsonl");
    let file = std::fs::File::create(&path).expect("create the history");
    write_jsonl(&events, std::io::BufWriter::new(file)).expect("write the history");
    if let Some(keep) = &knobs.history {
        std::fs::copy(&path, keep).expect("copy the history");
    }
    let verdict =
        check_with_budget(&events, Duration::from_secs(120)).expect("the history pairs up");
    let hung = ctx.hung.lock().expect("hung").clone();
    assert!(hung.is_empty(), "client processes overran: {hung:?}");
    Figures {
        ok,
        fail,
        info,
        gap,
        acked,
        lost,
        unread,
        verdict,
        events: events.len(),
        timeline,
    }
}

/// The longest stretch of `events` (up to `end`) with no `ok`: (length,
/// start, end) in µs.
fn longest_gap(events: &[HistoryEvent], end: u64) -> (u64, u64, u64) {
    let mut oks: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventType::Ok)
        .map(|e| e.time)
        .collect();
    oks.sort_unstable();
    let mut best = (0, 0, 0);
    let mut last = 0;
    for t in oks.into_iter().chain([end]) {
        if t.saturating_sub(last) > best.0 {
            best = (t - last, last, t);
        }
        last = last.max(t);
    }
    best
}

/// Reads every key of `keys` (linearizably, each recorded in the history),
/// four readers at a time, each retrying a key until it is answered
/// (bounded); the value read per key.
fn read_back(ctx: &Ctx, keys: Vec<String>) -> BTreeMap<String, Option<String>> {
    let keys = Mutex::new(keys);
    let read = Mutex::new(BTreeMap::new());
    let deadline = Instant::now() + Duration::from_secs(120);
    std::thread::scope(|scope| {
        for reader in 0..4 {
            let (keys, read) = (&keys, &read);
            scope.spawn(move || {
                loop {
                    let Some(key) = keys.lock().expect("keys").pop() else {
                        return;
                    };
                    let op = Op::Get { key: key.clone() };
                    while Instant::now() < deadline {
                        if let Answer::Ok(OpResult::Value(v)) =
                            ctx.record(READER_BASE + reader, &op)
                        {
                            read.lock().expect("read").insert(key.clone(), v);
                            break;
                        }
                    }
                }
            });
        }
    });
    read.into_inner().expect("read")
}

/// Says what a run measured, with the machine's load.
fn report(name: &str, knobs: &Knobs, f: &Figures) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let t = &f.timeline;
    let during: Vec<&str> = t
        .notes
        .iter()
        .filter(|(at, _)| *at <= f.gap.2)
        .rev()
        .take_while(|(at, _)| *at >= f.gap.1)
        .map(|(_, text)| text.as_str())
        .collect();
    let before = t
        .notes
        .iter()
        .rev()
        .find(|(at, _)| *at < f.gap.1)
        .map_or("nothing", |(_, text)| text.as_str());
    eprintln!(
        "blackbox {name}: {} nodes, {} clients, seed {}, client --timeout {:?}, load {}\n  \
         operations: {} ok, {} fail, {} info\n  \
         longest unavailability: {:.2}s (from {:.2}s to {:.2}s; last fault before: {before}; \
         during: {during:?})\n  \
         faults: {} leader isolations ({} replaced), {} partitions, {} one-way cuts, {} kill -9, \
         {} SIGSTOP\n  \
         acknowledged writes of own keys: {}, lost: {}, not read back: {}\n  \
         history: {} events, {:?}",
        knobs.nodes,
        knobs.clients,
        knobs.seed,
        knobs.op_timeout,
        load.trim(),
        f.ok,
        f.fail,
        f.info,
        f.gap.0 as f64 / 1e6,
        f.gap.1 as f64 / 1e6,
        f.gap.2 as f64 / 1e6,
        t.isolations,
        t.replaced,
        t.partitions,
        t.one_way,
        t.kills,
        t.stops,
        f.acked,
        f.lost.len(),
        f.unread.len(),
        f.events,
        f.verdict,
    );
}

/// What every run must show.
fn assert_sound(f: &Figures) {
    assert!(f.lost.is_empty(), "acknowledged writes lost: {:?}", f.lost);
    assert!(f.unread.is_empty(), "never read back: {:?}", f.unread);
    assert_eq!(f.verdict, Verdict::Linearizable);
    assert!(f.ok > 0 && f.acked > 0, "no operation succeeded");
    assert!(f.timeline.replaced > 0, "no isolated leader was replaced");
}

#[test]
fn a_short_run_under_every_fault_loses_nothing_and_is_linearizable() {
    let knobs = Knobs {
        nodes: 3,
        clients: 3,
        secs: 0,
        seed: 14,
        op_timeout: Duration::from_secs(3),
        history: None,
    };
    let figures = run(&knobs, scripted);
    report("short run", &knobs, &figures);
    assert_sound(&figures);
    let t = &figures.timeline;
    assert_eq!(
        (t.isolations, t.kills, t.stops, t.one_way, t.partitions),
        (1, 1, 1, 1, 1),
        "every fault once"
    );
}

/// The long run: `RAFTLAB_BLACKBOX_SECS` of random faults (see the top
/// of this file for every knob).
#[test]
#[ignore = "minutes long: run with --ignored (see the file's top comment)"]
fn a_long_run_under_random_faults_loses_nothing_and_is_linearizable() {
    let knobs = Knobs::from_env();
    let (seed, secs) = (knobs.seed, knobs.secs);
    let figures = run(&knobs, |nemesis| random(nemesis, seed, secs));
    report("long run", &knobs, &figures);
    assert_sound(&figures);
}
