//! The main loop, generic over the backend: messages in (input, views,
//! outcomes), actions through `update`, a redraw when something changed —
//! at most one frame per [`FRAME`], and none at all while nothing happens.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event};
use ratatui::{Terminal, TerminalOptions, Viewport};

use crate::runtime::{Cluster, ClusterView};
use crate::scenario::ast::Script;
use crate::tui::action::{Action, NewView};
use crate::tui::app::{App, Options};
use crate::tui::draw::draw;
use crate::tui::driver::{LiveDriver, Outcome};
use crate::tui::keys;
use crate::tui::sim::SimStatus;
use crate::tui::terminal;
use crate::tui::tour::{self, Tour, TourEvent};

/// The shortest time between two frames (about 30 per second).
pub const FRAME: Duration = Duration::from_millis(33);
/// How long the loop sleeps when nothing is due (it wakes on any message).
const IDLE: Duration = Duration::from_secs(3600);

/// What reaches the main loop.
#[derive(Debug)]
pub enum Msg {
    /// A key, mouse or resize event.
    Input(Event),
    /// A newer view of the cluster.
    View(Arc<ClusterView>),
    /// A request finished.
    Done(Outcome),
    /// The guided tour reported something.
    Tour(TourEvent),
    /// Simulated mode: how the run stands.
    Sim(Arc<SimStatus>),
}

/// A guided tour to play over the dashboard.
pub struct TourSetup {
    /// Its name, shown in the caption pane's title.
    pub name: String,
    /// The parsed script.
    pub script: Script,
    /// In auto mode, the delay before each step; `None`: wait for a key.
    pub auto: Option<Duration>,
}

/// Runs `app` on `terminal` until it quits or every sender is gone.
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    messages: &Receiver<Msg>,
) -> Result<(), B::Error> {
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    while !app.quit {
        if dirty && last_frame.elapsed() >= FRAME {
            terminal.draw(|frame| draw(app, frame))?;
            last_frame = Instant::now();
            dirty = false;
        }
        let wait = if dirty {
            FRAME.saturating_sub(last_frame.elapsed())
        } else {
            IDLE
        };
        match messages.recv_timeout(wait) {
            Ok(msg) => {
                dirty |= handle(app, msg);
                // Take everything already queued before drawing again.
                while let Ok(msg) = messages.try_recv() {
                    dirty |= handle(app, msg);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(())
}

/// Acts on one message; whether the screen may have changed.
fn handle(app: &mut App, msg: Msg) -> bool {
    let action = match msg {
        Msg::Input(event) => keys::action_for(app, &event),
        Msg::View(view) => Some(Action::View(NewView(view))),
        Msg::Done(outcome) => Some(Action::Done(outcome)),
        Msg::Tour(event) => Some(Action::Tour(event)),
        Msg::Sim(status) => Some(Action::Sim(status)),
    };
    match action {
        Some(action) => {
            app.update(action);
            true
        }
        None => false,
    }
}

/// Runs the dashboard on the real terminal for `cluster`, playing `tour`
/// over it if given. Restores the terminal however it ends.
pub fn run_live(
    cluster: Arc<Cluster>,
    options: Options,
    tour: Option<TourSetup>,
) -> std::io::Result<()> {
    let (tx, rx) = unbounded::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    let driver = LiveDriver::start(cluster.clone(), tx.clone(), Msg::Done)?;
    let mut app = App::new(cluster.view(), Box::new(driver), options);
    let views = spawn_views(&cluster, tx.clone(), stop.clone())?;
    let mut threads = vec![views];
    if let Some(setup) = tour {
        let events = tx.clone();
        let (handle, go) = tour::spawn(
            setup.script.clone(),
            cluster.clone(),
            setup.auto,
            stop.clone(),
            move |event| {
                let _ = events.send(Msg::Tour(event));
            },
        )?;
        app.tour = Some(Tour::new(&setup.name, &setup.script, setup.auto, go));
        threads.push(handle);
    }
    let (guard, mut term) = terminal::enter(options.mouse)?;
    let input = spawn_input(tx, stop.clone())?;
    let result = event_loop(&mut term, &mut app, &rx);
    stop.store(true, Ordering::Release);
    // Dropping the tour's go sender ends a tour waiting for its next step.
    app.tour = None;
    drop(guard);
    drop(rx);
    threads.push(input);
    for handle in threads {
        let deadline = Instant::now() + Duration::from_millis(500);
        while !handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
    result
}

/// A terminal of a fixed size for tests and screenshots.
pub fn fixed_viewport(width: u16, height: u16) -> TerminalOptions {
    TerminalOptions {
        viewport: Viewport::Fixed(ratatui::layout::Rect::new(0, 0, width, height)),
    }
}

/// Forwards each new view, at most one per frame.
fn spawn_views(
    cluster: &Cluster,
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut watch = cluster.watch();
    std::thread::Builder::new()
        .name("raftlab-tui-views".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                if let Some(view) = watch.wait(Duration::from_millis(200)) {
                    if tx.send(Msg::View(view)).is_err() {
                        return;
                    }
                    std::thread::sleep(FRAME);
                }
            }
        })
}

/// Reads terminal events; checks `stop` between polls.
pub(crate) fn spawn_input(
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("raftlab-tui-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                match event::poll(Duration::from_millis(200)) {
                    Ok(true) => match event::read() {
                        Ok(ev) => {
                            if tx.send(Msg::Input(ev)).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    },
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        })
}
