//! "Why?" on the dashboard: `w` on a node and on the entry under the log
//! cursor, the `why` command, the answer about a frame of the past, the
//! popup as drawn at the sizes a class uses (snapshots) and with ASCII
//! only, and the campaign tally in the compact node table.

use std::sync::Arc;

use ratatui::crossterm::event::KeyCode;

use super::{elect, minority_write, session, tick_until};
use crate::raft::{NodeId, Role};
use crate::runtime::ClusterView;
use crate::tui::action::{Action, Focus, NewView};
use crate::tui::app::App;
use crate::tui::driver::Request;
use crate::tui::sim::{ClockState, SimSession, TICK_WALL};
use crate::tui::tests::{app, app_with, ascii_options, code, key, press, screen, typed};

const CLOCK: ClockState = ClockState {
    paused: true,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

/// The minority write's view, the leader selected; the leader, the
/// follower with it and the write's index.
fn minority_app(seed: u64) -> (App, NodeId, NodeId, u64, Arc<ClusterView>) {
    let (mut s, leader, other) = minority_write(seed);
    let view = s.view(CLOCK);
    let index = view
        .node(leader)
        .and_then(|n| n.log.iter().find(|e| e.text == "put y=2"))
        .map(|e| e.index)
        .unwrap();
    let (mut a, _) = app((*view).clone());
    a.update(Action::Select(leader));
    (a, leader, other, index, view)
}

fn last_console_line(a: &App) -> String {
    a.console
        .transcript()
        .last()
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

#[test]
fn w_asks_about_the_node_and_in_the_log_pane_about_the_entry_under_the_cursor() {
    let (mut a, leader, _, index, _) = minority_app(3);
    press(&mut a, &[key('w')]);
    assert!(a.why);
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains(&format!("Why? n{leader}: Leader in term")),
        "{s}"
    );
    assert!(s.contains("but cannot commit"), "{s}");
    // The cards stay in sight above it.
    assert!(
        s.lines().next().unwrap_or_default().contains("minority"),
        "{s}"
    );
    // In the log pane, the cursor starts on the selected node's last entry.
    press(&mut a, &[code(KeyCode::Tab)]);
    assert_eq!(a.focus, Focus::Log);
    let s = screen(&mut a, 100, 30);
    assert!(s.contains(&format!("cursor at {index}: w asks why")), "{s}");
    assert!(
        s.contains(&format!("Why? entry {index} on n{leader}: term")),
        "{s}"
    );
    assert!(s.contains("Not committed: 2 of 5 voters hold it"), "{s}");
    // h moves the cursor back to the committed entry before it.
    press(&mut a, &[key('h')]);
    assert_eq!(a.log_cursor, Some(index - 1));
    let s = screen(&mut a, 100, 30);
    assert!(
        s.contains(&format!("Why? entry {} on n{leader}", index - 1)),
        "{s}"
    );
    assert!(s.contains("Committed"), "{s}");
    // End follows the tail again; Esc closes the answer, w reopens it.
    press(&mut a, &[code(KeyCode::End)]);
    assert_eq!(a.log_cursor, None);
    press(&mut a, &[code(KeyCode::Esc)]);
    assert!(!a.why);
    assert!(!screen(&mut a, 100, 30).contains("Why?"));
    press(&mut a, &[key('w'), key('w')]);
    assert!(!a.why, "w closes it too");
}

#[test]
fn the_why_command_selects_what_it_names_and_notes_the_verdict() {
    let (mut a, leader, other, index, _) = minority_app(3);
    press(&mut a, &[key(':')]);
    typed(&mut a, &format!("why entry {index} on {other}"));
    assert!(a.why);
    assert_eq!(
        (a.focus, a.selected, a.log_cursor),
        (Focus::Log, other, Some(index))
    );
    assert_eq!(
        last_console_line(&a),
        format!(
            "why entry {index} on n{other}: Not committed: 2 of 5 voters hold it (n{} n{}); a majority is 3",
            leader.min(other),
            leader.max(other)
        )
    );
    let s = screen(&mut a, 120, 40);
    assert!(
        s.contains(&format!("Why? entry {index} on n{other}")),
        "{s}"
    );
    press(&mut a, &[key(':')]);
    typed(&mut a, "why leader");
    assert_eq!((a.focus, a.selected), (Focus::Cluster, leader));
    assert!(last_console_line(&a).starts_with(&format!("why n{leader}: n{leader} leads term")));
    for (line, error) in [
        ("why 9", "not a node: the nodes are 1 to 5"),
        ("why entry x", "not a log index"),
        ("why entry 2 at 3", "write `why` (what is selected)"),
    ] {
        if a.focus != Focus::Console {
            press(&mut a, &[key(':')]);
        }
        typed(&mut a, line);
        assert!(
            last_console_line(&a).contains(error),
            "{line}: {}",
            last_console_line(&a)
        );
    }
}

/// Views of a run in which a write commits, fed to the app as the
/// simulated dashboard feeds them; the tick it committed on the leader.
fn committing_run(a: &mut App, s: &mut SimSession) -> u64 {
    let leader = elect(s, 20);
    s.request(1, Request::Put("a".into(), "1".into()));
    for _ in 0..100 {
        s.tick();
        let view = s.view(CLOCK);
        a.update(Action::View(NewView(view.clone())));
        let l = view.node(leader).unwrap();
        if l.log
            .iter()
            .any(|e| e.text == "put a=1" && e.index <= l.commit)
        {
            for _ in 0..5 {
                s.tick();
                a.update(Action::View(NewView(s.view(CLOCK))));
            }
            return view.tick;
        }
    }
    panic!("the write never committed");
}

#[test]
fn asked_about_a_past_frame_it_answers_about_that_frame() {
    let mut s = session(5, 5);
    let (mut a, _) = app((*s.view(CLOCK)).clone());
    let done = committing_run(&mut a, &mut s);
    let leader = a.view.leader().unwrap();
    a.update(Action::Select(leader));
    let index = a
        .view
        .node(leader)
        .and_then(|n| n.log.iter().find(|e| e.text == "put a=1"))
        .map(|e| e.index)
        .unwrap();
    press(&mut a, &[code(KeyCode::Tab), key('w')]);
    let now = screen(&mut a, 100, 30);
    assert!(
        now.contains(&format!("Why? entry {index} on n{leader}")),
        "{now}"
    );
    assert!(now.contains("✓ Committed"), "{now}");
    // Back to before the commit: the answer is about that frame.
    while a.view.tick >= done {
        press(&mut a, &[key(',')]);
    }
    assert!(a.past.is_some());
    let past = screen(&mut a, 100, 30);
    assert!(past.contains("in the past)"), "{past}");
    assert!(past.contains("Not committed"), "{past}");
    press(&mut a, &[key('b')]);
    assert!(screen(&mut a, 100, 30).contains("✓ Committed"));
}

/// The popup at the sizes a class uses, on the real minority write.
#[test]
fn snapshot_why_an_entry_is_not_committed_at_100x30_and_200x50() {
    let (mut a, _, _, _, _) = minority_app(3);
    press(&mut a, &[code(KeyCode::Tab), key('w')]);
    insta::assert_snapshot!("why_entry_100x30", screen(&mut a, 100, 30));
    insta::assert_snapshot!("why_entry_200x50", screen(&mut a, 200, 50));
    press(
        &mut a,
        &[code(KeyCode::Esc), code(KeyCode::BackTab), key('w')],
    );
    insta::assert_snapshot!("why_node_120x40", screen(&mut a, 120, 40));
}

/// Without colour and Unicode the answer reads the same, in ASCII.
#[test]
fn the_answer_works_with_no_color_and_ascii() {
    let (_, leader, _, index, view) = minority_app(3);
    let options = ascii_options(false);
    let (mut a, _) = app_with((*view).clone(), options);
    a.update(Action::Select(leader));
    press(&mut a, &[code(KeyCode::Tab), key('w')]);
    let s = screen(&mut a, 100, 30);
    let popup: Vec<&str> = s
        .lines()
        .skip_while(|l| !l.contains("Why?"))
        .take_while(|l| !l.contains("w or Esc closes"))
        .collect();
    assert!(popup.len() > 3, "{s}");
    assert!(popup[0].contains(&format!("entry {index}")), "{s}");
    assert!(popup[1].contains("x Not committed"), "{s}");
    assert!(popup.iter().any(|l| l.contains("| - The leader")), "{s}");
    for l in &popup {
        assert!(l.is_ascii(), "not ASCII: {l}");
    }
}

/// A campaign's tally shows in the compact table the small sizes use,
/// as on a card: here nine nodes at 100×30, from a real election.
#[test]
fn the_compact_node_table_shows_a_campaigns_tally() {
    let mut s = session(1, 9);
    let view = tick_until(&mut s, 400, |v| {
        v.nodes.iter().any(|n| {
            n.votes
                .is_some_and(|t| t.granted_count() >= 2 && t.granted_count() < t.needed)
        })
    })
    .expect("a campaign with two votes");
    let (mut a, _) = app((*view).clone());
    let s = screen(&mut a, 100, 30);
    assert!(
        a.layout(ratatui::layout::Rect::new(0, 0, 100, 30))
            .is_some_and(|l| l.cards.is_empty()),
        "the table is shown"
    );
    let c = view
        .nodes
        .iter()
        .find(|n| n.votes.is_some_and(|t| t.granted_count() >= 2))
        .unwrap();
    let t = c.votes.unwrap();
    let granted: Vec<String> = t.granted.iter().map(|id| format!("n{id}")).collect();
    let row = s
        .lines()
        .find(|l| l.contains(&format!("n{} ", c.id)) && l.contains("term"))
        .unwrap_or_default();
    assert!(
        row.contains(&format!(
            "votes {}/{} ✓{}",
            t.granted_count(),
            t.needed,
            granted.join(" ")
        )),
        "{row}\n{s}"
    );
    assert!(matches!(c.role, Role::PreCandidate | Role::Candidate));
}
