//! Parsers for the pieces statements are built from: nodes and sets of
//! nodes, numbers (literal or remembered), conditions and client operations.

use super::ast::{ClientOp, Cmp, Cond, Expected, NodeRef, NodeSet, Num};
use super::cursor::{Cursor, Fail};
use super::parser::{NameKind, Parser, is_name, parse_node_id};
use crate::kv::Op;
use crate::raft::Role;

impl Parser {
    fn node_hint(&self) -> String {
        let max = self.nodes.unwrap_or(super::parser::MAX_NODES);
        format!("a node (1 to {max}, `leader`, `follower`, `random` or a name from `let`)")
    }

    /// Whether the next token can start a node.
    fn at_node(&self, c: &Cursor) -> bool {
        c.peek().is_some_and(|t| {
            !t.quoted
                && (matches!(t.text.as_str(), "leader" | "follower" | "random")
                    || parse_node_id(&t.text).is_some()
                    || self.names.get(&t.text) == Some(&NameKind::Node))
        })
    }

    /// One node.
    pub(super) fn node(&mut self, c: &mut Cursor) -> Result<NodeRef, Fail> {
        let col = c.col();
        let hint = self.node_hint();
        let token = c.peek().filter(|t| !t.quoted).ok_or(c.expected(&hint))?;
        let text = token.text.as_str();
        let node = match text {
            "leader" => NodeRef::Leader,
            "follower" => NodeRef::Follower,
            "random" => NodeRef::Random,
            _ => {
                if let Some(id) = parse_node_id(text) {
                    let max = self.nodes.unwrap_or(super::parser::MAX_NODES);
                    if id == 0 || id > max as u64 {
                        return Err(Fail::at(
                            col,
                            format!("there is no node {id}: this cluster has nodes 1 to {max}"),
                        ));
                    }
                    NodeRef::Id(id)
                } else if is_name(text) {
                    match self.names.get(text) {
                        Some(NameKind::Node) => NodeRef::Saved(text.to_string()),
                        Some(NameKind::Number) => {
                            return Err(Fail::at(
                                col,
                                format!("{text:?} holds a number, not a node"),
                            ));
                        }
                        None => {
                            return Err(Fail::at(
                                col,
                                format!(
                                    "unknown name {text:?}: give it a value first, e.g. `let {text} = leader`"
                                ),
                            ));
                        }
                    }
                } else {
                    return Err(c.expected(&hint));
                }
            }
        };
        c.next(&hint)?;
        Ok(node)
    }

    /// `all`, or one or more nodes.
    pub(super) fn node_set(&mut self, c: &mut Cursor) -> Result<NodeSet, Fail> {
        if c.eat("all") {
            return Ok(NodeSet::All);
        }
        let mut nodes = vec![self.node(c)?];
        while self.at_node(c) {
            nodes.push(self.node(c)?);
        }
        Ok(NodeSet::List(nodes))
    }

    /// `on NODES`, or every running node when absent.
    fn on_set(&mut self, c: &mut Cursor) -> Result<NodeSet, Fail> {
        if c.eat("on") {
            self.node_set(c)
        } else {
            Ok(NodeSet::All)
        }
    }

    /// A comparison operator, or `default` when the next token is not one.
    fn cmp(&mut self, c: &mut Cursor, default: Option<Cmp>) -> Result<Cmp, Fail> {
        let cmp = match c.peek().filter(|t| !t.quoted).map(|t| t.text.as_str()) {
            Some("==" | "=") => Cmp::Eq,
            Some("!=") => Cmp::Ne,
            Some("<") => Cmp::Lt,
            Some("<=") => Cmp::Le,
            Some(">") => Cmp::Gt,
            Some(">=") => Cmp::Ge,
            _ => {
                return default.ok_or_else(|| c.expected("a comparison (==, !=, <, <=, >, >=)"));
            }
        };
        c.next("a comparison")?;
        Ok(cmp)
    }

    /// A number: `7`, `t` (remembered with `let`), `t + 1` or `t - 1`.
    pub(super) fn num(&mut self, c: &mut Cursor) -> Result<Num, Fail> {
        let col = c.col();
        let token = c
            .peek()
            .filter(|t| !t.quoted)
            .ok_or(c.expected("a number"))?;
        if let Ok(n) = token.text.parse::<i64>() {
            c.next("a number")?;
            return Ok(Num {
                name: None,
                offset: n,
            });
        }
        let name = token.text.clone();
        match self.names.get(&name) {
            Some(NameKind::Number) => {}
            Some(NameKind::Node) => {
                return Err(Fail::at(
                    col,
                    format!("{name:?} holds a node, not a number"),
                ));
            }
            None if is_name(&name) => {
                return Err(Fail::at(
                    col,
                    format!(
                        "unknown name {name:?}: give it a value first, e.g. `let {name} = term`"
                    ),
                ));
            }
            None => return Err(c.expected("a number")),
        }
        c.next("a number")?;
        let sign = if c.eat("+") {
            1
        } else if c.eat("-") {
            -1
        } else {
            0
        };
        let offset = if sign == 0 {
            0
        } else {
            let n = c.integer("a number to add or subtract")?;
            sign * i64::try_from(n).map_err(|_| Fail::at(col, "this number is too large"))?
        };
        Ok(Num {
            name: Some(name),
            offset,
        })
    }

    /// A condition, for `expect` and `wait`.
    pub(super) fn cond(&mut self, c: &mut Cursor) -> Result<Cond, Fail> {
        let what = "a condition (leader, no leader, candidate, role, term, committed, uncommitted, applied, logs converged, value, messages, elections, voters, learners, change committed, linearizable, violation)";
        let word = c.next(what)?;
        let cond = match word.text.as_str() {
            _ if word.quoted => {
                return Err(Fail::at(
                    word.col,
                    format!("expected {what}, found {:?}", word.text),
                ));
            }
            "leader" => {
                if c.eat("in") {
                    let mut among = vec![self.node(c)?];
                    while self.at_node(c) {
                        among.push(self.node(c)?);
                    }
                    Cond::Leader { among: Some(among) }
                } else if c.eat("==") || c.eat("=") {
                    Cond::LeaderIs {
                        negate: false,
                        node: self.node(c)?,
                    }
                } else if c.eat("!=") {
                    Cond::LeaderIs {
                        negate: true,
                        node: self.node(c)?,
                    }
                } else {
                    Cond::Leader { among: None }
                }
            }
            "role" => {
                let node = self.node(c)?;
                let negate = if c.eat("!=") {
                    true
                } else if c.eat("==") || c.eat("=") {
                    false
                } else {
                    return Err(c.expected("`==` or `!=`"));
                };
                let role_col = c.col();
                let word = c.next("a role (leader, follower, candidate, precandidate)")?;
                let role = match word.text.to_ascii_lowercase().as_str() {
                    "leader" => Role::Leader,
                    "follower" => Role::Follower,
                    "candidate" => Role::Candidate,
                    "precandidate" => Role::PreCandidate,
                    _ => {
                        return Err(Fail::at(
                            role_col,
                            format!(
                                "expected a role (leader, follower, candidate, precandidate), found {:?}",
                                word.text
                            ),
                        ));
                    }
                };
                Cond::Role { node, negate, role }
            }
            "no" => {
                if c.eat("violation") {
                    Cond::NoViolation
                } else {
                    c.keyword("leader")?;
                    Cond::NoLeader
                }
            }
            "term" => Cond::Term(self.cmp(c, None)?, self.num(c)?),
            "committed" | "commit" => {
                Cond::Committed(self.cmp(c, Some(Cmp::Ge))?, self.num(c)?, self.on_set(c)?)
            }
            "applied" => Cond::Applied(self.cmp(c, Some(Cmp::Ge))?, self.num(c)?, self.on_set(c)?),
            "uncommitted" => {
                Cond::Uncommitted(self.cmp(c, Some(Cmp::Ge))?, self.num(c)?, self.on_set(c)?)
            }
            "candidate" => Cond::Candidate,
            "snapshot" => {
                Cond::Snapshot(self.cmp(c, Some(Cmp::Ge))?, self.num(c)?, self.on_set(c)?)
            }
            "logs" => {
                c.keyword("converged")?;
                Cond::LogsConverged
            }
            "log" => {
                c.keyword("length")?;
                Cond::LogLength(self.cmp(c, Some(Cmp::Le))?, self.num(c)?, self.on_set(c)?)
            }
            "value" => {
                let key = self.text(c, "a key")?;
                if !(c.eat("=") || c.eat("==")) {
                    return Err(c.expected("`=`"));
                }
                let value = if c.eat("nil") {
                    None
                } else {
                    Some(self.text(c, "a value or nil")?)
                };
                Cond::Value {
                    key,
                    value,
                    on: self.on_set(c)?,
                }
            }
            "messages" => Cond::Messages(self.cmp(c, None)?, self.num(c)?),
            "elections" => Cond::Elections(self.cmp(c, None)?, self.num(c)?),
            "held" => Cond::Held(self.cmp(c, None)?, self.num(c)?),
            "linearizable" => Cond::Linearizable,
            "change" => {
                c.keyword("committed")?;
                Cond::ChangeCommitted
            }
            "voters" | "learners" => {
                let learners = word.text == "learners";
                if !(c.eat("==") || c.eat("=")) {
                    return Err(c.expected("`==`"));
                }
                let mut ids = Vec::new();
                if !c.eat("none") {
                    ids.push(self.node(c)?);
                    while self.at_node(c) {
                        ids.push(self.node(c)?);
                    }
                }
                let on = if c.eat("on") {
                    Some(self.node_set(c)?)
                } else {
                    None
                };
                Cond::Members { learners, ids, on }
            }
            "violation" => match c.peek() {
                Some(token) if token.quoted => {
                    c.next("a quoted text")?;
                    Cond::Violation(Some(token.text.clone()))
                }
                _ => Cond::Violation(None),
            },
            _ => {
                return Err(Fail::at(
                    word.col,
                    format!("expected {what}, found {:?}", word.text),
                ));
            }
        };
        Ok(cond)
    }

    /// A key or value: a word or a quoted string; `$i` only inside loops.
    fn text(&mut self, c: &mut Cursor, what: &str) -> Result<String, Fail> {
        let token = c.peek().ok_or(c.expected(what))?;
        if !token.quoted
            && (matches!(token.text.as_str(), "->" | "|" | "{" | "}" | ":")
                || matches!(token.text.as_str(), "on" | "timeout"))
        {
            return Err(c.expected(what));
        }
        if token.text.contains("$i") && !self.looping && !self.console {
            return Err(Fail::at(
                token.col,
                "`$i` is only defined inside `repeat` and `concurrently`",
            ));
        }
        c.next(what)?;
        Ok(token.text.clone())
    }

    /// `put`, `get`, `delete` or `cas` (already read as `verb`), with its
    /// arguments, options and expectation.
    pub(super) fn client_op(&mut self, verb: &str, c: &mut Cursor) -> Result<ClientOp, Fail> {
        let mut stale = false;
        let store_op = match verb {
            "put" => Op::Put {
                key: self.text(c, "a key")?,
                value: self.text(c, "a value")?,
            },
            "get" => {
                let key = self.text(c, "a key")?;
                stale = c.eat("stale");
                Op::Get { key }
            }
            "delete" => Op::Delete {
                key: self.text(c, "a key")?,
            },
            _ => Op::Cas {
                key: self.text(c, "a key")?,
                old: self.text(c, "the old value")?,
                new: self.text(c, "the new value")?,
            },
        };
        let mut op = ClientOp {
            op: store_op,
            stale,
            on: None,
            timeout_us: None,
            expect: None,
        };
        loop {
            if c.eat("on") {
                op.on = Some(self.node(c)?);
            } else if !self.console && c.eat("timeout") {
                op.timeout_us = Some(c.duration()?);
            } else {
                break;
            }
        }
        if !self.console && op.stale && op.on.is_none() {
            return Err(Fail::at(
                c.col(),
                "a stale read needs `on NODE`: the node whose store is read",
            ));
        }
        if !self.console && c.eat("->") {
            let mut any = vec![self.expected_outcome(verb, c)?];
            while c.eat("|") {
                any.push(self.expected_outcome(verb, c)?);
            }
            op.expect = Some(if any.len() == 1 {
                any.remove(0)
            } else {
                Expected::AnyOf(any)
            });
        } else if let Some(extra) = c.peek() {
            return Err(self.extra_words(verb, extra, op.on.is_some()));
        }
        Ok(op)
    }

    /// What to say of `extra`, a word after a complete request: the usual
    /// slip is a value with spaces written without quotes.
    fn extra_words(&self, verb: &str, extra: &super::lexer::Token, has_on: bool) -> Fail {
        let after = match (self.console, has_on) {
            (true, true) => "nothing comes after `on NODE`".to_string(),
            (true, false) => "after it comes only `on NODE`".to_string(),
            (false, _) => "after it come only `on NODE`, `timeout D` or `-> RESULT`".to_string(),
        };
        let quote = match verb {
            "put" => "a value with spaces goes in quotes, e.g. `put k \"two words\"`",
            "cas" => "a value with spaces goes in quotes, e.g. `cas k old \"two words\"`",
            _ => "a key with spaces goes in quotes, e.g. `get \"my key\"`",
        };
        let what = if extra.text == "->" && self.console {
            "`-> RESULT` belongs in scripts: the console shows the answer itself".to_string()
        } else if extra.text == "timeout" && self.console {
            "`timeout D` belongs in scripts: the console waits as a client does".to_string()
        } else {
            format!("{quote}; {after}")
        };
        Fail::at(
            extra.col,
            format!("{:?} is one word too many: {what}", extra.text),
        )
    }

    pub(super) fn expected_outcome(
        &mut self,
        verb: &str,
        c: &mut Cursor,
    ) -> Result<Expected, Fail> {
        let col = c.col();
        let allowed = match verb {
            "get" => "a value in quotes, nil, ok, timeout or unavailable",
            "cas" => "true, false, ok, timeout or unavailable",
            _ => "ok, timeout or unavailable",
        };
        let token = c.next(allowed)?;
        let word = if token.quoted {
            ""
        } else {
            token.text.as_str()
        };
        let expected = match (verb, word) {
            (_, "ok") => Expected::Ok,
            (_, "timeout") => Expected::Timeout,
            (_, "unavailable") => Expected::Unavailable,
            ("get", "nil") => Expected::Value(None),
            ("get", _) if token.quoted || !matches!(word, "->" | "|" | "{" | "}" | ":") => {
                Expected::Value(Some(token.text.clone()))
            }
            ("cas", "true") => Expected::Swapped(true),
            ("cas", "false") => Expected::Swapped(false),
            _ => {
                return Err(Fail::at(
                    col,
                    format!("a {verb} answers {allowed}; found {:?}", token.text),
                ));
            }
        };
        Ok(expected)
    }
}
