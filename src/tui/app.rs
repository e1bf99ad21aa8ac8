//! [`App`]: the dashboard's whole state — the last [`ClusterView`] and the
//! UI state — and [`App::update`], the only place either changes. Drawing
//! reads an `&App` (see [`draw`](super::draw)).

use std::collections::BTreeMap;
use std::sync::Arc;

use ratatui::layout::{Position, Rect};

use crate::raft::NodeId;
use crate::runtime::observe::MsgFilter;
use crate::runtime::{ClusterView, NodeState};
use crate::scenario::tours::{self, TOURS};
use crate::tui::action::{Action, Focus, Lower, Move};
use crate::tui::command::{self, Command, Context};
use crate::tui::console::{Console, LineKind};
use crate::tui::driver::{Driver, Outcome, Request};
use crate::tui::history::{Recorded, ViewHistory};
use crate::tui::layout;
use crate::tui::sim_status::SimStatus;
use crate::tui::text::{cluster_time, request_text, unavailability_hint, wrap_words};
use crate::tui::theme::Theme;
use crate::tui::tour::Tour;

/// The speed factors `+` and `-` step through.
pub const SPEEDS: [f64; 8] = [0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0];

/// How the dashboard was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Colours and symbols.
    pub theme: Theme,
    /// Whether mouse events are acted on.
    pub mouse: bool,
    /// The layout (`raftlab class` has its own).
    pub preset: layout::Preset,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            theme: Theme::default(),
            mouse: true,
            preset: layout::Preset::Dashboard,
        }
    }
}

/// The dashboard's state.
pub struct App {
    /// The view shown: the latest one, or a recorded one while viewing
    /// the past (time travel).
    pub view: Arc<ClusterView>,
    /// The latest view of the cluster.
    pub live: Arc<ClusterView>,
    /// The views recorded for time travel, one per tick.
    pub history: ViewHistory,
    /// While viewing the past, the position in `history` shown.
    pub past: Option<usize>,
    /// In simulated mode, how the run stands (seed, trace, violations).
    pub sim: Option<Arc<SimStatus>>,
    /// Colours and symbols.
    pub theme: Theme,
    /// Whether the mouse is on.
    pub mouse: bool,
    /// The focused pane.
    pub focus: Focus,
    /// The selected node.
    pub selected: NodeId,
    /// Log columns scrolled back from the tail (0: follow the tail).
    pub log_scroll: u64,
    /// Event lines scrolled back from the newest (0: follow).
    pub event_scroll: usize,
    /// The console.
    pub console: Console,
    /// Whether the help overlay is open.
    pub help: bool,
    /// The terminal size, as last reported.
    pub size: (u16, u16),
    /// Set when the user asked to leave.
    pub quit: bool,
    /// Requests under way, by id: what was asked and the console line
    /// waiting for its result.
    pub pending: BTreeMap<u64, (Request, u64)>,
    /// The guided tour being played, if any.
    pub tour: Option<Tour>,
    /// The tour menu (`T`), when open: the selected row.
    pub tour_menu: Option<usize>,
    /// A tour the person chose, for the main loop to start on a fresh
    /// cluster (see [`App::replace_cluster`]).
    pub tour_request: Option<String>,
    /// What the log pane's place shows: the log, messages or focus mode.
    pub lower: Lower,
    /// Whether the live checker panel is shown.
    pub checker: bool,
    /// Which messages the list shows (`msgs`).
    pub msg_filter: MsgFilter,
    /// Matching messages scrolled back from the newest.
    pub msg_scroll: usize,
    /// While scrolled back, the last message number the list holds still at.
    pub msg_anchor: Option<u64>,
    /// The held message `d` and `D` act on, by number, as last chosen (see
    /// [`App::held_selection`]).
    pub held_choice: Option<u64>,
    /// The layout.
    pub preset: layout::Preset,
    /// Whether the "why?" answer is open (`w`; see [`crate::tui::why`]).
    pub why: bool,
    /// The log cursor's index, once moved; `None`: it follows the tail.
    pub log_cursor: Option<crate::raft::Index>,
    driver: Box<dyn Driver>,
    next_id: u64,
    /// The speed last asked for, until a view shows it (or it is refused):
    /// `+` pressed again before then steps on from it, not from the view.
    speed_asked: Option<f64>,
}

impl App {
    /// A dashboard showing `view`, sending requests through `driver`.
    pub fn new(view: Arc<ClusterView>, driver: Box<dyn Driver>, options: Options) -> App {
        let selected = view.nodes.first().map_or(1, |n| n.id);
        let mut console = Console::default();
        console.push(LineKind::Note, "`help` lists commands; ? lists keys");
        let mut history = ViewHistory::default();
        history.record(view.clone());
        App {
            live: view.clone(),
            view,
            history,
            past: None,
            sim: None,
            theme: options.theme,
            mouse: options.mouse,
            focus: Focus::Cluster,
            selected,
            log_scroll: 0,
            event_scroll: 0,
            console,
            help: false,
            size: (0, 0),
            quit: false,
            pending: BTreeMap::new(),
            tour: None,
            tour_menu: None,
            tour_request: None,
            lower: Lower::Log,
            checker: false,
            msg_filter: MsgFilter::default(),
            msg_scroll: 0,
            msg_anchor: None,
            held_choice: None,
            preset: options.preset,
            why: false,
            log_cursor: None,
            driver,
            next_id: 1,
            speed_asked: None,
        }
    }

    /// The number of nodes.
    pub fn nodes(&self) -> usize {
        self.view.nodes.len()
    }

    /// Acts on one action. The only place the dashboard's state changes.
    pub fn update(&mut self, action: Action) {
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.help = !self.help,
            Action::Escape => {
                if self.tour_menu.is_some() {
                    self.tour_menu = None;
                } else if self.help {
                    self.help = false;
                } else if self.why {
                    self.why = false;
                } else if self.focus == Focus::Console {
                    self.focus = Focus::Cluster;
                } else if self.past.is_some() {
                    self.present();
                } else if self.tour.as_ref().is_some_and(|t| t.finished.is_some()) {
                    self.tour = None;
                }
            }
            Action::FocusNext => self.focus = cycle(self.focus, 1),
            Action::FocusPrev => self.focus = cycle(self.focus, Focus::ORDER.len() - 1),
            Action::FocusConsole => self.focus = Focus::Console,
            Action::Select(id) => {
                if self.view.node(id).is_some() {
                    self.selected = id;
                }
            }
            Action::Move(m) => self.move_in_pane(m),
            Action::ScrollLog(by) => self.scroll_log(by),
            Action::Click(x, y) => self.click(x, y),
            Action::Kill => self.send_key(Request::Kill(self.selected)),
            Action::Restart => self.send_key(Request::Restart(self.selected)),
            Action::TogglePause => {
                let paused = self
                    .view
                    .node(self.selected)
                    .is_some_and(|n| n.state == NodeState::Paused);
                let id = self.selected;
                self.send_key(if paused {
                    Request::Resume(id)
                } else {
                    Request::Pause(id)
                });
            }
            Action::Isolate => self.send_key(Request::Isolate(self.selected)),
            Action::Transfer => self.send_key(Request::Transfer(self.selected)),
            Action::AddNext => match self.next_free_id() {
                Some(id) => self.send_key(Request::AddLearner(id)),
                None => {
                    self.console.push(
                        LineKind::Error,
                        format!(
                            "the cluster has {} nodes already, the most it can have",
                            crate::runtime::MAX_NODES
                        ),
                    );
                }
            },
            Action::Promote => self.send_key(Request::Promote(self.selected)),
            Action::Remove => self.send_key(Request::Remove(self.selected)),
            Action::Heal => self.send_key(Request::Heal),
            Action::ToggleClock => self.send_key(if self.view.clock_paused {
                Request::ResumeClock
            } else {
                Request::PauseClock
            }),
            Action::Step => {
                if !self.view.clock_paused {
                    self.send_key(Request::PauseClock);
                }
                self.send_key(Request::Step);
            }
            Action::Faster => self.change_speed(true),
            Action::Slower => self.change_speed(false),
            Action::Edit(e) => self.console.edit(e),
            Action::Submit => self.submit_console(),
            Action::View(view) => self.set_view(view.0),
            Action::Done(outcome) => self.finish(outcome),
            Action::Resize(w, h) => self.size = (w, h),
            Action::TourNext => {
                if self.tour.is_some() && self.past.is_some() {
                    self.console.push(
                        LineKind::Error,
                        "viewing the past: the tour goes on from the present; Esc or b returns to it",
                    );
                } else if let Some(tour) = &mut self.tour {
                    tour.go_on();
                }
            }
            Action::TourPick(choice) => {
                if self.tour.is_some() && self.past.is_some() {
                    self.console.push(
                        LineKind::Error,
                        "viewing the past: the question waits in the present; Esc or b returns to it",
                    );
                } else if let Some(tour) = &mut self.tour {
                    tour.pick(choice);
                }
            }
            Action::ToggleTourMenu => self.toggle_tour_menu(),
            Action::TourMenuMove(by) => {
                if let Some(row) = self.tour_menu {
                    let last = TOURS.len().saturating_sub(1) as i64;
                    self.tour_menu = Some((row as i64 + by).clamp(0, last) as usize);
                }
            }
            Action::StartTour(name) => self.start_tour(&name),
            Action::Tour(event) => {
                if let Some(tour) = &mut self.tour {
                    tour.apply(event);
                }
            }
            Action::ToggleMessages => self.toggle_lower(Lower::Messages),
            Action::ToggleFlow => self.toggle_lower(Lower::Flow),
            Action::ToggleChecker => self.checker = !self.checker,
            Action::Why => self.toggle_why(),
            Action::HistoryBack(n) => self.history_back(n),
            Action::HistoryForward(n) => self.history_forward(n),
            Action::Present => self.present(),
            Action::Replay => self.replay(),
            Action::Sim(status) => self.sim_status(status),
            Action::ToggleHold => self.send_key(if self.view.teaching.wire.holding {
                Request::Release
            } else {
                Request::Hold
            }),
            Action::ChooseHeld(by) => self.choose_held(by),
            Action::DeliverHeld => self.on_chosen(Request::Deliver),
            Action::DropHeld => self.on_chosen(Request::DropHeld),
        }
    }

    /// The held message `d` and `D` act on: the one last chosen while it
    /// is held, else the next one after it, else the last; `None` when
    /// nothing is held.
    pub fn held_selection(&self) -> Option<u64> {
        let held = self.view.teaching.wire.held_numbers();
        let choice = self.held_choice.unwrap_or(0);
        held.iter()
            .copied()
            .find(|&n| n >= choice)
            .or_else(|| held.last().copied())
    }

    /// `[` `]`: chooses the held message `by` places from the current one.
    fn choose_held(&mut self, by: i64) {
        let held = self.view.teaching.wire.held_numbers();
        let Some(current) = self.held_selection() else {
            self.console
                .push(LineKind::Note, "nothing is held: o holds new messages");
            return;
        };
        let at = held.iter().position(|&n| n == current).unwrap_or(0) as i64;
        let next = (at + by).clamp(0, held.len() as i64 - 1) as usize;
        self.held_choice = Some(held[next]);
    }

    /// `d` `D`: sends `request` for the chosen held message.
    fn on_chosen(&mut self, request: fn(crate::net::HeldRef) -> Request) {
        match self.held_selection() {
            Some(n) => {
                self.held_choice = Some(n);
                self.send_key(request(crate::net::HeldRef::One(n)));
            }
            None => {
                let hint = if self.view.teaching.wire.holding {
                    "nothing is held yet: new messages wait on their links as they are sent"
                } else {
                    "nothing is held: o holds new messages on their links"
                };
                self.console.push(LineKind::Note, hint);
            }
        }
    }

    /// Puts a new cluster behind the dashboard: its first view and its
    /// driver. Requests still under way on the old cluster are given up
    /// (a late answer is ignored); returns the old driver, to be closed.
    pub fn replace_cluster(
        &mut self,
        view: Arc<ClusterView>,
        driver: Box<dyn Driver>,
    ) -> Box<dyn Driver> {
        for (_, (_, line)) in std::mem::take(&mut self.pending) {
            self.console.resolve(
                line,
                vec![(LineKind::Error, "dropped: the cluster was replaced".into())],
            );
        }
        self.log_scroll = 0;
        self.event_scroll = 0;
        // The recorded past belongs to the old cluster.
        self.history = ViewHistory::new(self.history.cap());
        self.past = None;
        self.speed_asked = None;
        self.set_view(view);
        std::mem::replace(&mut self.driver, driver)
    }

    /// Closes the driver (it takes no more requests); returns its threads
    /// still working, to be joined once the cluster has stopped.
    pub fn close_driver(&mut self) -> Vec<std::thread::JoinHandle<()>> {
        self.driver.close()
    }

    fn toggle_tour_menu(&mut self) {
        self.tour_menu = match self.tour_menu {
            Some(_) => None,
            None => {
                let current = self.tour.as_ref().map(|t| t.name.as_str());
                Some(
                    TOURS
                        .iter()
                        .position(|t| Some(t.name) == current)
                        .unwrap_or(0),
                )
            }
        };
        self.help = false;
    }

    /// Asks the main loop to play tour `name` on a fresh cluster (a
    /// simulated one in simulated mode).
    fn start_tour(&mut self, name: &str) {
        self.tour_menu = None;
        match tours::find(name) {
            Some(tour) => {
                self.console.push(
                    LineKind::Note,
                    format!(
                        "tour {}: starting it on a fresh cluster (the current one stops)",
                        tour.name
                    ),
                );
                self.tour_request = Some(tour.name.to_string());
            }
            None => {
                self.console
                    .push(LineKind::Error, format!("there is no tour called '{name}'"));
            }
        }
    }

    /// Lists the tours in the console.
    fn list_tours(&mut self) {
        self.console.push(
            LineKind::Note,
            "guided tours (`tour NAME` plays one on a fresh cluster; T opens the menu):",
        );
        let width = TOURS.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for tour in TOURS {
            self.console.push(
                LineKind::Ok,
                format!("{:<width$}  {}", tour.name, tour.about),
            );
        }
    }

    /// Where the panes go on `screen` now (a teaching pane grows the
    /// log's place).
    pub fn layout(&self, screen: Rect) -> Option<layout::Areas> {
        if self.lower != Lower::Log || self.checker {
            layout::areas_teaching(screen, self.nodes(), self.preset)
        } else {
            layout::areas_for(screen, self.nodes(), self.preset)
        }
    }

    /// Shows `pane` in the log's place, or the log again if it is shown.
    fn toggle_lower(&mut self, pane: Lower) {
        self.lower = if self.lower == pane { Lower::Log } else { pane };
        self.msg_scroll = 0;
        self.msg_anchor = None;
    }

    /// Scrolls the message list back (positive) or forward; at 0 it
    /// follows the newest again.
    fn scroll_messages(&mut self, by: i64) {
        let window = &self.view.teaching.messages;
        let held = window.log.held(window.upto);
        let next = (self.msg_scroll as i64).saturating_add(by).max(0) as usize;
        self.msg_scroll = next.min(held.saturating_sub(1));
        self.msg_anchor = if self.msg_scroll == 0 {
            None
        } else {
            Some(self.msg_anchor.unwrap_or(window.upto))
        };
    }

    fn set_view(&mut self, view: Arc<ClusterView>) {
        self.live = view.clone();
        if self
            .speed_asked
            .is_some_and(|x| (x - view.speed).abs() < 1e-9)
        {
            self.speed_asked = None;
        }
        if view.teaching.wire.between_ticks {
            // A frame that only moves the messages on: shown, not kept.
            if self.past.is_none() {
                self.show(view);
            }
            return;
        }
        match (self.history.record(view.clone()), self.past) {
            (Recorded::Restarted, Some(_)) => {
                self.past = None;
                self.console.push(
                    LineKind::Note,
                    "the run restarted from time 0: back to the present",
                );
            }
            (Recorded::Appended(dropped), Some(at)) if dropped > 0 => {
                self.past = Some(at.saturating_sub(dropped));
            }
            _ => {}
        }
        if self.past.is_none() {
            self.show(view);
        }
    }

    /// Shows `view` (the present or a recorded one).
    fn show(&mut self, view: Arc<ClusterView>) {
        self.view = view;
        if self.view.node(self.selected).is_none() {
            self.selected = self.view.nodes.first().map_or(1, |n| n.id);
        }
    }

    /// Steps `n` recorded ticks back, leaving the present (and pausing
    /// the clock) first if need be.
    fn history_back(&mut self, n: usize) {
        let newest = self.history.len().saturating_sub(1);
        let from = match self.past {
            Some(at) => at,
            None => {
                if newest == 0 {
                    self.console
                        .push(LineKind::Note, "nothing recorded before this tick yet");
                    return;
                }
                if !self.live.clock_paused {
                    self.send_key(Request::PauseClock);
                }
                newest
            }
        };
        if from == 0 && self.past.is_some() {
            self.console.push(
                LineKind::Note,
                format!(
                    "this is the oldest view recorded (the last {} ticks are kept)",
                    self.history.cap()
                ),
            );
            return;
        }
        self.goto(from.saturating_sub(n.max(1)));
    }

    /// Steps `n` recorded ticks forward; past the newest, the present.
    fn history_forward(&mut self, n: usize) {
        let Some(at) = self.past else {
            return;
        };
        let to = at.saturating_add(n.max(1));
        if to + 1 >= self.history.len() {
            self.present();
        } else {
            self.goto(to);
        }
    }

    /// Shows the recorded view at `at`.
    fn goto(&mut self, at: usize) {
        if let Some(view) = self.history.get(at).cloned() {
            self.past = Some(at);
            self.show(view);
        }
    }

    /// Back to the live present.
    fn present(&mut self) {
        if self.past.take().is_some() {
            let live = self.live.clone();
            self.show(live);
        }
    }

    /// A simulated run's status; a violation new to it is told in the
    /// console with its evidence.
    fn sim_status(&mut self, status: Arc<SimStatus>) {
        let known = self.sim.as_ref().is_some_and(|s| s.violation.is_some());
        if let Some(v) = &status.violation
            && !known
        {
            let at = cluster_time(v.time_us / crate::runtime::TICK_CLUSTER_US);
            self.console.push(
                LineKind::Error,
                format!("invariant violated at {at}: {}", v.invariant),
            );
            for line in wrap_words(&v.details, 60) {
                self.console.push(LineKind::Error, line);
            }
            self.console.push(
                LineKind::Note,
                "time stopped there: , < scrub back; R replays the run",
            );
        }
        self.sim = Some(status);
    }

    /// R: in simulated mode, runs the same seed again from time 0.
    fn replay(&mut self) {
        if self.sim.is_none() {
            self.console.push(
                LineKind::Note,
                "R replays a simulated run from its seed: start one with `raftlab --sim` or `raftlab replay`",
            );
            return;
        }
        self.present();
        self.send_key(Request::Replay);
    }

    /// While viewing the past, why `request` is refused.
    fn refused_in_past(&self, request: &Request) -> Option<String> {
        let at = self.past?;
        if matches!(request, Request::Speed(_)) {
            return None;
        }
        let tick = self.history.get(at).map_or(0, |v| v.tick);
        Some(format!(
            "viewing the past (t={}): nothing changes the cluster from here; Esc or b returns to the present",
            cluster_time(tick)
        ))
    }

    fn move_in_pane(&mut self, m: Move) {
        if self.focus == Focus::Log && self.lower == Lower::Messages {
            match m {
                Move::Up => return self.scroll_messages(1),
                Move::Down => return self.scroll_messages(-1),
                Move::PageUp => return self.scroll_messages(10),
                Move::PageDown => return self.scroll_messages(-10),
                Move::Home => return self.scroll_messages(i64::MAX / 2),
                Move::End => return self.scroll_messages(i64::MIN / 2),
                Move::Left | Move::Right => {}
            }
        }
        match (self.focus, m) {
            (Focus::Log, Move::Left) => self.move_log_cursor(-1),
            (Focus::Log, Move::Right) => self.move_log_cursor(1),
            (Focus::Log, Move::PageUp) => self.move_log_cursor(-20),
            (Focus::Log, Move::PageDown) => self.move_log_cursor(20),
            (Focus::Log, Move::Home) => self.move_log_cursor(i64::MIN / 2),
            (Focus::Log, Move::End) => self.follow_log_tail(),
            (Focus::Events, Move::Up) => self.event_scroll += 1,
            (Focus::Events, Move::PageUp) => self.event_scroll += 10,
            (Focus::Events, Move::Down) => self.event_scroll = self.event_scroll.saturating_sub(1),
            (Focus::Events, Move::PageDown) => {
                self.event_scroll = self.event_scroll.saturating_sub(10)
            }
            (Focus::Events, Move::Home) => self.event_scroll = self.view.events.len(),
            (Focus::Events, Move::End) => self.event_scroll = 0,
            (_, Move::Up | Move::Left) => self.step_selection(-1),
            (_, Move::Down | Move::Right) => self.step_selection(1),
            _ => {}
        }
        self.event_scroll = self
            .event_scroll
            .min(self.view.events.len().saturating_sub(1));
    }

    fn step_selection(&mut self, by: i64) {
        let ids: Vec<NodeId> = self.view.nodes.iter().map(|n| n.id).collect();
        if ids.is_empty() {
            return;
        }
        let at = ids.iter().position(|&id| id == self.selected).unwrap_or(0) as i64;
        let next = (at + by).rem_euclid(ids.len() as i64) as usize;
        self.selected = ids[next];
    }

    /// Scrolls the log back (positive) or forward, within what exists.
    fn scroll_log(&mut self, by: i64) {
        let last = self.view.newest_index();
        let scrolled = (self.log_scroll as i64).saturating_add(by).max(0) as u64;
        self.log_scroll = scrolled.min(last.saturating_sub(1));
    }

    fn click(&mut self, x: u16, y: u16) {
        let screen = Rect::new(0, 0, self.size.0, self.size.1);
        let Some(areas) = self.layout(screen) else {
            return;
        };
        let at = Position::new(x, y);
        let ids: Vec<NodeId> = self.view.nodes.iter().map(|n| n.id).collect();
        if let Some(i) = areas.cards.iter().position(|c| c.contains(at)) {
            self.selected = ids[i];
            self.focus = Focus::Cluster;
        } else if areas.cluster.contains(at) {
            self.focus = Focus::Cluster;
            let row = y.saturating_sub(areas.cluster.y + 1) as usize;
            if let Some(&id) = ids.get(row) {
                self.selected = id;
            }
        } else if areas.log.contains(at) {
            self.focus = Focus::Log;
            // Rows: border, header, then one per node.
            let row = y.saturating_sub(areas.log.y + 2) as usize;
            if let Some(&id) = ids.get(row) {
                self.selected = id;
            }
        } else if areas.events.contains(at) {
            self.focus = Focus::Events;
        } else if areas.console.contains(at) {
            self.focus = Focus::Console;
        }
    }

    /// `+`/`-`: the next speed from the one last asked for (the view may
    /// not show it yet when keys come fast), or the cluster's.
    fn change_speed(&mut self, faster: bool) {
        let now = self.speed_asked.unwrap_or(self.live.speed);
        let next = if faster {
            SPEEDS.iter().copied().find(|&s| s > now + 1e-9)
        } else {
            SPEEDS.iter().rev().copied().find(|&s| s < now - 1e-9)
        };
        match next {
            Some(s) => self.send_key(Request::Speed(s)),
            None => {
                let edge = if faster { "fastest" } else { "slowest" };
                self.console
                    .push(LineKind::Note, format!("speed is already the {edge}"));
            }
        }
    }

    /// Sends a request a key asked for; the console shows it as the
    /// command that does the same.
    /// The lowest id 1 to 9 no node has yet.
    fn next_free_id(&self) -> Option<NodeId> {
        (1..=crate::runtime::MAX_NODES as NodeId).find(|&id| self.view.node(id).is_none())
    }

    fn send_key(&mut self, request: Request) {
        let line = self
            .console
            .push_key(request_text(&request), self.waiting_text(&request));
        self.dispatch(request, line);
    }

    fn send(&mut self, request: Request) {
        let line = self
            .console
            .push(LineKind::Note, self.waiting_text(&request));
        self.dispatch(request, line);
    }

    /// What a request's line says until its answer comes.
    fn waiting_text(&self, request: &Request) -> String {
        let dots = self.theme.running();
        if request.is_client() && self.view.leader().is_none() {
            format!("no leader yet, retrying{dots}")
        } else {
            dots.to_string()
        }
    }

    /// Sends `request`, whose answer goes to console line `line`.
    fn dispatch(&mut self, request: Request, line: u64) {
        if let Some(why) = self.refused_in_past(&request) {
            self.console.resolve(line, vec![(LineKind::Error, why)]);
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        if let Request::Speed(x) = request {
            self.speed_asked = Some(x);
        }
        self.pending.insert(id, (request.clone(), line));
        self.driver.submit(id, request);
    }

    fn submit_console(&mut self) {
        let Some(line) = self.console.submit() else {
            return;
        };
        let cx = Context {
            // Ids need not be contiguous once nodes join: the highest.
            nodes: self.view.nodes.iter().map(|n| n.id).max().unwrap_or(0) as usize,
            leader: self.view.leader(),
            selected: self.selected,
        };
        match command::parse(&line, cx) {
            Ok(Command::Request(r)) => self.send(r),
            Ok(Command::Help) => self.help = true,
            Ok(Command::Clear) => self.console.clear(),
            Ok(Command::Tour(None)) => self.list_tours(),
            Ok(Command::Tour(Some(name))) => self.start_tour(&name),
            Ok(Command::Msgs(filter)) => {
                if let Some(filter) = filter {
                    self.msg_filter = filter;
                }
                if self.lower != Lower::Messages {
                    self.toggle_lower(Lower::Messages);
                }
                self.msg_scroll = 0;
                self.msg_anchor = None;
                let text = format!("messages shown: {} (m hides the list)", self.msg_filter);
                self.console.push(LineKind::Ok, text);
            }
            Ok(Command::UnknownBug(name)) => {
                self.console.push(
                    LineKind::Error,
                    format!("unknown bug '{name}'; the bugs are:"),
                );
                self.list_bugs();
            }
            Ok(Command::Bugs) => self.list_bugs(),
            Ok(Command::Save(path)) => {
                if self.sim.is_some() {
                    self.send(Request::Save(path));
                } else {
                    self.console.push(
                        LineKind::Error,
                        "save writes a simulated session: start one with `raftlab --sim`, `raftlab class` or `raftlab replay`",
                    );
                }
            }
            Ok(Command::Why(subject)) => self.why_command(subject),
            Ok(Command::Chart(path)) => {
                let title = self
                    .sim
                    .as_ref()
                    .map_or_else(|| "the live dashboard".to_string(), |s| s.label.clone());
                let written = crate::tui::chart::write(&self.view, &self.msg_filter, &title, &path);
                match written {
                    Ok(text) => self.console.push(LineKind::Ok, text),
                    Err(e) => self.console.push(LineKind::Error, e),
                };
            }
            Err(e) => {
                self.console.push(LineKind::Error, e);
            }
        }
    }

    /// Lists the unsafe variants in the console, each on or off.
    fn list_bugs(&mut self) {
        let on = self.view.teaching.bugs.names();
        for (name, what) in crate::raft::Bugs::NAMES {
            let state = if on.contains(name) { "ON " } else { "off" };
            self.console
                .push(LineKind::Note, format!("{state} {name}: {what}"));
        }
        self.console
            .push(LineKind::Note, "switch one with `bug NAME on|off`");
    }

    fn finish(&mut self, outcome: Outcome) {
        let Some((request, line)) = self.pending.remove(&outcome.id) else {
            return;
        };
        if matches!(request, Request::Speed(_)) && outcome.result.is_err() {
            // Refused: the speed asked is the last one still under way,
            // or none (the view's holds).
            self.speed_asked = self.pending.values().rev().find_map(|(r, _)| match r {
                Request::Speed(x) => Some(*x),
                _ => None,
            });
        }
        let lines = match outcome.result {
            Ok(text) => vec![(LineKind::Ok, text)],
            Err(text) => {
                let mut lines = vec![(LineKind::Error, text)];
                if request.is_client()
                    && let Some(hint) = unavailability_hint(&self.view)
                {
                    lines.push((LineKind::Note, hint));
                }
                lines
            }
        };
        self.console.resolve(line, lines);
    }
}

fn cycle(focus: Focus, by: usize) -> Focus {
    let order = Focus::ORDER;
    let at = order.iter().position(|&f| f == focus).unwrap_or(0);
    order[(at + by) % order.len()]
}
