//! The simulated mode: the same dashboard driven by the deterministic
//! simulator instead of the live runtime (`raftlab --sim`, `raftlab replay`).
//!
//! A thread ([`SimDriver`]) owns a [`SimSession`] and advances it tick by
//! tick, paced by the same cluster clock as the live runtime, so speed,
//! pause and single step behave the same. After every tick the session's
//! state becomes a [`ClusterView`](crate::runtime::ClusterView)
//! ([`ViewBuilder`]), so every pane works unchanged, and a
//! [`SimStatus`](crate::tui::sim_status::SimStatus)
//! (seed, trace hash, violation, history verdict) for the status bar and
//! any panel that wants it. Inputs are applied at a virtual time and
//! recorded, so the same seed and inputs make the same run, and `R`
//! replays it from time 0.
//!
//! A guided tour on the simulator ([`start_tour`]) runs its script on the
//! same thread: the script's statements advance the run themselves, paced
//! by the same clock, and when the tour ends the thread goes on as a free
//! run. A tour chosen in the dashboard (`T`) replaces the run.
//!
//! Files: `session.rs` (the run, inputs and replay; no threads),
//! `saved.rs` (`save FILE.scen`, and playing a saved session back),
//! `changes.rs` (membership changes asked from the dashboard),
//! `view.rs` (simulator state → `ClusterView`), `driver.rs` (the thread
//! and its clock), `tour.rs` (a tour's script driving it).

mod changes;
mod driver;
pub mod saved;
mod session;
mod tour;
mod view;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

pub use driver::SimDriver;
pub use session::{Answer, Input, SimSession, TickReport};
pub use tour::start_tour;
pub use view::{ClockState, EVENT_CAPACITY, TICK_WALL, ViewBuilder};

use crate::raft::Bugs;
use crate::runtime::ClusterView;
use crate::scenario::{ClusterSpec, script_options};
use crate::sim::{Extensions, SimError};
use crate::tui::app::{App, Options};
use crate::tui::cast::Recording;
use crate::tui::console::LineKind;
use crate::tui::run::{Msg, TourSetup, event_loop_recorded, spawn_input};
use crate::tui::sim_status::SimStatus;
use crate::tui::terminal;
use crate::tui::tour::Tour;

/// How a simulated dashboard makes the run a guided tour plays on: the
/// tour's `cluster` statement gives the size, seed and bugs; these give
/// the rest.
#[derive(Clone, Debug)]
pub struct SimTours {
    /// Every link's latency, µs (the dashboards' visible latency unless
    /// `--latency` says otherwise).
    pub latency_us: (u64, u64),
    /// PreVote and CheckQuorum on or off.
    pub extensions: Extensions,
    /// Bugs switched on from the command line, besides the script's.
    pub bugs: Bugs,
    /// The seed of a script whose `cluster` statement names none.
    pub seed: u64,
    /// Log entries per node the dashboard keeps in view.
    pub window: usize,
    /// In auto mode, the delay before each step.
    pub auto: Option<Duration>,
}

impl Default for SimTours {
    /// A tour's run as the dashboards make it by default: the visible
    /// latency, PreVote and CheckQuorum on, no bug but the script's, seed 1
    /// for a script without one, 256 log entries in view, a key per step.
    fn default() -> SimTours {
        SimTours {
            latency_us: crate::tui::VISIBLE_LATENCY_US,
            extensions: Extensions::default(),
            bugs: Bugs::default(),
            seed: 1,
            window: 256,
            auto: None,
        }
    }
}

impl SimTours {
    /// The run for a tour called `name` whose script asks for `spec`: the
    /// run `raftlab script` makes of it at this latency.
    pub fn session(&self, name: &str, spec: &ClusterSpec) -> Result<SimSession, SimError> {
        let mut opts = script_options(spec, self.seed, self.latency_us, self.extensions);
        for bug in self.bugs.names() {
            opts.bugs.enable(bug);
        }
        let label = format!("tour {name} · sim seed {}", opts.seed);
        SimSession::new(opts, None, self.window, label)
    }
}

/// Runs the dashboard on the real terminal over `session`, its clock
/// starting at `speed` (paused if `paused`), playing `tour` on it if given
/// (then `session` is the tour's run, and its clock is held until the
/// first step). A tour chosen in the dashboard (`T`) replaces the run with
/// one made by `tours`. Restores the terminal however it ends;
/// a `record`ing ends after that.
pub fn run_sim(
    session: SimSession,
    tour: Option<TourSetup>,
    (speed, paused): (f64, bool),
    options: Options,
    tours: SimTours,
    record: Option<Recording>,
) -> std::io::Result<()> {
    let (tx, rx) = unbounded::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    let (first, status, driver, playing) = start(session, tour.as_ref(), speed, paused, &tx)?;
    let mut app = App::new(first, Box::new(driver), options);
    app.sim = Some(status);
    app.tour = playing;
    let (guard, mut term, mut recorder) = terminal::enter(options.mouse, record)?;
    let input = spawn_input(tx.clone(), stop.clone())?;
    let result = loop {
        let result = event_loop_recorded(&mut term, &mut app, &rx, recorder.as_mut());
        let request = app.tour_request.take();
        let Some(name) = request.filter(|_| result.is_ok() && !app.quit) else {
            break result;
        };
        if let Err(e) = replace(&name, &mut app, &tx, &rx, &tours) {
            break Err(e);
        }
    };
    stop.store(true, Ordering::Release);
    drop(guard);
    if let Some(recorder) = recorder {
        recorder.finish();
    }
    // Dropping the app drops the driver, which ends the simulator thread.
    drop(app);
    drop(rx);
    let deadline = Instant::now() + Duration::from_millis(500);
    while !input.is_finished() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if input.is_finished() {
        let _ = input.join();
    }
    result
}

/// What [`start`] gives the dashboard: the first view, the run's status,
/// the driver and, for a tour, the dashboard's side of it.
type Started = (Arc<ClusterView>, Arc<SimStatus>, SimDriver, Option<Tour>);

/// Starts the simulator thread on `session`, playing `tour` if given.
fn start(
    mut session: SimSession,
    tour: Option<&TourSetup>,
    speed: f64,
    paused: bool,
    tx: &Sender<Msg>,
) -> std::io::Result<Started> {
    let first = session.view(ClockState {
        paused: paused || tour.is_some(),
        speed,
        tick_wall: TICK_WALL,
    });
    let status = Arc::new(session.status());
    Ok(match tour {
        Some(setup) => {
            let (driver, tour) = start_tour(session, speed, setup, tx.clone())?;
            (first, status, driver, Some(tour))
        }
        None => {
            let driver = SimDriver::start(session, speed, paused, tx.clone())?;
            (first, status, driver, None)
        }
    })
}

/// Replaces the dashboard's run with a fresh one for the shipped tour
/// `name`, at the dashboard's speed, and plays it. A tour that cannot be
/// prepared leaves the run as it was, with a message.
fn replace(
    name: &str,
    app: &mut App,
    tx: &Sender<Msg>,
    rx: &Receiver<Msg>,
    tours: &SimTours,
) -> std::io::Result<()> {
    let prepared = TourSetup::shipped(name, tours.auto).and_then(|(setup, spec)| {
        let session = tours
            .session(&setup.name, &spec)
            .map_err(|e| format!("tour {name}: {e}"))?;
        Ok((setup, session))
    });
    let (setup, session) = match prepared {
        Ok(prepared) => prepared,
        Err(message) => {
            app.console.push(LineKind::Error, message);
            return Ok(());
        }
    };
    let nodes = session.sim().node_ids().len();
    let seed = session.status().seed;
    // The old run's thread ends first; whatever it sent last is out of
    // date, and the keys pressed meanwhile are kept, in order.
    drop(app.close_driver());
    let inputs: Vec<Msg> = rx
        .try_iter()
        .filter(|m| matches!(m, Msg::Input(_)))
        .collect();
    let (first, status, driver, playing) = start(session, Some(&setup), app.view.speed, true, tx)?;
    drop(app.replace_cluster(first, Box::new(driver)));
    app.sim = Some(status);
    app.tour = playing;
    app.console.push(
        LineKind::Ok,
        format!("tour {name}: {nodes} simulated nodes, seed {seed}; Enter runs each step"),
    );
    for msg in inputs {
        let _ = tx.send(msg);
    }
    Ok(())
}
