//! The simulated mode's [`Driver`]: a thread that owns a [`SimSession`],
//! paces it with the live runtime's cluster clock (speed, pause, single
//! step behave as in live mode), posts a view after every tick, and carries
//! out the dashboard's requests between ticks.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

use super::session::SimSession;
use super::view::{ClockState, TICK_WALL};
use crate::runtime::{Clock, TICK_CLUSTER_US};
use crate::tui::driver::{Driver, Outcome, Request};
use crate::tui::run::Msg;

/// Most ticks run before requests are looked at again, so a key is never
/// kept waiting by a clock far ahead of the simulator.
const TICKS_PER_ROUND: usize = 64;
/// How long the thread sleeps while the clock is paused (it wakes on any
/// request).
pub(super) const PAUSED_WAIT: Duration = Duration::from_millis(250);
/// While messages are on the wire and a tick lasts longer than this on
/// the wall (speeds below 1), a frame between ticks moves them on: about
/// 20 a second.
const FRAME_GAP: Duration = Duration::from_millis(50);
/// The least cluster time a frame between ticks moves on, µs.
const FRAME_MIN_US: u64 = 500;

/// Sends requests to the simulator thread; dropping it ends the thread.
pub struct SimDriver {
    requests: Option<Sender<(u64, Request)>>,
    thread: Option<JoinHandle<()>>,
}

impl SimDriver {
    /// Starts the thread on `session`; its clock starts at `speed`,
    /// paused if `paused`. Views, statuses and outcomes go to `out`.
    pub fn start(
        session: SimSession,
        speed: f64,
        paused: bool,
        out: Sender<Msg>,
    ) -> std::io::Result<SimDriver> {
        SimDriver::spawn(move |requests| {
            Stage::new(session, speed, paused, out, requests).run();
        })
    }

    /// Starts `body` on the simulator thread; it receives the dashboard's
    /// requests (the channel closes when the driver is dropped).
    pub(super) fn spawn<F>(body: F) -> std::io::Result<SimDriver>
    where
        F: FnOnce(Receiver<(u64, Request)>) + Send + 'static,
    {
        let (tx, rx) = unbounded();
        let thread = std::thread::Builder::new()
            .name("raftlab-sim".into())
            .spawn(move || body(rx))?;
        Ok(SimDriver {
            requests: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Driver for SimDriver {
    fn submit(&mut self, id: u64, request: Request) {
        if let Some(tx) = &self.requests {
            let _ = tx.send((id, request));
        }
    }

    /// Ends the simulator thread (waiting for it half a second at most):
    /// nothing it sends comes after this returns, unless it was stuck.
    fn close(&mut self) -> Vec<JoinHandle<()>> {
        self.requests = None;
        let Some(thread) = self.thread.take() else {
            return Vec::new();
        };
        let deadline = Instant::now() + Duration::from_millis(500);
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if thread.is_finished() {
            let _ = thread.join();
            Vec::new()
        } else {
            vec![thread]
        }
    }
}

impl Drop for SimDriver {
    fn drop(&mut self) {
        // A thread still stuck is left detached rather than hang the
        // dashboard.
        drop(self.close());
    }
}

/// The simulator thread's state: the run, its clock, where views go and
/// where requests come from. A free run ([`Stage::run`]) ticks as the
/// clock says; a guided tour (`tour.rs`) advances it statement by
/// statement through the same clock.
pub(super) struct Stage {
    pub(super) session: SimSession,
    pub(super) clock: Clock,
    pub(super) out: Sender<Msg>,
    pub(super) requests: Receiver<(u64, Request)>,
    /// The run is (or was) a guided tour: `R` cannot replay it, since the
    /// tour's statements are not recorded inputs.
    pub(super) touring: bool,
    /// Whether the last view had messages moving on the wire.
    moving: bool,
    /// When the last view was posted.
    shown: Instant,
}

/// Why a stage stopped advancing.
#[derive(Debug)]
pub(super) enum Halt {
    /// The dashboard is gone (its driver was dropped).
    Gone,
    /// The run hit this violation.
    Violation(crate::sim::Violation),
    /// The run cannot go on, for this reason (e.g. a check's run ended).
    Halted(String),
}

impl Stage {
    /// A stage for `session`, its clock at `speed` (paused if `paused`).
    pub(super) fn new(
        session: SimSession,
        speed: f64,
        paused: bool,
        out: Sender<Msg>,
        requests: Receiver<(u64, Request)>,
    ) -> Stage {
        Stage {
            session,
            clock: Clock::new(TICK_WALL, speed, paused),
            out,
            requests,
            touring: false,
            moving: false,
            shown: Instant::now(),
        }
    }

    /// Ticks as the clock says, carrying out requests, until the
    /// dashboard is gone.
    pub(super) fn run(&mut self) {
        if !self.publish() {
            return;
        }
        loop {
            let caught_up = match self.advance() {
                Some(caught_up) => caught_up,
                None => return,
            };
            let next = next_tick(self.session.now_us());
            let wait = if !caught_up {
                Duration::ZERO
            } else {
                let tick = self
                    .clock
                    .wall_until(next, Instant::now())
                    .unwrap_or(PAUSED_WAIT);
                if self.animating() {
                    tick.min(FRAME_GAP.saturating_sub(self.shown.elapsed()))
                } else {
                    tick
                }
            };
            match self.requests.recv_timeout(wait) {
                Ok((id, request)) => {
                    if !self.handle_all(id, request) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Carries out `request` and every request already queued behind it;
    /// false when the dashboard is gone.
    pub(super) fn handle_all(&mut self, id: u64, request: Request) -> bool {
        if !self.handle(id, request) {
            return false;
        }
        while let Ok((id, request)) = self.requests.try_recv() {
            if !self.handle(id, request) {
                return false;
            }
        }
        true
    }

    /// Runs the ticks the clock says are due (at most a round's worth),
    /// or a frame between ticks while messages move on the wire; whether
    /// it caught up, `None` when the dashboard is gone.
    pub(super) fn advance(&mut self) -> Option<bool> {
        for _ in 0..TICKS_PER_ROUND {
            if !self.session.can_run() {
                if !self.clock.paused() {
                    self.clock.set_paused(true);
                    self.publish().then_some(())?;
                }
                return Some(true);
            }
            let now = self.clock.now();
            if now < next_tick(self.session.now_us()) {
                let due = self.shown.elapsed() >= FRAME_GAP
                    && now >= self.session.now_us() + FRAME_MIN_US;
                if self.animating() && due {
                    // Stops short of the next tick boundary: where it
                    // stops changes nothing in the run, only what is shown.
                    let report = self.session.advance_to(now, None);
                    self.report(report)?;
                    self.publish_view(true).then_some(())?;
                }
                return Some(true);
            }
            let report = self.session.tick();
            self.report(report)?;
            self.publish().then_some(())?;
        }
        Some(false)
    }

    /// Whether frames between ticks are due: the clock runs, a tick lasts
    /// longer than a frame, and something moves on the wire.
    fn animating(&self) -> bool {
        self.moving && !self.clock.paused() && TICK_WALL.div_f64(self.clock.speed()) > FRAME_GAP
    }

    /// Posts the answers a stretch of the run produced, and stops the
    /// clock at a violation or the run's end; `None` when the dashboard
    /// is gone.
    fn report(&mut self, report: super::TickReport) -> Option<()> {
        self.post_answers(report.answers)?;
        if report.violation.is_some() || report.ended {
            // Stop at that moment, for the class to look at.
            self.clock.set_paused(true);
        }
        Some(())
    }

    /// Carries out one request; false when the dashboard is gone.
    fn handle(&mut self, id: u64, request: Request) -> bool {
        let result = match request {
            Request::Speed(x) => {
                if (0.1..=10.0).contains(&x) {
                    self.clock.set_speed(x);
                    Some(Ok(format!("speed {x}×")))
                } else {
                    Some(Err(format!("speed {x} is outside 0.1 to 10")))
                }
            }
            Request::PauseClock => Some(if self.clock.paused() {
                Err("the clock is already paused".to_string())
            } else {
                self.clock.set_paused(true);
                Ok("time paused".to_string())
            }),
            Request::ResumeClock => Some(match self.session.halted_why() {
                Some(why) => Err(why),
                None if !self.clock.paused() => Err("the clock is already running".to_string()),
                None => {
                    self.clock.set_paused(false);
                    Ok("time runs".to_string())
                }
            }),
            Request::Step => Some(match self.session.halted_why() {
                Some(why) => Err(why),
                None if !self.clock.paused() => {
                    Err("the clock is running; pause it first".to_string())
                }
                None => {
                    // The clock may stand between ticks (paused mid-tick):
                    // step to the simulator's next tick.
                    while self.clock.now() < next_tick(self.session.now_us()) {
                        self.clock.step();
                    }
                    Ok("stepped one tick".to_string())
                }
            }),
            Request::Replay if self.touring => Some(Err(
                "this run is a guided tour: R would replay it without the tour's steps; choose the tour again (T) to see it from the start".to_string(),
            )),
            Request::Replay => Some(self.replay()),
            Request::Save(path) => {
                let origin = self.session.status().label;
                Some(super::saved::save(&self.session, &origin, &path))
            }
            other => self.session.request(id, other).map(|(_, result)| result),
        };
        if let Some(result) = result
            && self.send(Msg::Done(Outcome { id, result })).is_none()
        {
            return false;
        }
        self.publish()
    }

    /// Starts the run again from time 0 (R).
    fn replay(&mut self) -> Result<String, String> {
        let answers = self.session.replay().map_err(|e| e.to_string())?;
        self.post_answers(answers)
            .ok_or_else(|| "the dashboard is gone".to_string())?;
        let mut clock = Clock::new(TICK_WALL, self.clock.speed(), self.clock.paused());
        std::mem::swap(&mut self.clock, &mut clock);
        let n = self.session.status().to_replay;
        Ok(format!(
            "seed {} again from time 0, replaying {n} recorded input{}",
            self.session.status().seed,
            if n == 1 { "" } else { "s" }
        ))
    }

    /// Posts the run's status and view; false when the dashboard is gone.
    pub(super) fn publish(&mut self) -> bool {
        self.publish_view(false)
    }

    /// Posts the run's status and view (`frame`: a frame between ticks,
    /// not kept for time travel); false when the dashboard is gone.
    fn publish_view(&mut self, frame: bool) -> bool {
        let clock = ClockState {
            paused: self.clock.paused(),
            speed: self.clock.speed(),
            tick_wall: self.clock.tick(),
        };
        let status = Arc::new(self.session.status());
        let view = if frame {
            self.session.frame(clock)
        } else {
            self.session.view(clock)
        };
        self.moving = view.teaching.wire.moving();
        self.shown = Instant::now();
        self.send(Msg::Sim(status)).is_some() && self.send(Msg::View(view)).is_some()
    }

    /// Posts the outcomes of the operations that ended (those the
    /// dashboard asked for); `None` when the dashboard is gone.
    pub(super) fn post_answers(&self, answers: Vec<super::session::Answer>) -> Option<()> {
        for (id, result) in answers {
            if let Some(id) = id {
                self.send(Msg::Done(Outcome { id, result }))?;
            }
        }
        Some(())
    }

    pub(super) fn send(&self, msg: Msg) -> Option<()> {
        self.out.send(msg).ok()
    }
}

/// The first tick boundary after `now_us`.
pub(super) fn next_tick(now_us: u64) -> u64 {
    (now_us / TICK_CLUSTER_US + 1) * TICK_CLUSTER_US
}
