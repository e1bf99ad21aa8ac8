//! The runner's side of `start`, `reply` and `ask`: an operation sent now
//! and judged later, so the statements between can stop on the states it
//! passes through (an entry on the leader, not yet committed); and a
//! question, which a plain run prints with its answer (a guided tour asks
//! the viewer first).

use super::Cluster;
use super::ast::{Ask, ClientOp, Expected};
use super::eval::Ctx;
use super::runner::{Outcome, StepError, build_op, info, judge};
use super::transcript::format_us;
use super::{ClusterError, POLL_US};

/// How long past an operation's own timeout `reply` waits for its outcome
/// before it gives up on the cluster.
const REPLY_GRACE_US: u64 = 1_000_000;

/// `start OP`: sends the operation and goes on.
pub(super) fn start(
    ctx: &mut Ctx,
    cluster: &mut dyn Cluster,
    op: &ClientOp,
) -> Result<Outcome, StepError> {
    if ctx.started.is_some() {
        return Err(StepError::Fail(
            "an operation sent with `start` still waits for its `reply`: one at a time".into(),
        ));
    }
    let target = match &op.on {
        Some(node) => Some(ctx.resolve(cluster, node)?),
        None => None,
    };
    let timeout = op.timeout_us.unwrap_or(super::ast::DEFAULT_OP_TIMEOUT_US);
    cluster.start(build_op(ctx, op), target, timeout)?;
    ctx.started = Some((cluster.now_us(), timeout));
    info(match target {
        Some(id) => format!("sent to n{id}; `reply` waits for the answer"),
        None => "sent; `reply` waits for the answer".to_string(),
    })
}

/// `reply [-> RESULT]`: runs until the started operation has its outcome.
pub(super) fn reply(
    ctx: &mut Ctx,
    cluster: &mut dyn Cluster,
    expect: Option<&Expected>,
) -> Result<Outcome, StepError> {
    let Some((sent_us, timeout_us)) = ctx.started else {
        return Err(StepError::Fail(
            "no operation waits for a reply: send one with `start` first".into(),
        ));
    };
    let deadline = sent_us
        .saturating_add(timeout_us)
        .saturating_add(REPLY_GRACE_US);
    loop {
        if let Some(outcome) = cluster.take_reply() {
            ctx.started = None;
            let took = cluster.now_us().saturating_sub(sent_us);
            return judge(ctx, expect, &outcome, took);
        }
        let now = cluster.now_us();
        if now >= deadline {
            ctx.started = None;
            return Err(StepError::Fail(format!(
                "no answer {} after the operation was sent (its timeout was {})",
                format_us(now - sent_us),
                format_us(timeout_us)
            )));
        }
        cluster
            .run_for(POLL_US.min(deadline - now))
            .map_err(|e: ClusterError| StepError::Fail(e.to_string()))?;
    }
}

/// What a plain run shows for a question: the question, the choices and
/// the answer (its number and its text, as a choice may itself start
/// with a number) with its reason.
pub(super) fn ask_detail(ask: &Ask) -> String {
    let choices: Vec<String> = ask
        .choices
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}) {c}", i + 1))
        .collect();
    format!(
        "{}  {}  — the answer is {}) {}. {}",
        ask.question,
        choices.join("  "),
        ask.answer,
        ask.answer_text(),
        ask.why
    )
}
