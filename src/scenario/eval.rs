//! The runner's view of a cluster: resolving `leader`, `follower`,
//! `random` and remembered names to node ids, and deciding conditions.
//! Every lookup that can miss (no leader, a node down, an id the cluster
//! does not have) becomes a message, never a panic.

use std::collections::BTreeMap;

use crate::raft::NodeId;
use crate::raft::Status;

use super::Cluster;
use super::ast::{Cond, NodeRef, NodeSet, Num};
use super::cluster::ClusterStats;

/// What the runner remembers between statements.
#[derive(Debug, Default)]
pub(super) struct Ctx {
    /// Values given by `let`: node ids and numbers alike.
    pub saved: BTreeMap<String, u64>,
    /// Counters at the last `reset stats` (or cluster creation).
    pub baseline: ClusterStats,
    /// State of the seeded generator behind `random`.
    pub rng: u64,
    /// The innermost loop counter (`$i`), if inside a loop.
    pub loop_i: Option<u64>,
    /// The operation `start` sent and `reply` has not collected yet: when
    /// it was sent and its timeout, µs.
    pub started: Option<(u64, u64)>,
}

/// Whether a condition holds, and what was seen.
#[derive(Debug)]
pub(super) struct Check {
    pub ok: bool,
    pub detail: String,
}

/// Which nodes `all` means.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum All {
    /// Every running node.
    Up,
    /// Every node, up or down.
    Every,
}

/// Nodes that are running, in id order.
pub(super) fn up_nodes(c: &dyn Cluster) -> Vec<NodeId> {
    c.node_ids().into_iter().filter(|&id| c.is_up(id)).collect()
}

/// `n1 n2 n3`.
pub(super) fn names(ids: &[NodeId]) -> String {
    let names: Vec<String> = ids.iter().map(|id| format!("n{id}")).collect();
    names.join(" ")
}

fn leader_detail(c: &dyn Cluster, id: NodeId) -> String {
    match c.status(id) {
        Some(s) => format!("n{id} leads term {}", s.term),
        None => format!("n{id} leads"),
    }
}

impl Ctx {
    /// Replaces `$i` with the loop counter.
    pub fn subst(&self, text: &str) -> String {
        match self.loop_i {
            Some(i) => text.replace("$i", &i.to_string()),
            None => text.to_string(),
        }
    }

    /// The next number of the splitmix64 sequence (deterministic per seed).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The node a reference means now.
    pub fn resolve(&mut self, c: &dyn Cluster, node: &NodeRef) -> Result<NodeId, String> {
        match node {
            NodeRef::Id(id) => {
                if c.node_ids().contains(id) {
                    Ok(*id)
                } else {
                    Err(format!("there is no node {id} in this cluster"))
                }
            }
            NodeRef::Leader => c.leader().ok_or_else(|| "there is no leader".to_string()),
            NodeRef::Follower => {
                let leader = c.leader();
                up_nodes(c)
                    .into_iter()
                    .find(|&id| Some(id) != leader)
                    .ok_or_else(|| "no follower is running".to_string())
            }
            NodeRef::Random => {
                let up = up_nodes(c);
                if up.is_empty() {
                    return Err("no node is running".to_string());
                }
                let pick = self.next_random() % up.len() as u64;
                Ok(up[pick as usize])
            }
            NodeRef::Saved(name) => {
                let id = self
                    .saved
                    .get(name)
                    .copied()
                    .ok_or_else(|| format!("{name:?} has no value"))?;
                self.resolve(c, &NodeRef::Id(id))
            }
        }
    }

    /// The nodes a set means now.
    pub fn resolve_set(
        &mut self,
        c: &dyn Cluster,
        set: &NodeSet,
        all: All,
    ) -> Result<Vec<NodeId>, String> {
        match set {
            NodeSet::All if all == All::Up => Ok(up_nodes(c)),
            NodeSet::All => Ok(c.node_ids()),
            NodeSet::List(nodes) => nodes.iter().map(|n| self.resolve(c, n)).collect(),
        }
    }

    /// The value of a number.
    pub fn num(&self, num: &Num) -> Result<u64, String> {
        let base = match &num.name {
            None => 0,
            Some(name) => {
                let v = self
                    .saved
                    .get(name)
                    .copied()
                    .ok_or_else(|| format!("{name:?} has no value"))?;
                i64::try_from(v).map_err(|_| format!("{name:?} is too large"))?
            }
        };
        u64::try_from(base + num.offset).map_err(|_| "the number is negative".to_string())
    }

    /// Decides a condition now.
    pub fn eval(&mut self, c: &dyn Cluster, cond: &Cond) -> Check {
        match self.try_eval(c, cond) {
            Ok(check) => check,
            Err(detail) => Check { ok: false, detail },
        }
    }

    fn try_eval(&mut self, c: &dyn Cluster, cond: &Cond) -> Result<Check, String> {
        let check = match cond {
            Cond::Leader { among } => match c.leader() {
                None => fail("no leader"),
                Some(l) => {
                    let ok = match among {
                        None => true,
                        Some(nodes) => {
                            let ids: Result<Vec<_>, _> =
                                nodes.iter().map(|n| self.resolve(c, n)).collect();
                            ids?.contains(&l)
                        }
                    };
                    Check {
                        ok,
                        detail: leader_detail(c, l),
                    }
                }
            },
            Cond::NoLeader => match c.leader() {
                None => pass("no leader"),
                Some(l) => fail(&leader_detail(c, l)),
            },
            Cond::LeaderIs { negate, node } => {
                let want = self.resolve(c, node)?;
                match c.leader() {
                    None => fail("no leader"),
                    Some(l) => Check {
                        ok: (l == want) != *negate,
                        detail: leader_detail(c, l),
                    },
                }
            }
            Cond::Role { node, negate, role } => {
                let id = self.resolve(c, node)?;
                match c.status(id) {
                    None => fail(&format!("n{id} down")),
                    Some(s) => Check {
                        ok: (s.role == *role) != *negate,
                        detail: format!(
                            "n{id} is {} in term {}",
                            s.role.name().to_lowercase(),
                            s.term
                        ),
                    },
                }
            }
            Cond::Term(cmp, num) => {
                let want = self.num(num)?;
                let term = max_term(c);
                Check {
                    ok: cmp.holds(term, want),
                    detail: format!("term {term}"),
                }
            }
            Cond::Committed(cmp, num, on) | Cond::Applied(cmp, num, on) => {
                let want = self.num(num)?;
                let ids = self.resolve_set(c, on, All::Up)?;
                let committed = matches!(cond, Cond::Committed(..));
                per_node(&ids, |id| {
                    let value = if committed {
                        c.status(id).map(|s| s.commit)
                    } else {
                        c.applied_index(id)
                    };
                    value.map(|v| (cmp.holds(v, want), v.to_string()))
                })
            }
            Cond::Snapshot(cmp, num, on) | Cond::LogLength(cmp, num, on) => {
                let want = self.num(num)?;
                let ids = self.resolve_set(c, on, All::Up)?;
                let snapshot = matches!(cond, Cond::Snapshot(..));
                per_node(&ids, |id| {
                    let value = if snapshot {
                        c.status(id).map(|s| s.snapshot_index)
                    } else {
                        c.log(id).map(|log| log.len() as u64)
                    };
                    value.map(|v| (cmp.holds(v, want), v.to_string()))
                })
            }
            Cond::LogsConverged => logs_converged(c),
            Cond::ChangeCommitted => match c.leader().and_then(|l| Some((l, c.status(l)?))) {
                None => fail("no leader"),
                Some((l, s)) => Check {
                    ok: !s.membership_pending,
                    detail: format!(
                        "n{l}: {} ({})",
                        s.membership,
                        if s.membership_pending {
                            "not committed yet"
                        } else {
                            "committed"
                        }
                    ),
                },
            },
            Cond::Members { learners, ids, on } => {
                let mut want = Vec::new();
                for node in ids {
                    // A listed id need not be a node yet (`voters == 1 2 3`
                    // after a removal names only members).
                    want.push(match node {
                        NodeRef::Id(id) => *id,
                        other => self.resolve(c, other)?,
                    });
                }
                want.sort_unstable();
                want.dedup();
                let pick = |m: crate::raft::Membership| {
                    if *learners { m.learners } else { m.voters }.to_vec()
                };
                let show = |ids: &[NodeId]| {
                    if ids.is_empty() {
                        "none".to_string()
                    } else {
                        ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
                    }
                };
                match on {
                    None => {
                        let Some(leader) = c.leader() else {
                            return Ok(fail("no leader"));
                        };
                        let Some(status) = c.status(leader) else {
                            return Ok(fail(&format!("n{leader} down")));
                        };
                        let have = pick(status.membership);
                        let pending = if status.membership_pending {
                            ", not committed yet"
                        } else {
                            ""
                        };
                        Check {
                            ok: have == want && !status.membership_pending,
                            detail: format!("{} (leader n{leader}{pending})", show(&have)),
                        }
                    }
                    Some(set) => {
                        let nodes = self.resolve_set(c, set, All::Up)?;
                        per_node(&nodes, |id| {
                            let have = pick(c.status(id)?.membership);
                            Some((have == want, show(&have)))
                        })
                    }
                }
            }
            Cond::Value { key, value, on } => {
                let key = self.subst(key);
                let want = value.as_ref().map(|v| self.subst(v));
                let ids = self.resolve_set(c, on, All::Up)?;
                per_node(&ids, |id| {
                    c.local_get(id, &key)
                        .map(|v| (v == want, show_value(v.as_deref())))
                })
            }
            Cond::Messages(cmp, num) => {
                let n = c
                    .stats()
                    .messages_sent
                    .saturating_sub(self.baseline.messages_sent);
                Check {
                    ok: cmp.holds(n, self.num(num)?),
                    detail: format!("{n} messages"),
                }
            }
            Cond::Held(cmp, num) => {
                let held = c.held();
                let n = held.len() as u64;
                Check {
                    ok: cmp.holds(n, self.num(num)?),
                    detail: format!("{n} held ({})", crate::net::held_text(&held)),
                }
            }
            Cond::Elections(cmp, num) => {
                let n = c.stats().elections.saturating_sub(self.baseline.elections);
                Check {
                    ok: cmp.holds(n, self.num(num)?),
                    detail: format!("{n} elections"),
                }
            }
            Cond::Linearizable => match c.check_history() {
                Ok(()) => pass("history is linearizable"),
                Err(e) => fail(&e.to_string()),
            },
            Cond::Violation(text) => match c.violation()? {
                None => fail("no violation"),
                Some(found) => Check {
                    ok: text.as_ref().is_none_or(|t| found.contains(t.as_str())),
                    detail: format!("VIOLATED {found}"),
                },
            },
            Cond::NoViolation => match c.violation()? {
                None => pass("no violation"),
                Some(found) => fail(&format!("VIOLATED {found}")),
            },
            Cond::Candidate => candidate(c),
            Cond::Uncommitted(cmp, num, on) => {
                let want = self.num(num)?;
                let ids = self.resolve_set(c, on, All::Up)?;
                per_node(&ids, |id| {
                    let s = c.status(id)?;
                    let held = s.last_index.saturating_sub(s.commit);
                    Some((cmp.holds(held, want), held.to_string()))
                })
            }
        };
        Ok(check)
    }
}

/// `candidate`: the lowest-numbered running node that is a candidate.
fn candidate(c: &dyn Cluster) -> Check {
    let statuses: Vec<Status> = up_nodes(c)
        .into_iter()
        .filter_map(|id| c.status(id))
        .collect();
    match statuses
        .iter()
        .find(|s| s.role == crate::raft::Role::Candidate)
    {
        Some(s) => pass(&format!("n{} is a candidate in term {}", s.id, s.term)),
        None => {
            let busy: Vec<String> = statuses
                .iter()
                .filter(|s| s.role != crate::raft::Role::Follower)
                .map(|s| format!("n{} {}", s.id, s.role.name().to_lowercase()))
                .collect();
            if busy.is_empty() {
                fail("no candidate")
            } else {
                fail(&format!("no candidate ({})", busy.join(", ")))
            }
        }
    }
}

/// Checks every node in `ids` with `check`, which returns whether the node
/// passes and what it holds, or `None` when it is down (a failure).
fn per_node(ids: &[NodeId], mut check: impl FnMut(NodeId) -> Option<(bool, String)>) -> Check {
    if ids.is_empty() {
        return fail("no node is running");
    }
    let mut ok = true;
    let mut seen = Vec::new();
    for &id in ids {
        match check(id) {
            Some((pass, shown)) => {
                ok &= pass;
                seen.push(format!("n{id}={shown}"));
            }
            None => {
                ok = false;
                seen.push(format!("n{id} down"));
            }
        }
    }
    Check {
        ok,
        detail: seen.join(" "),
    }
}

fn pass(detail: &str) -> Check {
    Check {
        ok: true,
        detail: detail.to_string(),
    }
}

fn fail(detail: &str) -> Check {
    Check {
        ok: false,
        detail: detail.to_string(),
    }
}

/// The highest term among running nodes.
pub(super) fn max_term(c: &dyn Cluster) -> u64 {
    up_nodes(c)
        .into_iter()
        .filter_map(|id| c.status(id).map(|s| s.term))
        .max()
        .unwrap_or(0)
}

/// The highest commit index among running nodes.
pub(super) fn max_commit(c: &dyn Cluster) -> u64 {
    up_nodes(c)
        .into_iter()
        .filter_map(|id| c.status(id).map(|s| s.commit))
        .max()
        .unwrap_or(0)
}

/// `"v"` or `nil`.
pub(super) fn show_value(v: Option<&str>) -> String {
    match v {
        Some(v) => format!("{v:?}"),
        None => "nil".to_string(),
    }
}

fn logs_converged(c: &dyn Cluster) -> Check {
    let up = up_nodes(c);
    let Some((&first, rest)) = up.split_first() else {
        return fail("no node is running");
    };
    let (Some(base), Some(base_status)) = (c.log(first), c.status(first)) else {
        return fail(&format!("n{first} has no log"));
    };
    let end = |s: &Status| (s.last_index, s.last_term);
    for &id in rest {
        let (Some(log), Some(status)) = (c.log(id), c.status(id)) else {
            return fail(&format!("n{id} has no log"));
        };
        if end(&status) != end(&base_status) {
            return fail(&format!(
                "n{id} ends at index {} (term {}), n{first} at index {} (term {})",
                status.last_index, status.last_term, base_status.last_index, base_status.last_term
            ));
        }
        // Logs may be compacted at different points: compare the entries
        // both still hold, by index.
        let base_first = base.first().map_or(0, |e| e.index);
        for entry in log.iter() {
            let other = entry
                .index
                .checked_sub(base_first)
                .and_then(|i| base.get(i as usize));
            if other.is_some_and(|o| o != entry) {
                return fail(&format!(
                    "n{id} differs from n{first} at index {}",
                    entry.index
                ));
            }
        }
    }
    pass(&format!(
        "{} nodes end at index {} (term {}) with the same entries",
        up.len(),
        base_status.last_index,
        base_status.last_term
    ))
}
