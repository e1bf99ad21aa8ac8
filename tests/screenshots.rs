//! Regenerates the README's screenshots from real runs: a live cluster,
//! the real dashboard drawn on ratatui's `TestBackend`, each frame written
//! as an SVG (scripts/screenshots.sh converts them to PNG).
//!
//! Runs only with `RAFTLAB_SCREENSHOTS=DIR` set; otherwise it says it
//! skipped. `bash scripts/screenshots.sh` does everything.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, unbounded};
use raftlab::raft::Role;
use raftlab::runtime::{Cluster, ClusterConfig, ClusterView};
use raftlab::tui::console::Edit;
use raftlab::tui::{Action, App, LiveDriver, Msg, NewView, Options, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 18.0;
const FG: &str = "#d4d4d4";
const BG: &str = "#1e1e1e";

fn hex(c: Color, default: &'static str) -> String {
    let s = match c {
        Color::Reset => default,
        Color::Black => "#000000",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#2472c8",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#e5e5e5",
        Color::DarkGray => "#767676",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#ffffff",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(_) => default,
    };
    s.to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The buffer as an SVG: a rectangle per background run, a text per cell.
fn svg(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="DejaVu Sans Mono, monospace" font-size="14">"#,
        f64::from(w) * CELL_W + 16.0,
        f64::from(h) * CELL_H + 16.0
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="{BG}"/><g transform="translate(8,8)">"#
    );
    for y in 0..h {
        for x in 0..w {
            let cell = &buf[(x, y)];
            let mut fg = hex(cell.fg, FG);
            let mut bg = hex(cell.bg, BG);
            if cell.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let (px, py) = (f64::from(x) * CELL_W, f64::from(y) * CELL_H);
            if bg != BG {
                let _ = writeln!(
                    out,
                    r#"<rect x="{px:.1}" y="{py:.1}" width="{:.1}" height="{CELL_H}" fill="{bg}"/>"#,
                    CELL_W + 0.3
                );
            }
            let sym = cell.symbol();
            if sym.trim().is_empty() {
                continue;
            }
            let weight = if cell.modifier.contains(Modifier::BOLD) {
                r#" font-weight="bold""#
            } else {
                ""
            };
            let dim = if cell.modifier.contains(Modifier::DIM) {
                r#" opacity="0.55""#
            } else {
                ""
            };
            let under = if cell.modifier.contains(Modifier::UNDERLINED) {
                r#" text-decoration="underline""#
            } else {
                ""
            };
            // Box drawing and blocks fill the cell: scale them to it.
            let _ = writeln!(
                out,
                r#"<text x="{px:.1}" y="{:.1}" fill="{fg}"{weight}{dim}{under} textLength="{CELL_W}" lengthAdjust="spacingAndGlyphs">{}</text>"#,
                py + CELL_H * 0.78,
                escape(sym)
            );
        }
    }
    out.push_str("</g></svg>\n");
    out
}

struct Run {
    cluster: Arc<Cluster>,
    app: App,
    rx: Receiver<Msg>,
    dir: PathBuf,
}

impl Run {
    fn start(dir: &Path, nodes: usize, seed: u64) -> Run {
        Run::with(
            dir,
            ClusterConfig {
                nodes,
                seed,
                log_window: 256,
                // As the dashboard runs it: messages recorded, checks live.
                observe: true,
                ..ClusterConfig::default()
            },
        )
    }

    fn with(dir: &Path, config: ClusterConfig) -> Run {
        let cluster = Arc::new(Cluster::start(config).expect("start the cluster"));
        let (tx, rx) = unbounded();
        let driver = LiveDriver::start(cluster.clone(), tx, Msg::Done).expect("start the driver");
        let app = App::new(cluster.view(), Box::new(driver), Options::default());
        Run {
            cluster,
            app,
            rx,
            dir: dir.to_path_buf(),
        }
    }

    fn pump(&mut self) -> Arc<ClusterView> {
        let view = self.cluster.view();
        self.app.update(Action::View(NewView(view.clone())));
        while let Ok(msg) = self.rx.try_recv() {
            if let Msg::Done(o) = msg {
                self.app.update(Action::Done(o));
            }
        }
        view
    }

    fn until(&mut self, what: &str, timeout: Duration, ok: impl Fn(&ClusterView) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok(&self.pump()) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    fn command(&mut self, line: &str) {
        self.app.update(Action::FocusConsole);
        for c in line.chars() {
            self.app.update(Action::Edit(Edit::Insert(c)));
        }
        self.app.update(Action::Submit);
    }

    /// Waits until no request is pending (bounded), then a little more.
    fn settle(&mut self, extra: Duration) {
        let deadline = Instant::now() + Duration::from_secs(8);
        while !self.app.pending.is_empty() && Instant::now() < deadline {
            self.pump();
            std::thread::sleep(Duration::from_millis(10));
        }
        let until = Instant::now() + extra;
        while Instant::now() < until {
            self.pump();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn shot(&mut self, name: &str, w: u16, h: u16) {
        self.pump();
        self.app.update(Action::Resize(w, h));
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        terminal.draw(|f| draw(&self.app, f)).expect("draw");
        let path = self.dir.join(format!("{name}.svg"));
        std::fs::write(&path, svg(terminal.backend().buffer())).expect("write svg");
        eprintln!("wrote {}", path.display());
    }
}

fn leader(v: &ClusterView) -> Option<u64> {
    v.leader()
}

#[test]
fn regenerate_screenshots() {
    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!(
            "SKIPPED regenerate_screenshots: set RAFTLAB_SCREENSHOTS=DIR (scripts/screenshots.sh does)"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let long = Duration::from_secs(20);

    // 1. A fresh election: catch a candidate asking for votes.
    let mut run = Run::start(&dir, 5, 7);
    let caught = {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = run.pump();
            if v.nodes.iter().any(|n| n.role == Role::Candidate) {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    if !caught {
        run.until("a leader", long, |v| leader(v).is_some());
    }
    run.shot("election", 120, 40);
    run.until("a leader", long, |v| leader(v).is_some());
    for (k, v) in [("greeting", "hello"), ("x", "1"), ("y", "2")] {
        run.command(&format!("put {k} {v}"));
    }
    run.command("get greeting");
    run.command("get nothing");
    run.settle(Duration::from_millis(600));
    run.shot("leader", 120, 40);

    // 2. A partition that strands the leader with one follower; a client
    // on its side writes entries that can never commit.
    let old = run.pump().leader().expect("leader");
    let buddy = if old == 1 { 2 } else { 1 };
    let rest: Vec<String> = (1..=5)
        .filter(|&n| n != old && n != buddy)
        .map(|n| n.to_string())
        .collect();
    run.command(&format!("partition {old} {buddy} | {}", rest.join(" ")));
    run.settle(Duration::from_millis(100));
    let mut stranded = run.cluster.client().restrict_to(&[old, buddy]);
    for i in 0..4 {
        let _ = stranded.put(&format!("lost{i}"), "never", Duration::from_millis(150));
    }
    run.until("a new leader on the majority side", long, |v| {
        v.nodes
            .iter()
            .any(|n| n.id != old && n.id != buddy && n.role == Role::Leader)
    });
    for (k, v) in [("x", "10"), ("z", "3")] {
        run.command(&format!("put {k} {v}"));
    }
    run.settle(Duration::from_millis(400));
    run.app.update(Action::Select(old));
    run.shot("partition", 120, 40);
    run.shot("log-conflict", 200, 50);

    // 3. The help overlay.
    run.app.update(Action::ToggleHelp);
    run.shot("help", 120, 40);
}

/// A driver for an app fed by hand: it ignores what it is asked.
struct Ignore;

impl raftlab::tui::Driver for Ignore {
    fn submit(&mut self, _id: u64, _request: raftlab::tui::Request) {}
}

/// Draws `app` into DIR/NAME.svg.
fn shot_app(app: &mut App, dir: &Path, name: &str, w: u16, h: u16) {
    app.update(Action::Resize(w, h));
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    terminal.draw(|f| draw(app, f)).expect("draw");
    let path = dir.join(format!("{name}.svg"));
    std::fs::write(&path, svg(terminal.backend().buffer())).expect("write svg");
    eprintln!("wrote {}", path.display());
}

/// The simulated mode and time travel, from deterministic simulated runs
/// (the same pictures every time).
#[test]
fn regenerate_sim_screenshots() {
    use raftlab::sim::{FaultSchedule, SimOptions};
    use raftlab::tui::Request;
    use raftlab::tui::sim::{ClockState, SimSession, TICK_WALL};

    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!("SKIPPED regenerate_sim_screenshots: set RAFTLAB_SCREENSHOTS=DIR");
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let clock = |paused| ClockState {
        paused,
        speed: 1.0,
        tick_wall: TICK_WALL,
    };

    // 1. Time travel: seed 7, the leader killed at 1 s, a write, then
    // scrubbed back to the election that followed the kill.
    let opts = SimOptions {
        seed: 7,
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 256, "sim seed 7".into()).unwrap();
    let mut app = App::new(s.view(clock(false)), Box::new(Ignore), Options::default());
    for tick in 0..300u64 {
        if tick == 60 {
            s.request(1, Request::Put("x".into(), "1".into()));
        }
        if tick == 100
            && let Some(l) = s.sim().leader()
        {
            s.request(2, Request::Kill(l));
        }
        if tick == 200 {
            s.request(3, Request::Put("y".into(), "2".into()));
        }
        s.tick();
        app.update(Action::View(NewView(s.view(clock(tick == 299)))));
        app.update(Action::Sim(Arc::new(s.status())));
    }
    for _ in 0..17 {
        app.update(Action::HistoryBack(10));
    }
    app.update(Action::HistoryForward(4));
    shot_app(&mut app, &dir, "time-travel", 120, 40);

    // 2. A seeded chaotic run caught breaking Raft: `raftlab replay --seed 1
    // --bug forget-vote` stops at the violation.
    let mut bugs = raftlab::raft::Bugs::default();
    bugs.enable("forget-vote");
    let opts = SimOptions {
        seed: 1,
        bugs,
        faults: FaultSchedule::all(),
        clients: 5,
        keys: 5,
        max_ops: 1000,
        ops_per_sec: 100,
        ..SimOptions::default()
    };
    let label = "replay of raftlab check --seeds 1 --bug forget-vote".to_string();
    let mut s = SimSession::new(opts, Some(10_000_000), 256, label).unwrap();
    let mut app = App::new(s.view(clock(false)), Box::new(Ignore), Options::default());
    for _ in 0..1000 {
        let report = s.tick();
        let stop = report.violation.is_some();
        app.update(Action::View(NewView(s.view(clock(stop)))));
        app.update(Action::Sim(Arc::new(s.status())));
        if stop {
            break;
        }
    }
    shot_app(&mut app, &dir, "sim-violation", 120, 40);
    // The same moment with the simulator's checks and its messages.
    app.update(Action::ToggleChecker);
    app.update(Action::ToggleMessages);
    shot_app(&mut app, &dir, "sim-teaching", 200, 50);

    // 3. Membership in simulated mode: seed 5 with three nodes; `add 4`,
    // `promote 4` (asked again while n4 catches up), `remove leader`, a bad
    // id, then `add 5`: a learner card and a removed one.
    let opts = SimOptions {
        seed: 5,
        nodes: 3,
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 256, "sim seed 5".into()).unwrap();
    let mut app = App::new(s.view(clock(false)), Box::new(Ignore), Options::default());
    app.update(Action::Sim(Arc::new(s.status())));
    let mut id = 0;
    let mut step = 0;
    let mut done_at = None;
    let mut first = None;
    for tick in 0..2000u64 {
        let view = s.view(clock(false));
        let settled = view.configuration().filter(|(_, pending)| !pending);
        let waiting = !app.pending.is_empty();
        match step {
            0 if tick >= 60 && view.leader().is_some() => {
                first = view.leader();
                ask(&mut app, &mut s, &mut id, "add 4", Request::AddLearner(4));
                step = 1;
            }
            1 if !waiting && tick % 20 == 0 && settled.is_some_and(|(c, _)| c.is_learner(4)) => {
                ask(&mut app, &mut s, &mut id, "promote 4", Request::Promote(4));
            }
            1 if !waiting && settled.is_some_and(|(c, _)| c.is_voter(4)) => {
                let l = view.leader().unwrap_or(1);
                ask(
                    &mut app,
                    &mut s,
                    &mut id,
                    "remove leader",
                    Request::Remove(l),
                );
                step = 2;
            }
            2 if !waiting
                && view.leader().is_some_and(|l| Some(l) != first)
                && settled.is_some() =>
            {
                type_line(&mut app, "add 12");
                ask(&mut app, &mut s, &mut id, "add 5", Request::AddLearner(5));
                step = 3;
            }
            3 if !waiting && done_at.is_none() => done_at = Some(tick),
            _ => {}
        }
        if done_at.is_some_and(|t| tick >= t + 20) {
            break;
        }
        for (id, result) in s.tick().answers {
            if let Some(id) = id {
                app.update(Action::Done(raftlab::tui::Outcome { id, result }));
            }
        }
        app.update(Action::View(NewView(s.view(clock(false)))));
        app.update(Action::Sim(Arc::new(s.status())));
    }
    assert!(done_at.is_some(), "the membership script ran to its end");
    app.update(Action::FocusNext);
    shot_app(&mut app, &dir, "sim-membership", 120, 40);
}

/// Types `line` into the app's console and runs it.
fn type_line(app: &mut App, line: &str) {
    app.update(Action::FocusConsole);
    for c in line.chars() {
        app.update(Action::Edit(Edit::Insert(c)));
    }
    app.update(Action::Submit);
}

/// Types `line` (which asks `request`) into the app's console and hands
/// the request to the session under the id the app gave it.
fn ask(
    app: &mut App,
    s: &mut raftlab::tui::sim::SimSession,
    id: &mut u64,
    line: &str,
    request: raftlab::tui::Request,
) {
    type_line(app, line);
    *id += 1;
    if let Some((_, result)) = s.request(*id, request) {
        app.update(Action::Done(raftlab::tui::Outcome { id: *id, result }));
    }
}

/// Where a tour screenshot is taken.
enum Stop<'a> {
    /// When the step whose statement (or question) starts so waits.
    At(&'a str),
    /// When a question was answered with this choice and the step after it
    /// waits.
    Answered(&'a str, usize),
    /// When the last step ran and the tour waits to end.
    End,
}

/// Plays the shipped tour `name` on the simulator, as `raftlab tour NAME`
/// does (the same run every time), giving every step its go, until `stop`;
/// then draws the dashboard. `prepare` is applied to it first (e.g. to
/// open a panel).
fn tour_shot(dir: &Path, name: &str, stop: Stop, shot: &str, prepare: impl FnOnce(&mut App)) {
    use raftlab::tui::sim::{ClockState, SimTours, TICK_WALL, start_tour};
    use raftlab::tui::tour::{Phase, TourEvent};
    use raftlab::tui::{TourSetup, handle};

    let (setup, spec) = TourSetup::shipped(name, None).expect("a shipped tour");
    let mut session = SimTours::default()
        .session(&setup.name, &spec)
        .expect("its run");
    // The fastest speed a person can set; the status bar says so.
    let speed = 10.0;
    let first = session.view(ClockState {
        paused: true,
        speed,
        tick_wall: TICK_WALL,
    });
    let status = Arc::new(session.status());
    let (tx, rx) = unbounded();
    let (driver, tour) = start_tour(session, speed, &setup, tx).expect("the tour");
    let mut app = App::new(first, Box::new(driver), Options::default());
    app.sim = Some(status);
    app.tour = Some(tour);
    prepare(&mut app);
    let mut answered = false;
    loop {
        let msg = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the tour {name} went quiet"));
        let ended = matches!(msg, Msg::Tour(TourEvent::Finished { .. }));
        handle(&mut app, msg);
        assert!(!ended, "the tour {name} ended before its stop");
        let Some(t) = app.tour.as_ref() else {
            continue;
        };
        // Wait for the view of the held run.
        if !t.waiting() || !app.view.clock_paused {
            continue;
        }
        let here = t.current.as_deref().unwrap_or("");
        let stop_here = match stop {
            Stop::At(at) => here.starts_with(at),
            Stop::Answered(_, _) => answered && !t.current_is_question(),
            Stop::End => t.phase == Phase::AtEnd,
        };
        if stop_here {
            break;
        }
        match stop {
            Stop::Answered(at, pick) if here.starts_with(at) && t.asking() => {
                app.update(Action::TourPick(pick));
                answered = true;
            }
            _ => app.update(Action::TourNext),
        }
    }
    shot_app(&mut app, dir, shot, 120, 40);
}

#[test]
fn regenerate_tour_screenshots() {
    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!(
            "SKIPPED regenerate_tour_screenshots: set RAFTLAB_SCREENSHOTS=DIR (scripts/screenshots.sh does)"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");

    // The tour menu (T) over a running cluster.
    let mut run = Run::start(&dir, 5, 7);
    run.until("a leader", Duration::from_secs(20), |v| leader(v).is_some());
    run.app.update(Action::ToggleTourMenu);
    run.app.update(Action::TourMenuMove(6));
    run.shot("tour-menu", 120, 40);

    // The election tour stopped on a candidate collecting votes, its
    // question asked, then answered; Figure 8 at (c): x=1 of an old term on
    // a majority, not committed; the snapshots tour once n3 installed the
    // snapshot.
    tour_shot(
        &dir,
        "election",
        Stop::At("How many votes"),
        "tour-question",
        |_| {},
    );
    tour_shot(
        &dir,
        "election",
        Stop::Answered("How many votes", 1),
        "tour-answered",
        |_| {},
    );
    tour_shot(
        &dir,
        "figure8",
        Stop::At("n3's answer reaches n1"),
        "tour-figure8",
        |_| {},
    );
    tour_shot(
        &dir,
        "snapshots",
        Stop::At("wait applied >= 121"),
        "tour-snapshots",
        |_| {},
    );
    // Figure 8 with commit-old-terms on, at its end, just after the
    // violation: the checker open, the bug and VIOLATED badges in the
    // status bar.
    tour_shot(
        &dir,
        "figure8-broken",
        Stop::End,
        "tour-figure8-broken",
        |app| app.update(Action::ToggleChecker),
    );
}

#[test]
fn regenerate_teaching_screenshots() {
    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!(
            "SKIPPED regenerate_teaching_screenshots: set RAFTLAB_SCREENSHOTS=DIR (scripts/screenshots.sh does)"
        );
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let long = Duration::from_secs(20);

    // 1. The message list and focus mode on a lossy network.
    let mut run = Run::start(&dir, 5, 21);
    run.until("a leader", long, |v| leader(v).is_some());
    run.command("loss 20%");
    run.command("delay 5..40ms");
    for (k, v) in [("x", "1"), ("y", "2"), ("x", "3")] {
        run.command(&format!("put {k} {v}"));
    }
    run.settle(Duration::from_millis(1500));
    run.app.update(Action::Escape);
    run.app.update(Action::ToggleMessages);
    run.shot("messages", 120, 40);
    let lead = run.pump().leader().unwrap_or(1);
    run.app.update(Action::Select(lead));
    run.app.update(Action::ToggleFlow);
    run.shot("focus", 120, 40);
    run.shot("focus-wide", 200, 50);

    // 2. Breaking Raft on purpose: forget-vote on, a voter restarted,
    // the live checker catches it.
    run.command("loss 0%");
    run.command("delay 0ms");
    run.settle(Duration::from_millis(300));
    let view = run.pump();
    let lead = view.leader().unwrap_or(1);
    let voter = view
        .nodes
        .iter()
        .find(|n| n.id != lead && n.vote.is_some())
        .map_or(1, |n| n.id);
    run.command("bug forget-vote on");
    run.command(&format!("kill {voter}"));
    run.settle(Duration::from_millis(200));
    run.command(&format!("restart {voter}"));
    run.until("the violation caught", long, |v| {
        v.teaching.checks.violated()
    });
    run.settle(Duration::from_millis(300));
    run.app.update(Action::Escape);
    run.app.update(Action::ToggleChecker);
    run.shot("checker-violated", 120, 40);
    run.app.update(Action::ToggleMessages);
    run.shot("teaching-wide", 200, 50);
}

/// "Why?" answers on a simulated run (the same pictures every time): a
/// write sent to a leader cut off in a minority, asked about from the
/// log's cursor, at a class's 100×30 and at 200×50; and the leader itself.
#[test]
fn regenerate_why_screenshots() {
    use raftlab::sim::SimOptions;
    use raftlab::tui::Request;
    use raftlab::tui::sim::{ClockState, SimSession, TICK_WALL};

    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!("SKIPPED regenerate_why_screenshots: set RAFTLAB_SCREENSHOTS=DIR");
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let clock = ClockState {
        paused: true,
        speed: 1.0,
        tick_wall: TICK_WALL,
    };
    let opts = SimOptions {
        seed: 3,
        latency_us: raftlab::tui::VISIBLE_LATENCY_US,
        ..SimOptions::default()
    };
    let mut s = SimSession::new(opts, None, 256, "sim seed 3".into()).unwrap();
    let mut app = App::new(s.view(clock), Box::new(Ignore), Options::default());
    let mut leader = None;
    let mut put_at: Option<u64> = None;
    for tick in 0..600u64 {
        if leader.is_none() && tick > 60 {
            leader = s.sim().leader();
            if let Some(l) = leader {
                let other = if l == 1 { 2 } else { 1 };
                let rest: Vec<u64> = (1..=5).filter(|&n| n != l && n != other).collect();
                type_line(&mut app, &format!("partition {l} {other}"));
                s.request(1, Request::Partition(vec![vec![l, other], rest]));
                type_line(&mut app, &format!("put y 2 on {l}"));
                s.request(
                    2,
                    Request::ClientOn(
                        l,
                        raftlab::kv::Op::Put {
                            key: "y".into(),
                            value: "2".into(),
                        },
                    ),
                );
                put_at = Some(tick);
            }
        }
        s.tick();
        app.update(Action::View(NewView(s.view(clock))));
        app.update(Action::Sim(Arc::new(s.status())));
        // Long enough for the write to reach the follower on its side.
        if put_at.is_some_and(|t| tick >= t + 8) {
            break;
        }
    }
    let l = leader.expect("a leader");
    app.update(Action::Escape);
    app.update(Action::Select(l));
    app.update(Action::FocusNext);
    app.update(Action::Why);
    shot_app(&mut app, &dir, "why-entry", 100, 30);
    shot_app(&mut app, &dir, "why-entry-wide", 200, 50);
    app.update(Action::FocusPrev);
    shot_app(&mut app, &dir, "why-node", 120, 40);
}

/// Messages on the wire, from deterministic simulated runs at the
/// dashboards' visible latency: an election in `raftlab class`'s layout
/// at 100×30, messages held by hand at 120×40, a write replicating at
/// 200×50.
#[test]
fn regenerate_wire_screenshots() {
    use raftlab::net::HeldRef;
    use raftlab::sim::SimOptions;
    use raftlab::tui::Request;
    use raftlab::tui::layout::Preset;
    use raftlab::tui::sim::{ClockState, SimSession, TICK_WALL};

    let Some(dir) = std::env::var_os("RAFTLAB_SCREENSHOTS") else {
        eprintln!("SKIPPED regenerate_wire_screenshots: set RAFTLAB_SCREENSHOTS=DIR");
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    let clock = ClockState {
        paused: true,
        speed: 0.2,
        tick_wall: TICK_WALL,
    };
    let session = |seed| {
        let opts = SimOptions {
            seed,
            latency_us: raftlab::tui::VISIBLE_LATENCY_US,
            ..SimOptions::default()
        };
        SimSession::new(opts, None, 256, format!("sim seed {seed}")).unwrap()
    };
    let show = |app: &mut App, s: &mut SimSession| {
        app.update(Action::View(NewView(s.view(clock))));
        app.update(Action::Sim(Arc::new(s.status())));
    };

    // 1. The class at 100×30, mid-election: a candidate's vote requests on
    // their way, frames between ticks putting them where they are.
    let mut s = session(2);
    let options = Options {
        preset: Preset::Class,
        ..Options::default()
    };
    let mut app = App::new(s.view(clock), Box::new(Ignore), options);
    let candidate = |v: &ClusterView| v.nodes.iter().any(|n| n.role == Role::Candidate);
    for _ in 0..400 {
        s.tick();
        let view = s.view(clock);
        if candidate(&view) && view.teaching.wire.flights.len() >= 3 {
            break;
        }
    }
    let now = s.now_us();
    s.advance_to(now + 4_000, None);
    show(&mut app, &mut s);
    shot_app(&mut app, &dir, "wire-election", 100, 30);

    // 2. Held by hand at 120×40: a leader's heartbeats held, #1 delivered
    // (its answer held in turn), #2 dropped.
    let mut s = session(3);
    let mut app = App::new(s.view(clock), Box::new(Ignore), Options::default());
    while s.sim().leader().is_none() {
        s.tick();
    }
    for _ in 0..10 {
        s.tick();
    }
    show(&mut app, &mut s);
    let mut id = 0;
    let mut ask = |app: &mut App, s: &mut SimSession, line: &str, request: Request| {
        id += 1;
        type_line(app, line);
        let asked = app.pending.keys().next_back().copied().unwrap_or(id);
        if let Some((_, result)) = s.request(asked, request) {
            app.update(Action::Done(raftlab::tui::Outcome { id: asked, result }));
        }
    };
    ask(&mut app, &mut s, "hold", Request::Hold);
    for _ in 0..6 {
        s.tick();
    }
    ask(
        &mut app,
        &mut s,
        "deliver 1",
        Request::Deliver(HeldRef::One(1)),
    );
    ask(
        &mut app,
        &mut s,
        "drop 2",
        Request::DropHeld(HeldRef::One(2)),
    );
    show(&mut app, &mut s);
    app.update(Action::Escape);
    shot_app(&mut app, &dir, "wire-held", 120, 40);

    // 3. A write replicating at 200×50: the leader's appends on their way.
    let mut s = session(4);
    let mut app = App::new(s.view(clock), Box::new(Ignore), Options::default());
    while s.sim().leader().is_none() {
        s.tick();
    }
    for _ in 0..8 {
        s.tick();
    }
    show(&mut app, &mut s);
    ask(
        &mut app,
        &mut s,
        "put x 1",
        Request::Put("x".into(), "1".into()),
    );
    let now = s.now_us();
    s.advance_to(now + 6_000, None);
    show(&mut app, &mut s);
    app.update(Action::Escape);
    shot_app(&mut app, &dir, "wire-wide", 200, 50);
}
