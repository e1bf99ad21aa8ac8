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

use crate::kv::{ClientOutcome, OpResult};
use crate::raft::{Bugs, NodeId};
use crate::runtime::{Client, Cluster, NodeState, RuntimeError};

/// How long a console client operation may take before it gives up.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

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
            .spawn(move || work(&client_rx, &done, wrap, |r| client_op(&mut client, r)))?;
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
            .map(|()| format!("delay {}..{} ms on every link", a / 1000, b / 1000)),
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
