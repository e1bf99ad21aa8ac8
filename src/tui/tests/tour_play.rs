//! Guided tours played on the simulated dashboard, as `raftlab tour NAME`
//! plays them: the real tour thread and stage, the real `App`, keys given
//! as a person would. A tour is the run its script makes (same steps, same
//! outcomes, same trace); it stops on its teaching states, and those stops
//! are snapshots of the dashboard; plumbing takes no Enter; questions are
//! answered with a number key.

use std::time::Duration;

use crossbeam_channel::{Receiver, unbounded};

use super::{code, key, press, screen};
use crate::raft::Role;
use crate::runtime::ClusterView;
use crate::scenario::ast::StmtKind;
use crate::scenario::tours::{self, TOURS};
use crate::scenario::{Mark, run_script, sim_factory_with};
use crate::tui::VISIBLE_LATENCY_US;
use crate::tui::app::{App, Options};
use crate::tui::run::{Msg, TourSetup, handle};
use crate::tui::sim::{ClockState, SimTours, TICK_WALL, start_tour};
use crate::tui::tour::{Phase, is_plumbing};
use ratatui::crossterm::event::KeyCode;

/// The clock speed of plays that only compare outcomes: a tick in 50 µs.
const FAST: f64 = 1000.0;
/// The clock speed of plays whose screens are snapshots (the most a
/// person can set): the status bar says so.
const SHOWN: f64 = 10.0;

/// A shipped tour playing on the simulated dashboard.
struct Played {
    app: App,
    rx: Receiver<Msg>,
}

impl Played {
    /// Starts the shipped tour `name` at clock speed `speed`, as
    /// `raftlab tour NAME` does.
    fn start(name: &str, speed: f64) -> Played {
        let (setup, spec) = TourSetup::shipped(name, None).expect("a shipped tour");
        let mut session = SimTours::default()
            .session(&setup.name, &spec)
            .expect("its run");
        let first = session.view(ClockState {
            paused: true,
            speed,
            tick_wall: TICK_WALL,
        });
        let status = std::sync::Arc::new(session.status());
        let (tx, rx) = unbounded();
        let (driver, tour) = start_tour(session, speed, &setup, tx).expect("the tour's thread");
        let mut app = App::new(first, Box::new(driver), Options::default());
        app.sim = Some(status);
        app.tour = Some(tour);
        Played { app, rx }
    }

    /// Takes in one message from the tour's thread (and all queued after it).
    fn pump(&mut self) {
        let msg = self
            .rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the tour's thread went quiet");
        handle(&mut self.app, msg);
        while let Ok(msg) = self.rx.try_recv() {
            handle(&mut self.app, msg);
        }
    }

    /// Takes in messages until a step waits for a key, with the clock
    /// held and the view of the held run on screen.
    fn until_a_step_waits(&mut self) {
        loop {
            self.pump();
            let tour = self.app.tour.as_ref().expect("the tour");
            if tour.finished.is_some() || (tour.waiting() && self.app.view.clock_paused) {
                return;
            }
        }
    }

    /// Presses Enter at every step until one waits whose previous step's
    /// statement starts with `after` (a stop: the screen shows it).
    fn stop_after(&mut self, after: &str) {
        loop {
            self.until_a_step_waits();
            let tour = self.app.tour.as_ref().expect("the tour");
            assert!(tour.finished.is_none(), "the tour ended before {after:?}");
            let last = tour
                .past
                .iter()
                .rev()
                .find(|p| !p.source.starts_with("let ") && !p.source.starts_with("expect "));
            if last.is_some_and(|p| p.source.starts_with(after)) {
                return;
            }
            press(&mut self.app, &[code(KeyCode::Enter)]);
        }
    }

    fn tour(&self) -> &crate::tui::tour::Tour {
        self.app.tour.as_ref().expect("the tour")
    }
}

/// The tour's script run headless at the dashboards' latency.
fn script_report(name: &str) -> crate::scenario::Report {
    let tour = tours::find(name).expect("shipped");
    let factory = sim_factory_with(1, VISIBLE_LATENCY_US, Default::default());
    let report = run_script(tour.text, tour.file, factory).expect("runs");
    assert!(report.passed, "\n{}", report.render());
    report
}

/// A tour on the simulated dashboard is the run its script makes: every
/// step and plumbing statement has the same outcome, word for word (times
/// and leaders included), and the run ends on the same trace hash. So a
/// rehearsed tour replays exactly, and `raftlab script --latency 10..20ms`
/// prints what the class will see.
#[test]
fn every_tour_on_the_simulated_dashboard_is_the_run_its_script_makes() {
    for tour in TOURS {
        let report = script_report(tour.name);
        let mut played = Played::start(tour.name, FAST);
        let mut enters = 0;
        loop {
            played.until_a_step_waits();
            let t = played.tour();
            assert!(t.finished.is_none(), "{}: {:?}", tour.name, t.finished);
            if t.phase == Phase::AtEnd {
                break;
            }
            press(&mut played.app, &[code(KeyCode::Enter)]);
            enters += 1;
        }
        // One Enter per step; plumbing (`let`, `expect`, `reset stats`)
        // took none, yet ran and shows.
        let script = crate::scenario::parse(tour.text, tour.file).expect("parses");
        let plumbing = script.statements.iter().filter(|s| is_plumbing(s)).count();
        let steps = script
            .statements
            .iter()
            .filter(|s| !matches!(s.kind, StmtKind::Say(_)))
            .count();
        assert_eq!(enters, steps - plumbing, "{}", tour.name);
        assert_eq!(played.tour().total, enters, "{}", tour.name);
        let shown_plumbing = played
            .tour()
            .past
            .iter()
            .filter(|p| p.source.starts_with("let ") || p.source.starts_with("expect "))
            .count();
        assert_eq!(shown_plumbing, plumbing, "{}", tour.name);
        // A question's line is the viewer's verdict (no pick here).
        let shown: Vec<(Mark, String)> = played
            .tour()
            .past
            .iter()
            .map(|p| (p.mark, p.detail.clone()))
            .collect();
        let ran: Vec<(Mark, String)> = report
            .transcript
            .iter()
            .filter(|l| l.depth == 0 && l.mark != Mark::Note)
            .map(|l| match l.mark {
                Mark::Ask => {
                    let answer = l.detail.rsplit("the answer is ").next().unwrap_or("");
                    let k = answer.split(')').next().unwrap_or("");
                    (l.mark, format!("the answer is {k}"))
                }
                _ => (l.mark, l.detail.clone()),
            })
            .collect();
        assert_eq!(shown, ran, "{}", tour.name);
        let status = played.app.sim.clone().expect("a simulated run");
        assert_eq!(
            Some(status.trace_hash),
            report.trace_hash,
            "{}: the dashboard's run is not the script's",
            tour.name
        );
        press(&mut played.app, &[code(KeyCode::Enter)]);
        while played.tour().finished.is_none() {
            played.pump();
        }
        assert_eq!(played.tour().finished, Some((true, None)), "{}", tour.name);
    }
}

/// The view on screen while the tour waits.
fn view(played: &Played) -> &ClusterView {
    &played.app.view
}

#[test]
fn the_election_tour_stops_on_a_candidate_collecting_votes() {
    let mut played = Played::start("election", SHOWN);
    played.stop_after("wait candidate");
    let v = view(&played);
    assert_eq!(v.leader(), None, "no leader yet");
    let candidate = v
        .nodes
        .iter()
        .find(|n| n.role == Role::Candidate)
        .expect("a candidate on screen");
    let tally = candidate.votes.as_ref().expect("its tally");
    assert!(!tally.pre, "a real election, not a pre-vote");
    assert_eq!(tally.needed, 3);
    assert!(tally.granted.len() < 3, "{tally:?}");
    let s = screen(&mut played.app, 120, 40);
    assert!(s.contains("votes 1/3"), "{s}");
    insta::assert_snapshot!("election_candidate_120x40", s);
}

#[test]
fn the_replication_tour_stops_on_an_uncommitted_entry_then_on_its_commit() {
    let mut played = Played::start("replication", SHOWN);
    played.stop_after("wait uncommitted 1");
    let v = view(&played);
    let leader = v.leader().expect("a leader");
    let l = v.node(leader).expect("its card");
    assert_eq!(
        l.last_index,
        l.commit + 1,
        "one entry past the leader's commit"
    );
    assert!(v.nodes.iter().all(|n| n.commit == l.commit));
    let s = screen(&mut played.app, 120, 40);
    insta::assert_snapshot!("replication_uncommitted_120x40", s);
    // The question: 2 answers it, and it is right.
    press(&mut played.app, &[key('2')]);
    played.stop_after("wait committed");
    let v = view(&played);
    let l = v.node(leader).expect("its card");
    assert_eq!(l.commit, l.last_index, "committed on the leader");
    assert!(
        v.nodes
            .iter()
            .any(|n| n.id != leader && n.commit < l.commit),
        "a follower has yet to learn it"
    );
    insta::assert_snapshot!(
        "replication_committed_120x40",
        screen(&mut played.app, 120, 40)
    );
}

#[test]
fn the_figure8_tour_stops_on_an_old_term_entry_on_a_majority_not_committed() {
    let mut played = Played::start("figure8", SHOWN);
    played.stop_after("wait uncommitted");
    let v = view(&played);
    let n1 = v.node(1).expect("n1");
    assert_eq!(n1.role, Role::Leader);
    // x=1: the entry of the old term that n1 wrote in (a).
    let x1 = n1
        .log
        .iter()
        .find(|e| e.text.contains("x=1"))
        .expect("x=1 in n1's log")
        .clone();
    assert!(x1.term < n1.term, "x=1 is from an older term");
    let holders: Vec<u64> = v
        .nodes
        .iter()
        .filter(|n| {
            n.log
                .iter()
                .any(|e| e.index == x1.index && e.term == x1.term)
        })
        .map(|n| n.id)
        .collect();
    assert!(holders.len() >= 3, "a majority holds it: {holders:?}");
    assert!(
        v.nodes.iter().all(|n| n.commit < x1.index),
        "nobody counts it committed"
    );
    insta::assert_snapshot!("figure8_c_120x40", screen(&mut played.app, 120, 40));
}

/// Every caption (the `say` lines before a step, or the tour's intent
/// before the first) fits in three lines of the tour pane at 120 columns,
/// and every question fits the pane with its choices.
#[test]
fn every_caption_fits_three_lines_at_120_columns() {
    use crate::tui::text::wrap;
    for tour in TOURS {
        let script = crate::scenario::parse(tour.text, tour.file).expect("parses");
        let nodes = script
            .statements
            .iter()
            .find_map(|s| match &s.kind {
                StmtKind::Cluster(spec) => Some(spec.nodes),
                _ => None,
            })
            .expect("a cluster");
        let screen_area = ratatui::layout::Rect::new(0, 0, 120, 40);
        let areas = crate::tui::layout::areas(screen_area, nodes).expect("fits");
        let pane = crate::tui::widgets::tour::area(screen_area, areas.console);
        let width = pane.width as usize - 2;
        let mut captions = Vec::new();
        let mut said: Vec<String> = Vec::new();
        let mut first = true;
        for stmt in &script.statements {
            match &stmt.kind {
                StmtKind::Say(text) => said.push(text.clone()),
                _ if is_plumbing(stmt) => {}
                _ => {
                    if said.is_empty() && first {
                        captions.push(tour.intent());
                    }
                    if !said.is_empty() {
                        captions.push(said.join(" "));
                    }
                    said.clear();
                    first = false;
                }
            }
            if let StmtKind::Ask(ask) = &stmt.kind {
                let lines = wrap(&format!("? {}", ask.question), width).len()
                    + ask.choices.len()
                    + wrap(
                        &format!(
                            "Not quite: the answer is {}) {}. {}",
                            ask.answer,
                            ask.answer_text(),
                            ask.why
                        ),
                        width,
                    )
                    .len();
                assert!(
                    lines + 3 <= pane.height as usize - 2,
                    "{}: the question at line {} takes {lines} rows",
                    tour.name,
                    stmt.line
                );
            }
        }
        if !said.is_empty() {
            captions.push(said.join(" "));
        }
        for caption in captions {
            let lines = wrap(&caption, width);
            assert!(
                lines.len() <= 3,
                "{}: {} lines at {width} columns: {caption}",
                tour.name,
                lines.len()
            );
        }
    }
}

/// At least five shipped tours ask a question.
#[test]
fn five_tours_or_more_ask_a_question() {
    let asking = TOURS
        .iter()
        .filter(|t| {
            crate::scenario::parse(t.text, t.file)
                .expect("parses")
                .statements
                .iter()
                .any(|s| matches!(s.kind, StmtKind::Ask(_)))
        })
        .count();
    assert!(asking >= 5, "{asking} tours ask");
}

/// "Tour complete" comes after the last step, on one more Enter: the
/// last step's outcome is read first.
#[test]
fn tour_complete_comes_after_the_last_step() {
    let mut played = Played::start("election", FAST);
    loop {
        played.until_a_step_waits();
        if played.tour().phase == Phase::AtEnd {
            break;
        }
        press(&mut played.app, &[code(KeyCode::Enter)]);
    }
    let s = screen(&mut played.app, 120, 40);
    assert!(!s.contains("Tour complete"), "{s}");
    assert!(s.contains("last step: press Enter to end the tour"), "{s}");
    assert!(
        s.contains("→ run 2s  now 2.217s"),
        "the last step's outcome shows:\n{s}"
    );
    press(&mut played.app, &[code(KeyCode::Enter)]);
    while played.tour().finished.is_none() {
        played.pump();
    }
    let s = screen(&mut played.app, 120, 40);
    assert!(s.contains("Tour complete: every expectation held."), "{s}");
}

/// The election tour's question, answered with a number key: the pick,
/// right or not, and why, stay on screen while the next step waits.
#[test]
fn a_question_is_answered_with_a_key_right_or_wrong() {
    for (pick, name) in [('2', "ask_right_120x40"), ('1', "ask_wrong_120x40")] {
        let mut played = Played::start("election", SHOWN);
        played.stop_after("wait candidate");
        assert!(played.tour().asking());
        // Keys beyond the choices do nothing (nor select a node).
        let selected = played.app.selected;
        press(&mut played.app, &[key('7')]);
        assert!(played.tour().asking());
        assert_eq!(played.app.selected, selected);
        press(&mut played.app, &[key(pick)]);
        played.until_a_step_waits();
        let t = played.tour();
        let q = t.question().expect("the question stays");
        assert_eq!(q.picked, Some(pick as usize - '0' as usize));
        assert!(q.revealed);
        assert_eq!(q.right(), Some(pick == '2'));
        let s = screen(&mut played.app, 120, 40);
        if pick == '2' {
            assert!(
                s.contains("Right. Two majorities always share a node"),
                "{s}"
            );
        } else {
            // By its number and its text, as the choices start with numbers.
            assert!(
                s.contains("Not quite: the answer is 2) 3: a majority of the 5."),
                "{s}"
            );
        }
        assert!(
            s.contains("▶ wait leader within 3s"),
            "the next step waits:\n{s}"
        );
        insta::assert_snapshot!(name, s);
    }
}

/// Enter at a question shows its answer without a pick.
#[test]
fn enter_at_a_question_shows_the_answer() {
    let mut played = Played::start("election", FAST);
    played.stop_after("wait candidate");
    press(&mut played.app, &[code(KeyCode::Enter)]);
    played.until_a_step_waits();
    let q = played.tour().question().expect("the question stays");
    assert_eq!((q.picked, q.revealed), (None, true));
    let s = screen(&mut played.app, 120, 40);
    assert!(
        s.contains("The answer is 2) 3: a majority of the 5."),
        "{s}"
    );
}
