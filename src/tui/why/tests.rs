//! Every kind of answer, computed from views of real simulated runs (the
//! dashboard's own simulated mode, with its visible latency): a write cut
//! off in a minority, an entry committed and one the leader has not
//! counted yet, Figure 8's older-term entry on a majority, a leader's
//! votes, candidates refused for a log behind and for a leader's lease,
//! a learner and a down node.

use std::sync::Arc;

use super::{Answer, Subject, Tone, explain};
use crate::kv::Op;
use crate::raft::{NodeId, RefusalReason, Role};
use crate::runtime::{ClusterView, NodeState};
use crate::sim::SimOptions;
use crate::tui::driver::Request;
use crate::tui::sim::{ClockState, SimSession, TICK_WALL};

const CLOCK: ClockState = ClockState {
    paused: true,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

/// A quiet simulated run with the dashboards' visible latency.
pub(crate) fn session(seed: u64, nodes: usize) -> SimSession {
    let opts = SimOptions {
        seed,
        nodes,
        latency_us: crate::tui::VISIBLE_LATENCY_US,
        ..SimOptions::default()
    };
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

/// Ticks until `found` holds for the view (at most `ticks`); that view.
pub(crate) fn tick_until(
    s: &mut SimSession,
    ticks: usize,
    mut found: impl FnMut(&ClusterView) -> bool,
) -> Option<Arc<ClusterView>> {
    for _ in 0..ticks {
        s.tick();
        let view = s.view(CLOCK);
        if found(&view) {
            return Some(view);
        }
    }
    None
}

/// Ticks until a leader is elected, then `settle` ticks more; its id.
pub(crate) fn elect(s: &mut SimSession, settle: usize) -> NodeId {
    let view = tick_until(s, 400, |v| v.leader().is_some()).expect("a leader in 4 s");
    for _ in 0..settle {
        s.tick();
    }
    view.leader().unwrap_or(0)
}

fn put(k: &str, v: &str) -> Op {
    Op::Put {
        key: k.into(),
        value: v.into(),
    }
}

fn all(answer: &Answer) -> String {
    format!(
        "{}\n{}\n{}",
        answer.title,
        answer.verdict,
        answer.reasons.join("\n")
    )
}

/// The index of the first entry `node` holds whose text is `text`.
fn index_of(view: &ClusterView, node: NodeId, text: &str) -> Option<u64> {
    view.node(node)?
        .log
        .iter()
        .find(|e| e.text == text)
        .map(|e| e.index)
}

/// A leader cut off with one follower, and a write sent to it alone.
/// Returns the session, the leader and the follower with it.
pub(crate) fn minority_write(seed: u64) -> (SimSession, NodeId, NodeId) {
    let mut s = session(seed, 5);
    let leader = elect(&mut s, 20);
    let other = if leader == 1 { 2 } else { 1 };
    let rest: Vec<NodeId> = (1..=5).filter(|&n| n != leader && n != other).collect();
    s.request(1, Request::Partition(vec![vec![leader, other], rest]));
    s.request(2, Request::ClientOn(leader, put("y", "2")));
    let view = tick_until(&mut s, 100, |v| {
        index_of(v, other, "put y=2").is_some() && index_of(v, leader, "put y=2").is_some()
    });
    assert!(view.is_some(), "the write reaches the follower on its side");
    (s, leader, other)
}

#[test]
fn a_write_cut_off_in_a_minority_is_not_committed_and_the_answer_says_who_holds_it() {
    let (mut s, leader, other) = minority_write(3);
    let view = s.view(CLOCK);
    let index = index_of(&view, leader, "put y=2").unwrap();
    let a = explain(
        &view,
        Subject::Entry {
            node: leader,
            index,
        },
    );
    let (lo, hi) = (leader.min(other), leader.max(other));
    assert_eq!(
        a.verdict,
        format!("Not committed: 2 of 5 voters hold it (n{lo} n{hi}); a majority is 3")
    );
    assert_eq!(a.tone, Tone::Bad);
    assert!(
        a.title.contains(&format!("entry {index} on n{leader}")),
        "{a:?}"
    );
    assert!(a.title.contains("put y=2"), "{a:?}");
    let text = all(&a);
    assert!(
        text.contains(&format!(
            "The leader n{leader} is on the minority side of the partition"
        )) && text.contains(&format!("it reaches only n{lo} n{hi} (2 of 5)")),
        "{text}"
    );
    assert!(text.contains("With CheckQuorum"), "{text}");
    // The three without it are named with what their logs have.
    for id in (1..=5).filter(|&n| n != leader && n != other) {
        assert!(
            text.contains(&format!("n{id}: its log ends at")),
            "n{id}: {text}"
        );
    }
    // The leader itself: leading, but unable to commit.
    let a = explain(&view, Subject::Node(leader));
    let term = view.node(leader).unwrap().term;
    assert_eq!(
        a.verdict,
        format!("n{leader} leads term {term} but cannot commit")
    );
    assert!(
        all(&a).contains(&format!("Entry {index} waits on it")),
        "{a:?}"
    );
    // The majority side elects a newer leader; the old entry can then
    // never commit: that leader holds another entry at its index.
    let view = tick_until(&mut s, 400, |v| {
        v.leader().is_some_and(|l| l != leader && l != other)
            && v.leader()
                .and_then(|l| v.node(l))
                .is_some_and(|l| l.last_index >= index)
    })
    .expect("the majority elects a leader");
    let newer = view.leader().unwrap();
    let a = explain(
        &view,
        Subject::Entry {
            node: leader,
            index,
        },
    );
    assert_eq!(
        a.verdict,
        format!("Never commits: the leader n{newer} has another entry here")
    );
    assert!(all(&a).contains("log check fails"), "{a:?}");
    // The old leader, if still leading, knows a newer one leads.
    if view.node(leader).is_some_and(|n| n.role == Role::Leader) {
        let a = explain(&view, Subject::Node(leader));
        assert!(a.verdict.contains("still thinks it leads"), "{a:?}");
    }
    // Its follower cannot win an election on its side.
    let a = explain(&view, Subject::Node(other));
    assert!(all(&a).contains("it cannot win an election"), "{a:?}");
    assert_eq!(a.tone, Tone::Bad);
}

#[test]
fn an_entry_on_its_way_then_counted_then_known_committed() {
    let mut s = session(5, 5);
    let leader = elect(&mut s, 20);
    s.request(1, Request::Put("a".into(), "1".into()));
    let follower = if leader == 1 { 2 } else { 1 };
    let (mut on_way, mut uncounted, mut unknown, mut known) = (false, false, false, false);
    for _ in 0..100 {
        s.tick();
        let view = s.view(CLOCK);
        let Some(index) = index_of(&view, leader, "put a=1") else {
            continue;
        };
        let l = view.node(leader).unwrap();
        let f = view.node(follower).unwrap();
        let a = explain(
            &view,
            Subject::Entry {
                node: follower,
                index,
            },
        );
        let holders = view
            .nodes
            .iter()
            .filter(|n| index_of(&view, n.id, "put a=1") == Some(index))
            .count();
        if f.last_index < index {
            assert!(
                a.verdict
                    .starts_with(&format!("n{follower} holds no entry at {index}")),
                "{a:?}"
            );
        }
        if l.commit < index && holders < 3 {
            let b = explain(
                &view,
                Subject::Entry {
                    node: leader,
                    index,
                },
            );
            assert!(b.verdict.starts_with("Not committed yet:"), "{b:?}");
            assert!(all(&b).contains("reaches a majority"), "{b:?}");
            assert_eq!(b.tone, Tone::Waiting);
            on_way = true;
        } else if l.commit < index {
            let b = explain(
                &view,
                Subject::Entry {
                    node: leader,
                    index,
                },
            );
            assert_eq!(
                b.verdict,
                "Not committed yet: a majority holds it; the leader has not heard so"
            );
            assert!(
                all(&b).contains("counts what followers acknowledged"),
                "{b:?}"
            );
            uncounted = true;
        } else if f.last_index < index {
            continue;
        } else if f.commit < index {
            assert_eq!(
                a.verdict,
                format!("Committed, though n{follower} does not know yet")
            );
            unknown = true;
        } else {
            assert_eq!(a.verdict, "Committed");
            assert_eq!(a.tone, Tone::Good);
            assert!(all(&a).contains("commit index is"), "{a:?}");
            known = true;
            break;
        }
    }
    assert!(
        on_way && uncounted && unknown && known,
        "{on_way} {uncounted} {unknown} {known}"
    );
}

/// Figure 8 (c): a leader of a newer term holds an entry of an older
/// term that a majority holds; it is not committed until an entry of the
/// leader's own term is.
#[test]
fn an_older_term_entry_on_a_majority_waits_for_the_leaders_own_figure_8() {
    let mut found = None;
    'seeds: for seed in 1..20 {
        let mut s = session(seed, 5);
        let old = elect(&mut s, 20);
        let ids: Vec<NodeId> = (1..=5).filter(|&n| n != old).collect();
        let (a, b, c, d) = (ids[0], ids[1], ids[2], ids[3]);
        // The old leader writes x=1 with only `a` listening.
        s.request(
            1,
            Request::Partition(vec![vec![old, a], vec![b], vec![c], vec![d]]),
        );
        s.request(2, Request::ClientOn(old, put("x", "1")));
        if tick_until(&mut s, 100, |v| index_of(v, a, "put x=1").is_some()).is_none() {
            continue;
        }
        // It crashes; `a`, whose log is the longest, can win with b and c.
        s.request(3, Request::Kill(old));
        s.request(
            4,
            Request::Partition(vec![vec![a, b, c], vec![old], vec![d]]),
        );
        for _ in 0..400 {
            s.tick();
            let view = s.view(CLOCK);
            let Some(index) = index_of(&view, a, "put x=1") else {
                continue 'seeds;
            };
            let Some(l) = view.leader().and_then(|l| view.node(l)) else {
                continue;
            };
            let holders = view
                .nodes
                .iter()
                .filter(|n| index_of(&view, n.id, "put x=1") == Some(index))
                .count();
            let term = view.node(a).and_then(|n| n.term_at(index)).unwrap();
            if l.id == a && l.commit < index && holders >= 3 && term < l.term {
                found = Some((view.clone(), a, index, term, l.term));
                break 'seeds;
            }
            if l.commit >= index {
                continue 'seeds;
            }
        }
    }
    let (view, a, index, term, lterm) = found.expect("a seed shows Figure 8 (c)");
    let answer = explain(&view, Subject::Entry { node: a, index });
    assert_eq!(
        answer.verdict,
        format!(
            "Not committed: a majority holds it, but it is of an older term ({term} < {lterm})"
        )
    );
    let text = all(&answer);
    assert!(text.contains("(§5.4.2, Figure 8)"), "{text}");
    assert!(
        text.contains(&format!(
            "n{a}'s first entry of term {lterm} after it is {}",
            index + 1
        )),
        "{text}"
    );
    // The crashed old leader still holds it on its disk: it counts.
    assert!(text.contains("Held by"), "{text}");
}

#[test]
fn a_leader_says_whose_votes_won_it_and_that_it_reaches_a_majority() {
    let mut s = session(7, 5);
    let leader = elect(&mut s, 5);
    let view = s.view(CLOCK);
    let l = view.node(leader).unwrap();
    let voted: Vec<String> = view
        .nodes
        .iter()
        .filter(|n| n.term == l.term && n.vote == Some(leader))
        .map(|n| format!("n{}", n.id))
        .collect();
    assert!(voted.len() >= 3, "{voted:?}");
    let a = explain(&view, Subject::Node(leader));
    assert_eq!(a.verdict, format!("n{leader} leads term {}", l.term));
    assert_eq!(a.tone, Tone::Good);
    assert_eq!(a.title, format!("n{leader}: Leader in term {}", l.term));
    assert!(
        a.reasons[0].starts_with(&format!(
            "It won the election for term {}: {} voted for it ({} of 5; a majority is 3).",
            l.term,
            voted.join(" "),
            voted.len()
        )),
        "{a:?}"
    );
    assert!(all(&a).contains("a majority: it commits"), "{a:?}");
    // A follower follows it.
    let f = if leader == 1 { 2 } else { 1 };
    let a = explain(&view, Subject::Node(f));
    assert_eq!(
        a.verdict,
        format!("n{f} follows n{leader}, the leader of term {}", l.term)
    );
}

/// Five nodes with a leader, and one follower (`late`) cut off from
/// the rest: the session, the leader and `late`.
fn one_cut_off(seed: u64) -> (SimSession, NodeId, NodeId) {
    let mut s = session(seed, 5);
    let leader = elect(&mut s, 20);
    let late = if leader == 5 { 4 } else { 5 };
    let rest: Vec<NodeId> = (1..=5).filter(|&n| n != late).collect();
    s.request(1, Request::Partition(vec![vec![late], rest]));
    (s, leader, late)
}

/// A node cut off while the others wrote cannot reach them (its
/// requests die on cut links), then comes back behind as the leader
/// crashes: its pre-votes are refused, first for the leader's lease,
/// then because its log is behind; the answers say which.
#[test]
fn a_candidate_hears_who_refused_it_and_why() {
    let (mut lease, mut behind, mut link) = (false, false, false);
    for seed in 1..30 {
        let (mut s, leader, late) = one_cut_off(seed);
        s.request(2, Request::Put("k".into(), "v".into()));
        for _ in 0..60 {
            s.tick();
            let view = s.view(CLOCK);
            let n = view.node(late).unwrap();
            if let Some(tally) = n.votes
                && !tally.waiting().is_empty()
            {
                let a = explain(&view, Subject::Node(late));
                if all(&a).contains(&format!("give no answer: the links from n{late} to them are cut, so the requests never arrive.")) {
                    link = true;
                }
            }
        }
        // The leader crashes as the network heals: the others' lease
        // runs out an election timeout after its last heartbeat.
        s.request(3, Request::Kill(leader));
        s.request(4, Request::Heal);
        let mut check = |view: &ClusterView| {
            let n = view.node(late).unwrap();
            let Some(tally) = n.votes else { return };
            for v in tally.refused.iter() {
                let Some(r) = view
                    .node(v)
                    .and_then(|vn| vn.refusals.iter().find(|r| r.candidate == late).copied())
                else {
                    continue;
                };
                if r.term != tally.term || r.pre != tally.pre {
                    continue;
                }
                let a = explain(view, Subject::Node(late));
                let text = all(&a);
                match r.reason {
                    RefusalReason::Lease { leader: l, .. } => {
                        assert!(
                            text.contains(&format!("n{v} refused: it heard from the leader n{l}"))
                                && text.contains("(CheckQuorum's lease)"),
                            "{text}"
                        );
                        lease = true;
                    }
                    RefusalReason::LogBehind => {
                        assert!(
                            text.contains(&format!(
                                "n{v} refused: its log is more up to date than n{late}'s"
                            )) && text.contains("§5.4.1"),
                            "{text}"
                        );
                        behind = true;
                    }
                    _ => {}
                }
            }
        };
        for _ in 0..300 {
            s.tick();
            check(&s.view(CLOCK));
        }
        if lease && behind && link {
            break;
        }
    }
    assert!(
        lease && behind && link,
        "lease {lease}, log behind {behind}, cut link {link}"
    );
}

/// After a lost campaign the node is a follower again; its answer still
/// says who turned it down, from the refusals the voters keep.
#[test]
fn a_follower_says_how_its_last_campaign_was_turned_down() {
    let (mut lost, mut by_leader) = (false, false);
    for seed in 1..40 {
        let (mut s, leader, late) = one_cut_off(seed);
        for _ in 0..60 {
            s.tick();
        }
        s.request(2, Request::Heal);
        let view = tick_until(&mut s, 60, |v| {
            let n = v.node(late).unwrap();
            n.role == Role::Follower
                && v.nodes.iter().any(|o| {
                    o.refusals
                        .iter()
                        .any(|r| r.candidate == late && r.term >= n.term)
                })
        });
        let Some(view) = view else { continue };
        let a = explain(&view, Subject::Node(late));
        let text = all(&a);
        assert!(text.contains("Its last pre-vote for term"), "{text}");
        assert!(text.contains("was turned down by n"), "{text}");
        lost = true;
        // The leader itself turns a candidate away while in its lease: it
        // says so as the leader, not as a node that heard from one.
        if text.contains(&format!("n{leader} refused")) {
            assert!(
                text.contains(&format!("n{leader} refused: it is the leader of term")),
                "{text}"
            );
            by_leader = true;
            break;
        }
    }
    assert!(
        lost && by_leader,
        "lost campaign {lost}, refused by the leader {by_leader}"
    );
}

#[test]
fn a_learner_does_not_vote_and_a_down_node_takes_part_in_nothing() {
    let mut s = session(2, 3);
    let leader = elect(&mut s, 20);
    s.request(1, Request::AddLearner(4));
    let view = tick_until(&mut s, 200, |v| {
        v.configuration().is_some_and(|(c, _)| c.is_learner(4))
    })
    .expect("n4 joins as a learner");
    let a = explain(&view, Subject::Node(4));
    assert_eq!(a.verdict, "n4 is a learner: it does not vote");
    assert!(all(&a).contains("`promote 4` (P)"), "{a:?}");
    let down = if leader == 1 { 2 } else { 1 };
    s.request(2, Request::Kill(down));
    s.tick();
    let view = s.view(CLOCK);
    assert_eq!(view.node(down).map(|n| n.state), Some(NodeState::Down));
    let a = explain(&view, Subject::Node(down));
    assert_eq!(
        a.verdict,
        format!("n{down} is down: it takes part in nothing")
    );
    assert_eq!(a.title, format!("n{down}: down"));
    assert!(all(&a).contains(&format!("`restart {down}`")), "{a:?}");
}

#[test]
fn an_index_a_node_does_not_hold_and_a_node_that_does_not_exist() {
    let mut s = session(4, 3);
    let leader = elect(&mut s, 20);
    let view = s.view(CLOCK);
    let last = view.node(leader).unwrap().last_index;
    let a = explain(
        &view,
        Subject::Entry {
            node: leader,
            index: last + 5,
        },
    );
    assert_eq!(
        a.verdict,
        format!(
            "n{leader} holds no entry at {}: its log ends at {last}",
            last + 5
        )
    );
    assert!(all(&a).contains("No node holds an entry"), "{a:?}");
    assert_eq!(
        explain(&view, Subject::Node(8)).verdict,
        "There is no node n8"
    );
}

/// Without PreVote two candidates can run in the same term: each has
/// voted for itself, so each refuses the other, and says so.
#[test]
fn a_vote_already_given_is_a_reason_in_a_split_election() {
    for seed in 1..80 {
        let opts = SimOptions {
            seed,
            latency_us: crate::tui::VISIBLE_LATENCY_US,
            extensions: crate::sim::Extensions {
                pre_vote: false,
                check_quorum: true,
            },
            ..SimOptions::default()
        };
        let mut s = SimSession::new(opts, None, 64, "split".into()).unwrap();
        let found = tick_until(&mut s, 300, |v| {
            v.nodes.iter().any(|c| {
                c.votes.is_some_and(|t| {
                    t.refused.iter().any(|r| {
                        v.node(r).is_some_and(|rn| {
                            rn.refusals.iter().any(|x| {
                                x.candidate == c.id
                                    && x.term == t.term
                                    && matches!(x.reason, RefusalReason::AlreadyVoted(_))
                            })
                        })
                    })
                })
            })
        });
        let Some(view) = found else { continue };
        let c = view
            .nodes
            .iter()
            .find(|c| c.votes.is_some_and(|t| !t.refused.is_empty()))
            .unwrap();
        let text = all(&explain(&view, Subject::Node(c.id)));
        let voter = c.votes.unwrap().refused.iter().find(|&r| {
            view.node(r).is_some_and(|rn| {
                rn.refusals.iter().any(|x| {
                    x.candidate == c.id && matches!(x.reason, RefusalReason::AlreadyVoted(_))
                })
            })
        });
        let Some(voter) = voter else { continue };
        let other = view.node(voter).unwrap().vote.unwrap();
        assert!(
            text.contains(&format!(
                "n{voter} refused: it already voted for n{other} in term {}.",
                c.term
            )) && text.contains("A node votes once per term"),
            "{text}"
        );
        return;
    }
    panic!("no seed shows a split election");
}

/// The other refusals, from a real core's record: a request of an old
/// term, a pre-vote not ahead of the voter's term, a voter that follows
/// a leader of the term.
#[test]
fn old_terms_and_a_followed_leader_are_reasons_too() {
    use super::node::refusal_words;
    use crate::raft::{Body, Config, DurableState, HardState, Message, Node};
    let durable = DurableState {
        hard_state: HardState {
            term: 3,
            vote: None,
        },
        ..DurableState::default()
    };
    let mut n = Node::new(Config::new(1, (1..=5).collect()), durable, 1).unwrap();
    let ask = |n: &mut Node, from: u64, term: u64, body: Body| {
        n.step(Message {
            from,
            to: 1,
            term,
            body,
        });
        let _ = n.take_ready();
    };
    let vote = Body::Vote {
        last_index: 0,
        last_term: 0,
        transfer: false,
    };
    let pre = Body::PreVote {
        last_index: 0,
        last_term: 0,
    };
    ask(&mut n, 2, 2, vote.clone());
    ask(&mut n, 3, 3, pre);
    // A heartbeat of term 3 makes n1 follow n4, then n5 asks.
    ask(
        &mut n,
        4,
        3,
        Body::Heartbeat {
            commit: 0,
            read_seq: 0,
        },
    );
    ask(&mut n, 5, 3, vote);
    let words: Vec<String> = n.refusals().iter().map(|r| refusal_words(1, r)).collect();
    assert_eq!(
        words,
        vec![
            "n1 ignored it: the request was for term 2, older than n1's term 3.".to_string(),
            "n1 refused: it is already in term 3, so a pre-vote for term 3 is not ahead of it."
                .to_string(),
            "n1 refused: it follows n4, the leader of term 3.".to_string(),
        ]
    );
}

mod app;
