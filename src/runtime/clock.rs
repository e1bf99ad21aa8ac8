//! Cluster time: a counter of cluster microseconds that runs at a chosen
//! speed against the wall clock, and can be paused and stepped.

use std::time::{Duration, Instant};

use super::TICK_CLUSTER_US;

/// The cluster clock. Cluster time is `base_us` at `base_wall`, and from
/// there advances `TICK_CLUSTER_US` per `tick / speed` of wall time unless
/// paused.
#[derive(Clone, Debug)]
pub(crate) struct Clock {
    tick: Duration,
    speed: f64,
    paused: bool,
    base_us: u64,
    base_wall: Instant,
}

impl Clock {
    /// A clock at cluster time 0.
    pub(crate) fn new(tick: Duration, speed: f64, paused: bool) -> Clock {
        Clock {
            tick,
            speed,
            paused,
            base_us: 0,
            base_wall: Instant::now(),
        }
    }

    /// Cluster µs per wall second.
    fn rate(&self) -> f64 {
        TICK_CLUSTER_US as f64 * self.speed / self.tick.as_secs_f64()
    }

    /// Cluster time at wall time `wall`.
    pub(crate) fn now_at(&self, wall: Instant) -> u64 {
        if self.paused {
            return self.base_us;
        }
        let elapsed = wall.saturating_duration_since(self.base_wall).as_secs_f64();
        self.base_us + (elapsed * self.rate()) as u64
    }

    /// Cluster time now.
    pub(crate) fn now(&self) -> u64 {
        self.now_at(Instant::now())
    }

    /// Restarts the count from the present, so later changes apply from now.
    fn rebase(&mut self) {
        let wall = Instant::now();
        self.base_us = self.now_at(wall);
        self.base_wall = wall;
    }

    /// Whether the clock is paused.
    pub(crate) fn paused(&self) -> bool {
        self.paused
    }

    /// The speed factor.
    pub(crate) fn speed(&self) -> f64 {
        self.speed
    }

    /// Wall length of a tick at speed 1.0.
    pub(crate) fn tick(&self) -> Duration {
        self.tick
    }

    /// Changes the speed from now on.
    pub(crate) fn set_speed(&mut self, speed: f64) {
        self.rebase();
        self.speed = speed;
    }

    /// Stops or restarts the clock.
    pub(crate) fn set_paused(&mut self, paused: bool) {
        self.rebase();
        self.paused = paused;
    }

    /// Sets cluster time to `us` from now on (a guided tour on the
    /// simulator lines the clock up with where the run stopped).
    pub(crate) fn set_now(&mut self, us: u64) {
        self.base_wall = Instant::now();
        self.base_us = us;
    }

    /// Moves cluster time to the next tick boundary (used while paused).
    pub(crate) fn step(&mut self) {
        self.rebase();
        self.base_us = (self.base_us / TICK_CLUSTER_US + 1) * TICK_CLUSTER_US;
    }

    /// Wall time from `wall` until cluster time reaches `at`; `None` while
    /// paused (it never will by itself).
    pub(crate) fn wall_until(&self, at: u64, wall: Instant) -> Option<Duration> {
        if self.paused {
            return None;
        }
        let now = self.now_at(wall);
        let us = at.saturating_sub(now) as f64;
        Some(Duration::from_secs_f64(us / self.rate()))
    }

    /// Wall time that `ticks` ticks take at the current speed (as if
    /// running). The runtime reads it lock-free as `Shared::ticks_to_wall`.
    #[cfg(test)]
    pub(crate) fn ticks_to_wall(&self, ticks: u64) -> Duration {
        self.tick.mul_f64(ticks as f64 / self.speed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_freezes_and_step_moves_one_tick() {
        let mut clock = Clock::new(Duration::from_millis(50), 1.0, true);
        assert_eq!(clock.now(), 0);
        clock.step();
        assert_eq!(clock.now(), TICK_CLUSTER_US);
        clock.step();
        assert_eq!(clock.now(), 2 * TICK_CLUSTER_US);
        assert_eq!(clock.wall_until(5 * TICK_CLUSTER_US, Instant::now()), None);
    }

    #[test]
    fn speed_scales_wall_time() {
        let mut clock = Clock::new(Duration::from_millis(50), 1.0, false);
        clock.set_speed(2.0);
        let wall = Instant::now();
        let wait = clock.wall_until(clock.now_at(wall) + TICK_CLUSTER_US, wall);
        let ms = wait.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        assert!((ms - 25.0).abs() < 0.5, "{ms}");
        assert_eq!(clock.ticks_to_wall(4), Duration::from_millis(100));
    }
}
