//! Why an entry is, or is not, committed: which voters hold it, how many
//! make a majority, what the leader knows of it, and — for an entry of an
//! older term — Figure 8's rule that a leader commits it only together
//! with an entry of its own term.

use super::{Answer, Tone, majority, names, reach, runs, sides, talks, voters};
use crate::raft::{Index, NodeId, Term};
use crate::runtime::{ClusterView, NodeState, NodeView};

/// What a voter's log has at the index asked about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Has {
    /// The same entry (same index and term: the same command).
    Same,
    /// The index is inside its snapshot: a committed entry.
    Compacted,
    /// Another entry, of this term.
    Differs(Term),
    /// Nothing: its log ends at this index.
    Ends(Index),
    /// Its view does not reach back that far.
    Unknown,
}

fn has(n: &NodeView, index: Index, term: Term) -> Has {
    if index > n.last_index {
        Has::Ends(n.last_index)
    } else if index <= n.snapshot_index {
        Has::Compacted
    } else {
        match n.term_at(index) {
            Some(t) if t == term => Has::Same,
            Some(t) => Has::Differs(t),
            None => Has::Unknown,
        }
    }
}

/// Why voter `v` does not hold the entry, in a few words.
fn lacks(v: &NodeView, has: Has) -> String {
    let down = match v.state {
        NodeState::Down => " (down)",
        NodeState::Paused => " (paused)",
        NodeState::Up => "",
    };
    let what = match has {
        Has::Ends(last) => format!("its log ends at {last}"),
        Has::Differs(t) => format!("holds another entry there, of term {t}"),
        Has::Unknown => "its view does not reach back that far".to_string(),
        Has::Same | Has::Compacted => "holds it".to_string(),
    };
    format!("n{}{down}: {what}", v.id)
}

/// Answers "why?" about the entry node `n` holds at `index`.
pub(super) fn explain(view: &ClusterView, n: &NodeView, index: Index) -> Answer {
    let id = n.id;
    if index == 0 || index > n.last_index {
        return absent(view, n, index);
    }
    if index <= n.snapshot_index {
        return Answer {
            title: format!("entry {index} on n{id}, in its snapshot"),
            verdict: "Committed: it is in a snapshot".to_string(),
            tone: Tone::Good,
            reasons: vec![
                format!(
                    "n{id}'s snapshot covers its log up to {}. A node snapshots only what it has applied, and it applies only committed entries.",
                    n.snapshot_index
                ),
                "A committed entry is never lost or changed: every later leader holds it.".into(),
            ],
        };
    }
    let Some(term) = n.term_at(index) else {
        return Answer {
            title: format!("entry {index} on n{id}"),
            verdict: "Too old for the view".to_string(),
            tone: Tone::Waiting,
            reasons: vec![format!(
                "The dashboard keeps only the last {} entries of n{id}'s log.",
                n.log.len()
            )],
        };
    };
    let text = n
        .log
        .iter()
        .find(|e| e.index == index)
        .map_or(String::new(), |e| format!(", {}", e.text));
    let title = format!("entry {index} on n{id}: term {term}{text}");
    let facts = Facts::of(view, index, term);
    let mut answer = if index <= n.commit {
        committed(n, index, &facts)
    } else if let Some((other, t)) = facts.committed_other {
        Answer {
            title: String::new(),
            verdict: "Never commits: another entry is committed at this index".into(),
            tone: Tone::Bad,
            reasons: vec![
                format!(
                    "n{other} has committed index {index} with an entry of term {t}, not this one of term {term}."
                ),
                overwrite(view, id, index),
            ],
        }
    } else if let Some(knows) = facts.known_by {
        Answer {
            title: String::new(),
            verdict: format!("Committed, though n{id} does not know yet"),
            tone: Tone::Good,
            reasons: vec![
                format!(
                    "n{knows} knows it committed (its commit index is {}); n{id}'s is {}.",
                    view.node(knows).map_or(0, |k| k.commit),
                    n.commit
                ),
                format!(
                    "{} A follower learns the commit index from the leader's next append or heartbeat.",
                    holders_line(&facts)
                ),
            ],
        }
    } else {
        uncommitted(view, n, index, term, &facts)
    };
    answer.title = title;
    answer
}

/// What the voters hold at an index, and who knows it committed.
struct Facts {
    voters: Vec<NodeId>,
    /// `holders` by name, a down node marked (`n5 (down)`: its disk holds it).
    named: String,
    /// Voters holding the entry (or a snapshot over it).
    holders: Vec<NodeId>,
    /// Voters without it, and what they have.
    others: Vec<(NodeId, Has)>,
    /// A node holding the entry whose commit index covers it.
    known_by: Option<NodeId>,
    /// A node holding another entry there that it knows committed.
    committed_other: Option<(NodeId, Term)>,
}

impl Facts {
    fn of(view: &ClusterView, index: Index, term: Term) -> Facts {
        let voters = voters(view);
        let (mut holders, mut others) = (Vec::new(), Vec::new());
        for &v in &voters {
            let Some(vn) = view.node(v) else { continue };
            match has(vn, index, term) {
                Has::Same | Has::Compacted => holders.push(v),
                other => others.push((v, other)),
            }
        }
        let (mut known_by, mut committed_other) = (None, None);
        for vn in &view.nodes {
            match has(vn, index, term) {
                Has::Same if vn.commit >= index => known_by = known_by.or(Some(vn.id)),
                Has::Differs(t) if vn.commit >= index => {
                    committed_other = committed_other.or(Some((vn.id, t)));
                }
                _ => {}
            }
        }
        let named = holders
            .iter()
            .map(|&v| match view.node(v).map(|n| n.state) {
                Some(NodeState::Down) => format!("n{v} (down)"),
                Some(NodeState::Paused) => format!("n{v} (paused)"),
                _ => format!("n{v}"),
            })
            .collect::<Vec<_>>();
        let named = if named.is_empty() {
            names(&[])
        } else {
            named.join(" ")
        };
        Facts {
            voters,
            named,
            holders,
            others,
            known_by,
            committed_other,
        }
    }

    fn majority(&self) -> usize {
        majority(&self.voters)
    }

    /// `2 of 5 voters hold it (n1 n5); a majority is 3`.
    fn count(&self) -> String {
        format!(
            "{} of {} voters hold it ({}); a majority is {}",
            self.holders.len(),
            self.voters.len(),
            self.named,
            self.majority()
        )
    }
}

/// `Held by n1 n2 n3 (3 of 5 voters; a majority is 3).`
fn holders_line(facts: &Facts) -> String {
    format!(
        "Held by {}: {} of {} voters; a majority is {}.",
        facts.named,
        facts.holders.len(),
        facts.voters.len(),
        facts.majority()
    )
}

/// How a follower's conflicting entry goes.
fn overwrite(view: &ClusterView, id: NodeId, index: Index) -> String {
    let when = match view.leader() {
        Some(l) if talks(view, l, id) => format!("When n{l}'s next append reaches n{id}"),
        Some(l) => format!("Once n{l} can reach n{id} and its append arrives"),
        None => format!("When a leader's append reaches n{id}"),
    };
    format!(
        "{when}, the log check fails at {index}: n{id} drops this entry and everything after it and takes the leader's (log matching)."
    )
}

fn committed(n: &NodeView, index: Index, facts: &Facts) -> Answer {
    let id = n.id;
    let applied = if n.applied >= index {
        format!("n{id} has applied it to its store (applied {}).", n.applied)
    } else {
        format!(
            "n{id} has not applied it yet (applied {}); it will, in order.",
            n.applied
        )
    };
    let mut reasons = vec![format!(
        "n{id}'s commit index is {}, at or past {index}: a leader counted a majority holding an entry of its own term at or after it, and told n{id}.",
        n.commit
    )];
    if !facts.holders.is_empty() {
        reasons.push(format!("{}.", capital(&facts.count())));
    }
    reasons.push(applied);
    reasons.push(
        "A committed entry is never lost or changed: a candidate without it cannot win the votes of a majority that holds it (§5.4.1), so every later leader has it."
            .into(),
    );
    Answer {
        title: String::new(),
        verdict: "Committed".to_string(),
        tone: Tone::Good,
        reasons,
    }
}

/// Not committed anywhere the view can see: why not yet, or why never.
fn uncommitted(
    view: &ClusterView,
    n: &NodeView,
    index: Index,
    term: Term,
    facts: &Facts,
) -> Answer {
    let id = n.id;
    let leader = view.leader().and_then(|l| view.node(l));
    if let Some(l) = leader {
        match has(l, index, term) {
            Has::Differs(t) => {
                return Answer {
                    title: String::new(),
                    verdict: format!("Never commits: the leader n{} has another entry here", l.id),
                    tone: Tone::Bad,
                    reasons: vec![
                        format!(
                            "The leader n{} (term {}) holds an entry of term {t} at {index}; this one is of term {term}, from a leader that lost its place before it was committed.",
                            l.id, l.term
                        ),
                        overwrite(view, id, index),
                    ],
                };
            }
            Has::Ends(last) => {
                return Answer {
                    title: String::new(),
                    verdict: format!("Not committed, and the leader n{} does not hold it", l.id),
                    tone: Tone::Bad,
                    reasons: vec![
                        format!(
                            "The leader n{} (term {}) has a log that ends at {last}. It never takes entries from followers: it will write its own entries at {index} and replace this one.",
                            l.id, l.term
                        ),
                        format!("{}.", capital(&facts.count())),
                    ],
                };
            }
            _ => {}
        }
    }
    let mut reasons = Vec::new();
    let short = facts.holders.len() < facts.majority();
    if short {
        let without: Vec<String> = facts
            .others
            .iter()
            .filter_map(|&(v, h)| view.node(v).map(|vn| lacks(vn, h)))
            .collect();
        if !without.is_empty() {
            reasons.push(format!("Without it: {}.", without.join("; ")));
        }
    } else {
        reasons.push(holders_line(facts));
    }
    let Some(l) = leader else {
        reasons.push(
            "There is no leader now. The next leader copies its own log to the others: it commits this entry only if it holds it, together with an entry of its own term after it."
                .into(),
        );
        return Answer {
            title: String::new(),
            verdict: if short {
                format!("Not committed: {}", facts.count())
            } else {
                "Not committed: a majority holds it, but no leader has counted it".to_string()
            },
            tone: Tone::Bad,
            reasons,
        };
    };
    let lid = l.id;
    let can = reach(view, lid);
    let q = facts.majority();
    if can.len() < q {
        reasons.push(format!(
            "The leader n{lid} is on the minority side{}: it reaches only {} ({} of {}), so it cannot get the entry acknowledged by a majority.",
            sides(view).map(|s| format!(" of {s}")).unwrap_or_default(),
            names(&can),
            can.len(),
            facts.voters.len()
        ));
        reasons.push(if view.teaching.extensions.check_quorum {
            format!("With CheckQuorum n{lid} steps down once an election timeout passes without hearing from a majority. The majority side can elect a leader of a newer term, whose entries replace this one when the network heals.")
        } else {
            format!("Without CheckQuorum (--no-check-quorum) n{lid} leads on alone, and this entry waits, until it hears of a newer term.")
        });
        return Answer {
            title: String::new(),
            verdict: format!("Not committed: {}", facts.count()),
            tone: Tone::Bad,
            reasons,
        };
    }
    if short {
        let cut: Vec<NodeId> = facts
            .others
            .iter()
            .map(|&(v, _)| v)
            .filter(|&v| !talks(view, lid, v) && runs(view, v))
            .collect();
        let mut text = format!(
            "The leader n{lid} reaches a majority: it sends the entry with its appends (next index {}), and commits it once a majority has acknowledged it.",
            next_indexes(l, &facts.others)
        );
        if !cut.is_empty() {
            text.push_str(&format!(" It cannot reach {} now.", names(&cut)));
        }
        reasons.push(text);
        return Answer {
            title: String::new(),
            verdict: format!("Not committed yet: {}", facts.count()),
            tone: Tone::Waiting,
            reasons,
        };
    }
    let acked = acknowledged(l, index, &facts.voters);
    if term < l.term {
        reasons.push(format!(
            "But its term {term} is older than the leader n{lid}'s term {}. A leader commits an entry of an older term only by committing one of its own term after it (§5.4.2, Figure 8): counting replicas is not enough, because until an entry of the leader's term is on a majority, a node whose last entry has a newer term than {term} could still win an election and overwrite this one.",
            l.term
        ));
        reasons.push(own_entry(view, l, index, facts));
        if view.teaching.bugs.commit_old_terms {
            reasons.push("The commit-old-terms bug is ON: this leader counts replicas of older terms anyway, which is unsafe.".into());
        }
        return Answer {
            title: String::new(),
            verdict: format!(
                "Not committed: a majority holds it, but it is of an older term ({term} < {})",
                l.term
            ),
            tone: Tone::Waiting,
            reasons,
        };
    }
    reasons.push(format!(
        "The leader n{lid} counts what followers acknowledged (its match index): {} ({} of {}). It commits when that is a majority; the other answers are on their way.",
        names(&acked),
        acked.len(),
        facts.voters.len()
    ));
    let mute: Vec<NodeId> = facts
        .holders
        .iter()
        .copied()
        .filter(|&v| v != lid && !acked.contains(&v) && !view.link(v, lid).is_some_and(|k| k.up))
        .collect();
    if !mute.is_empty() {
        reasons.push(format!(
            "The answers of {} cannot reach n{lid}: the link back to it is cut.",
            names(&mute)
        ));
    }
    Answer {
        title: String::new(),
        verdict: "Not committed yet: a majority holds it; the leader has not heard so".into(),
        tone: Tone::Waiting,
        reasons,
    }
}

/// The voters the leader `l` knows hold `index`: itself and the
/// followers whose match index reaches it.
fn acknowledged(l: &NodeView, index: Index, voters: &[NodeId]) -> Vec<NodeId> {
    voters
        .iter()
        .copied()
        .filter(|&v| {
            v == l.id
                || l.progress
                    .iter()
                    .any(|(id, p)| *id == v && p.match_index >= index)
        })
        .collect()
}

/// `n2 7, n3 5`: the leader's next index for each voter that lacks it.
fn next_indexes(l: &NodeView, others: &[(NodeId, Has)]) -> String {
    let parts: Vec<String> = others
        .iter()
        .filter_map(|&(v, _)| {
            l.progress
                .iter()
                .find(|(id, _)| *id == v)
                .map(|(_, p)| format!("n{v} {}", p.next_index))
        })
        .collect();
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

/// Where the leader's first entry of its own term after `index` stands.
fn own_entry(view: &ClusterView, l: &NodeView, index: Index, facts: &Facts) -> String {
    let Some(own) = l.log.iter().find(|e| e.index > index && e.term == l.term) else {
        return format!(
            "n{} has no entry of its own term {} after it yet.",
            l.id, l.term
        );
    };
    let with = Facts::of(view, own.index, own.term);
    let acked = acknowledged(l, own.index, &facts.voters);
    format!(
        "n{}'s first entry of term {} after it is {} ({}): {}, and n{} has counted {} ({} of {}). When n{} counts a majority holding that one, {index} commits with it.",
        l.id,
        l.term,
        own.index,
        own.text,
        with.count(),
        l.id,
        names(&acked),
        acked.len(),
        facts.voters.len(),
        l.id
    )
}

/// Index `index` past the end of node `n`'s log.
fn absent(view: &ClusterView, n: &NodeView, index: Index) -> Answer {
    let id = n.id;
    let mut reasons = Vec::new();
    if let Some(l) = view.leader().and_then(|l| view.node(l))
        && l.id != id
        && index <= l.last_index
    {
        let t = l
            .term_at(index)
            .map_or(String::new(), |t| format!(" (term {t})"));
        reasons.push(if !runs(view, id) {
            format!(
                "The leader n{} holds {index}{t}; n{id} is not running to receive it.",
                l.id
            )
        } else if !talks(view, l.id, id) {
            format!(
                "The leader n{} holds {index}{t}, but it cannot reach n{id}.",
                l.id
            )
        } else {
            let next = l
                .progress
                .iter()
                .find(|(v, _)| *v == id)
                .map_or(String::new(), |(_, p)| {
                    format!(" (its next index for n{id} is {})", p.next_index)
                });
            format!(
                "The leader n{} holds {index}{t} and sends it with its next append{next}.",
                l.id
            )
        });
    } else if view.nodes.iter().all(|v| v.last_index < index) {
        reasons.push(format!("No node holds an entry at {index} yet."));
    }
    Answer {
        title: format!("index {index} on n{id}"),
        verdict: format!(
            "n{id} holds no entry at {index}: its log ends at {}",
            n.last_index
        ),
        tone: Tone::Waiting,
        reasons,
    }
}

/// `text` with its first letter in capitals.
fn capital(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
