//! Time travel and the simulated mode's marks, without a terminal: keys
//! through the key map into `update`, and the scrubber drawn on ratatui's
//! `TestBackend` (insta snapshots).

use std::sync::Arc;

use ratatui::crossterm::event::KeyCode;

use super::{Recorder, app, code, elected, event, key, press, screen, sim_seed_7, typed};
use crate::runtime::{ClusterView, NodeState};
use crate::sim::Violation;
use crate::tui::action::{Action, NewView};
use crate::tui::app::App;
use crate::tui::driver::Request;
use crate::tui::sim_status::SimStatus;

/// The elected cluster at `tick`: n2's commit counts the ticks, n3 is
/// down from tick 420.
fn at(tick: u64) -> ClusterView {
    let mut v = elected();
    v.tick = tick;
    v.version = tick;
    let mut n2 = (*v.nodes[1]).clone();
    n2.commit = tick - 400;
    v.nodes[1] = Arc::new(n2);
    if tick >= 420 {
        let mut n3 = (*v.nodes[2]).clone();
        n3.state = NodeState::Down;
        v.nodes[2] = Arc::new(n3);
        v.events.push(event(420, Some(3), "killed"));
    }
    v
}

/// An app that has seen ticks 412 (its first view) to 440.
fn travelled() -> (App, Recorder) {
    let (mut app, rec) = app(at(412));
    for t in 413..=440 {
        app.update(Action::View(NewView(Arc::new(at(t)))));
    }
    (app, rec)
}

fn last_console_line(app: &App) -> String {
    app.console
        .transcript()
        .last()
        .map(|l| l.text.clone())
        .unwrap_or_default()
}

#[test]
fn scrubbing_steps_through_recorded_ticks() {
    let (mut app, rec) = travelled();
    assert_eq!(app.history.len(), 29);
    press(&mut app, &[key(',')]);
    // Leaving the present pauses the running clock first.
    assert_eq!(rec.requests(), vec![Request::PauseClock]);
    assert_eq!(app.past, Some(27));
    assert_eq!(app.view.tick, 439);
    assert_eq!(app.view.node(2).unwrap().commit, 39);
    press(&mut app, &[key('<'), key('<')]);
    assert_eq!(app.view.tick, 419);
    assert_eq!(app.view.node(3).unwrap().state, NodeState::Up);
    press(&mut app, &[key('.')]);
    assert_eq!(app.view.tick, 420);
    assert_eq!(app.view.node(3).unwrap().state, NodeState::Down);
    // `.` in the past is history, not the clock: no Step was sent.
    assert_eq!(rec.requests(), vec![Request::PauseClock]);
    press(&mut app, &[key('>')]);
    assert_eq!(app.view.tick, 430);
    // Forward past the newest view is the present.
    press(&mut app, &[key('>'), key('>')]);
    assert_eq!(app.past, None);
    assert!(Arc::ptr_eq(&app.view, &app.live));
    // Back to the oldest, and no further.
    press(
        &mut app,
        &[key(','), key('<'), key('<'), key('<'), key('<')],
    );
    assert_eq!(app.view.tick, 412);
    press(&mut app, &[key(',')]);
    assert_eq!(app.view.tick, 412);
    assert!(last_console_line(&app).contains("oldest view recorded"));
}

#[test]
fn escape_and_b_return_to_the_present() {
    let (mut app, _) = travelled();
    press(&mut app, &[key('<')]);
    assert!(app.past.is_some());
    press(&mut app, &[key('b')]);
    assert_eq!(app.past, None);
    assert_eq!(app.view.tick, 440);
    press(&mut app, &[key('<'), code(KeyCode::Esc)]);
    assert_eq!(app.past, None);
    // Outside the past, b does nothing.
    press(&mut app, &[key('b')]);
    assert_eq!(app.past, None);
}

#[test]
fn the_past_refuses_controls_and_says_why() {
    let (mut app, rec) = travelled();
    press(&mut app, &[key('<')]);
    let before = rec.requests().len();
    press(&mut app, &[key('3'), key('k'), key('h'), key(' ')]);
    press(&mut app, &[key(':')]);
    typed(&mut app, "put x 1");
    assert_eq!(rec.requests().len(), before, "{:?}", rec.requests());
    let line = last_console_line(&app);
    assert!(line.contains("viewing the past (t=4.30s)"), "{line}");
    assert!(line.contains("Esc or b returns"), "{line}");
    // Speed changes nothing in the cluster: allowed.
    press(&mut app, &[code(KeyCode::Esc), key('+')]);
    assert_eq!(rec.requests().last(), Some(&Request::Speed(2.0)));
}

#[test]
fn views_arriving_in_the_past_are_recorded_not_shown() {
    let (mut app, _) = travelled();
    press(&mut app, &[key('<')]);
    let shown = app.view.clone();
    for t in 441..=445 {
        app.update(Action::View(NewView(Arc::new(at(t)))));
    }
    assert!(Arc::ptr_eq(&app.view, &shown));
    assert_eq!(app.live.tick, 445);
    assert_eq!(app.history.len(), 34);
    press(&mut app, &[key('b')]);
    assert_eq!(app.view.tick, 445);
}

#[test]
fn a_full_history_forgets_the_oldest_and_keeps_the_shown_tick() {
    let (mut app, _) = app(at(412));
    let cap = app.history.cap() as u64;
    for t in 413..412 + cap + 10 {
        app.update(Action::View(NewView(Arc::new(at(t)))));
    }
    assert_eq!(app.history.len() as u64, cap);
    press(&mut app, &[key('<')]);
    let shown = app.view.tick;
    for t in 412 + cap + 10..412 + cap + 20 {
        app.update(Action::View(NewView(Arc::new(at(t)))));
    }
    // The oldest views went; the position follows the shown view.
    let at_now = app.past.and_then(|i| app.history.get(i)).map(|v| v.tick);
    assert_eq!(at_now, Some(shown));
}

#[test]
fn a_restarted_run_leaves_the_past() {
    let (mut app, _) = travelled();
    press(&mut app, &[key('<')]);
    app.update(Action::View(NewView(Arc::new(at(412)))));
    assert_eq!(app.past, None);
    assert_eq!(app.history.len(), 1);
}

#[test]
fn replay_key_outside_the_simulator_explains() {
    let (mut app, rec) = travelled();
    press(&mut app, &[key('R')]);
    assert!(rec.requests().is_empty());
    assert!(last_console_line(&app).contains("raftlab --sim"));
    app.update(Action::Sim(Arc::new(status(None))));
    press(&mut app, &[key('<'), key('R')]);
    assert_eq!(app.past, None, "R leaves the past");
    assert_eq!(rec.requests().last(), Some(&Request::Replay));
}

fn status(violation: Option<Violation>) -> SimStatus {
    SimStatus {
        now_us: 4_400_000,
        trace_hash: 0x1234,
        violation,
        ..SimStatus::clone(&sim_seed_7())
    }
}

#[test]
fn snapshot_scrubber_80x24() {
    let (mut app, _) = travelled();
    press(&mut app, &[key('<'), key('<'), key(',')]);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn snapshot_scrubber_120x40_ascii() {
    let (mut app, _) = travelled();
    app.theme.ascii = true;
    press(&mut app, &[key('<'), key('<'), key('<'), key('.')]);
    let text = screen(&mut app, 120, 40);
    assert!(text.is_ascii(), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_simulated_run_with_a_violation() {
    let (mut app, _) = travelled();
    let v = Violation {
        seed: 7,
        time_us: 4_400_000,
        invariant: crate::check::Invariant::OneVotePerTerm,
        details: "n2 voted for n1 and n3 in term 2".into(),
        recent: Vec::new(),
        replay: String::new(),
    };
    app.update(Action::Sim(Arc::new(status(Some(v)))));
    let mut view = app.live.as_ref().clone();
    view.clock_paused = true;
    view.events.push(event(
        440,
        None,
        "INVARIANT VIOLATED: one vote per term: n2 voted for n1 and n3 in term 2",
    ));
    app.update(Action::View(NewView(Arc::new(view))));
    insta::assert_snapshot!(screen(&mut app, 120, 40));
}

#[test]
fn a_replaced_cluster_starts_a_new_history_in_the_present() {
    let (mut app, _) = travelled();
    press(&mut app, &[key(','), key(',')]);
    assert!(app.past.is_some());
    let fresh = Recorder::default();
    app.replace_cluster(Arc::new(at(412)), Box::new(fresh));
    assert_eq!(app.past, None);
    assert_eq!(app.history.len(), 1, "the old cluster's past is gone");
    assert_eq!(app.view.tick, 412);
}

#[test]
fn a_tour_step_waits_for_the_present() {
    let (mut app, _) = travelled();
    let script = crate::scenario::parse("cluster 3\nrun 10ms\n", "t.scen").expect("parses");
    let (go, went) = crossbeam_channel::bounded(1);
    app.tour = Some(crate::tui::tour::Tour::new("t", &script, None, go));
    app.update(Action::Tour(crate::tui::tour::TourEvent::Ready {
        step: 1,
        line: 1,
        source: "cluster 3".into(),
    }));
    press(&mut app, &[key(',')]);
    app.update(Action::TourNext);
    assert!(went.try_recv().is_err(), "no step from the past");
    assert!(last_console_line(&app).contains("the tour goes on from the present"));
    press(&mut app, &[key('b')]);
    app.update(Action::TourNext);
    assert!(went.try_recv().is_ok(), "the step goes at the present");
}

#[test]
fn simulated_mode_plays_a_chosen_tour_on_a_fresh_simulated_run() {
    let (mut app, _) = travelled();
    app.update(Action::Sim(Arc::new(status(None))));
    app.update(Action::StartTour("figure8".into()));
    assert_eq!(app.tour_request.as_deref(), Some("figure8"));
    assert!(last_console_line(&app).contains("starting it on a fresh cluster"));
}
