//! Parsers for the statements that let a tour stop where the lesson is:
//! `start OP` and `reply [-> RESULT]` (a client operation that runs while
//! later statements watch it), and `ask` (a question the viewer answers
//! before the tour shows what happens).
//!
//! ```text
//! start put x 1
//! wait uncommitted 1 on leader
//! ask "When does x=1 commit?" "at once" "once a majority stores it" answer 2 because "…"
//! reply -> ok
//! ```

use super::ast::{Ask, Expected, StmtKind};
use super::cursor::{Cursor, Fail};
use super::parser::Parser;

/// The most choices a question offers (keys 1 to 4 pick them).
pub const MAX_CHOICES: usize = 4;

impl Parser {
    /// `start OP`: the operation, without `-> RESULT` (its `reply` checks
    /// the answer). Remembers the operation, so `reply` knows what answers
    /// it can expect.
    pub(super) fn start(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let col = c.col();
        let verb = c.next("an operation (put, get, delete or cas)")?;
        if verb.quoted || !matches!(verb.text.as_str(), "put" | "get" | "delete" | "cas") {
            return Err(Fail::at(
                col,
                format!(
                    "expected an operation (put, get, delete or cas), found {:?}",
                    verb.text
                ),
            ));
        }
        let op = self.client_op(&verb.text, c)?;
        if op.expect.is_some() {
            return Err(Fail::at(
                col,
                "`start` sends the operation and goes on; check its answer with `reply -> RESULT`",
            ));
        }
        if op.stale {
            return Err(Fail::at(
                col,
                "a stale read answers at once: write `get KEY stale on NODE`, not `start`",
            ));
        }
        self.started = Some(verb.text.clone());
        Ok(StmtKind::Start(op))
    }

    /// `reply [-> RESULT]`, after a `start`.
    pub(super) fn reply(&mut self, c: &mut Cursor, col: usize) -> Result<StmtKind, Fail> {
        let Some(verb) = self.started.clone() else {
            return Err(Fail::at(
                col,
                "`reply` waits for an operation sent with `start`, and none was sent before this line",
            ));
        };
        if !c.eat("->") {
            return Ok(StmtKind::Reply(None));
        }
        let mut any = vec![self.expected_outcome(&verb, c)?];
        while c.eat("|") {
            any.push(self.expected_outcome(&verb, c)?);
        }
        Ok(StmtKind::Reply(Some(if any.len() == 1 {
            any.remove(0)
        } else {
            Expected::AnyOf(any)
        })))
    }

    /// `ask "QUESTION" "CHOICE" "CHOICE" ["CHOICE" ["CHOICE"]] answer K
    /// because "WHY"`.
    pub(super) fn ask(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let question = quoted(c, "the question in quotes")?;
        let mut choices = Vec::new();
        while c.peek().is_some_and(|t| t.quoted) {
            choices.push(quoted(c, "a choice in quotes")?);
        }
        let col = c.col();
        if !(2..=MAX_CHOICES).contains(&choices.len()) {
            return Err(Fail::at(
                col,
                format!(
                    "a question offers 2 to {MAX_CHOICES} choices, each in quotes; this one has {}",
                    choices.len()
                ),
            ));
        }
        if !c.eat("answer") {
            return Err(c.expected("`answer K` (the number of the right choice)"));
        }
        let col = c.col();
        let answer = c.integer("the number of the right choice")?;
        let answer = usize::try_from(answer)
            .ok()
            .filter(|k| (1..=choices.len()).contains(k))
            .ok_or_else(|| {
                Fail::at(
                    col,
                    format!(
                        "the answer is a choice's number, 1 to {}, not {answer}",
                        choices.len()
                    ),
                )
            })?;
        if !c.eat("because") {
            return Err(c.expected("`because \"WHY\"` (why the answer is right)"));
        }
        let why = quoted(c, "why the answer is right, in quotes")?;
        Ok(StmtKind::Ask(Ask {
            question,
            choices,
            answer,
            why,
        }))
    }
}

/// A quoted, non-empty string.
fn quoted(c: &mut Cursor, what: &str) -> Result<String, Fail> {
    match c.peek() {
        Some(t) if t.quoted && !t.text.trim().is_empty() => {
            c.next(what)?;
            Ok(t.text.clone())
        }
        _ => Err(c.expected(what)),
    }
}
