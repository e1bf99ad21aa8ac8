//! The runner: executes a parsed [`Script`] statement by statement against
//! a [`Cluster`] made by the caller's factory, writing one transcript line
//! per statement. It stops at the first failure (a failed expectation, a
//! refused request or an invariant violation), because what follows in a
//! scenario usually depends on what came before.

use crate::kv::{Op, OpResult};
use crate::net::{HeldRef, delivered_text, dropped_text, hold_text, released_text};
use crate::raft::{ConfChange, NodeId};

use super::ast::{
    ClientOp, DEFAULT_OP_TIMEOUT_US, Expected, LetValue, MemberOp, NodeRef, Script, Stmt, StmtKind,
};
use super::eval::{All, Ctx, max_commit, max_term, names, show_value};
use super::transcript::{Failure, Mark, Report, TranscriptLine, format_us};
use super::{ClientOutcome, Cluster, ClusterError, ClusterSpec, ScriptError, run_tour};

/// Makes a cluster for a `cluster` statement, or says why it cannot.
pub type Factory<'a> = dyn FnMut(ClusterSpec) -> Result<Box<dyn Cluster>, String> + 'a;

/// How finely `wait` polls its condition, in µs of virtual time.
pub const POLL_US: u64 = 1_000;

/// Watches a run statement by statement, and may hold it up: a guided tour
/// waits for a key before each step and shows each outcome as it comes.
pub trait Observer {
    /// Called before a statement runs (`depth` counts the `repeat` blocks
    /// around it). An `Err` stops the run there, with that message as its
    /// failure.
    fn before(&mut self, stmt: &Stmt, depth: usize) -> Result<(), String> {
        let _ = (stmt, depth);
        Ok(())
    }
    /// Called with each transcript line as soon as it is written.
    fn after(&mut self, line: &TranscriptLine) {
        let _ = line;
    }
}

/// The observer of a plain run: it watches nothing and never waits.
struct Unobserved;

impl Observer for Unobserved {}

/// Runs `script`, creating clusters with `factory`.
pub fn run(script: &Script, factory: &mut Factory<'_>) -> Result<Report, ScriptError> {
    run_observed(script, factory, &mut Unobserved)
}

/// Runs `script` like [`run`], telling `observer` about each statement
/// before it runs and each transcript line as it is written.
pub fn run_observed(
    script: &Script,
    factory: &mut Factory<'_>,
    observer: &mut dyn Observer,
) -> Result<Report, ScriptError> {
    let mut runner = Runner {
        observer,
        file: script.name.clone(),
        factory,
        cluster: None,
        ctx: Ctx::default(),
        depth: 0,
        transcript: Vec::new(),
    };
    let failure = match runner.block(&script.statements) {
        Ok(()) => None,
        Err(Halt::Failed(f)) => Some(f),
        Err(Halt::Setup(e)) => return Err(e),
    };
    Ok(Report {
        name: script.name.clone(),
        intent: script.intent.clone(),
        passed: failure.is_none(),
        failure,
        trace_hash: runner.cluster.as_ref().map(|c| c.trace_hash()),
        transcript: runner.transcript,
    })
}

/// Why the run stopped early.
enum Halt {
    Failed(Failure),
    Setup(ScriptError),
}

/// Why one statement did not go as written.
pub(super) enum StepError {
    /// It failed; the message says how.
    Fail(String),
    /// The factory could not build the cluster.
    Setup(String),
}

impl From<ClusterError> for StepError {
    fn from(e: ClusterError) -> StepError {
        StepError::Fail(e.to_string())
    }
}

impl From<String> for StepError {
    fn from(message: String) -> StepError {
        StepError::Fail(message)
    }
}

struct Runner<'f, 'a, 'o> {
    observer: &'o mut dyn Observer,
    file: String,
    factory: &'f mut Factory<'a>,
    cluster: Option<Box<dyn Cluster>>,
    ctx: Ctx,
    depth: usize,
    transcript: Vec<TranscriptLine>,
}

/// A statement's outcome: a mark and what happened.
pub(super) type Outcome = (Mark, String);

pub(super) fn info(detail: impl Into<String>) -> Result<Outcome, StepError> {
    Ok((Mark::Info, detail.into()))
}

impl Runner<'_, '_, '_> {
    fn block(&mut self, stmts: &[Stmt]) -> Result<(), Halt> {
        stmts.iter().try_for_each(|s| self.exec(s))
    }

    fn record(&mut self, stmt: &Stmt, mark: Mark, detail: String) {
        let at_us = self.cluster.as_ref().map_or(0, |c| c.now_us());
        let line = TranscriptLine {
            line: stmt.line,
            at_us,
            depth: self.depth,
            source: stmt.source.clone(),
            mark,
            detail,
        };
        self.observer.after(&line);
        self.transcript.push(line);
    }

    fn exec(&mut self, stmt: &Stmt) -> Result<(), Halt> {
        if let Err(message) = self.observer.before(stmt, self.depth) {
            self.record(stmt, Mark::Fail, message.clone());
            return Err(Halt::Failed(Failure {
                line: stmt.line,
                message,
            }));
        }
        if let Some(cluster) = self.cluster.as_deref_mut() {
            cluster.refresh();
        }
        if let StmtKind::Repeat { count, body } = &stmt.kind {
            self.record(stmt, Mark::Info, format!("{count} times"));
            let outer = self.ctx.loop_i;
            self.depth += 1;
            let mut result = Ok(());
            for i in 1..=*count {
                self.ctx.loop_i = Some(i);
                result = self.block(body);
                if result.is_err() {
                    break;
                }
            }
            self.depth -= 1;
            self.ctx.loop_i = outer;
            return result;
        }
        let (mark, detail) = match self.step(stmt) {
            Ok(outcome) => outcome,
            Err(StepError::Fail(message)) => (Mark::Fail, message),
            Err(StepError::Setup(message)) => {
                return Err(Halt::Setup(ScriptError::Setup {
                    file: self.file.clone(),
                    line: stmt.line,
                    message,
                }));
            }
        };
        let failed = mark == Mark::Fail;
        let message = detail.clone();
        self.record(stmt, mark, detail);
        if failed {
            let message = match self.ctx.loop_i {
                Some(i) if self.depth > 0 => format!("{message} (iteration {i})"),
                _ => message,
            };
            return Err(Halt::Failed(Failure {
                line: stmt.line,
                message,
            }));
        }
        Ok(())
    }

    fn step(&mut self, stmt: &Stmt) -> Result<Outcome, StepError> {
        if let StmtKind::Cluster(spec) = &stmt.kind {
            return self.create(spec);
        }
        if let StmtKind::Say(text) = &stmt.kind {
            return Ok((Mark::Note, text.clone()));
        }
        let Some(cluster) = self.cluster.as_deref_mut() else {
            return Err(StepError::Fail("no cluster yet".to_string()));
        };
        let ctx = &mut self.ctx;
        match &stmt.kind {
            StmtKind::Run(us) => {
                cluster.run_for(*us)?;
                info(format!("now {}", format_us(cluster.now_us())))
            }
            StmtKind::Wait { cond, within_us } => {
                let start = cluster.now_us();
                loop {
                    let check = ctx.eval(cluster, cond);
                    let waited = cluster.now_us().saturating_sub(start);
                    if check.ok {
                        return Ok((
                            Mark::Pass,
                            format!("{} after {}", check.detail, format_us(waited)),
                        ));
                    }
                    if waited >= *within_us {
                        return Err(StepError::Fail(format!(
                            "expected {} within {}, got {}",
                            cond_text(&stmt.source),
                            format_us(*within_us),
                            check.detail
                        )));
                    }
                    match cluster.run_for(POLL_US.min(within_us - waited)) {
                        Ok(()) => {}
                        // A violation ends a simulated run; a condition
                        // waiting for one is judged on it, once.
                        Err(ClusterError::Violation(found)) if cond.expects_violation() => {
                            let check = ctx.eval(cluster, cond);
                            let waited = cluster.now_us().saturating_sub(start);
                            return if check.ok {
                                Ok((
                                    Mark::Pass,
                                    format!("{} after {}", check.detail, format_us(waited)),
                                ))
                            } else {
                                Err(StepError::Fail(found))
                            };
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            StmtKind::Expect(cond) => {
                let check = ctx.eval(cluster, cond);
                if check.ok {
                    Ok((Mark::Pass, check.detail))
                } else {
                    Err(StepError::Fail(format!(
                        "expected {}, got {}",
                        cond_text(&stmt.source),
                        check.detail
                    )))
                }
            }
            StmtKind::Client(op) => client(ctx, cluster, op),
            StmtKind::Concurrently { count, op } => concurrently(ctx, cluster, *count, op),
            StmtKind::Kill(set) => {
                let ids = ctx.resolve_set(cluster, set, All::Up)?;
                for &id in &ids {
                    cluster.crash(id)?;
                }
                info(format!("crashed {}", names(&ids)))
            }
            StmtKind::Restart(set) => {
                let ids = ctx.resolve_set(cluster, set, All::Every)?;
                let mut done = Vec::new();
                for &id in &ids {
                    if cluster.is_up(id) {
                        cluster.crash(id)?;
                        done.push(format!("n{id} rebooted"));
                    } else {
                        done.push(format!("n{id} restarted"));
                    }
                    cluster.restart(id)?;
                }
                info(done.join(", "))
            }
            StmtKind::Isolate(set) => {
                let ids = ctx.resolve_set(cluster, set, All::Up)?;
                for &id in &ids {
                    cluster.isolate(id)?;
                }
                info(format!("isolated {}", names(&ids)))
            }
            StmtKind::Partition(groups) => {
                let mut resolved: Vec<Vec<NodeId>> = Vec::new();
                let mut seen = Vec::new();
                for group in groups {
                    let mut ids = Vec::new();
                    for node in group {
                        let id = ctx.resolve(cluster, node)?;
                        if seen.contains(&id) {
                            return Err(StepError::Fail(format!("n{id} is in two groups")));
                        }
                        seen.push(id);
                        ids.push(id);
                    }
                    resolved.push(ids);
                }
                let rest: Vec<NodeId> = cluster
                    .node_ids()
                    .into_iter()
                    .filter(|id| !seen.contains(id))
                    .collect();
                if !rest.is_empty() {
                    resolved.push(rest);
                }
                cluster.partition(&resolved)?;
                let shown: Vec<String> = resolved.iter().map(|g| names(g)).collect();
                info(shown.join(" | "))
            }
            StmtKind::Cut { from, to } => {
                let (from, to) = (ctx.resolve(cluster, from)?, ctx.resolve(cluster, to)?);
                cluster.cut(from, to)?;
                info(format!("n{from} → n{to} dropped"))
            }
            StmtKind::Heal => {
                cluster.heal()?;
                info("every link up")
            }
            StmtKind::Loss(p) => {
                cluster.set_loss(*p)?;
                info(format!("{}% of messages lost", p * 100.0))
            }
            StmtKind::Duplicate(p) => {
                cluster.set_duplicate(*p)?;
                info(format!("{}% of messages duplicated", p * 100.0))
            }
            StmtKind::Delay { min_us, max_us } => {
                cluster.set_delay(*min_us, *max_us)?;
                info(format!(
                    "messages take {} to {}",
                    format_us(*min_us),
                    format_us(*max_us)
                ))
            }
            StmtKind::Transfer(node) => {
                let to = ctx.resolve(cluster, node)?;
                cluster.transfer_leader(to)?;
                info(format!("asked to hand leadership to n{to}"))
            }
            StmtKind::Member { op, node, refused } => member(ctx, cluster, *op, node, *refused),
            StmtKind::Start(op) => run_tour::start(ctx, cluster, op),
            StmtKind::Reply(expect) => run_tour::reply(ctx, cluster, expect.as_ref()),
            StmtKind::Ask(ask) => Ok((Mark::Ask, run_tour::ask_detail(ask))),
            StmtKind::Let { name, value } => {
                let (v, shown) = match value {
                    LetValue::Node(node) => {
                        let id = ctx.resolve(cluster, node)?;
                        (id, format!("n{id}"))
                    }
                    LetValue::Term => {
                        let t = max_term(cluster);
                        (t, format!("term {t}"))
                    }
                    LetValue::Committed => {
                        let i = max_commit(cluster);
                        (i, format!("index {i}"))
                    }
                };
                ctx.saved.insert(name.clone(), v);
                info(format!("{name} = {shown}"))
            }
            StmtKind::ResetStats => {
                ctx.baseline = cluster.stats();
                info("counting messages and elections from here")
            }
            StmtKind::Hold => {
                let was = cluster.set_hold(true)?;
                info(hold_text(was, &cluster.held()))
            }
            StmtKind::Release => {
                cluster.set_hold(false)?;
                let delivered = cluster.deliver_held(HeldRef::All)?;
                info(released_text(&delivered))
            }
            StmtKind::Deliver(which) => info(delivered_text(&cluster.deliver_held(*which)?)),
            StmtKind::DropHeld(which) => info(dropped_text(&cluster.drop_held(*which)?)),
            StmtKind::Cluster(_) | StmtKind::Say(_) | StmtKind::Repeat { .. } => info(""),
            StmtKind::At { .. } | StmtKind::Session(_) => Err(StepError::Fail(
                "`at` and `session` lines are a recorded session's (the dashboard's `save`): \
                 `raftlab script FILE` and `raftlab --script FILE` play it"
                    .to_string(),
            )),
        }
    }

    fn create(&mut self, spec: &ClusterSpec) -> Result<Outcome, StepError> {
        let cluster = (self.factory)(spec.clone()).map_err(StepError::Setup)?;
        self.ctx.baseline = cluster.stats();
        self.ctx.rng = spec.seed.unwrap_or(0) ^ 0x5CE7_A210;
        self.cluster = Some(cluster);
        let mut detail = format!("{} nodes", spec.nodes);
        if let Some(seed) = spec.seed {
            detail.push_str(&format!(", seed {seed}"));
        }
        if spec.bugs.any() {
            detail.push_str(&format!(", bugs on: {}", spec.bugs.names().join(", ")));
        }
        info(detail)
    }
}

/// The condition of an `expect` or `wait` statement, as written.
fn cond_text(source: &str) -> &str {
    let rest = source.split_once(' ').map_or("", |(_, rest)| rest);
    rest.split(" within ").next().unwrap_or(rest).trim()
}

/// The store operation a client op asks for, with `$i` replaced.
pub(super) fn build_op(ctx: &Ctx, op: &ClientOp) -> Op {
    op.op.map_text(|text| ctx.subst(text))
}

fn show_outcome(outcome: &ClientOutcome) -> String {
    match outcome {
        ClientOutcome::Ok(OpResult::Done) => "ok".to_string(),
        ClientOutcome::Ok(OpResult::Value(v)) => show_value(v.as_deref()),
        ClientOutcome::Ok(OpResult::Swapped(b)) => b.to_string(),
        ClientOutcome::Timeout => "timeout".to_string(),
        ClientOutcome::Unavailable(why) => format!("unavailable ({why})"),
    }
}

fn show_expected(ctx: &Ctx, expected: &Expected) -> String {
    match expected {
        Expected::Ok => "ok".to_string(),
        Expected::Value(v) => show_value(v.as_ref().map(|v| ctx.subst(v)).as_deref()),
        Expected::Swapped(b) => b.to_string(),
        Expected::Timeout => "timeout".to_string(),
        Expected::Unavailable => "unavailable".to_string(),
        Expected::AnyOf(any) => {
            let shown: Vec<String> = any.iter().map(|e| show_expected(ctx, e)).collect();
            shown.join(" or ")
        }
    }
}

fn matches(ctx: &Ctx, expected: &Expected, outcome: &ClientOutcome) -> bool {
    match (expected, outcome) {
        (Expected::Ok, ClientOutcome::Ok(_)) => true,
        (Expected::Value(want), ClientOutcome::Ok(OpResult::Value(got))) => {
            want.as_ref().map(|v| ctx.subst(v)) == *got
        }
        (Expected::Swapped(want), ClientOutcome::Ok(OpResult::Swapped(got))) => want == got,
        (Expected::Timeout, ClientOutcome::Timeout) => true,
        (Expected::Unavailable, ClientOutcome::Unavailable(_)) => true,
        (Expected::AnyOf(any), outcome) => any.iter().any(|e| matches(ctx, e, outcome)),
        _ => false,
    }
}

fn client(ctx: &mut Ctx, cluster: &mut dyn Cluster, op: &ClientOp) -> Result<Outcome, StepError> {
    let target = match &op.on {
        Some(node) => Some(ctx.resolve(cluster, node)?),
        None => None,
    };
    let store_op = build_op(ctx, op);
    let start = cluster.now_us();
    let outcome = match (op.stale, target) {
        (true, Some(id)) => match cluster.local_get(id, store_op.key()) {
            Some(v) => ClientOutcome::Ok(OpResult::Value(v)),
            None => ClientOutcome::Unavailable(format!("n{id} is down")),
        },
        _ => cluster.submit(
            store_op,
            target,
            op.timeout_us.unwrap_or(DEFAULT_OP_TIMEOUT_US),
        )?,
    };
    let took = cluster.now_us().saturating_sub(start);
    judge(ctx, op.expect.as_ref(), &outcome, took)
}

/// An operation's outcome, `took` µs after it was sent, against what the
/// script expects of it (anything, without an expectation).
pub(super) fn judge(
    ctx: &Ctx,
    expect: Option<&Expected>,
    outcome: &ClientOutcome,
    took: u64,
) -> Result<Outcome, StepError> {
    let took = format_us(took);
    let shown = show_outcome(outcome);
    match expect {
        None => info(format!("{shown} ({took})")),
        Some(expected) if matches(ctx, expected, outcome) => {
            Ok((Mark::Pass, format!("{shown} ({took})")))
        }
        Some(expected) => Err(StepError::Fail(format!(
            "expected {}, got {shown} ({took})",
            show_expected(ctx, expected)
        ))),
    }
}

/// Submits the `count` copies of `op` and compares each outcome with the
/// expectation: whether all matched, the outcomes shown, and the time taken.
fn concurrent_outcomes(
    ctx: &mut Ctx,
    cluster: &mut dyn Cluster,
    count: u64,
    op: &ClientOp,
) -> Result<(bool, Vec<String>, String), StepError> {
    let mut ops = Vec::new();
    for i in 1..=count {
        ctx.loop_i = Some(i);
        let target = match &op.on {
            Some(node) => Some(ctx.resolve(cluster, node)?),
            None => None,
        };
        ops.push((build_op(ctx, op), target));
    }
    let start = cluster.now_us();
    let timeout = op.timeout_us.unwrap_or(DEFAULT_OP_TIMEOUT_US);
    let outcomes = cluster.submit_concurrent(ops, timeout)?;
    let took = format_us(cluster.now_us().saturating_sub(start));
    let mut all_ok = outcomes.len() as u64 == count;
    let mut shown = Vec::new();
    for (i, outcome) in (1..).zip(&outcomes) {
        ctx.loop_i = Some(i);
        if let Some(expected) = &op.expect {
            all_ok &= matches(ctx, expected, outcome);
        }
        shown.push(show_outcome(outcome));
    }
    Ok((all_ok, shown, took))
}

fn concurrently(
    ctx: &mut Ctx,
    cluster: &mut dyn Cluster,
    count: u64,
    op: &ClientOp,
) -> Result<Outcome, StepError> {
    let outer = ctx.loop_i;
    let result = concurrent_outcomes(ctx, cluster, count, op);
    ctx.loop_i = outer;
    let (all_ok, shown, took) = result?;
    let shown = format!("{} ({took})", shown.join(", "));
    match &op.expect {
        None => info(shown),
        Some(_) if all_ok => Ok((Mark::Pass, shown)),
        Some(expected) => Err(StepError::Fail(format!(
            "expected {} from all {count}, got {shown}",
            show_expected(ctx, expected)
        ))),
    }
}

/// `add`/`promote`/`remove`: asks for the change and checks it was accepted
/// (or refused, with `-> refused`).
fn member(
    ctx: &mut Ctx,
    cluster: &mut dyn Cluster,
    op: MemberOp,
    node: &NodeRef,
    refused: Option<bool>,
) -> Result<Outcome, StepError> {
    let id = match (op, node) {
        (MemberOp::Add, NodeRef::Id(id)) => *id,
        _ => ctx.resolve(cluster, node)?,
    };
    let change = match op {
        MemberOp::Add => ConfChange::AddLearner(id),
        MemberOp::Promote => ConfChange::Promote(id),
        MemberOp::Remove => ConfChange::Remove(id),
    };
    let done = match op {
        MemberOp::Add => format!("n{id} joins as a learner"),
        MemberOp::Promote => format!("n{id} becomes a voter"),
        MemberOp::Remove => format!("n{id} leaves"),
    };
    match (cluster.change_membership(change), refused) {
        (Ok(index), Some(true)) => Err(StepError::Fail(format!(
            "expected the change to be refused, but it was accepted (entry {index})"
        ))),
        (Ok(index), Some(false)) => Ok((Mark::Pass, format!("{done} (entry {index})"))),
        (Ok(index), None) => info(format!("{done} (entry {index})")),
        (Err(ClusterError::Refused(why)), Some(true)) => {
            Ok((Mark::Pass, format!("refused: {why}")))
        }
        (Err(e), _) => Err(e.into()),
    }
}
