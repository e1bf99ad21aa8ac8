//! The live runtime as a [`Cluster`] a script can drive: how a guided tour
//! acts on the very cluster the dashboard shows.
//!
//! Time is *cluster time* (the clock's ticks × 10 ms): `run 1s` lasts one
//! second of the cluster clock, so it takes longer on the wall at a slow
//! speed and never ends while the clock is paused — a tour slows down,
//! speeds up and pauses with the dashboard. A `wait` polls the live view
//! until its deadline in the same time. Client timeouts are converted to
//! the wall time they last at the current speed.
//!
//! What the live cluster cannot show: full logs (a view keeps only a
//! window of each log, so `logs converged` and `log length` find no log),
//! counts of elections (`elections` stays 0) and a trace hash (a live run
//! is not deterministic). Tours avoid those conditions. An operation sent
//! with `start` runs on a client thread of its own; its timeout is kept in
//! cluster time, so it does not run out while a tour holds the clock.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, bounded};

use super::{ClientOutcome, Cluster, ClusterError, ClusterSpec, ClusterStats};
use crate::kv::Op;
use crate::net::{HeldInfo, HeldRef};
use crate::raft::{ConfChange, Entry, Index, NodeId, Status};
use crate::runtime::{
    self, Client, ClusterView, NodeState, NodeView, RuntimeError, TICK_CLUSTER_US,
};

/// The longest one sleep of [`LiveCluster::run_for`] lasts, so a stop
/// request is noticed quickly.
const MAX_NAP: Duration = Duration::from_millis(20);
/// How long, on the wall, the client of an operation sent with `start`
/// may wait: its timeout is kept in cluster time instead, which stands
/// still while a tour holds the clock for a person to read.
const START_WALL_LIMIT: Duration = Duration::from_secs(600);

impl From<RuntimeError> for ClusterError {
    fn from(e: RuntimeError) -> ClusterError {
        ClusterError::Refused(e.to_string())
    }
}

/// A live cluster seen through the [`Cluster`] trait. Queries answer from
/// the view taken after the last statement's time passed, so one condition
/// is judged on one consistent snapshot.
pub struct LiveCluster {
    cluster: Arc<runtime::Cluster>,
    view: Arc<ClusterView>,
    /// The client of operations not sent to a named node.
    client: RefCell<Client>,
    /// Set from outside to end the run: time stops passing and the next
    /// `run_for` fails.
    stop: Arc<AtomicBool>,
    /// The outcome of the operation `start` sent, once it comes (its
    /// client waits on a thread of its own), and the cluster time by
    /// which it times out.
    reply: Option<(Receiver<ClientOutcome>, u64)>,
}

/// A factory for a tour: the script's `cluster` statement must match the
/// live cluster's size, and is answered with that cluster (its clock
/// resumed if it was started paused). Only one `cluster` statement is
/// allowed, since there is one dashboard. `stop` ends the run early.
pub fn live_factory(
    cluster: Arc<runtime::Cluster>,
    stop: Arc<AtomicBool>,
) -> impl FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String> {
    let mut made = false;
    move |spec: ClusterSpec| {
        if made {
            return Err("a tour drives the one live cluster; write one `cluster` statement".into());
        }
        let nodes = cluster.ids().len();
        if spec.nodes != nodes {
            return Err(format!(
                "the script asks for {} nodes but the live cluster has {nodes}",
                spec.nodes
            ));
        }
        made = true;
        if cluster.view().clock_paused {
            cluster.resume_clock().map_err(|e| e.to_string())?;
        }
        Ok(Box::new(LiveCluster::new(cluster.clone(), stop.clone())) as Box<dyn Cluster>)
    }
}

impl LiveCluster {
    /// Drives `cluster` until `stop` is set.
    pub fn new(cluster: Arc<runtime::Cluster>, stop: Arc<AtomicBool>) -> LiveCluster {
        let view = cluster.view();
        let client = RefCell::new(cluster.client());
        LiveCluster {
            cluster,
            view,
            client,
            stop,
            reply: None,
        }
    }

    fn node(&self, id: NodeId) -> Option<&NodeView> {
        self.view.node(id).filter(|n| n.state != NodeState::Down)
    }

    /// Cluster time now, in µs: the ticks the clock has given (a view's
    /// `at_us` is wall time, which runs faster or slower than the cluster
    /// with the speed, and on while the clock is paused).
    fn cluster_us(&self) -> u64 {
        self.view.tick.saturating_mul(TICK_CLUSTER_US)
    }

    /// Wall time that `us` of cluster time lasts at the current speed.
    fn wall(&self, us: u64) -> Duration {
        let speed = self.view.speed.max(0.01);
        let per_tick = self.view.tick_wall.as_secs_f64() / speed;
        Duration::from_secs_f64(per_tick * us as f64 / TICK_CLUSTER_US as f64)
    }

    fn stopped(&self) -> Result<(), ClusterError> {
        if self.stop.load(Ordering::Acquire) {
            Err(ClusterError::Refused("the tour was stopped".into()))
        } else {
            Ok(())
        }
    }

    /// Takes a fresh view after a control, so the next query sees it.
    fn refresh<T>(&mut self, result: Result<T, RuntimeError>) -> Result<T, ClusterError> {
        self.view = self.cluster.view();
        Ok(result?)
    }
}

impl Cluster for LiveCluster {
    fn now_us(&self) -> u64 {
        self.cluster_us()
    }

    fn set_hold(&mut self, on: bool) -> Result<bool, ClusterError> {
        Ok(self.cluster.set_hold(on)?)
    }

    fn deliver_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        Ok(self.cluster.deliver_held(which)?)
    }

    fn drop_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        Ok(self.cluster.drop_held(which)?)
    }

    fn held(&self) -> Vec<HeldInfo> {
        self.cluster.held()
    }

    fn node_ids(&self) -> Vec<NodeId> {
        self.cluster.ids()
    }

    fn run_for(&mut self, us: u64) -> Result<(), ClusterError> {
        let target = self.cluster_us().saturating_add(us);
        loop {
            self.stopped()?;
            self.view = self.cluster.view();
            if self.cluster_us() >= target {
                return Ok(());
            }
            let nap = if self.view.clock_paused {
                MAX_NAP
            } else {
                self.wall(target - self.cluster_us())
                    .clamp(Duration::from_millis(1), MAX_NAP)
            };
            std::thread::sleep(nap);
        }
    }

    fn leader(&self) -> Option<NodeId> {
        self.view.leader()
    }

    fn status(&self, id: NodeId) -> Option<Status> {
        let n = self.node(id)?;
        Some(Status {
            id: n.id,
            role: n.role,
            term: n.term,
            vote: n.vote,
            leader: n.leader,
            commit: n.commit,
            last_index: n.last_index,
            snapshot_index: n.snapshot_index,
            last_term: n.last_term,
            election_elapsed: n.election_elapsed,
            election_timeout: n.election_timeout,
            progress: Vec::new(),
            membership: n.membership,
            membership_pending: n.membership_pending,
            refusals: n.refusals.clone(),
        })
    }

    fn is_up(&self, id: NodeId) -> bool {
        self.node(id).is_some()
    }

    fn log(&self, _id: NodeId) -> Option<std::borrow::Cow<'_, [Entry]>> {
        None
    }

    fn applied_index(&self, id: NodeId) -> Option<Index> {
        self.node(id).map(|n| n.applied)
    }

    fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>> {
        let timeout = self.wall(20 * TICK_CLUSTER_US).max(MAX_NAP);
        self.client.borrow_mut().get_stale(id, key, timeout).ok()
    }

    fn crash(&mut self, id: NodeId) -> Result<(), ClusterError> {
        let r = self.cluster.kill(id);
        self.refresh(r)
    }

    fn restart(&mut self, id: NodeId) -> Result<(), ClusterError> {
        let r = self.cluster.restart(id);
        self.refresh(r)
    }

    fn isolate(&mut self, id: NodeId) -> Result<(), ClusterError> {
        let r = self.cluster.isolate(id);
        self.refresh(r)
    }

    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError> {
        let r = self.cluster.partition(groups);
        self.refresh(r)
    }

    fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), ClusterError> {
        let r = self.cluster.cut(from, to);
        self.refresh(r)
    }

    fn heal(&mut self) -> Result<(), ClusterError> {
        let r = self.cluster.heal();
        self.refresh(r)
    }

    fn set_loss(&mut self, p: f64) -> Result<(), ClusterError> {
        let r = self.cluster.set_loss(p);
        self.refresh(r)
    }

    fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), ClusterError> {
        let r = self.cluster.set_delay(min_us, max_us);
        self.refresh(r)
    }

    fn set_duplicate(&mut self, p: f64) -> Result<(), ClusterError> {
        let r = self.cluster.set_duplicate(p);
        self.refresh(r)
    }

    fn change_membership(&mut self, change: ConfChange) -> Result<Index, ClusterError> {
        // A learner may still be catching up when a script promotes it:
        // give it up to a second of cluster time, as the simulator does.
        let deadline = self.cluster_us() + 100 * TICK_CLUSTER_US;
        loop {
            self.stopped()?;
            match self.cluster.change_membership(change) {
                Err(RuntimeError::LearnerBehind { .. }) if self.cluster_us() < deadline => {
                    std::thread::sleep(
                        self.wall(TICK_CLUSTER_US)
                            .clamp(Duration::from_millis(1), MAX_NAP),
                    );
                }
                result => return self.refresh(result),
            }
        }
    }

    fn transfer_leader(&mut self, to: NodeId) -> Result<(), ClusterError> {
        let r = self.cluster.transfer_leader(to);
        self.refresh(r)
    }

    fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, ClusterError> {
        self.stopped()?;
        let timeout = self.wall(timeout_us);
        let outcome = match target {
            // Node `id` alone, answering itself, as `put … on N` means.
            Some(id) => self.cluster.client().pin_to(id).submit(op, timeout),
            None => self.client.get_mut().submit(op, timeout),
        };
        self.view = self.cluster.view();
        Ok(outcome)
    }

    fn start(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<(), ClusterError> {
        self.stopped()?;
        if self.reply.is_some() {
            return Err(ClusterError::Refused(
                "the client already has an operation open".to_string(),
            ));
        }
        let mut client = match target {
            Some(id) => self.cluster.client().restrict_to(&[id]),
            None => self.cluster.client(),
        };
        let (tx, rx) = bounded(1);
        std::thread::Builder::new()
            .name("raftlab-tour-client".into())
            .spawn(move || {
                let _ = tx.send(client.submit(op, START_WALL_LIMIT));
            })
            .map_err(|e| ClusterError::Refused(format!("cannot start a client: {e}")))?;
        self.reply = Some((rx, self.cluster_us().saturating_add(timeout_us)));
        Ok(())
    }

    fn take_reply(&mut self) -> Option<ClientOutcome> {
        let (rx, deadline) = self.reply.as_ref()?;
        let outcome = match rx.try_recv() {
            Ok(outcome) => outcome,
            // As a client gives up: the operation may still take effect.
            Err(_) if self.cluster_us() >= *deadline => ClientOutcome::Timeout,
            Err(_) => return None,
        };
        self.reply = None;
        self.view = self.cluster.view();
        Some(outcome)
    }

    fn stats(&self) -> ClusterStats {
        ClusterStats {
            messages_sent: self.view.nodes.iter().map(|n| n.sent).sum(),
            elections: 0,
        }
    }

    fn trace_hash(&self) -> u64 {
        0
    }

    fn refresh(&mut self) {
        self.view = self.cluster.view();
    }

    fn violation(&self) -> Result<Option<String>, String> {
        let checks = &self.view.teaching.checks;
        if !checks.active {
            return Err("the live checker is off (the cluster is not observed)".to_string());
        }
        Ok(checks.first().map(|first| {
            let mut found = format!("{}: {}", first.invariant.name(), first.details);
            let more: Vec<&str> = checks.findings[1..]
                .iter()
                .map(|f| f.invariant.name())
                .collect();
            if !more.is_empty() {
                found.push_str(&format!(" (also: {})", more.join(", ")));
            }
            found
        }))
    }

    fn check_history(&self) -> Result<(), ClusterError> {
        crate::kv::linearizability::check_described(&self.cluster.history())
            .map_err(ClusterError::Violation)
    }
}
