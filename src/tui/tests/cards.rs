//! What the cards and panes say they show: a campaign's tally, the
//! leader's next/match table, the election countdown, a node's side of a
//! partition, folded and cut events, key echoes that do not bury results,
//! and the layout with a tour or the checker open.

use super::*;
use crate::raft::{NodeSet, Tally};

fn assert_screen(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

/// Term 3, no leader: n1 is a Candidate with n3's vote and n4's refusal,
/// n2 a PreCandidate nobody answered yet, the rest followers.
fn campaigning() -> ClusterView {
    let terms = [1, 2, 2];
    let voters = NodeSet::of(1..=5);
    let nodes = (1..=5)
        .map(|id| {
            let mut n = node(id, Role::Follower, &terms, 3);
            n.leader = None;
            n.vote = None;
            n.term = 2;
            n
        })
        .collect();
    let mut v = cluster(nodes, vec![]);
    let mut n1 = (*v.nodes[0]).clone();
    n1.role = Role::Candidate;
    n1.term = 3;
    n1.vote = Some(1);
    n1.votes = Some(Tally {
        pre: false,
        term: 3,
        granted: NodeSet::of([1, 3]),
        refused: NodeSet::of([4]),
        voters,
        needed: 3,
        elapsed: 2,
    });
    n1.election_elapsed = 2;
    v.nodes[0] = Arc::new(n1);
    let mut n2 = (*v.nodes[1]).clone();
    n2.role = Role::PreCandidate;
    n2.votes = Some(Tally {
        pre: true,
        term: 3,
        granted: NodeSet::of([2]),
        refused: NodeSet::default(),
        voters,
        needed: 3,
        elapsed: 1,
    });
    n2.election_elapsed = 1;
    v.nodes[1] = Arc::new(n2);
    v
}

#[test]
fn a_candidate_card_shows_its_tally_at_every_size() {
    let (mut app, _) = app(campaigning());
    for (w, h) in [(100, 30), (120, 40), (200, 50)] {
        let s = screen(&mut app, w, h);
        // 18 columns in a card at 100 wide: the ids without their `n`.
        let full = if w == 100 {
            "votes 2/3 ✓1 3 ✗4"
        } else {
            "votes 2/3 ✓n1 n3 ✗n4"
        };
        assert!(s.contains(full), "{w}x{h}:\n{s}");
        assert!(s.contains("votes 1/3 ✓n2"), "{w}x{h}:\n{s}");
        assert_screen(&format!("candidate_tally_{w}x{h}"), s);
    }
    // Narrower cards keep the count and the refusals first.
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("votes 2/3"), "{s}");
    assert!(s.contains("✗4"), "{s}");
}

#[test]
fn the_tally_is_ascii_with_ascii() {
    let (mut app, _) = app_with(campaigning(), ascii_options(true));
    let s = screen(&mut app, 120, 40);
    assert!(s.contains("votes 2/3 +n1 n3 -n4"), "{s}");
    assert!(s.contains("in flight out 4 in 0"), "{s}");
}

#[test]
fn the_leader_shows_each_followers_next_and_match_index() {
    let (mut app, _) = app(elected());
    for (w, h) in [(100, 30), (120, 40), (200, 50)] {
        let s = screen(&mut app, w, h);
        assert!(s.contains("next match"), "{w}x{h}:\n{s}");
        // n2 holds all 12 entries, n5 the first 10.
        let row = |id: u64| {
            s.lines()
                .find(|l| l.contains(&format!("n{id} 1 2 2")))
                .unwrap_or_else(|| panic!("n{id}'s log row at {w}x{h}:\n{s}"))
                .to_string()
        };
        assert!(row(2).ends_with("13    12│"), "{w}x{h}: {}", row(2));
        assert!(row(5).ends_with("11    10│"), "{w}x{h}: {}", row(5));
        assert!(row(1).ends_with("leader│"), "{w}x{h}: {}", row(1));
        assert!(s.contains("match n2 12"), "the leader's card: {s}");
        assert_screen(&format!("leader_next_match_{w}x{h}"), s);
    }
    // Nine nodes at 200×50: every follower has its row.
    let mut v = elected();
    let terms = [1, 2, 2];
    for id in 6..=9 {
        v.nodes.push(Arc::new(node(id, Role::Follower, &terms, 3)));
    }
    let mut n1 = (*v.nodes[0]).clone();
    for id in 6..=9 {
        let p = crate::raft::Progress {
            match_index: 3,
            next_index: 4,
        };
        n1.progress.push((id, p));
    }
    v.nodes[0] = Arc::new(n1);
    let (mut nine, _) = super::app(v);
    let s = screen(&mut nine, 200, 50);
    let rows = s.lines().filter(|l| l.ends_with("4     3│")).count();
    assert_eq!(rows, 4, "{s}");
}

#[test]
fn the_election_timer_says_when_it_fires() {
    // startup(): n1 is 3 ticks into a 20-tick timeout, n4 12 ticks.
    let (mut app, _) = app(startup());
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("election in 0.17s"), "{s}");
    assert!(s.contains("election in 0.08s"), "{s}");
    // With room, the randomized timeout it counts towards.
    let s = screen(&mut app, 200, 50);
    assert!(s.contains("election in 0.17s of 0.20s"), "{s}");
    assert_screen("timer_200x50", s);
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("election 0.17s"), "{s}");
}

#[test]
fn cards_say_isolated_or_which_side_of_a_partition() {
    let v = cluster(
        elected().nodes.iter().map(|n| (**n).clone()).collect(),
        vec![vec![1], vec![2, 3], vec![4, 5]],
    );
    let (mut isolated, _) = app(v);
    let s = screen(&mut isolated, 100, 30);
    let top = s.lines().next().unwrap_or_default().to_string();
    assert!(top.contains("n1 Up isolated"), "{top}");
    assert!(top.contains("n2 Up minority"), "{top}");
    assert!(top.contains("n5 Up minority"), "{top}");
    assert!(s.contains("partitioned  1 | 2 3 | 4 5"), "{s}");
    assert_screen("isolated_100x30", s);
    let v = cluster(
        elected().nodes.iter().map(|n| (**n).clone()).collect(),
        vec![vec![1, 2], vec![3, 4, 5]],
    );
    let (mut split, _) = app(v);
    let s = screen(&mut split, 120, 40);
    let top = s.lines().next().unwrap_or_default().to_string();
    assert!(top.contains("n1 Up minority"), "{top}");
    assert!(top.contains("n3 Up majority"), "{top}");
    // Connected: no side.
    let (mut whole, _) = app(elected());
    let s = screen(&mut whole, 120, 40);
    assert!(!s.contains("majority") && !s.contains("isolated"), "{s}");
}

#[test]
fn the_network_pane_names_the_nodes_that_are_down() {
    let mut v = elected();
    for i in [2, 4] {
        let mut n = (*v.nodes[i]).clone();
        n.state = NodeState::Down;
        v.nodes[i] = Arc::new(n);
    }
    let (mut app, _) = app(v);
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("down n3 n5"), "{s}");
}

#[test]
fn repeated_events_fold_and_long_ones_are_cut() {
    let mut v = elected();
    v.events.push(ViewEvent {
        count: 12,
        ..event(90, Some(2), "became PreCandidate in term 9")
    });
    v.events.push(event(
        91,
        Some(2),
        "pre-vote timed out: votes 1/3, no answer n1 n3 n4 n5 and a tail too long for any pane",
    ));
    let (mut app, _) = app(v);
    for (w, h) in [(100, 30), (200, 50)] {
        let s = screen(&mut app, w, h);
        let folded = s
            .lines()
            .find(|l| l.contains("n2 became PreCandidate"))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(
            folded.trim_end_matches('│').trim_end().ends_with(" ×12"),
            "{folded}"
        );
        if w == 200 {
            assert!(folded.contains("became PreCandidate in term 9 ×12"), "{s}");
        }
        let cut = s
            .lines()
            .find(|l| l.contains("pre-vote timed out"))
            .unwrap_or_else(|| panic!("{s}"));
        assert!(cut.trim_end_matches('│').ends_with('…'), "{cut}");
        assert_screen(&format!("folded_events_{w}x{h}"), s);
    }
}

#[test]
fn key_echoes_share_a_line_with_their_result_and_fold() {
    let (mut app, rec) = app(elected());
    for _ in 0..3 {
        press(&mut app, &[key('k')]);
        app.update(Action::Done(Outcome {
            id: rec.last_id(),
            result: Ok("killed n1".into()),
        }));
    }
    press(&mut app, &[key(':')]);
    typed(&mut app, "get a");
    app.update(Action::Done(Outcome {
        id: rec.last_id(),
        result: Ok("1".into()),
    }));
    let lines: Vec<_> = app.console.transcript().collect();
    let kills: Vec<_> = lines.iter().filter(|l| l.key.is_some()).collect();
    assert_eq!(kills.len(), 1, "{lines:?}");
    assert_eq!(kills[0].count, 3);
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("❯ kill 1  (key) → killed n1 ×3"), "{s}");
    // The typed command's result is still in sight under it.
    assert!(s.contains("❯ get a"), "{s}");
}

#[test]
fn with_a_tour_open_the_network_and_events_stay_in_sight() {
    for (w, h) in [(100, 30), (120, 40)] {
        let (mut app, _went) = touring(elected());
        second_step_waiting(&mut app);
        let s = screen(&mut app, w, h);
        assert!(s.contains("Tour: election"), "{w}x{h}:\n{s}");
        assert!(s.contains(" Network "), "{w}x{h}:\n{s}");
        assert!(s.contains(" Events "), "{w}x{h}:\n{s}");
        assert!(s.contains("became Leader in term 2"), "{w}x{h}:\n{s}");
        assert_screen(&format!("tour_{w}x{h}"), s);
    }
}

#[test]
fn the_checker_and_the_log_sit_side_by_side_from_120_columns() {
    let (mut app, _) = app(elected());
    press(&mut app, &[key('c')]);
    let s = screen(&mut app, 120, 40);
    let row = s
        .lines()
        .find(|l| l.contains("Live checks"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(row.contains(" Log "), "{row}");
    assert_screen("checker_beside_log_120x40", s);
    // Narrower, the checker takes the log's place.
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("Live checks") && !s.contains(" Log ("), "{s}");
}

#[test]
fn no_legend_without_what_it_explains() {
    // 100×30: no room for the link matrix, so no legend for it either.
    let (mut app, _) = app(elected());
    let s = screen(&mut app, 100, 30);
    assert!(!s.contains("from\\to"), "{s}");
    assert!(!s.contains("1-9 in flight"), "{s}");
    let s = screen(&mut app, 200, 50);
    assert!(s.contains("from\\to") && s.contains("1-9 in flight"), "{s}");
}
