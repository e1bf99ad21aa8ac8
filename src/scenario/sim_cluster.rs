//! The simulator as a [`Cluster`] a script can drive: each method forwards
//! to [`Sim`], turning its errors into [`ClusterError`]s.

use super::{ClientOutcome, Cluster, ClusterError, ClusterSpec, ClusterStats};
use crate::kv::Op;
use crate::net::{HeldInfo, HeldRef};
use crate::raft::{ConfChange, Entry, Index, NodeId, RaftError, Status};
use crate::sim::{Extensions, Sim, SimError, SimOptions, Violation};

/// How long a membership change waits for a new leader to be ready, or a
/// learner to be known caught up.
const READY_WITHIN_US: u64 = 1_000_000;

impl From<Violation> for ClusterError {
    fn from(mut v: Violation) -> ClusterError {
        // A script is replayed by running the script again, not by the
        // `raftlab check` command the simulator would suggest.
        v.replay.clear();
        ClusterError::Violation(v.to_string())
    }
}

impl From<SimError> for ClusterError {
    fn from(e: SimError) -> ClusterError {
        match e {
            SimError::Violation(v) => ClusterError::from(*v),
            other => ClusterError::Refused(other.to_string()),
        }
    }
}

/// Asks for a membership change with `ask`. A leader elected a moment ago
/// must first commit an entry of its term, and a learner's
/// acknowledgements may still be on their way to the leader: give either
/// up to a second (`pass` lets 1 ms go by between tries) rather than fail
/// a script that says `wait leader` then `add 6`, or `wait value x = 1 on
/// 6` then `promote 6`.
pub(crate) fn change_when_ready<C: ?Sized>(
    c: &mut C,
    ask: impl Fn(&mut C) -> Result<Index, SimError>,
    now: impl Fn(&C) -> u64,
    pass: impl Fn(&mut C, u64) -> Result<(), ClusterError>,
) -> Result<Index, ClusterError> {
    let deadline = now(c) + READY_WITHIN_US;
    loop {
        match ask(c) {
            Err(SimError::Raft(RaftError::LeaderNotReady | RaftError::LearnerBehind { .. }))
                if now(c) < deadline =>
            {
                pass(c, 1_000)?;
            }
            result => return Ok(result?),
        }
    }
}

/// A factory that builds simulated clusters; `default_seed` is used when a
/// script's `cluster` statement names no seed.
pub fn sim_factory(
    default_seed: u64,
) -> impl FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String> {
    sim_factory_with(
        default_seed,
        crate::net::Link::DEFAULT_DELAY_US,
        Extensions::default(),
    )
}

/// [`sim_factory`] on links of `latency_us` and with `extensions`: a tour
/// plays on a dashboard so (see [`script_options`]), and a test that
/// proves it passes there builds its clusters so.
pub fn sim_factory_with(
    default_seed: u64,
    latency_us: (u64, u64),
    extensions: Extensions,
) -> impl FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String> {
    move |spec: ClusterSpec| {
        let opts = script_options(&spec, default_seed, latency_us, extensions);
        let sim = Sim::new(opts).map_err(|e| e.to_string())?;
        Ok(Box::new(sim) as Box<dyn Cluster>)
    }
}

/// The simulator's options for a script's `cluster` statement: its size,
/// its seed (or `default_seed`) and its bugs, on links of `latency_us`.
/// `raftlab script` and the tests use the fabric's 0.5–2 ms; a tour on a
/// dashboard plays at the dashboard's visible latency, so a tour played
/// there is the run a script of it makes with these options.
pub fn script_options(
    spec: &ClusterSpec,
    default_seed: u64,
    latency_us: (u64, u64),
    extensions: Extensions,
) -> SimOptions {
    SimOptions {
        nodes: spec.nodes,
        seed: spec.seed.unwrap_or(default_seed),
        bugs: spec.bugs,
        latency_us,
        extensions,
        ..SimOptions::default()
    }
}

impl Cluster for Sim {
    fn now_us(&self) -> u64 {
        Sim::now_us(self)
    }

    fn set_hold(&mut self, on: bool) -> Result<bool, ClusterError> {
        Ok(Sim::set_hold(self, on))
    }

    fn deliver_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        Ok(Sim::deliver_held(self, which)?)
    }

    fn drop_held(&mut self, which: HeldRef) -> Result<Vec<HeldInfo>, ClusterError> {
        Ok(Sim::drop_held(self, which)?)
    }

    fn held(&self) -> Vec<HeldInfo> {
        Sim::held(self)
    }

    fn node_ids(&self) -> Vec<NodeId> {
        Sim::node_ids(self)
    }

    fn run_for(&mut self, us: u64) -> Result<(), ClusterError> {
        Ok(Sim::run_for(self, us)?)
    }

    fn leader(&self) -> Option<NodeId> {
        Sim::leader(self)
    }

    fn status(&self, id: NodeId) -> Option<Status> {
        Sim::status(self, id)
    }

    fn is_up(&self, id: NodeId) -> bool {
        Sim::is_up(self, id)
    }

    fn log(&self, id: NodeId) -> Option<std::borrow::Cow<'_, [Entry]>> {
        Sim::log(self, id).map(std::borrow::Cow::Borrowed)
    }

    fn applied_index(&self, id: NodeId) -> Option<Index> {
        Sim::applied_index(self, id)
    }

    fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>> {
        Sim::local_get(self, id, key)
    }

    fn crash(&mut self, id: NodeId) -> Result<(), ClusterError> {
        Ok(Sim::crash(self, id)?)
    }

    fn restart(&mut self, id: NodeId) -> Result<(), ClusterError> {
        Ok(Sim::restart(self, id)?)
    }

    fn isolate(&mut self, id: NodeId) -> Result<(), ClusterError> {
        self.fabric_mut().isolate(id).map_err(SimError::from)?;
        Ok(())
    }

    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError> {
        self.fabric_mut()
            .partition(groups)
            .map_err(SimError::from)?;
        Ok(())
    }

    fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), ClusterError> {
        self.fabric_mut().cut(from, to).map_err(SimError::from)?;
        Ok(())
    }

    fn heal(&mut self) -> Result<(), ClusterError> {
        self.fabric_mut().heal();
        Ok(())
    }

    fn set_loss(&mut self, p: f64) -> Result<(), ClusterError> {
        self.fabric_mut().set_loss(p).map_err(SimError::from)?;
        Ok(())
    }

    fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), ClusterError> {
        self.fabric_mut()
            .set_delay(min_us, max_us)
            .map_err(SimError::from)?;
        Ok(())
    }

    fn set_duplicate(&mut self, p: f64) -> Result<(), ClusterError> {
        self.fabric_mut().set_duplicate(p).map_err(SimError::from)?;
        Ok(())
    }

    fn transfer_leader(&mut self, to: NodeId) -> Result<(), ClusterError> {
        Ok(Sim::transfer_leader(self, to)?)
    }

    fn change_membership(&mut self, change: ConfChange) -> Result<Index, ClusterError> {
        change_when_ready(
            self,
            |s| Sim::change_membership(s, change),
            Sim::now_us,
            |s, us| Ok(Sim::run_for(s, us)?),
        )
    }

    fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, ClusterError> {
        Ok(Sim::submit(self, op, target, timeout_us)?)
    }

    fn submit_concurrent(
        &mut self,
        ops: Vec<(Op, Option<NodeId>)>,
        timeout_us: u64,
    ) -> Result<Vec<ClientOutcome>, ClusterError> {
        Ok(Sim::submit_concurrent(self, ops, timeout_us)?)
    }

    fn start(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<(), ClusterError> {
        if Sim::start_foreground(self, op, target, timeout_us)? {
            Ok(())
        } else {
            Err(ClusterError::Refused(
                "the client already has an operation open".to_string(),
            ))
        }
    }

    fn take_reply(&mut self) -> Option<ClientOutcome> {
        Sim::take_foreground(self)
    }

    fn stats(&self) -> ClusterStats {
        let s = Sim::stats(self);
        ClusterStats {
            messages_sent: s.messages_sent,
            elections: s.candidacies,
        }
    }

    fn trace_hash(&self) -> u64 {
        Sim::trace_hash(self)
    }

    fn check_history(&self) -> Result<(), ClusterError> {
        Ok(Sim::check_history(self)?)
    }

    fn violation(&self) -> Result<Option<String>, String> {
        Ok(Sim::violation(self).map(|v| format!("{}: {}", v.invariant, v.details)))
    }

    /// Before each statement: the step watcher, if any, sees what the
    /// last statement did between events (a kill, a partition).
    fn refresh(&mut self) {
        self.after_step();
    }
}
