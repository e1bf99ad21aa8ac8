//! The main loop, generic over the backend: messages in (input, views,
//! outcomes), actions through `update`, a redraw when something changed —
//! at most one frame per [`FRAME`], and none at all while nothing happens.
//!
//! [`run_live`] wraps it for the real terminal and a live cluster. The
//! cluster can change under the dashboard: choosing a tour in the menu
//! (`T`, or `tour NAME`) makes [`event_loop`] return with the request; the
//! old cluster's threads (views, tour, driver) are stopped and joined, the
//! cluster shut down, and a fresh one of the size the tour's script asks
//! for started and attached, with the tour playing over it. When the tour
//! ends the person goes on with that cluster.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use ratatui::backend::Backend;
use ratatui::crossterm::event::{self, Event};
use ratatui::{Terminal, TerminalOptions, Viewport};

use crate::runtime::{Cluster, ClusterConfig, ClusterView};
use crate::scenario::ast::{Script, StmtKind};
use crate::scenario::{self, ClusterSpec, tours};
use crate::tui::action::{Action, NewView};
use crate::tui::app::{App, Options};
use crate::tui::cast::{Recorder, Recording};
use crate::tui::console::LineKind;
use crate::tui::draw::draw;
use crate::tui::driver::{LiveDriver, Outcome};
use crate::tui::keys;
use crate::tui::sim_status::SimStatus;
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

impl TourSetup {
    /// Parses the script `text` (errors name `file`) and finds the cluster
    /// its `cluster` statement asks for; the message is ready to print.
    pub fn prepare(
        file: &str,
        title: &str,
        text: &str,
        auto: Option<Duration>,
    ) -> Result<(TourSetup, ClusterSpec), String> {
        let script = scenario::parse(text, file).map_err(|e| e.to_string())?;
        let spec = script
            .statements
            .iter()
            .find_map(|s| match &s.kind {
                StmtKind::Cluster(spec) => Some(spec.clone()),
                _ => None,
            })
            .ok_or_else(|| {
                format!("{file}: a tour needs a `cluster N` statement to size the live cluster")
            })?;
        let setup = TourSetup {
            name: title.to_string(),
            script,
            auto,
        };
        Ok((setup, spec))
    }

    /// The shipped tour called `name`, and the cluster it asks for.
    pub fn shipped(name: &str, auto: Option<Duration>) -> Result<(TourSetup, ClusterSpec), String> {
        let tour = tours::find(name).ok_or_else(|| format!("there is no tour called '{name}'"))?;
        TourSetup::prepare(
            &format!("assets/tours/{}", tour.file),
            tour.name,
            tour.text,
            auto,
        )
    }
}

/// How the dashboard makes a fresh cluster for a tour chosen in its menu.
#[derive(Clone, Debug)]
pub struct Fresh {
    /// The settings of the cluster the dashboard started with. A tour's
    /// cluster takes its size, seed and bugs from the script, starts
    /// paused, keeps the speed, transport and view settings, and keeps its
    /// logs in memory (a data directory belongs to the first cluster).
    pub base: ClusterConfig,
    /// In auto mode, the delay before each step.
    pub auto: Option<Duration>,
}

impl Fresh {
    /// The settings of the cluster for a tour asking for `spec`.
    pub fn config(&self, spec: &ClusterSpec) -> ClusterConfig {
        ClusterConfig {
            nodes: spec.nodes,
            seed: spec.seed.unwrap_or(self.base.seed),
            bugs: spec.bugs,
            start_paused: true,
            storage: ClusterConfig::default().storage,
            ..self.base.clone()
        }
    }
}

/// Runs `app` on `terminal` until it quits, every sender is gone, or the
/// person chose a tour (`app.tour_request`), which the caller starts.
pub fn event_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    messages: &Receiver<Msg>,
) -> Result<(), B::Error> {
    event_loop_recorded(terminal, app, messages, None)
}

/// [`event_loop`], telling `recorder` (`--record`) after each frame, so
/// the cast marks the chapters it shows.
pub fn event_loop_recorded<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    messages: &Receiver<Msg>,
    mut recorder: Option<&mut Recorder>,
) -> Result<(), B::Error> {
    let size = terminal.size()?;
    app.update(Action::Resize(size.width, size.height));
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    while !app.quit && app.tour_request.is_none() {
        if dirty && last_frame.elapsed() >= FRAME {
            terminal.draw(|frame| draw(app, frame))?;
            if let Some(recorder) = recorder.as_deref_mut() {
                recorder.after_frame(app);
            }
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
pub fn handle(app: &mut App, msg: Msg) -> bool {
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
/// over it if given; a tour chosen in the dashboard gets a cluster made by
/// `fresh`. Shuts down whichever cluster is current when it ends, and
/// restores the terminal however it ends; a `record`ing ends after that.
pub fn run_live(
    cluster: Arc<Cluster>,
    options: Options,
    tour: Option<TourSetup>,
    fresh: Fresh,
    record: Option<Recording>,
) -> std::io::Result<()> {
    let (tx, rx) = unbounded::<Msg>();
    let (first, driver, playing) = Attached::start(cluster, &tx, tour)?;
    let mut app = App::new(first.cluster.view(), Box::new(driver), options);
    let mut attached = Some(first);
    app.tour = playing;
    let (guard, mut term, mut recorder) = terminal::enter(options.mouse, record)?;
    let input_stop = Arc::new(AtomicBool::new(false));
    let input = spawn_input(tx.clone(), input_stop.clone())?;
    let result = loop {
        let result = event_loop_recorded(&mut term, &mut app, &rx, recorder.as_mut());
        let request = app.tour_request.take();
        let Some(name) = request.filter(|_| result.is_ok() && !app.quit) else {
            break result;
        };
        let Some(current) = attached.take() else {
            break result;
        };
        match current.replace(&name, &mut app, &tx, &rx, &fresh) {
            Ok(next) => attached = Some(next),
            Err(e) => break Err(e),
        }
    };
    input_stop.store(true, Ordering::Release);
    drop(guard);
    if let Some(recorder) = recorder {
        recorder.finish();
    }
    if let Some(current) = attached {
        current.close(&mut app);
    }
    drop(rx);
    join_within(vec![input], Duration::from_millis(500));
    result
}

/// A cluster behind the dashboard and the threads serving it: the view
/// forwarder, the tour (if any) and, through the app, the driver.
struct Attached {
    cluster: Arc<Cluster>,
    /// Ends the view forwarder and the tour.
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Attached {
    /// Starts serving `cluster`: its views and outcomes go to `tx`, and
    /// `tour` plays over it. Returns the driver and the tour for the app.
    fn start(
        cluster: Arc<Cluster>,
        tx: &Sender<Msg>,
        tour: Option<TourSetup>,
    ) -> std::io::Result<(Attached, LiveDriver, Option<Tour>)> {
        let stop = Arc::new(AtomicBool::new(false));
        let driver = LiveDriver::start(cluster.clone(), tx.clone(), Msg::Done)?;
        let mut threads = vec![spawn_views(&cluster, tx.clone(), stop.clone())?];
        let mut playing = None;
        if let Some(setup) = tour {
            let events = tx.clone();
            let stopped = stop.clone();
            let (handle, go) = tour::spawn(
                setup.script.clone(),
                cluster.clone(),
                setup.auto,
                stop.clone(),
                move |event| {
                    // A tour still finishing a step after its cluster was
                    // replaced must not speak over the next tour.
                    if !stopped.load(Ordering::Acquire) {
                        let _ = events.send(Msg::Tour(event));
                    }
                },
            )?;
            playing = Some(Tour::new(&setup.name, &setup.script, setup.auto, go));
            threads.push(handle);
        }
        let attached = Attached {
            cluster,
            stop,
            threads,
        };
        Ok((attached, driver, playing))
    }

    /// Stops serving the cluster and shuts it down: the tour ends (the
    /// app's side is dropped), the driver takes no more requests, every
    /// thread is joined (boundedly: one stuck past half a second is left
    /// detached rather than hang the dashboard).
    fn close(self, app: &mut App) {
        self.stop.store(true, Ordering::Release);
        // Dropping the tour's go sender ends a tour waiting for its next step.
        app.tour = None;
        let workers = app.close_driver();
        let wait = Duration::from_millis(500);
        // The tour and the control worker hold the cluster: join them first.
        let mut left = join_within(self.threads, wait);
        left.extend(join_within(workers, Duration::from_millis(100)));
        if let Ok(cluster) = Arc::try_unwrap(self.cluster) {
            cluster.shutdown();
        }
        // A client operation in progress ends once the cluster stopped.
        join_within(left, wait);
    }

    /// Replaces this cluster with a fresh one for the shipped tour `name`
    /// and plays it. A tour that cannot be prepared leaves everything as
    /// it was, with a message; a fresh cluster that cannot start is
    /// reported and the dashboard goes on with one made from the base
    /// settings. Only when even that fails is it an error.
    fn replace(
        self,
        name: &str,
        app: &mut App,
        tx: &Sender<Msg>,
        rx: &Receiver<Msg>,
        fresh: &Fresh,
    ) -> std::io::Result<Attached> {
        let (setup, spec) = match TourSetup::shipped(name, fresh.auto) {
            Ok(prepared) => prepared,
            Err(message) => {
                app.console.push(LineKind::Error, message);
                return Ok(self);
            }
        };
        self.close(app);
        // Whatever the old cluster's threads sent last is out of date; the
        // keys pressed meanwhile are kept, in order.
        let inputs: Vec<Msg> = rx
            .try_iter()
            .filter(|m| matches!(m, Msg::Input(_)))
            .collect();
        let config = fresh.config(&spec);
        let (nodes, seed) = (config.nodes, config.seed);
        let (cluster, tour) = match Cluster::start(config) {
            Ok(cluster) => (cluster, Some(setup)),
            Err(e) => {
                app.console.push(
                    LineKind::Error,
                    format!("tour {name}: cannot start its cluster: {e}"),
                );
                let base = Cluster::start(fresh.base.clone())
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                (base, None)
            }
        };
        let (attached, driver, playing) = Attached::start(Arc::new(cluster), tx, tour)?;
        app.replace_cluster(attached.cluster.view(), Box::new(driver));
        if playing.is_some() {
            app.console.push(
                LineKind::Ok,
                format!("tour {name}: {nodes} nodes, seed {seed}; Enter runs each step"),
            );
        }
        app.tour = playing;
        for msg in inputs {
            let _ = tx.send(msg);
        }
        Ok(attached)
    }
}

/// Joins the threads that finish within `wait`; returns the others.
fn join_within(
    handles: Vec<std::thread::JoinHandle<()>>,
    wait: Duration,
) -> Vec<std::thread::JoinHandle<()>> {
    let deadline = Instant::now() + wait;
    let mut left = Vec::new();
    for handle in handles {
        while !handle.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if handle.is_finished() {
            let _ = handle.join();
        } else {
            left.push(handle);
        }
    }
    left
}

/// A terminal of a fixed size for tests and screenshots.
pub fn fixed_viewport(width: u16, height: u16) -> TerminalOptions {
    TerminalOptions {
        viewport: Viewport::Fixed(ratatui::layout::Rect::new(0, 0, width, height)),
    }
}

/// How long the view forwarder waits for a change while messages move
/// on the wire before it takes a fresh view anyway (with the frame's
/// pause after each view, about 20 views a second).
const ANIMATE_WAIT: Duration = Duration::from_millis(17);

/// Forwards each new view, at most one per frame; while messages move on
/// the wire and the clock runs, a fresh view at least every ~50 ms, so
/// they are seen travelling even when nothing else changes.
fn spawn_views(
    cluster: &Cluster,
    tx: Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut watch = cluster.watch();
    std::thread::Builder::new()
        .name("raftlab-tui-views".into())
        .spawn(move || {
            let mut moving = false;
            while !stop.load(Ordering::Acquire) {
                let view = if moving {
                    watch.wait(ANIMATE_WAIT).or_else(|| Some(watch.current()))
                } else {
                    watch.wait(Duration::from_millis(200))
                };
                if let Some(view) = view {
                    moving = !view.clock_paused && view.teaching.wire.moving();
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
