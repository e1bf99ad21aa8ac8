//! The simulated mode: the same dashboard driven by the deterministic
//! simulator instead of the live runtime (`raftlab --sim`, `raftlab replay`).
//!
//! A thread ([`SimDriver`]) owns a [`SimSession`] and advances it tick by
//! tick, paced by the same cluster clock as the live runtime, so speed,
//! pause and single step behave the same. After every tick the session's
//! state becomes a [`ClusterView`](crate::runtime::ClusterView)
//! ([`ViewBuilder`]), so every pane works unchanged, and a [`SimStatus`]
//! (seed, trace hash, violation, history verdict) for the status bar and
//! any panel that wants it. Inputs are applied at a virtual time and
//! recorded, so the same seed and inputs make the same run, and `R`
//! replays it from time 0.
//!
//! Files: `session.rs` (the run, inputs and replay; no threads),
//! `changes.rs` (membership changes asked from the dashboard),
//! `view.rs` (simulator state → `ClusterView`), `status.rs`, `driver.rs`
//! (the thread and its clock).

mod changes;
mod driver;
mod session;
mod status;
mod view;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hold;
#[cfg(test)]
mod tests_membership;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::unbounded;

pub use driver::{SimDriver, TICK_WALL};
pub use session::{Answer, Input, SimSession, TickReport};
pub use status::{HistoryCheck, SimStatus};
pub use view::{ClockState, EVENT_CAPACITY, ViewBuilder};

use crate::tui::app::{App, Options};
use crate::tui::run::{Msg, event_loop, spawn_input};
use crate::tui::terminal;

/// Runs the dashboard on the real terminal over `session`, its clock
/// starting at `speed` (paused if `paused`). Restores the terminal however
/// it ends.
pub fn run_sim(
    mut session: SimSession,
    speed: f64,
    paused: bool,
    options: Options,
) -> std::io::Result<()> {
    let (tx, rx) = unbounded::<Msg>();
    let stop = Arc::new(AtomicBool::new(false));
    let first = session.view(ClockState {
        paused,
        speed,
        tick_wall: TICK_WALL,
    });
    let status = Arc::new(session.status());
    let driver = SimDriver::start(session, speed, paused, tx.clone())?;
    let mut app = App::new(first, Box::new(driver), options);
    app.sim = Some(status);
    let (guard, mut term) = terminal::enter(options.mouse)?;
    let input = spawn_input(tx, stop.clone())?;
    let result = event_loop(&mut term, &mut app, &rx);
    stop.store(true, Ordering::Release);
    drop(guard);
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
