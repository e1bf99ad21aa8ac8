//! Guided tours on the simulator: the script's statements advance the
//! dashboard's simulated run themselves, paced by the same clock as a free
//! run, so a tour replays exactly — the same run, step for step, as
//! `raftlab script` makes of the same file at the same link latency.
//!
//! One thread owns the [`Stage`] (the run, its clock, the dashboard's
//! channels). The script runs on it through [`TourSim`], the run seen as a
//! [`Cluster`](crate::scenario::Cluster): `run`, `wait` and client
//! operations advance the simulator no further than a plain run of the
//! script would, tick by tick as the clock allows, carrying out the
//! dashboard's requests (speed, pause, step, a kill from a key) between
//! ticks and posting a view at each tick. While a step waits for its go
//! the clock is held ([`SimStand`]); space lets time run then, as in a
//! free run. When the tour ends the thread goes on as a free run of the
//! same cluster.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded, select};

use super::driver::{Halt, PAUSED_WAIT, SimDriver, Stage, next_tick};
use super::session::SimSession;
use crate::kv::Op;
use crate::raft::{ConfChange, Entry, Index, NodeId, Status};
use crate::runtime::TICK_CLUSTER_US;
use crate::scenario::{
    ClientOutcome, Cluster, ClusterError, ClusterSpec, ClusterStats, change_when_ready,
};
use crate::sim::Sim;
use crate::tui::driver::CLIENT_TIMEOUT;
use crate::tui::run::{Msg, TourSetup};
use crate::tui::tour::{Go, Pacer, Stand, Tour};

/// How long past an operation's timeout a step waits for its outcome (the
/// simulator always ends it by its timeout; this only bounds a stuck run).
const OUTCOME_GRACE_US: u64 = 1_000_000;

/// Starts playing `setup`'s tour on `session` (made for the tour's
/// `cluster` statement), its clock at `speed`, held until the first step.
/// Views, outcomes and the tour's events go to `out`. Returns the
/// dashboard's driver (dropping it ends the thread) and its side of the
/// tour.
pub fn start_tour(
    session: SimSession,
    speed: f64,
    setup: &TourSetup,
    out: Sender<Msg>,
) -> std::io::Result<(SimDriver, Tour)> {
    let (go_tx, go_rx) = bounded(1);
    let script = setup.script.clone();
    let auto = setup.auto;
    let driver = SimDriver::spawn(move |requests| {
        let mut stage = Stage::new(session, speed, true, out.clone(), requests);
        stage.touring = true;
        let stage = Rc::new(RefCell::new(stage));
        let report = move |event| {
            let _ = out.send(Msg::Tour(event));
        };
        let pacer = Pacer::new(report, go_rx, auto, SimStand(stage.clone()));
        let mut factory = tour_factory(stage.clone());
        let stand = pacer.play(&script, &mut factory);
        drop(factory);
        drop(stand);
        // The tour is over; the person goes on with its cluster.
        if let Ok(stage) = Rc::try_unwrap(stage) {
            stage.into_inner().run();
        }
    })?;
    let tour = Tour::new(&setup.name, &setup.script, setup.auto, go_tx);
    Ok((driver, tour))
}

/// The factory a tour's `cluster` statement calls: it must ask for the
/// stage's size, and only once (one dashboard, one run). The clock starts.
fn tour_factory(
    stage: Rc<RefCell<Stage>>,
) -> impl FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String> {
    let mut made = false;
    move |spec: ClusterSpec| {
        if made {
            return Err(
                "a tour drives the dashboard's one run; write one `cluster` statement".into(),
            );
        }
        let nodes = stage.borrow().session.sim().node_ids().len();
        if spec.nodes != nodes {
            return Err(format!(
                "the script asks for {} nodes but the simulated cluster has {nodes}",
                spec.nodes
            ));
        }
        made = true;
        stage.borrow_mut().clock.set_paused(false);
        Ok(Box::new(TourSim(stage.clone())) as Box<dyn Cluster>)
    }
}

/// What holds the simulated run while a step waits: nothing advances
/// unless the person lets time run (space), and the dashboard's requests
/// are carried out meanwhile.
struct SimStand(Rc<RefCell<Stage>>);

impl Stand for SimStand {
    fn wait_for_go(&mut self, go: &Receiver<Go>, auto: Option<Duration>) -> Result<Go, String> {
        self.0.borrow_mut().hold(go, auto)
    }

    fn shown(&mut self) {
        self.0.borrow_mut().publish();
    }
}

impl Stage {
    /// Holds the run until a go comes on `go` (or `auto` passes): the
    /// clock is stopped if it ran, requests are carried out, and time
    /// runs only if the person starts the clock. The step then goes on
    /// from where the run stands, with the clock as it was.
    pub(super) fn hold(&mut self, go: &Receiver<Go>, auto: Option<Duration>) -> Result<Go, String> {
        let gone = || "the dashboard is gone".to_string();
        let held = !self.clock.paused();
        if held {
            self.clock.set_paused(true);
        }
        if !self.publish() {
            return Err(gone());
        }
        let deadline = auto.map(|d| Instant::now() + d);
        let got = loop {
            if !self.clock.paused() && self.advance().is_none() {
                break Err(gone());
            }
            let mut wait = if self.clock.paused() {
                PAUSED_WAIT
            } else {
                let next = next_tick(self.session.now_us());
                self.clock
                    .wall_until(next, Instant::now())
                    .unwrap_or(PAUSED_WAIT)
            };
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break Ok(Go::Next);
                }
                wait = wait.min(left);
            }
            select! {
                recv(go) -> got => match got {
                    Ok(got) => break Ok(got),
                    Err(_) => break Err("the tour was closed".to_string()),
                },
                recv(self.requests) -> request => match request {
                    Ok((id, request)) => {
                        if !self.handle_all(id, request) {
                            break Err(gone());
                        }
                    }
                    Err(_) => break Err(gone()),
                },
                default(wait) => {}
            }
        };
        // The step starts where the run stands, not where the clock got to.
        self.clock.set_now(self.session.now_us());
        if held && self.clock.paused() {
            self.clock.set_paused(false);
        }
        got
    }

    /// Waits until the clock reaches `at`, carrying out requests meanwhile
    /// (a pause waits for the person; a step moves one tick).
    fn await_clock(&mut self, at: u64) -> Result<(), Halt> {
        loop {
            if self.clock.now() >= at {
                return Ok(());
            }
            let wait = self
                .clock
                .wall_until(at, Instant::now())
                .unwrap_or(PAUSED_WAIT);
            match self.requests.recv_timeout(wait) {
                Ok((id, request)) => {
                    if !self.handle_all(id, request) {
                        return Err(Halt::Gone);
                    }
                }
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return Err(Halt::Gone),
            }
        }
    }

    /// Advances the run to `target` as the clock allows, tick by tick,
    /// posting a view at each tick; stops early at the event after which
    /// `until` holds (and says so). The run is the one the simulator makes
    /// by running to `target` (or until `until`) at once.
    pub(super) fn run_paced(
        &mut self,
        target: u64,
        until: Option<&dyn Fn(&Sim) -> bool>,
    ) -> Result<bool, Halt> {
        if until.is_some_and(|until| until(self.session.sim())) {
            return Ok(true);
        }
        loop {
            if let Some(why) = self.session.halted_why() {
                return Err(match self.session.sim().violation() {
                    Some(v) => Halt::Violation(v.clone()),
                    None => Halt::Halted(why),
                });
            }
            let now = self.session.now_us();
            if now >= target {
                return Ok(false);
            }
            let slice = next_tick(now).min(target);
            self.await_clock(slice)?;
            let report = self.session.advance_to(slice, until);
            self.post_answers(report.answers).ok_or(Halt::Gone)?;
            if let Some(v) = report.violation {
                // Stop at that moment, for the class to look at.
                self.clock.set_paused(true);
                self.publish();
                return Err(Halt::Violation(v));
            }
            if report.held {
                return Ok(true);
            }
            if self.session.now_us().is_multiple_of(TICK_CLUSTER_US) && !self.publish() {
                return Err(Halt::Gone);
            }
        }
    }
}

impl From<Halt> for ClusterError {
    fn from(halt: Halt) -> ClusterError {
        match halt {
            Halt::Gone => ClusterError::Refused("the tour was stopped".to_string()),
            Halt::Violation(v) => ClusterError::from(v),
            Halt::Halted(why) => ClusterError::Refused(why),
        }
    }
}

/// The dashboard's simulated run as a tour's cluster: queries read the
/// simulator, controls act on it, and time passes through
/// [`Stage::run_paced`].
struct TourSim(Rc<RefCell<Stage>>);

impl TourSim {
    /// Runs `act` on the simulator as a plain script would, then shows
    /// what it did.
    fn act<T>(
        &mut self,
        act: impl FnOnce(&mut Sim) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let mut stage = self.0.borrow_mut();
        let result = act(stage.session.sim_mut());
        stage.publish();
        result
    }

    fn read<T>(&self, read: impl FnOnce(&Sim) -> T) -> T {
        read(self.0.borrow().session.sim())
    }

    /// Runs until the foreground client is free: its operation ended
    /// (the simulator ends it by `timeout_us` at the latest).
    fn wait_for_client(&mut self, timeout_us: u64) -> Result<(), ClusterError> {
        let mut stage = self.0.borrow_mut();
        let deadline = stage.session.now_us() + timeout_us + OUTCOME_GRACE_US;
        stage.run_paced(deadline, Some(&|sim: &Sim| !sim.foreground_busy()))?;
        Ok(())
    }
}

impl Cluster for TourSim {
    fn now_us(&self) -> u64 {
        self.read(Sim::now_us)
    }

    fn node_ids(&self) -> Vec<NodeId> {
        self.read(Sim::node_ids)
    }

    fn run_for(&mut self, us: u64) -> Result<(), ClusterError> {
        let mut stage = self.0.borrow_mut();
        let target = stage.session.now_us().saturating_add(us);
        stage.run_paced(target, None)?;
        Ok(())
    }

    fn leader(&self) -> Option<NodeId> {
        self.read(Sim::leader)
    }

    fn status(&self, id: NodeId) -> Option<Status> {
        self.read(|s| s.status(id))
    }

    fn is_up(&self, id: NodeId) -> bool {
        self.read(|s| s.is_up(id))
    }

    fn log(&self, id: NodeId) -> Option<std::borrow::Cow<'_, [Entry]>> {
        self.read(|s| s.log(id).map(|l| std::borrow::Cow::Owned(l.to_vec())))
    }

    fn applied_index(&self, id: NodeId) -> Option<Index> {
        self.read(|s| s.applied_index(id))
    }

    fn local_get(&self, id: NodeId, key: &str) -> Option<Option<String>> {
        self.read(|s| s.local_get(id, key))
    }

    fn crash(&mut self, id: NodeId) -> Result<(), ClusterError> {
        self.act(|s| Cluster::crash(s, id))
    }

    fn restart(&mut self, id: NodeId) -> Result<(), ClusterError> {
        self.act(|s| Cluster::restart(s, id))
    }

    fn isolate(&mut self, id: NodeId) -> Result<(), ClusterError> {
        self.act(|s| Cluster::isolate(s, id))
    }

    fn partition(&mut self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError> {
        self.act(|s| Cluster::partition(s, groups))
    }

    fn cut(&mut self, from: NodeId, to: NodeId) -> Result<(), ClusterError> {
        self.act(|s| Cluster::cut(s, from, to))
    }

    fn heal(&mut self) -> Result<(), ClusterError> {
        self.act(Cluster::heal)
    }

    fn set_loss(&mut self, p: f64) -> Result<(), ClusterError> {
        self.act(|s| Cluster::set_loss(s, p))
    }

    fn set_delay(&mut self, min_us: u64, max_us: u64) -> Result<(), ClusterError> {
        self.act(|s| Cluster::set_delay(s, min_us, max_us))
    }

    fn set_duplicate(&mut self, p: f64) -> Result<(), ClusterError> {
        self.act(|s| Cluster::set_duplicate(s, p))
    }

    fn transfer_leader(&mut self, to: NodeId) -> Result<(), ClusterError> {
        self.act(|s| Cluster::transfer_leader(s, to))
    }

    fn change_membership(&mut self, change: ConfChange) -> Result<Index, ClusterError> {
        let index = change_when_ready(
            self,
            |t| t.0.borrow_mut().session.sim_mut().change_membership(change),
            |t| t.now_us(),
            |t, us| t.run_for(us),
        );
        self.0.borrow_mut().publish();
        index
    }

    fn submit(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<ClientOutcome, ClusterError> {
        if let Some(t) = target
            && !self.node_ids().contains(&t)
        {
            return Ok(ClientOutcome::Unavailable(format!(
                "node {t} is not part of the cluster"
            )));
        }
        self.start(op, target, timeout_us)?;
        self.wait_for_client(timeout_us)?;
        Ok(self
            .take_reply()
            .unwrap_or_else(|| ClientOutcome::Unavailable("the simulation stopped".into())))
    }

    /// On the dashboard the copies run in one go: the simulator has no
    /// way to start several at once and let them run tick by tick.
    fn submit_concurrent(
        &mut self,
        ops: Vec<(Op, Option<NodeId>)>,
        timeout_us: u64,
    ) -> Result<Vec<ClientOutcome>, ClusterError> {
        self.act(|s| Cluster::submit_concurrent(s, ops, timeout_us))
    }

    fn start(
        &mut self,
        op: Op,
        target: Option<NodeId>,
        timeout_us: u64,
    ) -> Result<(), ClusterError> {
        // An operation typed in the console holds the client until it
        // ends (within its timeout).
        if self.read(Sim::foreground_busy) {
            self.wait_for_client(CLIENT_TIMEOUT.as_micros() as u64)?;
        }
        self.act(|s| Cluster::start(s, op, target, timeout_us))
    }

    fn take_reply(&mut self) -> Option<ClientOutcome> {
        self.0.borrow_mut().session.sim_mut().take_foreground()
    }

    fn stats(&self) -> ClusterStats {
        self.read(Cluster::stats)
    }

    fn trace_hash(&self) -> u64 {
        self.read(Sim::trace_hash)
    }

    fn check_history(&self) -> Result<(), ClusterError> {
        self.read(Cluster::check_history)
    }

    fn violation(&self) -> Result<Option<String>, String> {
        self.read(Cluster::violation)
    }
}
