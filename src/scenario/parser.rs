//! The parser: reads a whole script line by line into a [`Script`],
//! collecting every error (with line and column) instead of stopping at the
//! first. It tracks the size of the current cluster, so node ids out of
//! range are caught here, and the names given by `let`, so a name used
//! before it is given is too. Conditions, node names and client operations
//! are parsed in [`parts`](super::parts).

use std::collections::BTreeMap;

use crate::net::HeldRef;
use crate::raft::Bugs;

use super::ast::{Cond, DEFAULT_WAIT_US, LetValue, MemberOp, NodeRef, Script, Stmt, StmtKind};
use super::cursor::{Cursor, Fail};
use super::lexer::{Line, tokenize};
use super::{ClusterSpec, ParseError, ParseErrors};

/// The largest cluster a script may create.
pub const MAX_NODES: usize = 9;

/// What a name given by `let` holds, for checking its uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NameKind {
    /// A node id.
    Node,
    /// A number (a term or an index).
    Number,
}

/// Parses `text`, a script called `name` (used in error messages).
pub fn parse(text: &str, name: &str) -> Result<Script, ParseErrors> {
    let mut parser = Parser {
        nodes: None,
        names: BTreeMap::new(),
        looping: false,
        console: false,
        started: None,
    };
    let mut errors = Vec::new();
    let mut intent = None;
    let mut seen_statement = false;
    // The top-level body, then one frame per open `repeat N {`.
    let mut frames: Vec<Frame> = vec![Frame::default()];
    for (n, text) in text.lines().enumerate() {
        let line_no = n + 1;
        let error = |f: Fail| ParseError {
            file: name.to_string(),
            line: line_no,
            col: f.col,
            message: f.message,
        };
        let line = match tokenize(text) {
            Ok(line) => line,
            Err(col) => {
                errors.push(error(Fail::at(col, "this string has no closing quote")));
                continue;
            }
        };
        if line.tokens.is_empty() {
            if intent.is_none() && !seen_statement {
                intent = line.comment.filter(|c| !c.is_empty());
            }
            continue;
        }
        seen_statement = true;
        let end_col = line.code_len + 1;
        let mut cursor = Cursor::new(&line.tokens, end_col);
        if cursor.eat("}") {
            let closed = match cursor.end() {
                Err(f) => Err(f),
                Ok(()) if frames.len() < 2 => Err(Fail::at(
                    1,
                    "this `}` closes nothing: no `repeat … {` is open",
                )),
                Ok(()) => Ok(()),
            };
            match closed {
                Err(f) => errors.push(error(f)),
                Ok(()) => {
                    if let Some(frame) = frames.pop() {
                        let stmt = Stmt {
                            line: frame.line,
                            source: frame.source,
                            kind: StmtKind::Repeat {
                                count: frame.count,
                                body: frame.body,
                            },
                        };
                        if let Some(parent) = frames.last_mut() {
                            parent.body.push(stmt);
                        }
                        parser.looping = frames.len() > 1;
                    }
                }
            }
            continue;
        }
        match parser.statement(&mut cursor, text, &line, line_no) {
            Err(f) => errors.push(error(f)),
            Ok(Parsed::Open(count)) => {
                frames.push(Frame {
                    line: line_no,
                    source: source_from(text, &line, 1),
                    count,
                    body: Vec::new(),
                });
                parser.looping = true;
            }
            Ok(Parsed::Stmt(stmt)) => {
                if let Some(frame) = frames.last_mut() {
                    frame.body.push(stmt);
                }
            }
        }
    }
    while frames.len() > 1 {
        if let Some(frame) = frames.pop() {
            errors.push(ParseError {
                file: name.to_string(),
                line: frame.line,
                col: 1,
                message: "this `repeat … {` is never closed with `}`".to_string(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(ParseErrors(errors));
    }
    let statements = frames.pop().map(|f| f.body).unwrap_or_default();
    Ok(Script {
        name: name.to_string(),
        intent,
        statements,
    })
}

/// An open `repeat N {` block.
#[derive(Default)]
struct Frame {
    line: usize,
    source: String,
    count: u64,
    body: Vec<Stmt>,
}

/// A line parsed: a statement, or the opening of a block.
enum Parsed {
    Stmt(Stmt),
    Open(u64),
}

/// The text of `line` from column `col` to the comment, trimmed.
fn source_from(text: &str, line: &Line, col: usize) -> String {
    let code: String = text
        .chars()
        .take(line.code_len)
        .skip(col.saturating_sub(1))
        .collect();
    code.trim().to_string()
}

/// What the parser knows at the current line.
pub(super) struct Parser {
    /// Size of the current cluster, once a `cluster` statement was seen.
    pub(super) nodes: Option<usize>,
    /// Names given by `let` so far.
    pub(super) names: BTreeMap<String, NameKind>,
    /// Whether `$i` is defined here (inside `repeat` or `concurrently`).
    pub(super) looping: bool,
    /// Parsing one console request ([`parse_request`](super::parse_request)),
    /// not a script: no `timeout` or `-> RESULT`, and `get K stale` may
    /// leave the node to the console.
    pub(super) console: bool,
    /// The verb of the last operation sent with `start`, for its `reply`.
    pub(super) started: Option<String>,
}

impl Parser {
    fn statement(
        &mut self,
        c: &mut Cursor,
        text: &str,
        line: &Line,
        line_no: usize,
    ) -> Result<Parsed, Fail> {
        let col = c.col();
        if c.peek_is("at") {
            self.need_cluster(col)?;
            c.keyword("at")?;
            let kind = super::session::at(c, |from| source_from(text, line, from))?;
            return Ok(Parsed::Stmt(Stmt {
                line: line_no,
                source: source_from(text, line, col),
                kind,
            }));
        }
        if c.peek_is("repeat") {
            self.need_cluster(col)?;
            c.keyword("repeat")?;
            let count = c.integer("a repeat count")?;
            if c.eat("{") {
                c.end()?;
                return Ok(Parsed::Open(count));
            }
            if !c.eat(":") {
                return Err(c.expected("`{` or `:` after the repeat count"));
            }
            let inner_col = c.col();
            let was_looping = std::mem::replace(&mut self.looping, true);
            let body = self.simple(c);
            self.looping = was_looping;
            let body = Stmt {
                line: line_no,
                source: source_from(text, line, inner_col),
                kind: body?,
            };
            return Ok(Parsed::Stmt(Stmt {
                line: line_no,
                source: source_from(text, line, col),
                kind: StmtKind::Repeat {
                    count,
                    body: vec![body],
                },
            }));
        }
        let kind = self.simple(c)?;
        Ok(Parsed::Stmt(Stmt {
            line: line_no,
            source: source_from(text, line, col),
            kind,
        }))
    }

    /// Fails when no cluster has been created yet.
    fn need_cluster(&self, col: usize) -> Result<usize, Fail> {
        self.nodes.ok_or_else(|| {
            Fail::at(
                col,
                "no cluster yet: create one first with `cluster N` (e.g. `cluster 5 seed 1`)",
            )
        })
    }

    /// A statement that is not a block, up to the end of the line.
    fn simple(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let col = c.col();
        let word = c.next("a statement")?;
        let verb = if word.quoted { "" } else { word.text.as_str() };
        if !matches!(verb, "cluster" | "say") {
            self.need_cluster(col)?;
        }
        let kind = match verb {
            "cluster" => self.cluster(c)?,
            "session" => self.session(c)?,
            "say" => {
                let mut words = Vec::new();
                while let Some(t) = c.peek() {
                    words.push(t.text.clone());
                    c.next("text")?;
                }
                StmtKind::Say(words.join(" "))
            }
            "run" => StmtKind::Run(c.duration()?),
            "wait" => {
                let cond = self.cond(c)?;
                if cond == Cond::Linearizable {
                    return Err(Fail::at(
                        col,
                        "`wait linearizable` cannot become true later; use `expect linearizable`",
                    ));
                }
                let within_us = if c.eat("within") {
                    c.duration()?
                } else {
                    DEFAULT_WAIT_US
                };
                StmtKind::Wait { cond, within_us }
            }
            "expect" => StmtKind::Expect(self.cond(c)?),
            "put" | "get" | "delete" | "cas" => StmtKind::Client(self.client_op(verb, c)?),
            "concurrently" => {
                let count = c.integer("how many operations to run at once")?;
                c.keyword(":")?;
                let word_col = c.col();
                let verb = c.next("an operation (put, get, delete or cas)")?;
                if verb.quoted || !matches!(verb.text.as_str(), "put" | "get" | "delete" | "cas") {
                    return Err(Fail::at(
                        word_col,
                        format!(
                            "expected an operation (put, get, delete or cas), found {:?}",
                            verb.text
                        ),
                    ));
                }
                let was_looping = std::mem::replace(&mut self.looping, true);
                let op = self.client_op(&verb.text, c);
                self.looping = was_looping;
                StmtKind::Concurrently { count, op: op? }
            }
            "kill" | "crash" => StmtKind::Kill(self.node_set(c)?),
            "restart" => StmtKind::Restart(self.node_set(c)?),
            "isolate" => StmtKind::Isolate(self.node_set(c)?),
            "partition" => self.partition(c)?,
            "cut" => {
                let from = self.node(c)?;
                c.keyword("->")?;
                let to = self.node(c)?;
                StmtKind::Cut { from, to }
            }
            "heal" => StmtKind::Heal,
            "loss" => StmtKind::Loss(c.percent()?),
            "duplicate" => StmtKind::Duplicate(c.percent()?),
            "delay" => {
                let (min_us, max_us) = c.delay_range()?;
                StmtKind::Delay { min_us, max_us }
            }
            "transfer" => StmtKind::Transfer(self.node(c)?),
            "add" | "promote" | "remove" => self.member(verb, c)?,
            "let" => self.let_stmt(c)?,
            "reset" => {
                c.keyword("stats")?;
                StmtKind::ResetStats
            }
            "hold" => StmtKind::Hold,
            "release" => StmtKind::Release,
            "deliver" => StmtKind::Deliver(held_ref(c)?),
            "drop" => StmtKind::DropHeld(held_ref(c)?),
            "start" => self.start(c)?,
            "reply" => self.reply(c, col)?,
            "ask" => self.ask(c)?,
            _ => {
                return Err(Fail::at(
                    col,
                    format!(
                        "unknown statement {:?} (see docs/scenarios.md for the list)",
                        word.text
                    ),
                ));
            }
        };
        c.end()?;
        Ok(kind)
    }

    fn cluster(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let col = c.col();
        let nodes = c.integer("the number of nodes")?;
        let nodes = usize::try_from(nodes)
            .ok()
            .filter(|n| (1..=MAX_NODES).contains(n))
            .ok_or_else(|| {
                Fail::at(
                    col,
                    format!("a cluster has 1 to {MAX_NODES} nodes, not {nodes}"),
                )
            })?;
        let mut spec = ClusterSpec {
            nodes,
            seed: None,
            bugs: Bugs::default(),
        };
        loop {
            if c.eat("seed") {
                spec.seed = Some(c.integer("a seed")?);
            } else if c.eat("bug") {
                let col = c.col();
                let name = c.next("the name of a bug")?;
                if !spec.bugs.enable(&name.text) {
                    let known: Vec<&str> = Bugs::NAMES.iter().map(|(n, _)| *n).collect();
                    return Err(Fail::at(
                        col,
                        format!("unknown bug {:?} (known: {})", name.text, known.join(", ")),
                    ));
                }
            } else if c.at_end() {
                break;
            } else {
                return Err(c.expected("`seed S`, `bug NAME` or the end of the line"));
            }
        }
        self.nodes = Some(nodes);
        Ok(StmtKind::Cluster(spec))
    }

    /// `add N`, `promote N`, `remove N`, with an optional `-> ok` or
    /// `-> refused`. `add` takes any id from 1 to 9 and makes the ids up
    /// to it known to the statements that follow.
    fn member(&mut self, verb: &str, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let op = match verb {
            "add" => MemberOp::Add,
            "promote" => MemberOp::Promote,
            _ => MemberOp::Remove,
        };
        let col = c.col();
        let literal = c
            .peek()
            .filter(|t| !t.quoted)
            .and_then(|t| parse_node_id(&t.text));
        let node = match literal {
            Some(id) if op == MemberOp::Add => {
                if id == 0 || id > MAX_NODES as u64 {
                    return Err(Fail::at(
                        col,
                        format!("there is no node {id}: node ids run from 1 to {MAX_NODES}"),
                    ));
                }
                c.next("a node")?;
                self.nodes = self.nodes.map(|n| n.max(id as usize));
                NodeRef::Id(id)
            }
            _ => self.node(c)?,
        };
        let refused = if c.eat("->") {
            if c.eat("refused") {
                Some(true)
            } else if c.eat("ok") {
                Some(false)
            } else {
                return Err(c.expected("`ok` or `refused`"));
            }
        } else {
            None
        };
        Ok(StmtKind::Member { op, node, refused })
    }

    fn partition(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let mut groups = vec![Vec::new()];
        let mut seen = Vec::new();
        loop {
            if c.eat("|") {
                groups.push(Vec::new());
                continue;
            }
            if c.at_end() {
                break;
            }
            let col = c.col();
            let node = self.node(c)?;
            if let NodeRef::Id(id) = node {
                if seen.contains(&id) {
                    return Err(Fail::at(col, format!("node {id} is in two groups")));
                }
                seen.push(id);
            }
            if let Some(group) = groups.last_mut() {
                group.push(node);
            }
        }
        if groups.iter().any(Vec::is_empty) {
            return Err(Fail::at(
                c.col(),
                "every group of a partition needs at least one node, e.g. `partition 1 2 | 3 4 5`",
            ));
        }
        Ok(StmtKind::Partition(groups))
    }

    fn let_stmt(&mut self, c: &mut Cursor) -> Result<StmtKind, Fail> {
        let col = c.col();
        let name = c.next("a name")?;
        if name.quoted || !is_name(&name.text) || RESERVED.contains(&name.text.as_str()) {
            return Err(Fail::at(
                col,
                format!(
                    "{:?} cannot be a name: use letters, digits and `_`, not a keyword or n1…n9",
                    name.text
                ),
            ));
        }
        c.keyword("=")?;
        let value = if c.eat("term") {
            LetValue::Term
        } else if c.eat("committed") || c.eat("commit") {
            LetValue::Committed
        } else {
            LetValue::Node(self.node(c).map_err(|f| {
                if f.message.starts_with("expected") || f.message.starts_with("unknown name") {
                    c.expected("a node, `term` or `committed`")
                } else {
                    f
                }
            })?)
        };
        let kind = match value {
            LetValue::Node(_) => NameKind::Node,
            _ => NameKind::Number,
        };
        self.names.insert(name.text.clone(), kind);
        Ok(StmtKind::Let {
            name: name.text.clone(),
            value,
        })
    }
}

/// A held message's number, or `all`.
fn held_ref(c: &mut Cursor) -> Result<HeldRef, Fail> {
    let col = c.col();
    let word = c.next("a held message's number or `all`")?;
    if word.quoted {
        return Err(Fail::at(
            col,
            format!(
                "expected a held message's number or `all`, found {:?}",
                word.text
            ),
        ));
    }
    HeldRef::parse(&word.text).map_err(|e| Fail::at(col, e))
}

/// Words that cannot be names given by `let`.
pub(super) const RESERVED: &[&str] = &[
    "leader",
    "follower",
    "random",
    "all",
    "nil",
    "ok",
    "true",
    "false",
    "timeout",
    "unavailable",
    "on",
    "in",
    "within",
    "term",
    "committed",
    "commit",
    "applied",
    "snapshot",
    "stale",
    "voters",
    "learners",
    "none",
    "refused",
];

/// Whether `text` has the shape of a name: a letter or `_`, then letters,
/// digits and `_`, and not `n` followed by digits (a node id).
pub(super) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && parse_node_id(text).is_none()
}

/// `3` or `n3` as a node id.
pub(super) fn parse_node_id(text: &str) -> Option<u64> {
    let digits = text.strip_prefix('n').unwrap_or(text);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}
