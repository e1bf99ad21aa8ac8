//! Why a node is what it is: why it leads (whose votes, in which term) or
//! does not (who refused its campaign and why, whom it follows, the
//! minority side of a partition), why a leader cannot commit, why a
//! learner does not vote.

use super::{Answer, Tone, majority, names, reach, runs, secs, sides, talks, voters};
use crate::raft::{Event, NodeId, RefusalReason, Role, Tally, Term, VoteRefusal};
use crate::runtime::{ClusterView, MemberRole, NodeState, NodeView};

/// Answers "why?" about node `n`.
pub(super) fn explain(view: &ClusterView, n: &NodeView) -> Answer {
    let id = n.id;
    let title = match n.state {
        NodeState::Up => format!("n{id}: {} in term {}", n.role, n.term),
        NodeState::Paused => format!("n{id}: paused, {} in term {}", n.role, n.term),
        NodeState::Down => format!("n{id}: down"),
    };
    let mut answer = match (n.state, view.member_role(id)) {
        (NodeState::Down, _) => down(n),
        (_, MemberRole::Learner) => learner(view, n),
        (_, role @ (MemberRole::Removed | MemberRole::Joining)) => outside(n, role),
        (NodeState::Paused, _) => paused(n),
        (NodeState::Up, MemberRole::Voter) => match (n.role, n.votes) {
            (Role::Leader, _) => leader(view, n),
            (Role::PreCandidate | Role::Candidate, Some(tally)) => candidate(view, n, &tally),
            _ => follower(view, n),
        },
    };
    answer.title = title;
    answer
}

fn down(n: &NodeView) -> Answer {
    let vote = n
        .vote
        .map_or("no vote".to_string(), |v| format!("its vote for n{v}"));
    Answer {
        title: String::new(),
        verdict: format!("n{} is down: it takes part in nothing", n.id),
        tone: Tone::Bad,
        reasons: vec![
            "A crashed node sends and receives nothing: it neither votes nor counts towards a majority.".into(),
            format!(
                "Its disk keeps term {}, {vote} and its log up to {}; restarted (r, or `restart {}`), it starts from them as a follower.",
                n.term, n.last_index, n.id
            ),
        ],
    }
}

fn paused(n: &NodeView) -> Answer {
    Answer {
        title: String::new(),
        verdict: format!("n{} is paused: frozen, like a long garbage-collection pause", n.id),
        tone: Tone::Bad,
        reasons: vec![
            format!("It reads no messages and its timers stand still; it still believes it is a {} in term {}.", n.role, n.term),
            "Resumed (p), it acts on what arrived meanwhile: a leader learns of any newer term and steps down.".into(),
        ],
    }
}

fn learner(view: &ClusterView, n: &NodeView) -> Answer {
    let id = n.id;
    let leader = view.leader().and_then(|l| view.node(l));
    let mut reasons = vec![
        "A learner receives the leader's log but does not vote and is not counted for a majority, so it never campaigns. A new node joins this way so that commits do not wait for it while it catches up (thesis §4.2.1).".into(),
    ];
    if let Some(l) = leader
        && let Some((_, p)) = l.progress.iter().find(|(v, _)| *v == id)
    {
        reasons.push(format!(
            "The leader n{} knows it holds the log up to {} of {}.",
            l.id, p.match_index, l.last_index
        ));
    }
    reasons.push(format!(
        "`promote {id}` (P) makes it a voter once it has caught up."
    ));
    Answer {
        title: String::new(),
        verdict: format!("n{id} is a learner: it does not vote"),
        tone: Tone::Waiting,
        reasons,
    }
}

fn outside(n: &NodeView, role: MemberRole) -> Answer {
    let id = n.id;
    let (verdict, why) = if role == MemberRole::Removed {
        (
            format!("n{id} is not a member: it was removed"),
            "The configuration the cluster uses does not name it, so it neither votes nor campaigns, and the leader sends it nothing. It may never hear of its removal (PreVote and CheckQuorum keep it from disrupting).",
        )
    } else {
        (
            format!("n{id} is joining: not a member yet"),
            "It waits, empty, for the leader to add it as a learner (`add`).",
        )
    };
    Answer {
        title: String::new(),
        verdict,
        tone: Tone::Waiting,
        reasons: vec![why.to_string()],
    }
}

fn leader(view: &ClusterView, n: &NodeView) -> Answer {
    let id = n.id;
    let all = voters(view);
    let q = majority(&all);
    let mut reasons = Vec::new();
    // Who voted for it: their vote in its term is on their cards.
    let votes: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&v| {
            view.node(v)
                .is_some_and(|vn| vn.term == n.term && vn.vote == Some(id))
        })
        .collect();
    let moved: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&v| view.node(v).is_some_and(|vn| vn.term > n.term))
        .collect();
    let mut won = format!(
        "It won the election for term {}: {} voted for it ({} of {}; a majority is {q}).",
        n.term,
        names(&votes),
        votes.len(),
        all.len()
    );
    if votes.len() < q && !moved.is_empty() {
        won.push_str(&format!(
            " The other votes it had are gone from view: {} moved on to a newer term.",
            names(&moved)
        ));
    }
    reasons.push(won);
    if let Some(newer) = view.leader().filter(|&l| l != id)
        && let Some(ln) = view.node(newer)
    {
        let cut = if talks(view, id, newer) {
            String::new()
        } else {
            format!(" (it cannot reach n{newer})")
        };
        reasons.push(format!(
            "But n{newer} leads term {}, a newer one, and n{id} has not heard of it yet{cut}. Its appends carry term {}: the first node of the newer term that gets one answers with its own term, and n{id} steps down.",
            ln.term, n.term
        ));
        return Answer {
            title: String::new(),
            verdict: format!("n{id} still thinks it leads, but n{newer} leads a newer term"),
            tone: Tone::Bad,
            reasons,
        };
    }
    let can = reach(view, id);
    if can.len() < q {
        let pending = if n.last_index > n.commit {
            format!(
                " {} on it and cannot commit.",
                entries_wait(n.commit + 1, n.last_index)
            )
        } else {
            String::new()
        };
        reasons.push(format!(
            "It is on the minority side{}: it reaches only {} ({} of {}), and a leader commits only what a majority acknowledges.{pending}",
            sides(view).map(|s| format!(" of {s}")).unwrap_or_default(),
            names(&can),
            can.len(),
            all.len()
        ));
        reasons.push(if view.teaching.extensions.check_quorum {
            "With CheckQuorum it steps down once an election timeout passes without hearing from a majority; the majority side can elect a leader of a newer term meanwhile.".into()
        } else {
            "Without CheckQuorum (--no-check-quorum) it leads on, alone and useless, until it hears of a newer term.".into()
        });
        return Answer {
            title: String::new(),
            verdict: format!("n{id} leads term {} but cannot commit", n.term),
            tone: Tone::Bad,
            reasons,
        };
    }
    let mut commit = format!(
        "It reaches {} ({} of {}), a majority: it commits what they acknowledge. Commit {}, last {}.",
        names(&can),
        can.len(),
        all.len(),
        n.commit,
        n.last_index
    );
    if n.last_index > n.commit {
        let matches: Vec<String> = n
            .progress
            .iter()
            .map(|(v, p)| format!("n{v} {}", p.match_index))
            .collect();
        commit.push_str(&format!(
            " {} for acknowledgements (match: {}).",
            entries_wait(n.commit + 1, n.last_index),
            matches.join(", ")
        ));
    }
    reasons.push(commit);
    reasons.push(
        "Its heartbeats reset the others' election timers, so none of them campaigns while they hear from it."
            .into(),
    );
    Answer {
        title: String::new(),
        verdict: format!("n{id} leads term {}", n.term),
        tone: Tone::Good,
        reasons,
    }
}

fn candidate(view: &ClusterView, n: &NodeView, tally: &Tally) -> Answer {
    let id = n.id;
    let what = if tally.pre {
        format!("a pre-vote for term {}", tally.term)
    } else {
        format!("the election for term {}", tally.term)
    };
    let granted: Vec<NodeId> = tally
        .granted
        .iter()
        .filter(|&v| tally.voters.contains(v))
        .collect();
    let mut reasons = vec![format!(
        "It runs {what}: {} of the {} it needs granted ({}, its own vote included).",
        granted.len(),
        tally.needed,
        names(&granted)
    )];
    if tally.pre {
        reasons.push("A pre-vote asks whether the voters would vote for it, without raising anyone's term: a node that cannot win does not disturb the cluster (PreVote).".into());
    }
    let mut said = Said::default();
    for v in tally.refused.iter().filter(|&v| tally.voters.contains(v)) {
        said.add(
            refusal_of(view, v, id, tally.pre, tally.term)
                .map_or((format!("n{v} refused."), None), |r| refusal_text(v, &r)),
        );
    }
    let mut silent: Vec<(Silent, Vec<NodeId>)> = Vec::new();
    for v in tally.waiting() {
        match no_answer(view, id, v, tally) {
            Err(r) => said.add(refusal_text(v, &r)),
            Ok(why) => match silent.iter_mut().find(|(w, _)| *w == why) {
                Some((_, ids)) => ids.push(v),
                None => silent.push((why, vec![v])),
            },
        }
    }
    for (why, ids) in silent {
        said.lines.push(silent_text(id, &ids, why));
    }
    reasons.extend(said.into_reasons());
    let can = reach(view, id);
    if can.len() < tally.needed {
        reasons.push(format!(
            "It reaches only {} of the voters{}: it cannot win until the network heals.",
            names(&can),
            sides(view).map(|s| format!(" ({s})")).unwrap_or_default()
        ));
    }
    let left = n.election_timeout.saturating_sub(n.election_elapsed);
    reasons.push(format!(
        "If no majority grants it in the {} left of its election timeout, it starts a new round.",
        secs(left)
    ));
    Answer {
        title: String::new(),
        verdict: format!(
            "Not leader yet: {} of the {} votes it needs",
            granted.len(),
            tally.needed
        ),
        tone: if can.len() < tally.needed || tally.lost() {
            Tone::Bad
        } else {
            Tone::Waiting
        },
        reasons,
    }
}

/// `Entry 5 waits` or `Entries 5..7 wait`.
fn entries_wait(from: u64, to: u64) -> String {
    if from == to {
        format!("Entry {from} waits")
    } else {
        format!("Entries {from}..{to} wait")
    }
}

/// Why a voter has not answered a round, when it did not say so itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Silent {
    Down,
    Paused,
    CutThere,
    CutBack,
    OnItsWay,
}

/// Why voter `v` has not answered candidate `id`'s round: the refusal
/// it kept for ignoring it, or what the view shows.
fn no_answer(
    view: &ClusterView,
    id: NodeId,
    v: NodeId,
    tally: &Tally,
) -> Result<Silent, VoteRefusal> {
    let up = |a, b| view.link(a, b).is_some_and(|l| l.up);
    if !runs(view, v) {
        return Ok(
            if view.node(v).is_some_and(|n| n.state == NodeState::Paused) {
                Silent::Paused
            } else {
                Silent::Down
            },
        );
    }
    if let Some(r) = refusal_of(view, v, id, tally.pre, tally.term)
        && !r.answered
    {
        return Err(r);
    }
    Ok(if !up(id, v) {
        Silent::CutThere
    } else if !up(v, id) {
        Silent::CutBack
    } else {
        Silent::OnItsWay
    })
}

/// The voters `ids` that are silent to candidate `id` for `why`, in one
/// sentence.
fn silent_text(id: NodeId, ids: &[NodeId], why: Silent) -> String {
    let who = names(ids);
    let one = ids.len() == 1;
    let (gives, is) = if one {
        ("gives", "is")
    } else {
        ("give", "are")
    };
    match why {
        Silent::Down => format!("{who} {gives} no answer: down."),
        Silent::Paused => format!("{who} {gives} no answer: paused."),
        Silent::CutThere if one => format!(
            "{who} gives no answer: the link n{id} → {who} is cut, so the request never arrives."
        ),
        Silent::CutThere => format!(
            "{who} give no answer: the links from n{id} to them are cut, so the requests never arrive."
        ),
        Silent::CutBack if one => {
            format!("{who}'s answer cannot come back: the link {who} → n{id} is cut.")
        }
        Silent::CutBack => {
            format!("The answers of {who} cannot come back: their links to n{id} are cut.")
        }
        Silent::OnItsWay => {
            format!("{who} {is} yet to answer: the requests or the answers are on their way.")
        }
    }
}

/// The refusal voter `v` keeps for candidate `id`'s round (`pre`, `term`).
fn refusal_of(
    view: &ClusterView,
    v: NodeId,
    id: NodeId,
    pre: bool,
    term: Term,
) -> Option<VoteRefusal> {
    view.node(v)?
        .refusals
        .iter()
        .find(|r| r.candidate == id && r.pre == pre && r.term == term)
        .copied()
}

/// The rule behind a log-up-to-date refusal.
const LOG_RULE: &str = "A voter grants only a candidate whose log is at least as up to date as its own (§5.4.1): so a leader always holds every committed entry.";

/// The rule behind a lease refusal.
const LEASE_RULE: &str = "A node that hears from a working leader turns candidates away (CheckQuorum's lease): so a node cut off for a while cannot depose it when it comes back.";

/// The rule behind a vote already given.
const ONE_VOTE_RULE: &str = "A node votes once per term (and remembers its vote on disk): so a term has at most one leader.";

/// A voter's refusal in words, and the rule behind it (said once per
/// answer, however many voters it turned away).
fn refusal_text(v: NodeId, r: &VoteRefusal) -> (String, Option<&'static str>) {
    let verb = if r.answered { "refused" } else { "ignored it" };
    let c = r.candidate;
    match r.reason {
        RefusalReason::LogBehind => {
            let ((ci, ct), (vi, vt)) = (r.candidate_last, r.voter_last);
            let how = if vt > ct {
                format!("its last entry is of a newer term ({vt} > {ct})")
            } else {
                format!("its log is longer ({vi} > {ci} entries, both ending in term {vt})")
            };
            (
                format!("n{v} refused: its log is more up to date than n{c}'s — {how}."),
                Some(LOG_RULE),
            )
        }
        RefusalReason::AlreadyVoted(other) => (
            format!(
                "n{v} refused: it already voted for n{other} in term {}.",
                r.voter_term
            ),
            Some(ONE_VOTE_RULE),
        ),
        RefusalReason::HasLeader(l) => (
            format!(
                "n{v} refused: it follows n{l}, the leader of term {}.",
                r.voter_term
            ),
            None,
        ),
        RefusalReason::Lease { leader, .. } if leader == v => (
            format!(
                "n{v} {verb}: it is the leader of term {}, and a working leader keeps its place.",
                r.voter_term
            ),
            Some(LEASE_RULE),
        ),
        RefusalReason::Lease {
            leader,
            elapsed,
            min,
        } => (
            format!(
                "n{v} {verb}: it heard from the leader n{leader} {} before, less than the shortest election timeout ({}).",
                secs(elapsed),
                secs(min)
            ),
            Some(LEASE_RULE),
        ),
        RefusalReason::StaleTerm => (
            format!(
                "n{v} {verb}: the request was for term {}, older than n{v}'s term {}.",
                r.term, r.voter_term
            ),
            None,
        ),
        RefusalReason::TermNotAhead => (
            format!(
                "n{v} refused: it is already in term {}, so a pre-vote for term {} is not ahead of it.",
                r.voter_term, r.term
            ),
            None,
        ),
    }
}

/// A voter's refusal in words, without the rule behind it.
#[cfg(test)]
pub(super) fn refusal_words(v: NodeId, r: &VoteRefusal) -> String {
    refusal_text(v, r).0
}

/// Reasons, with the rules behind them added once each at the end.
#[derive(Default)]
struct Said {
    lines: Vec<String>,
    rules: Vec<&'static str>,
}

impl Said {
    fn add(&mut self, (line, rule): (String, Option<&'static str>)) {
        self.lines.push(line);
        if let Some(rule) = rule
            && !self.rules.contains(&rule)
        {
            self.rules.push(rule);
        }
    }

    fn into_reasons(self) -> Vec<String> {
        let mut out = self.lines;
        out.extend(self.rules.into_iter().map(String::from));
        out
    }
}

fn follower(view: &ClusterView, n: &NodeView) -> Answer {
    let id = n.id;
    let all = voters(view);
    let q = majority(&all);
    let left = n.election_timeout.saturating_sub(n.election_elapsed);
    let mut reasons = Vec::new();
    let leads = n.leader.filter(|&l| l != id);
    let verdict = match leads {
        Some(l) => {
            reasons.push(format!(
                "A follower stands for election only when its election timer runs out without a word from a leader. n{l}'s appends and heartbeats keep resetting it (it would fire in {}).",
                secs(left)
            ));
            if !talks(view, id, l) {
                reasons.push(format!(
                    "n{id} cannot reach n{l} now: it learns no new entries or commits, and its timer will run out."
                ));
            }
            format!("n{id} follows n{l}, the leader of term {}", n.term)
        }
        None => {
            reasons.push(format!(
                "It knows no leader in term {}. Its election timer fires in {}: then it asks the voters for their votes{}.",
                n.term,
                secs(left),
                if view.teaching.extensions.pre_vote {
                    " (a pre-vote first)"
                } else {
                    ""
                }
            ));
            format!("n{id} waits for a leader")
        }
    };
    reasons.extend(last_campaign(view, n));
    if let Some(text) = stepped_down(view, id) {
        reasons.push(text);
    }
    let can = reach(view, id);
    if can.len() < q {
        reasons.push(format!(
            "It reaches only {} ({} of {}; a majority is {q}){}: it cannot win an election until the network heals.",
            names(&can),
            can.len(),
            all.len(),
            sides(view).map(|s| format!(", on a side of {s}")).unwrap_or_default()
        ));
    }
    Answer {
        title: String::new(),
        verdict,
        tone: if can.len() < q {
            Tone::Bad
        } else if leads.is_some_and(|l| talks(view, id, l)) {
            Tone::Good
        } else {
            Tone::Waiting
        },
        reasons,
    }
}

/// How node `n`'s latest campaign was refused, from the refusals the
/// voters keep, when it was in its current term or later.
fn last_campaign(view: &ClusterView, n: &NodeView) -> Vec<String> {
    let mut refusals: Vec<(NodeId, VoteRefusal)> = view
        .nodes
        .iter()
        .filter(|v| v.id != n.id)
        .flat_map(|v| v.refusals.iter().map(|r| (v.id, *r)))
        .filter(|(_, r)| r.candidate == n.id && r.term >= n.term)
        .collect();
    // The latest round: the highest term, a vote after its pre-vote.
    let Some(latest) = refusals.iter().map(|(_, r)| (r.term, !r.pre)).max() else {
        return Vec::new();
    };
    refusals.retain(|(_, r)| (r.term, !r.pre) == latest);
    let (term, pre) = (latest.0, !latest.1);
    let round = if pre {
        format!("pre-vote for term {term}")
    } else {
        format!("election for term {term}")
    };
    let who: Vec<NodeId> = refusals.iter().map(|(v, _)| *v).collect();
    let mut said = Said::default();
    said.lines.push(format!(
        "Its last {round} was turned down by {}:",
        names(&who)
    ));
    for (v, r) in &refusals {
        said.add(refusal_text(*v, r));
    }
    said.into_reasons()
}

/// When node `id` led its current term and stepped down for want of a
/// quorum (CheckQuorum), as the event list has it.
fn stepped_down(view: &ClusterView, id: NodeId) -> Option<String> {
    let term = view.node(id)?.term;
    let text = Event::QuorumLost { term }.text_of(id)?;
    let e = view
        .events
        .iter()
        .rev()
        .find(|e| e.node == Some(id) && e.text == text)?;
    Some(format!(
        "It led term {term} until {}, when it stepped down: it had not heard from a majority for an election timeout (CheckQuorum).",
        secs(e.tick)
    ))
}
