//! The dashboard drawn on ratatui's `TestBackend` from made-up views, and
//! key sequences turned into requests — no terminal, no cluster.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind,
};
use ratatui::style::Color;

use crate::raft::{NodeId, Role};
use crate::runtime::{ClusterView, LinkView, LogEntryView, NodeState, NodeView, ViewEvent};
use crate::tui::action::{Action, Focus, NewView};
use crate::tui::app::{App, Options};
use crate::tui::draw;
use crate::tui::driver::{Driver, Outcome, Request};
use crate::tui::keys::action_for;
use crate::tui::theme::Theme;

/// A driver that records what it is asked.
#[derive(Clone, Default)]
pub(super) struct Recorder(Rc<RefCell<Vec<(u64, Request)>>>);

impl Driver for Recorder {
    fn submit(&mut self, id: u64, request: Request) {
        self.0.borrow_mut().push((id, request));
    }
}

impl Recorder {
    pub(super) fn requests(&self) -> Vec<Request> {
        self.0.borrow().iter().map(|(_, r)| r.clone()).collect()
    }
    fn last_id(&self) -> u64 {
        self.0.borrow().last().map_or(0, |(id, _)| *id)
    }
}

/// A node with `terms[i]` the term of entry `i + 1`.
pub(super) fn node(id: NodeId, role: Role, terms: &[u64], commit: u64) -> NodeView {
    let log: Vec<LogEntryView> = terms
        .iter()
        .enumerate()
        .map(|(i, &term)| LogEntryView {
            index: i as u64 + 1,
            term,
            text: if i == 0 {
                "noop".into()
            } else {
                format!("put k{i}=v{i}")
            },
        })
        .collect();
    let term = terms.last().copied().unwrap_or(0);
    NodeView {
        id,
        state: NodeState::Up,
        role,
        term,
        vote: Some(1),
        leader: Some(1),
        commit,
        applied: commit,
        last_index: terms.len() as u64,
        last_term: term,
        snapshot_index: 0,
        election_elapsed: 6 + id,
        election_timeout: 20,
        log: Arc::from(log),
        sent: 10 * id,
        received: 9 * id,
        membership: Default::default(),
        membership_pending: false,
        votes: None,
        progress: Vec::new(),
        refusals: Vec::new(),
    }
}

fn links(ids: &[NodeId], groups: &[Vec<NodeId>]) -> Vec<LinkView> {
    let side = |id: NodeId| groups.iter().position(|g| g.contains(&id));
    let mut out = Vec::new();
    for &from in ids {
        for &to in ids {
            if from != to {
                out.push(LinkView {
                    from,
                    to,
                    up: groups.len() < 2 || side(from) == side(to),
                    loss: 0.0,
                    delay_min_us: 500,
                    delay_max_us: 2000,
                    duplicate: 0.0,
                    in_flight: u64::from(from == 1 && to != 1),
                    delivered: 100,
                    dropped: 0,
                });
            }
        }
    }
    out
}

pub(super) fn event(tick: u64, node: Option<NodeId>, text: &str) -> ViewEvent {
    ViewEvent {
        at_us: tick * 50_000,
        tick,
        node,
        text: text.into(),
        count: 1,
    }
}

pub(super) fn cluster(nodes: Vec<NodeView>, groups: Vec<Vec<NodeId>>) -> ClusterView {
    let ids: Vec<NodeId> = nodes.iter().map(|n| n.id).collect();
    let groups = if groups.is_empty() {
        vec![ids.clone()]
    } else {
        groups
    };
    ClusterView {
        version: 7,
        at_us: 4_000_000,
        tick: 412,
        clock_paused: false,
        speed: 1.0,
        tick_wall: Duration::from_millis(50),
        nodes: nodes.into_iter().map(Arc::new).collect(),
        links: links(&ids, &groups),
        groups,
        events: vec![
            event(0, None, "cluster of 5 nodes started"),
            event(17, Some(1), "became PreCandidate in term 1"),
            event(17, Some(1), "became Candidate in term 2"),
            event(18, Some(1), "became Leader in term 2"),
            event(30, Some(2), "follows leader n1 in term 2"),
        ],
        teaching: Default::default(),
    }
}

/// Five fresh nodes, no leader yet, nothing in any log.
fn startup() -> ClusterView {
    let mut v = cluster(
        (1..=5)
            .map(|id| {
                let mut n = node(id, Role::Follower, &[], 0);
                n.vote = None;
                n.leader = None;
                n.election_elapsed = id * 3;
                n
            })
            .collect(),
        vec![],
    );
    v.tick = 5;
    v.events.truncate(1);
    v
}

/// n1 leads term 2 with 12 entries, all committed on a majority; it
/// knows n2 to n4 hold all 12 and n5 the first 10.
pub(super) fn elected() -> ClusterView {
    let terms = [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    let have = |id| if id == 5 { 10 } else { 12 };
    cluster(
        (1..=5)
            .map(|id| {
                let role = if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                };
                let mut n = node(id, role, &terms[..have(id)], if id == 5 { 10 } else { 11 });
                if id == 1 {
                    n.progress = (2..=5)
                        .map(|f| {
                            let p = crate::raft::Progress {
                                match_index: have(f) as u64,
                                next_index: have(f) as u64 + 1,
                            };
                            (f, p)
                        })
                        .collect();
                }
                n
            })
            .collect(),
        vec![],
    )
}

pub(super) fn app_with(view: ClusterView, options: Options) -> (App, Recorder) {
    let rec = Recorder::default();
    let app = App::new(Arc::new(view), Box::new(rec.clone()), options);
    (app, rec)
}

/// The status of a quiet simulated run of seed 7 at time 0: set as
/// `app.sim`, the app is in simulated mode.
pub(super) fn sim_seed_7() -> Arc<crate::tui::sim_status::SimStatus> {
    Arc::new(crate::tui::sim_status::SimStatus {
        seed: 7,
        label: "sim seed 7".into(),
        now_us: 0,
        trace_hash: 0,
        violation: None,
        history: crate::tui::sim_status::HistoryCheck::NotYet,
        operations: 0,
        inputs: 0,
        to_replay: 0,
        end_us: None,
        ended: false,
        runs: 1,
    })
}

/// The default options with the ASCII theme, in colour or without.
pub(super) fn ascii_options(color: bool) -> Options {
    Options {
        theme: Theme { color, ascii: true },
        ..Options::default()
    }
}

pub(super) fn app(view: ClusterView) -> (App, Recorder) {
    app_with(view, Options::default())
}

pub(super) fn screen(app: &mut App, w: u16, h: u16) -> String {
    let buf = render(app, w, h);
    text(&buf)
}

pub(super) fn render(app: &mut App, w: u16, h: u16) -> Buffer {
    app.update(Action::Resize(w, h));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    terminal.draw(|f| draw(app, f)).expect("draw");
    terminal.backend().buffer().clone()
}

pub(super) fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(super) fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub(super) fn code(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// Feeds events through the key map and update, as the main loop does.
pub(super) fn press(app: &mut App, events: &[Event]) {
    for e in events {
        if let Some(a) = action_for(app, e) {
            app.update(a);
        }
    }
}

pub(super) fn typed(app: &mut App, s: &str) {
    let events: Vec<Event> = s.chars().map(key).collect();
    press(app, &events);
    press(app, &[code(KeyCode::Enter)]);
}

// ------------------------------------------------------------ rendering

#[test]
fn snapshot_startup() {
    let (mut app, _) = app(startup());
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn snapshot_leader_elected() {
    let (mut app, _) = app(elected());
    insta::assert_snapshot!(screen(&mut app, 120, 40));
}

#[test]
fn snapshot_killed_node() {
    let mut v = elected();
    let mut n3 = (*v.nodes[2]).clone();
    n3.state = NodeState::Down;
    n3.commit = 0;
    n3.applied = 0;
    v.nodes[2] = Arc::new(n3);
    v.events.push(event(400, Some(3), "killed"));
    let (mut app, _) = app(v);
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

#[test]
fn snapshot_partition_with_conflicting_entries() {
    // n1 led term 2 and was cut off with n2; n3 leads term 3 with 3 4 5,
    // n1 and n2 hold uncommitted term-2 entries that differ.
    let old = [1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];
    let new = [1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3];
    let mut nodes = vec![
        node(1, Role::Leader, &old, 8),
        node(2, Role::Follower, &old, 8),
        node(3, Role::Leader, &new, 11),
        node(4, Role::Follower, &new, 11),
        node(5, Role::Follower, &new, 11),
    ];
    nodes[0].term = 2;
    nodes[2].term = 3;
    let v = cluster(nodes, vec![vec![1, 2], vec![3, 4, 5]]);
    let (mut app, _) = app(v);
    insta::assert_snapshot!(screen(&mut app, 120, 40));
}

#[test]
fn snapshot_paused_node_and_clock() {
    let mut v = elected();
    let mut n2 = (*v.nodes[1]).clone();
    n2.state = NodeState::Paused;
    v.nodes[1] = Arc::new(n2);
    v.clock_paused = true;
    let (mut app, _) = app(v);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn snapshot_help_overlay() {
    let (mut app, _) = app(elected());
    press(&mut app, &[key('?')]);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn snapshot_console_with_results() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    typed(&mut app, "put greeting hello");
    app.update(Action::Done(Outcome {
        id: rec.last_id(),
        result: Ok("OK".into()),
    }));
    typed(&mut app, "get greeting");
    app.update(Action::Done(Outcome {
        id: rec.last_id(),
        result: Ok("hello".into()),
    }));
    typed(&mut app, "get missing");
    app.update(Action::Done(Outcome {
        id: rec.last_id(),
        result: Ok("(nil)".into()),
    }));
    typed(&mut app, "kill 12");
    typed(&mut app, "get slow");
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

/// A long answer wraps in the console pane instead of being cut at its
/// edge, so the end of an error (the part that says what to do) shows.
#[test]
fn long_console_errors_wrap_and_show_their_end() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    typed(&mut app, "promote 4");
    let reason = "node 4 is behind: it holds entries up to 3 and the leader has \
                  committed 9; wait for it to catch up, then promote it again";
    app.update(Action::Done(Outcome {
        id: rec.last_id(),
        result: Err(reason.into()),
    }));
    let shown = screen(&mut app, 100, 30);
    assert!(shown.contains("error: node 4 is behind"), "{shown}");
    assert!(shown.contains("then promote it again"), "{shown}");
}

#[test]
fn snapshot_terminal_too_small() {
    let (mut app, _) = app(elected());
    let s = screen(&mut app, 60, 20);
    assert!(s.contains("terminal too small (need 80×24, have 60×20)"));
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_no_color_keeps_roles_readable() {
    let options = Options {
        theme: Theme {
            color: false,
            ascii: false,
        },
        preset: Default::default(),
        mouse: true,
    };
    let (mut app, _) = app_with(elected(), options);
    let buf = render(&mut app, 80, 24);
    for cell in buf.content() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "a colour under NO_COLOR"
        );
    }
    let s = text(&buf);
    assert!(s.contains("★ Leader") && s.contains("Follower"));
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_ascii_has_no_unicode() {
    let options = ascii_options(true);
    let (mut app, _) = app_with(elected(), options);
    let s = screen(&mut app, 80, 24);
    let odd: Vec<char> = s.chars().filter(|c| !c.is_ascii()).collect();
    // "×" in the status bar's speed and the size are the only non-ASCII.
    assert!(odd.iter().all(|&c| c == '×'), "{odd:?}");
    insta::assert_snapshot!(s);
}

#[test]
fn snapshot_roomy_200x50_with_nine_nodes() {
    let terms: Vec<u64> = (0..60).map(|i| 1 + i / 20).collect();
    let nodes = (1..=9)
        .map(|id| {
            node(
                id,
                if id == 4 {
                    Role::Leader
                } else {
                    Role::Follower
                },
                &terms,
                58,
            )
        })
        .collect();
    let (mut app, _) = app(cluster(nodes, vec![]));
    insta::assert_snapshot!(screen(&mut app, 200, 50));
}

#[test]
fn nine_nodes_fit_80x24() {
    let terms: Vec<u64> = (0..30).map(|i| 1 + i / 10).collect();
    let nodes = (1..=9)
        .map(|id| node(id, Role::Follower, &terms, 20))
        .collect();
    let (mut app, _) = app(cluster(nodes, vec![]));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("n9") && s.contains("Console"), "{s}");
}

// ---------------------------------------------------------------- input

#[test]
fn node_keys_act_on_the_selected_node() {
    let (mut app, rec) = app(elected());
    press(
        &mut app,
        &[
            key('3'),
            key('k'),
            key('r'),
            key('p'),
            key('i'),
            key('t'),
            key('h'),
        ],
    );
    assert_eq!(
        rec.requests(),
        vec![
            Request::Kill(3),
            Request::Restart(3),
            Request::Pause(3),
            Request::Isolate(3),
            Request::Transfer(3),
            Request::Heal,
        ]
    );
}

#[test]
fn time_keys_pause_step_and_change_speed() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(' '), key('.'), key('+'), key('-')]);
    assert_eq!(
        rec.requests(),
        vec![
            Request::PauseClock,
            Request::PauseClock,
            Request::Step,
            Request::Speed(2.0),
            // From the 2× just asked for, not the 1× the view still shows.
            Request::Speed(1.0),
        ]
    );
}

#[test]
fn speed_keys_step_from_the_speed_last_asked_for() {
    let (mut app, rec) = app(elected());
    // Quick presses, no view in between: each steps on from the last.
    press(&mut app, &[key('+'), key('+'), key('+')]);
    assert_eq!(
        rec.requests(),
        vec![
            Request::Speed(2.0),
            Request::Speed(3.0),
            Request::Speed(5.0)
        ]
    );
    // The cluster catches up: the view's speed holds again.
    let mut v = elected();
    v.speed = 5.0;
    v.version += 1;
    app.update(Action::View(NewView(Arc::new(v))));
    press(&mut app, &[key('+'), key('+'), key('+')]);
    let asked = rec.requests();
    assert_eq!(asked[3..], [Request::Speed(10.0)]);
    let screen = screen(&mut app, 100, 30);
    assert!(screen.contains("already the fastest"), "{screen}");
    // A refused speed does not count: the next step starts from the last
    // one the cluster took.
    let (mut app, rec) = super::tests::app(elected());
    press(&mut app, &[key('+')]);
    app.update(Action::Done(crate::tui::driver::Outcome {
        id: 1,
        result: Err("refused".into()),
    }));
    press(&mut app, &[key('+')]);
    assert_eq!(
        rec.requests(),
        vec![Request::Speed(2.0), Request::Speed(2.0)]
    );
}

#[test]
fn in_the_log_pane_hjkl_move_and_capital_h_heals() {
    let (mut app, rec) = app(elected());
    let last = app.view.node(1).map_or(0, |n| n.last_index);
    press(&mut app, &[code(KeyCode::Tab)]);
    assert_eq!(app.focus, Focus::Log);
    // h and l move the log cursor (from the selected node's last entry),
    // j and k the selected node.
    assert_eq!(app.cursor_index(), Some(last));
    press(&mut app, &[key('h'), key('h'), key('j')]);
    assert_eq!(app.log_cursor, Some(last - 2));
    assert_eq!(app.selected, 2);
    press(&mut app, &[key('k'), key('l'), key('H')]);
    assert_eq!((app.log_cursor, app.selected), (Some(last - 1), 1));
    assert_eq!(rec.requests(), vec![Request::Heal]);
}

#[test]
fn the_log_cursor_scrolls_the_log_to_stay_in_sight() {
    // 90 entries: more than 80 columns show.
    let terms = vec![1; 90];
    let nodes = (1..=5)
        .map(|id| {
            node(
                id,
                if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                },
                &terms,
                90,
            )
        })
        .collect();
    let (mut app, _) = app(cluster(nodes, vec![vec![1, 2, 3, 4, 5]]));
    screen(&mut app, 80, 24);
    press(&mut app, &[code(KeyCode::Tab), code(KeyCode::Home)]);
    assert_eq!(app.log_cursor, Some(1));
    let s = screen(&mut app, 80, 24);
    assert!(s.contains("Log (cursor at 1: w asks why"), "{s}");
    // Scrolled back so that the first column shown is the cursor's.
    let area = app
        .layout(ratatui::layout::Rect::new(0, 0, 80, 24))
        .unwrap()
        .log;
    let cols = crate::tui::widgets::log::columns(&app, area);
    assert!(cols < 90, "{cols}");
    let shown = crate::tui::widgets::log::visible_range(&app.view, cols, app.log_scroll);
    assert_eq!(shown.0, 1);
    // Forward past the right edge scrolls forward again, one at a time.
    for _ in 0..cols {
        press(&mut app, &[key('l')]);
    }
    let shown = crate::tui::widgets::log::visible_range(&app.view, cols, app.log_scroll);
    assert_eq!(shown, (2, cols + 1));
    press(&mut app, &[code(KeyCode::End)]);
    assert_eq!((app.log_cursor, app.log_scroll), (None, 0));
}

#[test]
fn q_types_in_the_console_and_quits_elsewhere() {
    let (mut app, _) = app(elected());
    press(&mut app, &[key('/'), key('q')]);
    assert!(!app.quit);
    assert_eq!(app.console.input(), "q");
    press(&mut app, &[code(KeyCode::Esc), key('q')]);
    assert!(app.quit);
    let (mut app, _) = app_with(elected(), Options::default());
    press(&mut app, &[key(':')]);
    press(
        &mut app,
        &[Event::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))],
    );
    assert!(app.quit, "Ctrl-C quits even from the console");
}

#[test]
fn console_commands_become_requests() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    for line in [
        "put greeting hello",
        "get greeting",
        "kill leader",
        "partition 1 2 | 3 4 5",
        "heal",
        "get k stale on 4",
    ] {
        typed(&mut app, line);
    }
    assert_eq!(
        rec.requests(),
        vec![
            Request::Put("greeting".into(), "hello".into()),
            Request::Get("greeting".into()),
            Request::Kill(1),
            Request::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
            Request::Heal,
            Request::GetStale(4, "k".into()),
        ]
    );
    // Up brings the last line back.
    press(&mut app, &[code(KeyCode::Up)]);
    assert_eq!(app.console.input(), "get k stale on 4");
}

#[test]
fn a_result_lands_under_its_command() {
    let (mut app, rec) = app(elected());
    press(&mut app, &[key(':')]);
    typed(&mut app, "get a");
    let first = rec.last_id();
    typed(&mut app, "get b");
    app.update(Action::Done(Outcome {
        id: first,
        result: Ok("1".into()),
    }));
    let lines: Vec<String> = app.console.transcript().map(|l| l.text.clone()).collect();
    let at = lines
        .iter()
        .position(|l| l == "get a")
        .expect("command shown");
    assert_eq!(lines[at + 1], "1");
    assert_eq!(lines[at + 2], "get b");
}

#[test]
fn mouse_clicks_select_cards_and_the_wheel_scrolls_the_log() {
    let (mut app, _) = app(elected());
    app.update(Action::Resize(100, 30));
    // Cards are 20 wide at 100 columns: x = 45 is the third card.
    let click = MouseEvent {
        kind: MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
        column: 45,
        row: 3,
        modifiers: KeyModifiers::NONE,
    };
    press(&mut app, &[Event::Mouse(click)]);
    assert_eq!(app.selected, 3);
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        ..click
    };
    press(&mut app, &[Event::Mouse(wheel)]);
    assert_eq!(app.log_scroll, 3);
    let (mut off, _) = app_with(
        elected(),
        Options {
            mouse: false,
            ..Options::default()
        },
    );
    press(&mut off, &[Event::Mouse(click)]);
    assert_eq!(off.selected, 1, "--no-mouse ignores clicks");
}

#[test]
fn a_new_view_replaces_the_old() {
    let (mut app, _) = app(startup());
    let v = Arc::new(elected());
    app.update(Action::View(NewView(v.clone())));
    assert_eq!(app.view.leader(), Some(1));
}

// ------------------------------------------------------------ guided tours

/// A tour of the election script on the dashboard, its thread stood in for
/// by the test: the receiver sees each go the dashboard gives.
fn touring(view: ClusterView) -> (App, crossbeam_channel::Receiver<crate::tui::tour::Go>) {
    use crate::scenario::tours;
    use crate::tui::tour::Tour;
    let (mut app, _) = app(view);
    let tour = tours::find("election").expect("shipped");
    let script = crate::scenario::parse(tour.text, tour.file).expect("parses");
    let (go, went) = crossbeam_channel::bounded(1);
    app.tour = Some(Tour::new("election", &script, None, go));
    (app, went)
}

fn tour_event(app: &mut App, event: crate::tui::tour::TourEvent) {
    app.update(Action::Tour(event));
}

/// The first step ran, and the plumbing after it without a key; the
/// second step waits, under its caption.
fn second_step_waiting(app: &mut App) {
    use crate::scenario::Mark;
    use crate::tui::tour::TourEvent::*;
    tour_event(app, Caption("Five followers in term 0, no leader. Each runs an election timer set to a random 150-300 ms: watch them count down on the cards.".into()));
    tour_event(
        app,
        Ready {
            step: 1,
            line: 3,
            source: "cluster 5 seed 1".into(),
        },
    );
    tour_event(app, Running);
    tour_event(
        app,
        Done {
            mark: Mark::Info,
            detail: "5 nodes, seed 1".into(),
        },
    );
    tour_event(
        app,
        Plumbing {
            source: "expect no leader".into(),
            mark: Mark::Pass,
            detail: "no leader".into(),
        },
    );
    tour_event(app, Caption("The first timer to run out wins a pre-vote (a dry run), then its node becomes a candidate for term 1.".into()));
    tour_event(
        app,
        Ready {
            step: 2,
            line: 6,
            source: "wait candidate within 3s".into(),
        },
    );
}

#[test]
fn snapshot_tour_caption_waiting_for_enter() {
    let (mut app, _went) = touring(startup());
    second_step_waiting(&mut app);
    insta::assert_snapshot!(screen(&mut app, 80, 24));
}

#[test]
fn snapshot_tour_caption_roomy_with_a_failed_step() {
    use crate::scenario::Mark;
    use crate::tui::tour::TourEvent::*;
    let (mut app, _went) = touring(elected());
    second_step_waiting(&mut app);
    tour_event(&mut app, Running);
    tour_event(
        &mut app,
        Done {
            mark: Mark::Fail,
            detail: "expected candidate within 3s, got no candidate".into(),
        },
    );
    tour_event(
        &mut app,
        Finished {
            passed: false,
            failure: Some("line 6: expected candidate within 3s, got no candidate".into()),
        },
    );
    insta::assert_snapshot!(screen(&mut app, 200, 50));
}

#[test]
fn enter_runs_the_waiting_step_once() {
    use crate::tui::tour::TourEvent::*;
    let (mut app, went) = touring(startup());
    // Nothing waits yet: Enter gives no go.
    press(&mut app, &[code(KeyCode::Enter)]);
    assert!(went.try_recv().is_err());
    tour_event(
        &mut app,
        Ready {
            step: 1,
            line: 3,
            source: "cluster 5 seed 1".into(),
        },
    );
    press(&mut app, &[code(KeyCode::Enter)]);
    assert_eq!(went.try_recv(), Ok(crate::tui::tour::Go::Next));
    // A second Enter after the thread took the go but before it reports
    // the step running does not queue a go for the next step; nor one
    // after it reports.
    press(&mut app, &[code(KeyCode::Enter), code(KeyCode::Right)]);
    assert!(went.try_recv().is_err());
    tour_event(&mut app, Running);
    press(&mut app, &[code(KeyCode::Enter), code(KeyCode::Right)]);
    assert!(went.try_recv().is_err());
    // → also runs a waiting step; in the console Enter is the console's.
    tour_event(
        &mut app,
        Ready {
            step: 2,
            line: 4,
            source: "expect no leader".into(),
        },
    );
    let selected = app.selected;
    press(&mut app, &[code(KeyCode::Right)]);
    assert_eq!(went.try_recv(), Ok(crate::tui::tour::Go::Next));
    assert_eq!(app.selected, selected, "→ ran the step instead of moving");
    tour_event(
        &mut app,
        Ready {
            step: 3,
            line: 6,
            source: "wait leader".into(),
        },
    );
    press(&mut app, &[key(':'), code(KeyCode::Enter)]);
    assert!(went.try_recv().is_err());
}

#[test]
fn a_pick_is_sent_once_and_a_second_key_changes_it_not() {
    use crate::tui::tour::{Go, TourEvent};
    let (mut app, went) = touring(startup());
    let ask = crate::scenario::ast::Ask {
        question: "How many votes make a leader of 5?".into(),
        choices: vec!["2".into(), "3".into(), "5".into()],
        answer: 2,
        why: "a majority of 5 is 3".into(),
    };
    tour_event(
        &mut app,
        TourEvent::Ask {
            step: 1,
            line: 3,
            ask,
        },
    );
    press(&mut app, &[key('2')]);
    assert_eq!(went.try_recv(), Ok(Go::Pick(2)));
    // The thread took the pick but has yet to report the step running.
    press(&mut app, &[key('1'), code(KeyCode::Enter)]);
    assert!(went.try_recv().is_err());
    let tour = app.tour.as_ref().expect("the tour");
    assert_eq!(tour.question().and_then(|q| q.picked), Some(2));
}

#[test]
fn esc_closes_a_finished_tour_only() {
    use crate::tui::tour::TourEvent::*;
    let (mut app, _went) = touring(startup());
    press(&mut app, &[code(KeyCode::Esc)]);
    assert!(app.tour.is_some());
    tour_event(
        &mut app,
        Finished {
            passed: true,
            failure: None,
        },
    );
    assert!(screen(&mut app, 80, 24).contains("Tour complete"));
    press(&mut app, &[code(KeyCode::Esc)]);
    assert!(app.tour.is_none());
}

// One topic a file under tests/, each using the helpers above: the cards,
// membership, teaching panes (made-up views and simulated runs), time
// travel, the tour menu, tours played, time a person can watch, the wire.
mod cards;
mod membership;
mod sim_teach;
mod teach;
mod time_travel;
mod tour_menu;
mod tour_play;
mod visible;
mod wire;
