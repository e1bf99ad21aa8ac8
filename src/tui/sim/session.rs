//! [`SimSession`]: one simulated run as the dashboard drives it, without
//! threads or clocks, so tests drive it tick by tick.
//!
//! The session advances the simulator one tick at a time and builds a view
//! after each. Every user input that changes the run (a kill, a partition,
//! a `put`…) is applied at the simulator's current virtual time and
//! recorded with it as an [`Input`]; the run is then a pure function of
//! the seed and the recorded inputs. [`SimSession::replay`] starts the same
//! seed again from time 0 and re-applies each input at its time, so the
//! run repeats exactly.
//!
//! Client operations run as the clock does: a console `put` starts the
//! simulator's foreground client, and its answer comes back at the tick it
//! completes. Like the live dashboard's client worker, one runs at a time;
//! the next waits for it, and is recorded when it starts.

use std::collections::VecDeque;
use std::sync::Arc;

use super::changes::{Changes, conf_change};
use super::view::{ClockState, TICK_WALL, ViewBuilder};
use crate::kv::Op;
use crate::net::{FabricError, HeldRef};
use crate::raft::{Bugs, Message};
use crate::runtime::observe::{CheckReport, Finding, Invariant, LinStatus};
use crate::runtime::{ClusterView, RuntimeError, TICK_CLUSTER_US, bugs_with};
use crate::sim::{Sim, SimError, SimOptions, Violation};
use crate::tui::driver::{
    CLIENT_TIMEOUT, ON_NODE_TIMEOUT_US, Request, bugs_text, delay_text, delivered_text,
    dropped_text, groups_text, hold_text, link_delay_text, on_node_text, outcome_text,
    released_text, stale_text,
};
use crate::tui::sim_status::{HistoryCheck, SimStatus};
use crate::tui::text::request_text;

/// A user input to a simulated run, at the virtual time it was applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    /// Virtual time, µs.
    pub at_us: u64,
    /// What was asked.
    pub request: Request,
}

/// A request answered: the id it was submitted with (`None` for an input
/// replayed from an earlier run) and its answer in words.
pub type Answer = (Option<u64>, Result<String, String>);

/// What one tick produced.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Client operations that ended in it.
    pub answers: Vec<Answer>,
    /// The run hit this violation in it; the run stops there.
    pub violation: Option<Violation>,
    /// The run reached the end set for it (the `raftlab check` duration).
    pub ended: bool,
    /// [`SimSession::advance_to`] stopped early: its condition held.
    pub held: bool,
}

/// One simulated run under the dashboard's control.
pub struct SimSession {
    opts: SimOptions,
    label: String,
    sim: Sim,
    builder: ViewBuilder,
    window: usize,
    /// Inputs applied in this run, in order.
    inputs: Vec<Input>,
    /// Inputs of the previous run still to apply (a replay).
    script: VecDeque<Input>,
    /// Client requests waiting for the foreground client.
    waiting: VecDeque<(Option<u64>, Request)>,
    /// The request id of the open client operation, if one is open.
    open: Option<Option<u64>>,
    /// The open operation's node and operation when it went to one node
    /// alone (`put … on N`), for the answer's words.
    open_on: Option<(crate::raft::NodeId, Op)>,
    /// Membership changes proposed and not committed yet.
    changes: Changes,
    /// Where the run ends (the check's duration), if anywhere.
    end_us: Option<u64>,
    ended: bool,
    violation: Option<Violation>,
    history: HistoryCheck,
    /// The history's verdict for the checker panel, once judged.
    lin: Option<LinStatus>,
    runs: u64,
}

impl SimSession {
    /// A fresh run of `opts`, showing `window` log entries per node,
    /// ending at `end_us` if given. `label` names the run in the status bar.
    pub fn new(
        opts: SimOptions,
        end_us: Option<u64>,
        window: usize,
        label: String,
    ) -> Result<SimSession, SimError> {
        let mut sim = Sim::new(opts.clone())?;
        let builder = ViewBuilder::new(&sim.node_ids(), window);
        builder.watch(&mut sim);
        let mut session = SimSession {
            opts,
            label,
            sim,
            builder,
            window,
            inputs: Vec::new(),
            script: VecDeque::new(),
            waiting: VecDeque::new(),
            open: None,
            open_on: None,
            changes: Changes::default(),
            end_us,
            ended: false,
            violation: None,
            history: HistoryCheck::NotYet,
            lin: None,
            runs: 1,
        };
        session.started_event();
        Ok(session)
    }

    fn started_event(&mut self) {
        let o = &self.opts;
        let text = format!(
            "simulated cluster of {} nodes, seed {}{}",
            o.nodes,
            o.seed,
            if self.runs > 1 {
                format!(" (replay {})", self.runs - 1)
            } else {
                String::new()
            }
        );
        self.builder.push_event(0, None, text);
    }

    /// The simulator (read only).
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// The simulator, for a guided tour's statements. What they do is not
    /// recorded as inputs, so a tour's run is not replayed by `R`.
    pub fn sim_mut(&mut self) -> &mut Sim {
        &mut self.sim
    }

    /// Virtual time, µs.
    pub fn now_us(&self) -> u64 {
        self.sim.now_us()
    }

    /// The inputs applied in this run so far.
    pub fn inputs(&self) -> &[Input] {
        &self.inputs
    }

    /// Every input of the run: those applied, then those a replay has not
    /// reached yet (what `R` would replay, and what `save` writes).
    pub fn all_inputs(&self) -> Vec<Input> {
        self.inputs
            .iter()
            .chain(self.script.iter())
            .cloned()
            .collect()
    }

    /// Plays `inputs` (of a saved session) at their times as the run goes
    /// on, as `R` replays a run's own.
    pub fn preload(&mut self, inputs: Vec<Input>, from: &str) {
        let n = inputs.len();
        self.script.extend(inputs);
        self.builder.push_event(
            self.sim.now_us(),
            None,
            format!("playing {n} recorded inputs from {from}"),
        );
    }

    /// Whether time can go on: no violation, not at the end.
    pub fn can_run(&self) -> bool {
        self.violation.is_none() && !self.ended
    }

    /// Why time cannot go on, in words.
    pub fn halted_why(&self) -> Option<String> {
        if let Some(v) = &self.violation {
            return Some(format!(
                "the run stopped at the violation of '{}'; R replays it from the start",
                v.invariant
            ));
        }
        if self.ended {
            return Some("the check's run ends here; R replays it from the start".to_string());
        }
        None
    }

    /// The view now.
    pub fn view(&mut self, clock: ClockState) -> Arc<ClusterView> {
        let checks = self.checks();
        self.builder.set_checks(checks);
        self.builder.build(&mut self.sim, clock, false)
    }

    /// A view between two ticks, made only to move the messages on the
    /// wire: shown, not kept for time travel.
    pub fn frame(&mut self, clock: ClockState) -> Arc<ClusterView> {
        let checks = self.checks();
        self.builder.set_checks(checks);
        self.builder.build(&mut self.sim, clock, true)
    }

    /// The checker panel's report: every row OK but the one the
    /// simulator's checker found broken (it stops at the first), and the
    /// history's verdict where the run judged it.
    pub fn checks(&self) -> CheckReport {
        let findings = self
            .violation
            .iter()
            .filter_map(|v| {
                let invariant = v.invariant.row()?;
                let details = if invariant == Invariant::OtherSimCheck {
                    format!("{}: {}", v.invariant, v.details)
                } else {
                    v.details.clone()
                };
                Some(Finding {
                    invariant,
                    details,
                    tick: v.time_us / TICK_CLUSTER_US,
                })
            })
            .collect();
        let ops = self.sim.history().len() / 2;
        let linearizability = match (&self.lin, &self.history) {
            (Some(lin), _) => lin.clone(),
            (None, HistoryCheck::Linearizable) => LinStatus::Linearizable { ops, unrecorded: 0 },
            (None, HistoryCheck::Violated(why)) => LinStatus::Broken(why.clone()),
            (None, HistoryCheck::NotYet) if ops == 0 => LinStatus::Empty,
            (None, HistoryCheck::NotYet) if self.end_us.is_some() => LinStatus::AtRunEnd { ops },
            // `--sim` has no end where the history would be judged.
            (None, HistoryCheck::NotYet) => LinStatus::Off,
        };
        CheckReport {
            active: true,
            simulated: true,
            observed: 0,
            findings,
            linearizability,
        }
    }

    /// The run's status, for the status bar and a checker panel.
    pub fn status(&self) -> SimStatus {
        SimStatus {
            seed: self.opts.seed,
            label: self.label.clone(),
            now_us: self.sim.now_us(),
            trace_hash: self.sim.trace_hash(),
            violation: self.violation.clone(),
            history: self.history.clone(),
            operations: self.sim.history().len(),
            inputs: self.inputs.len(),
            to_replay: self.script.len(),
            end_us: self.end_us,
            ended: self.ended,
            runs: self.runs,
        }
    }

    /// Advances one tick (to the next tick boundary, or the run's end),
    /// applying the inputs a replay has for that stretch at their times.
    pub fn tick(&mut self) -> TickReport {
        let now = self.sim.now_us();
        self.advance_to((now / TICK_CLUSTER_US + 1) * TICK_CLUSTER_US, None)
    }

    /// Advances to `target` (at most the run's end), applying the inputs
    /// a replay has for that stretch at their times; stops early, at the
    /// event after which `until` holds (`report.held`). A guided tour
    /// advances so, statement by statement, exactly as a plain run of its
    /// script would.
    pub fn advance_to(&mut self, target: u64, until: Option<&dyn Fn(&Sim) -> bool>) -> TickReport {
        let mut report = TickReport::default();
        if !self.can_run() {
            return report;
        }
        let now = self.sim.now_us();
        let mut target = target.max(now);
        if let Some(end) = self.end_us {
            target = target.min(end.max(now));
        }
        // An input given at time T came after the view of T: apply it at
        // the start of the tick after T, as it was.
        if !self.apply_script(target, until, &mut report) {
            return report;
        }
        if !self.run_to(target, until, &mut report) {
            return report;
        }
        self.pump_clients(&mut report);
        if self.end_us.is_some_and(|end| self.sim.now_us() >= end) {
            self.finish(&mut report);
        }
        report
    }

    /// Applies the inputs a replay holds for times before `before`, each
    /// at its time; false when the run hit a violation or `until` held.
    fn apply_script(
        &mut self,
        before: u64,
        until: Option<&dyn Fn(&Sim) -> bool>,
        report: &mut TickReport,
    ) -> bool {
        while let Some(at) = self.script.front().map(|i| i.at_us)
            && at < before
        {
            if !self.run_to(at, until, report) || report.held {
                return false;
            }
            if let Some(input) = self.script.pop_front() {
                let answer = self.apply(None, input.request);
                if let Some(answer) = answer {
                    report.answers.push(answer);
                }
            }
            self.pump_clients(report);
        }
        true
    }

    /// Applies the inputs a replay holds for now (given at this very time,
    /// after the view of it, as a saved session's last ones may be)
    /// without letting time pass.
    pub fn apply_due(&mut self) -> TickReport {
        let mut report = TickReport::default();
        if self.can_run() {
            self.apply_script(self.sim.now_us() + 1, None, &mut report);
        }
        report
    }

    /// Runs the simulator to `at`, or until `until` holds (then sets
    /// `report.held`); false when it hit a violation.
    fn run_to(
        &mut self,
        at: u64,
        until: Option<&dyn Fn(&Sim) -> bool>,
        report: &mut TickReport,
    ) -> bool {
        let now = self.sim.now_us();
        let ran = match until {
            None => self.sim.run_for(at.saturating_sub(now)),
            Some(until) => self
                .sim
                .run_until(at.saturating_sub(now), until)
                .map(|held| report.held |= held),
        };
        match ran {
            Ok(()) => true,
            Err(v) => {
                self.violated(v.clone());
                report.violation = Some(v);
                // Time stops here: a change waiting to commit never will.
                let why = "the run stopped at a violation before the change committed";
                report.answers.extend(self.changes.drop_all(why));
                false
            }
        }
    }

    fn violated(&mut self, v: Violation) {
        // What happened before it comes first.
        self.builder.absorb(&mut self.sim);
        let text = format!("INVARIANT VIOLATED: {}: {}", v.invariant, v.details);
        self.builder.push_event(v.time_us, None, text);
        self.violation = Some(v);
    }

    /// The end of a `raftlab check` run: judge the history as the check does.
    fn finish(&mut self, report: &mut TickReport) {
        self.ended = true;
        report.ended = true;
        let now = self.sim.now_us();
        let hash = self.sim.trace_hash();
        match self.sim.check_history() {
            Ok(()) => {
                self.history = HistoryCheck::Linearizable;
                self.builder.push_event(
                    now,
                    None,
                    format!(
                        "the check's run ends here: every invariant held, the history of {} operations is linearizable (trace {hash:016x})",
                        self.sim.history().len() / 2
                    ),
                );
            }
            Err(v) => {
                self.history = HistoryCheck::Violated(v.details.clone());
                if v.invariant == Invariant::Linearizability {
                    // The check's words, as the panel's verdict (the same
                    // search again, on a history known to fail).
                    self.lin = Some(crate::runtime::observe::history::verdict(
                        self.sim.history(),
                        0,
                        crate::kv::linearizability::DEFAULT_BUDGET,
                    ));
                }
                self.builder.push_event(
                    now,
                    None,
                    format!("the check's run ends here (trace {hash:016x})"),
                );
                self.violated(v.clone());
                report.violation = Some(v);
            }
        }
    }

    /// Starts waiting client requests when the foreground client is free,
    /// and collects the answer of the one that ended; and the answers of
    /// membership changes that committed.
    fn pump_clients(&mut self, report: &mut TickReport) {
        if !self.changes.is_empty() {
            let settled = self.changes.settle(&mut self.sim);
            // What the simulator did first, then what it means.
            self.builder.absorb(&mut self.sim);
            let at = self.sim.now_us();
            for text in settled.proposed {
                self.builder.push_event(at, None, text);
            }
            for (id, result) in settled.answers {
                match (&result, id) {
                    (Ok(text), _) => self.builder.push_event(at, None, text.clone()),
                    (Err(e), None) => {
                        self.builder
                            .push_event(at, None, format!("replayed change: {e}"))
                    }
                    (Err(_), Some(_)) => {}
                }
                report.answers.push((id, result));
            }
        }
        if let Some(id) = self.open
            && let Some(outcome) = self.sim.take_foreground()
        {
            self.open = None;
            let result = match self.open_on.take() {
                Some((node, op)) => {
                    let view = self.view(ClockState {
                        paused: false,
                        speed: 1.0,
                        tick_wall: TICK_WALL,
                    });
                    on_node_text(&view, node, &op, outcome)
                }
                None => outcome_text(outcome),
            };
            if id.is_none() {
                let what = result.clone().unwrap_or_else(|e| e);
                self.builder
                    .push_event(self.sim.now_us(), None, format!("replayed: {what}"));
            }
            report.answers.push((id, result));
        }
        while self.open.is_none()
            && self.can_run()
            && let Some((id, request)) = self.waiting.pop_front()
        {
            let Some(op) = op_of(&request) else { continue };
            let at_us = self.sim.now_us();
            self.inputs.push(Input {
                at_us,
                request: request.clone(),
            });
            let started = match &request {
                Request::ClientOn(node, _) => {
                    self.open_on = Some((*node, op.clone()));
                    self.sim.start_foreground_on(op, *node, ON_NODE_TIMEOUT_US)
                }
                _ => self
                    .sim
                    .start_foreground(op, None, CLIENT_TIMEOUT.as_micros() as u64),
            };
            match started {
                Ok(true) => self.open = Some(id),
                Ok(false) => {
                    report
                        .answers
                        .push((id, Err("another operation is still open".to_string())));
                }
                Err(v) => {
                    self.violated(v.clone());
                    report.violation = Some(v);
                    report
                        .answers
                        .push((id, Err("the run hit a violation".to_string())));
                }
            }
        }
    }

    /// A request from the dashboard (`id`) or a replay (`None`), applied
    /// now. Returns its answer, or `None` when it comes later (a client
    /// operation). Clock requests are the driver's, not the session's.
    pub fn request(&mut self, id: u64, request: Request) -> Option<Answer> {
        if !self.script.is_empty() {
            let left = self.script.len();
            self.script.clear();
            self.builder.push_event(
                self.sim.now_us(),
                None,
                format!("a new input ends the replay; {left} recorded inputs dropped"),
            );
        }
        if let Some(why) = self.halted_why() {
            return Some((Some(id), Err(why)));
        }
        self.apply(Some(id), request)
    }

    fn apply(&mut self, id: Option<u64>, request: Request) -> Option<Answer> {
        if request.is_client() && !matches!(request, Request::GetStale(..)) {
            self.waiting.push_back((id, request));
            let mut report = TickReport::default();
            self.pump_clients(&mut report);
            return report.answers.into_iter().next();
        }
        let at_us = self.sim.now_us();
        self.builder.absorb(&mut self.sim);
        let change = conf_change(&request);
        let result = match change {
            Some(change) => match self.changes.propose(&mut self.sim, id, change) {
                Ok(Some(text)) => Ok(text),
                Ok(None) => Ok(format!("{change}: waiting for a leader ready to take it")),
                Err(e) => Err(e),
            },
            None => self.control(&request),
        };
        // A message delivered by hand may break an invariant (with a bug on).
        if self.violation.is_none()
            && let Some(v) = self.sim.violation().cloned()
        {
            self.violated(v);
        }
        // The simulator notes a kill as "crash n3", like a fault; the
        // input's own line below says who did it. Raft's events stay, and
        // a change's notes (which leader took it, a node started).
        let caused: Vec<_> = self.sim.take_events();
        for e in caused
            .into_iter()
            .filter(|e| e.node.is_some() || change.is_some())
        {
            self.builder.push_event(e.time_us, e.node, e.text);
        }
        if id.is_none() {
            let what = match &result {
                Ok(text) => text.clone(),
                Err(e) => format!("{} refused: {e}", request_text(&request)),
            };
            self.builder
                .push_event(at_us, None, format!("replayed: {what}"));
        } else if let Ok(text) = &result {
            self.builder
                .push_event(at_us, None, format!("{text} (you)"));
        }
        self.inputs.push(Input { at_us, request });
        if change.is_some() && result.is_ok() {
            // Answered when it commits (see `pump_clients`).
            return None;
        }
        Some((id, result))
    }

    /// Carries out a control on the simulator.
    fn control(&mut self, request: &Request) -> Result<String, String> {
        let sim = &mut self.sim;
        let words = |e: SimError| e.to_string();
        let net = |e: FabricError| e.to_string();
        match request {
            Request::Kill(id) => sim
                .crash(*id)
                .map(|()| format!("killed n{id}"))
                .map_err(words),
            Request::Restart(id) => sim
                .restart(*id)
                .map(|()| format!("restarted n{id}"))
                .map_err(words),
            Request::RestartAll => {
                let mut done = Vec::new();
                for id in sim.node_ids() {
                    if !sim.is_up(id) {
                        sim.restart(id).map_err(words)?;
                        done.push(format!("n{id}"));
                    }
                }
                Ok(if done.is_empty() {
                    "no node was down".to_string()
                } else {
                    format!("restarted {}", done.join(" "))
                })
            }
            Request::Pause(_) | Request::Resume(_) => Err(
                "the simulator cannot freeze a node; kill it (k) and restart it (r) instead"
                    .to_string(),
            ),
            Request::Isolate(id) => sim
                .fabric_mut()
                .isolate(*id)
                .map(|()| format!("isolated n{id}"))
                .map_err(net),
            Request::Partition(groups) => sim
                .fabric_mut()
                .partition(groups)
                .map(|()| format!("partitioned: {}", groups_text(groups)))
                .map_err(net),
            Request::Heal => {
                sim.fabric_mut().heal();
                Ok("healed every link".to_string())
            }
            Request::Loss(p) => sim
                .fabric_mut()
                .set_loss(*p)
                .map(|()| format!("loss {:.0}% on every link", p * 100.0))
                .map_err(net),
            Request::Delay(a, b) => sim
                .fabric_mut()
                .set_delay(*a, *b)
                .map(|()| format!("delay {} on every link", delay_text(*a, *b)))
                .map_err(net),
            Request::LinkDelay(x, y, a, b) => {
                let fabric = sim.fabric_mut();
                fabric
                    .set_link_delay(*x, *y, *a, *b)
                    .and_then(|()| fabric.set_link_delay(*y, *x, *a, *b))
                    .map(|()| link_delay_text(*x, *y, *a, *b))
                    .map_err(net)
            }
            Request::Transfer(to) => sim
                .transfer_leader(*to)
                .map(|()| format!("asked the leader to hand over to n{to}"))
                .map_err(words),
            Request::Bug(name, on) => {
                let mut which = Bugs::default();
                if !which.enable(name) {
                    return Err(RuntimeError::UnknownBug(name.clone()).to_string());
                }
                let bugs = bugs_with(sim.bugs(), which, *on);
                sim.set_bugs(bugs);
                Ok(bugs_text(bugs))
            }
            Request::Hold => {
                let was = sim.set_hold(true);
                Ok(hold_text(was, &sim.held()))
            }
            Request::Release => sim.release().map(|d| released_text(&d)).map_err(words),
            Request::Deliver(which) => sim
                .deliver_held(*which)
                .map(|d| delivered_text(&d))
                .map_err(words),
            Request::DropHeld(which) => {
                let now = sim.now_us();
                let going: Vec<Message> = sim
                    .held_messages()
                    .filter(|(n, _, _)| *which == HeldRef::All || *which == HeldRef::One(*n))
                    .map(|(_, msg, _)| msg.clone())
                    .collect();
                let dropped = sim.drop_held(*which).map_err(words)?;
                for msg in &going {
                    self.builder.dropped_by_hand(msg, now);
                }
                Ok(dropped_text(&dropped))
            }
            Request::GetStale(node, key) => match sim.submit_stale_read(*node, key) {
                Some(value) => Ok(stale_text(*node, value)),
                None => Err(format!("node {node} is down or unknown")),
            },
            other => Err(format!("not an input to the simulator: {other:?}")),
        }
    }

    /// Starts the same seed again from time 0; the inputs of this run are
    /// applied again at their times. Requests still waiting are answered
    /// with an error.
    pub fn replay(&mut self) -> Result<Vec<Answer>, SimError> {
        let mut sim = Sim::new(self.opts.clone())?;
        let builder = ViewBuilder::new(&sim.node_ids(), self.window);
        builder.watch(&mut sim);
        // Inputs a replay had not reached yet belong to the run too.
        let script = self.all_inputs();
        self.inputs.clear();
        self.script.clear();
        let mut answers: Vec<Answer> = Vec::new();
        self.open_on = None;
        if let Some(id) = self.open.take() {
            answers.push((id, Err("the run restarted from time 0 (R)".to_string())));
        }
        for (id, _) in self.waiting.drain(..) {
            answers.push((id, Err("the run restarted from time 0 (R)".to_string())));
        }
        answers.extend(self.changes.drop_all("the run restarted from time 0 (R)"));
        self.sim = sim;
        self.builder = builder;
        self.script = script.into();
        self.ended = false;
        self.violation = None;
        self.history = HistoryCheck::NotYet;
        self.lin = None;
        self.runs += 1;
        self.started_event();
        if !self.script.is_empty() {
            let n = self.script.len();
            self.builder
                .push_event(0, None, format!("replaying {n} recorded inputs"));
        }
        Ok(answers.into_iter().filter(|(id, _)| id.is_some()).collect())
    }
}

/// The operation of a client request.
fn op_of(request: &Request) -> Option<Op> {
    Some(match request.clone() {
        Request::Put(key, value) => Op::Put { key, value },
        Request::Get(key) => Op::Get { key },
        Request::Delete(key) => Op::Delete { key },
        Request::Cas(key, old, new) => Op::Cas { key, old, new },
        Request::ClientOn(_, op) => op,
        _ => return None,
    })
}
