//! The seam between the dashboard and the cluster: [`Request`]s go out
//! through a [`Driver`], [`Outcome`]s come back later as actions.
//!
//! `update` never blocks: it hands each request to the driver and goes on.
//! The live driver ([`LiveDriver`]) runs controls on one worker thread and
//! client operations on another (a `get` waiting for a leader must not hold
//! up a `heal`), and posts each outcome back to the main loop. Tests use a
//! driver that only records what it was asked.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::kv::{ClientOutcome, Op, OpResult};
use crate::net::HeldRef;
pub use crate::net::{delivered_text, dropped_text, hold_text, released_text};
use crate::raft::{Bugs, NodeId};
use crate::runtime::{
    Client, Cluster, ClusterView, NodeState, RuntimeError, TICK_CLUSTER_US, op_text,
};

/// How long a console client operation may take before it gives up.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request sent to one node (`put … on N`) waits, in cluster
/// time: half a second, a dozen round trips even at the dashboards'
/// visible latency, and short enough that a write stuck on a minority
/// leader is reported while the class still looks at it.
pub const ON_NODE_TIMEOUT_US: u64 = 500_000;

/// Something the dashboard asks of the cluster.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Kill a node.
    Kill(NodeId),
    /// Restart a killed node.
    Restart(NodeId),
    /// Restart every killed node.
    RestartAll,
    /// Freeze a node.
    Pause(NodeId),
    /// Unfreeze a node.
    Resume(NodeId),
    /// Cut a node off from all others.
    Isolate(NodeId),
    /// Split the network into groups.
    Partition(Vec<Vec<NodeId>>),
    /// Bring every link back up.
    Heal,
    /// Loss probability on every link, 0 to 1.
    Loss(f64),
    /// Delay range on every link, cluster µs.
    Delay(u64, u64),
    /// `delay N M A..Bms`: delay range on the links between two nodes,
    /// both ways, cluster µs.
    LinkDelay(NodeId, NodeId, u64, u64),
    /// Hand leadership to a node.
    Transfer(NodeId),
    /// Set the speed factor.
    Speed(f64),
    /// Stop the clock.
    PauseClock,
    /// Restart the clock.
    ResumeClock,
    /// Advance the paused clock one tick.
    Step,
    /// `put key value`.
    Put(String, String),
    /// `get key`, linearizable.
    Get(String),
    /// `get key stale N`: what node N holds, without Raft.
    GetStale(NodeId, String),
    /// `delete key`.
    Delete(String),
    /// `cas key old new`.
    Cas(String, String, String),
    /// `put/get/delete/cas … on N`: the operation sent to node N alone, as
    /// a client connected to it would send it (no redirect followed).
    ClientOn(NodeId, Op),
    /// Simulated mode only: restart the run from time 0 with the same
    /// seed and replay the inputs given so far.
    Replay,
    /// `bug NAME on|off`: switch a known-unsafe protocol variant.
    Bug(String, bool),
    /// `add N`: node N joins as a learner (a new node starts if needed).
    AddLearner(NodeId),
    /// `promote N`: learner N becomes a voter.
    Promote(NodeId),
    /// `remove N`: node N leaves the configuration.
    Remove(NodeId),
    /// `hold`: new messages wait on their links until delivered or
    /// dropped by hand.
    Hold,
    /// `release`: stop holding, and deliver every held message.
    Release,
    /// `deliver N|all`: held messages arrive now.
    Deliver(HeldRef),
    /// `drop N|all`: held messages are lost.
    DropHeld(HeldRef),
    /// Simulated mode only: `save FILE.scen`, the run's seed, settings and
    /// inputs as a script that replays it (see `tui::sim::saved`).
    Save(std::path::PathBuf),
}

impl Request {
    /// Whether it is a client operation (slow: it waits for the cluster).
    pub fn is_client(&self) -> bool {
        matches!(
            self,
            Request::Put(..)
                | Request::Get(_)
                | Request::GetStale(..)
                | Request::Delete(_)
                | Request::Cas(..)
                | Request::ClientOn(..)
        )
    }
}

/// How a request ended: the text to show, or an error in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The id the request was submitted with.
    pub id: u64,
    /// What to show: `Ok` for a result, `Err` for an explanation.
    pub result: Result<String, String>,
}

/// Carries requests to a cluster. `submit` must return at once.
pub trait Driver {
    /// Starts `request`; its [`Outcome`] (with `id`) comes back later.
    fn submit(&mut self, id: u64, request: Request);
    /// Takes no more requests; returns the threads still working, for the
    /// caller to join (after stopping the cluster, which ends a waiting
    /// client operation). The default has none.
    fn close(&mut self) -> Vec<JoinHandle<()>> {
        Vec::new()
    }
}

/// The driver of a live [`Cluster`]: two worker threads, outcomes posted
/// to a channel the main loop listens on.
pub struct LiveDriver {
    controls: Option<Sender<(u64, Request)>>,
    clients: Option<Sender<(u64, Request)>>,
    workers: Vec<JoinHandle<()>>,
}

impl LiveDriver {
    /// Starts the workers; outcomes go to `done`, each wrapped by `wrap`.
    pub fn start<M: Send + 'static>(
        cluster: Arc<Cluster>,
        done: Sender<M>,
        wrap: fn(Outcome) -> M,
    ) -> std::io::Result<LiveDriver> {
        let (controls, control_rx) = unbounded::<(u64, Request)>();
        let (clients, client_rx) = unbounded::<(u64, Request)>();
        let c = cluster.clone();
        let d = done.clone();
        let control_worker = std::thread::Builder::new()
            .name("raftlab-tui-controls".into())
            .spawn(move || work(&control_rx, &d, wrap, |r| control(&c, r)))?;
        let mut client = cluster.client();
        let client_worker = std::thread::Builder::new()
            .name("raftlab-tui-client".into())
            .spawn(move || {
                work(&client_rx, &done, wrap, |r| match r {
                    Request::ClientOn(node, op) => on_node(&cluster, node, op),
                    r => client_op(&mut client, r),
                })
            })?;
        Ok(LiveDriver {
            controls: Some(controls),
            clients: Some(clients),
            workers: vec![control_worker, client_worker],
        })
    }
}

fn work<M>(
    requests: &Receiver<(u64, Request)>,
    done: &Sender<M>,
    wrap: fn(Outcome) -> M,
    mut run: impl FnMut(Request) -> Result<String, String>,
) {
    for (id, request) in requests {
        let result = run(request);
        if done.send(wrap(Outcome { id, result })).is_err() {
            return;
        }
    }
}

impl Driver for LiveDriver {
    fn submit(&mut self, id: u64, request: Request) {
        let to = if request.is_client() {
            &self.clients
        } else {
            &self.controls
        };
        if let Some(tx) = to {
            let _ = tx.send((id, request));
        }
    }

    fn close(&mut self) -> Vec<JoinHandle<()>> {
        self.controls = None;
        self.clients = None;
        std::mem::take(&mut self.workers)
    }
}

impl Drop for LiveDriver {
    fn drop(&mut self) {
        // Closing the channels ends the workers once their current request
        // is done; a client operation is bounded by CLIENT_TIMEOUT, and we
        // do not wait for it (the process is leaving).
        self.controls = None;
        self.clients = None;
        for worker in self.workers.drain(..) {
            if worker.is_finished() {
                let _ = worker.join();
            }
        }
    }
}

/// Carries out a control on the cluster; the text says what happened.
fn control(cluster: &Cluster, request: Request) -> Result<String, String> {
    let words = |e: RuntimeError| e.to_string();
    match request {
        Request::Kill(id) => cluster.kill(id).map(|()| format!("killed n{id}")),
        Request::Restart(id) => cluster.restart(id).map(|()| format!("restarted n{id}")),
        Request::RestartAll => {
            let mut done = Vec::new();
            for id in cluster.ids() {
                if cluster.node_state(id) == Ok(NodeState::Down) {
                    cluster.restart(id).map_err(words)?;
                    done.push(format!("n{id}"));
                }
            }
            return Ok(if done.is_empty() {
                "no node was down".to_string()
            } else {
                format!("restarted {}", done.join(" "))
            });
        }
        Request::Pause(id) => cluster.pause(id).map(|()| format!("paused n{id}")),
        Request::Resume(id) => cluster.resume(id).map(|()| format!("resumed n{id}")),
        Request::Isolate(id) => cluster.isolate(id).map(|()| format!("isolated n{id}")),
        Request::Partition(groups) => {
            let text = groups_text(&groups);
            cluster
                .partition(&groups)
                .map(|()| format!("partitioned: {text}"))
        }
        Request::Heal => cluster.heal().map(|()| "healed every link".to_string()),
        Request::Loss(p) => cluster
            .set_loss(p)
            .map(|()| format!("loss {:.0}% on every link", p * 100.0)),
        Request::Delay(a, b) => cluster
            .set_delay(a, b)
            .map(|()| format!("delay {} on every link", delay_text(a, b))),
        Request::LinkDelay(x, y, a, b) => cluster
            .set_link_delay(x, y, a, b)
            .map(|()| link_delay_text(x, y, a, b)),
        Request::Transfer(id) => cluster
            .transfer_leader(id)
            .map(|()| format!("asked the leader to hand over to n{id}")),
        Request::Speed(x) => cluster.set_speed(x).map(|()| format!("speed {x}×")),
        Request::PauseClock => cluster.pause_clock().map(|()| "time paused".to_string()),
        Request::ResumeClock => cluster.resume_clock().map(|()| "time runs".to_string()),
        Request::Step => cluster.step().map(|()| "stepped one tick".to_string()),
        Request::Bug(name, on) => cluster.set_bug(&name, on).map(bugs_text),
        Request::AddLearner(id) => cluster
            .add_learner(id)
            .map(|i| format!("n{id} joined as a learner (configuration entry {i} committed)")),
        Request::Promote(id) => cluster
            .promote(id)
            .map(|i| format!("n{id} is a voter (configuration entry {i} committed)")),
        Request::Remove(id) => cluster
            .remove(id)
            .map(|i| format!("n{id} is removed (configuration entry {i} committed)")),
        Request::Hold => cluster
            .set_hold(true)
            .map(|was| hold_text(was, &cluster.held())),
        Request::Release => cluster.release().map(|d| released_text(&d)),
        Request::Deliver(which) => cluster.deliver_held(which).map(|d| delivered_text(&d)),
        Request::DropHeld(which) => cluster.drop_held(which).map(|d| dropped_text(&d)),
        other => return Err(format!("not a control: {other:?}")),
    }
    .map_err(words)
}

/// The unsafe variants on after a `bug NAME on|off`, in words.
pub(crate) fn bugs_text(bugs: Bugs) -> String {
    if bugs.any() {
        format!(
            "unsafe variants on: {} — Raft is unsafe now",
            bugs.names().join(", ")
        )
    } else {
        "every unsafe variant is off: Raft is safe again".to_string()
    }
}

/// Runs a client operation and says how it went.
fn client_op(client: &mut Client, request: Request) -> Result<String, String> {
    let t = CLIENT_TIMEOUT;
    let outcome = match request {
        Request::Put(k, v) => client.put(&k, &v, t),
        Request::Get(k) => client.get(&k, t),
        Request::Delete(k) => client.delete(&k, t),
        Request::Cas(k, old, new) => client.cas(&k, &old, &new, t),
        Request::GetStale(node, k) => {
            return match client.get_stale(node, &k, t) {
                Ok(value) => Ok(stale_text(node, value)),
                Err(e) => Err(e.to_string()),
            };
        }
        other => return Err(format!("not a client operation: {other:?}")),
    };
    outcome_text(outcome)
}

/// Sends `op` to node `node` alone, which answers it itself (a follower
/// does not forward it to the leader), and says how it went (for a write
/// the node took but could not commit: where it sits and why).
fn on_node(cluster: &Cluster, node: NodeId, op: Op) -> Result<String, String> {
    let view = cluster.view();
    let wait = cluster_wall(&view, ON_NODE_TIMEOUT_US);
    let outcome = cluster.client().pin_to(node).submit(op.clone(), wait);
    on_node_text(&cluster.view(), node, &op, outcome)
}

/// Wall time that `us` of cluster time takes at the view's speed.
fn cluster_wall(view: &ClusterView, us: u64) -> Duration {
    let ticks = us as f64 / TICK_CLUSTER_US as f64;
    view.tick_wall.mul_f64(ticks / view.speed.max(0.01))
}

/// The answer to a request sent to node `node` alone, in words: as
/// [`outcome_text`], except that a write the node accepted and did not
/// commit is found in its log and explained (its index, and that the
/// node cannot reach a majority, or has stopped leading), and a request
/// that failed on a node cut off from a majority says so.
pub fn on_node_text(
    view: &ClusterView,
    node: NodeId,
    op: &Op,
    outcome: ClientOutcome,
) -> Result<String, String> {
    let waited = format!("{} s", ON_NODE_TIMEOUT_US as f64 / 1e6);
    let cut_off = minority_text(view, node);
    match outcome {
        ClientOutcome::Ok(_) => outcome_text(outcome),
        ClientOutcome::Timeout if op.is_write() => {
            let text = op_text(op);
            let node_view = view.node(node);
            // A client that got no answer sends again (same session and
            // number: it applies once), so the node may hold it twice.
            let held: Vec<u64> = node_view
                .map(|n| {
                    n.log
                        .iter()
                        .filter(|e| e.index > n.commit && e.text == text)
                        .map(|e| e.index)
                        .collect()
                })
                .unwrap_or_default();
            let leads = node_view.is_some_and(|n| n.role == crate::raft::Role::Leader);
            let why = match &cut_off {
                Some(why) => why.clone(),
                None if !leads => format!("n{node} no longer leads"),
                None => format!("no majority acknowledged it within {waited}"),
            };
            match held.as_slice() {
                [] => Err(format!(
                    "n{node} took it but no answer came within {waited} ({why}); it may still take effect"
                )),
                [index] => Err(format!(
                    "n{node} holds it at index {index}, not committed: {why}"
                )),
                [first @ .., last] => {
                    let first: Vec<String> = first.iter().map(u64::to_string).collect();
                    Err(format!(
                        "n{node} holds it at indexes {} and {last} (sent again when no answer came), not committed: {why}",
                        first.join(", ")
                    ))
                }
            }
        }
        ClientOutcome::Timeout => Err(format!(
            "no answer from n{node} within {waited}{}",
            cut_off.map(|w| format!(": {w}")).unwrap_or_default()
        )),
        ClientOutcome::Unavailable(why) => Err(format!(
            "n{node} did not do it within {waited}, not applied: {}",
            cut_off.unwrap_or(why)
        )),
    }
}

/// "n1 cannot reach a majority (it reaches n1 n2; 3 of 5 are needed)"
/// when node `node`'s side of the network holds fewer than a majority of
/// the voters; `None` when it reaches a majority.
fn minority_text(view: &ClusterView, node: NodeId) -> Option<String> {
    let side = view.groups.iter().find(|g| g.contains(&node))?;
    let (config, _) = view.configuration()?;
    let voters = config.voters.to_vec();
    let reach: Vec<NodeId> = voters
        .iter()
        .copied()
        .filter(|v| side.contains(v))
        .filter(|v| view.node(*v).is_some_and(|n| n.state == NodeState::Up))
        .collect();
    if reach.len() >= config.quorum() {
        return None;
    }
    let names: Vec<String> = reach.iter().map(|id| format!("n{id}")).collect();
    Some(format!(
        "n{node} cannot reach a majority (it reaches {}; {} of {} are needed)",
        if names.is_empty() {
            "no voter".to_string()
        } else {
            names.join(" ")
        },
        config.quorum(),
        voters.len()
    ))
}

/// A delay range in words: `20ms`, `10..20ms`, `500us`.
pub fn delay_text(min_us: u64, max_us: u64) -> String {
    let one = |us: u64| {
        if us.is_multiple_of(1000) {
            format!("{}", us / 1000)
        } else {
            format!("{:.1}", us as f64 / 1000.0)
        }
    };
    if min_us == max_us {
        format!("{}ms", one(min_us))
    } else {
        format!("{}..{}ms", one(min_us), one(max_us))
    }
}

/// What `delay N M A..Bms` did, in words.
pub fn link_delay_text(a: NodeId, b: NodeId, min_us: u64, max_us: u64) -> String {
    format!(
        "delay {} on the links n{a} → n{b} and n{b} → n{a}",
        delay_text(min_us, max_us)
    )
}

/// A stale read's answer in words.
pub fn stale_text(node: NodeId, value: Option<String>) -> String {
    match value {
        Some(v) => format!("{v}  (stale read from n{node})"),
        None => format!("(nil)  (stale read from n{node})"),
    }
}

/// A client operation's outcome in words, as the console shows it.
pub fn outcome_text(outcome: ClientOutcome) -> Result<String, String> {
    let t = CLIENT_TIMEOUT;
    match outcome {
        ClientOutcome::Ok(OpResult::Done) => Ok("OK".to_string()),
        ClientOutcome::Ok(OpResult::Value(Some(v))) => Ok(v),
        ClientOutcome::Ok(OpResult::Value(None)) => Ok("(nil)".to_string()),
        ClientOutcome::Ok(OpResult::Swapped(true)) => Ok("swapped".to_string()),
        ClientOutcome::Ok(OpResult::Swapped(false)) => {
            Ok("not swapped: the key held another value".to_string())
        }
        ClientOutcome::Timeout => Err(format!(
            "timed out after {} s: a node accepted it but no answer came; it may still take effect",
            t.as_secs()
        )),
        ClientOutcome::Unavailable(why) => Err(format!(
            "gave up after {} s, not applied: {why}",
            t.as_secs()
        )),
    }
}

/// Groups as the network pane writes them: "1 2 | 3 4 5".
pub fn groups_text(groups: &[Vec<NodeId>]) -> String {
    crate::net::format_groups(groups)
}
