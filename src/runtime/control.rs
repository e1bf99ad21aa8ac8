//! The controls of a live cluster: nodes (kill, restart, pause, resume,
//! transfer leadership), the network (through the fabric) and the clock.
//! Each returns a [`RuntimeError`] for an unknown node or a node in the
//! wrong state, and records an event for the view.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::bounded;

use super::RuntimeError;
use super::cluster::{Cluster, KILL_WAIT, Slot};
use super::config::SPEED_RANGE;
use super::inbox::Control;
use super::inbox::TimerInput;
use super::lock::lock;
use super::view::NodeState;
use crate::net::{Fabric, FabricError, Link};
use crate::raft::NodeId;

/// How long a transfer waits for the leader's answer.
const TRANSFER_WAIT: Duration = Duration::from_secs(1);

impl Cluster {
    /// Node `id`'s state.
    pub fn node_state(&self, id: NodeId) -> Result<NodeState, RuntimeError> {
        self.check_running_cluster()?;
        let node = self.shared.node(id).ok_or(RuntimeError::UnknownNode(id))?;
        // Ids that may join later have mailboxes but are not nodes yet.
        if self.shared.view.node(id).is_none() {
            return Err(RuntimeError::UnknownNode(id));
        }
        Ok(node.state())
    }

    fn check_running_cluster(&self) -> Result<(), RuntimeError> {
        if self.shared.is_stopped() {
            return Err(RuntimeError::Stopped);
        }
        Ok(())
    }

    /// Runs `f` on node `id`'s slot.
    fn with_slot<R>(
        &self,
        id: NodeId,
        f: impl FnOnce(&mut Slot) -> Result<R, RuntimeError>,
    ) -> Result<R, RuntimeError> {
        self.check_running_cluster()?;
        let mut slots = lock(&self.slots);
        let slot = slots
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(RuntimeError::UnknownNode(id))?;
        f(slot)
    }

    /// Kills node `id`: its thread ends and its volatile state (role,
    /// commit index, state machine, pending client requests) is gone; its
    /// storage is kept for [`Cluster::restart`]. Works on a paused node.
    pub fn kill(&self, id: NodeId) -> Result<(), RuntimeError> {
        self.with_slot(id, |slot| {
            if self.node_state(id)? == NodeState::Down {
                return Err(RuntimeError::NodeDown(id));
            }
            if let Some(node) = self.shared.node(id) {
                let _ = node.control.send(Control::Kill);
            }
            if !self.reap(slot, KILL_WAIT) {
                return Err(RuntimeError::NoAnswer(id));
            }
            self.shared.event(Some(id), "killed".into());
            Ok(())
        })
    }

    /// Restarts a killed node from its storage: term, vote, log and
    /// snapshot come back; it learns the commit index from the leader.
    pub fn restart(&self, id: NodeId) -> Result<(), RuntimeError> {
        self.with_slot(id, |slot| {
            if self.node_state(id)? != NodeState::Down {
                return Err(RuntimeError::NodeRunning(id));
            }
            self.launch(slot)?;
            self.shared.event(Some(id), "restarted from storage".into());
            Ok(())
        })
    }

    /// Freezes node `id`, like a long GC pause: no ticks, inbox not read
    /// (messages and requests queue up), controls still obeyed.
    pub fn pause(&self, id: NodeId) -> Result<(), RuntimeError> {
        self.with_slot(id, |_| match self.node_state(id)? {
            NodeState::Down => Err(RuntimeError::NodeDown(id)),
            NodeState::Paused => Err(RuntimeError::NodePaused(id)),
            NodeState::Up => {
                self.node_control(id, Control::Pause)?;
                self.set_state(id, NodeState::Paused);
                self.shared.event(Some(id), "paused".into());
                Ok(())
            }
        })
    }

    /// Unfreezes a paused node; it reads what queued up meanwhile.
    pub fn resume(&self, id: NodeId) -> Result<(), RuntimeError> {
        self.with_slot(id, |_| match self.node_state(id)? {
            NodeState::Down => Err(RuntimeError::NodeDown(id)),
            NodeState::Up => Err(RuntimeError::NodeRunning(id)),
            NodeState::Paused => {
                self.node_control(id, Control::Resume)?;
                self.set_state(id, NodeState::Up);
                self.shared.event(Some(id), "resumed".into());
                Ok(())
            }
        })
    }

    fn node_control(&self, id: NodeId, control: Control) -> Result<(), RuntimeError> {
        let node = self.shared.node(id).ok_or(RuntimeError::UnknownNode(id))?;
        node.control
            .send(control)
            .map_err(|_| RuntimeError::Stopped)
    }

    fn set_state(&self, id: NodeId, state: NodeState) {
        if let Some(node) = self.shared.node(id) {
            node.set_state(state);
        }
    }

    /// Asks the current leader to hand leadership to `to` (which must be
    /// up). Returns once the leader started the transfer; the view shows
    /// when `to` takes over.
    pub fn transfer_leader(&self, to: NodeId) -> Result<(), RuntimeError> {
        match self.node_state(to)? {
            NodeState::Up => {}
            NodeState::Paused => return Err(RuntimeError::NodePaused(to)),
            NodeState::Down => return Err(RuntimeError::NodeDown(to)),
        }
        let leader = self.leader().ok_or(RuntimeError::NoLeader)?;
        let (reply, answer) = bounded(1);
        self.node_control(leader, Control::Transfer { to, reply })?;
        let result = answer
            .recv_timeout(TRANSFER_WAIT)
            .map_err(|_| RuntimeError::NoAnswer(leader))?;
        result?;
        self.shared
            .event(Some(leader), format!("asked to hand leadership to n{to}"));
        Ok(())
    }

    // ---------------------------------------------------------- network

    /// Changes the fabric with `f`, records `what` as an event.
    fn network(
        &self,
        what: impl FnOnce(&Fabric) -> String,
        f: impl FnOnce(&mut Fabric) -> Result<(), FabricError>,
    ) -> Result<(), RuntimeError> {
        self.check_running_cluster()?;
        let text = {
            let mut fabric = lock(&self.shared.fabric);
            let changed = f(&mut fabric);
            // Even a failed change may have changed some links.
            self.shared.refresh_direct(&fabric);
            changed?;
            what(&fabric)
        };
        self.shared.event(None, text);
        Ok(())
    }

    /// Cuts every link to and from `id`.
    pub fn isolate(&self, id: NodeId) -> Result<(), RuntimeError> {
        self.network(|_| format!("isolated n{id}"), |f| f.isolate(id))
    }

    /// Splits the network into `groups` (nodes named nowhere form one more).
    pub fn partition(&self, groups: &[Vec<NodeId>]) -> Result<(), RuntimeError> {
        self.network(|f| format!("partitioned: {f}"), |f| f.partition(groups))
    }

    /// Splits into `left` and `right` with `bridge` linked to both.
    pub fn bridge(
        &self,
        left: &[NodeId],
        bridge: NodeId,
        right: &[NodeId],
    ) -> Result<(), RuntimeError> {
        let what = format!("bridged {left:?} and {right:?} through n{bridge}");
        self.network(|_| what, |f| f.bridge(left, bridge, right))
    }

    /// Cuts the link from `from` to `to` only.
    pub fn cut(&self, from: NodeId, to: NodeId) -> Result<(), RuntimeError> {
        self.network(|_| format!("cut n{from} → n{to}"), |f| f.cut(from, to))
    }

    /// Brings the link from `from` to `to` back up.
    pub fn restore_link(&self, from: NodeId, to: NodeId) -> Result<(), RuntimeError> {
        self.network(
            |_| format!("restored n{from} → n{to}"),
            |f| f.restore(from, to),
        )
    }

    /// Brings every link up (loss, delay and duplication stay).
    pub fn heal(&self) -> Result<(), RuntimeError> {
        self.network(
            |_| "healed the network".to_string(),
            |f| {
                f.heal();
                Ok(())
            },
        )
    }

    /// Sets the loss probability of every link.
    pub fn set_loss(&self, p: f64) -> Result<(), RuntimeError> {
        self.network(
            |_| format!("loss {} on every link", percent(p)),
            |f| f.set_loss(p),
        )
    }

    /// Sets the delay range of every link, in cluster µs (a tick is
    /// [`TICK_CLUSTER_US`](super::TICK_CLUSTER_US)).
    pub fn set_delay(&self, min_us: u64, max_us: u64) -> Result<(), RuntimeError> {
        let what = format!("delay {}..{} on every link", millis(min_us), millis(max_us));
        self.network(|_| what, |f| f.set_delay(min_us, max_us))
    }

    /// Sets the delay range of the links between `a` and `b`, both ways,
    /// in cluster µs.
    pub fn set_link_delay(
        &self,
        a: NodeId,
        b: NodeId,
        min_us: u64,
        max_us: u64,
    ) -> Result<(), RuntimeError> {
        let what = format!(
            "delay {}..{} on n{a} ↔ n{b}",
            millis(min_us),
            millis(max_us)
        );
        self.network(
            |_| what,
            |f| {
                f.set_link_delay(a, b, min_us, max_us)?;
                f.set_link_delay(b, a, min_us, max_us)
            },
        )
    }

    /// Sets the duplication probability of every link.
    pub fn set_duplicate(&self, p: f64) -> Result<(), RuntimeError> {
        self.network(
            |_| format!("duplication {} on every link", percent(p)),
            |f| f.set_duplicate(p),
        )
    }

    /// Replaces the link from `from` to `to`.
    pub fn set_link(&self, from: NodeId, to: NodeId, link: Link) -> Result<(), RuntimeError> {
        self.network(
            |_| format!("set link n{from} → n{to}"),
            |f| f.set_link(from, to, link),
        )
    }

    // ------------------------------------------------------------ clock

    /// Stops the clock: no ticks, messages in flight wait.
    pub fn pause_clock(&self) -> Result<(), RuntimeError> {
        self.clock(|clock| {
            if clock.paused() {
                return Err(RuntimeError::ClockPaused);
            }
            clock.set_paused(true);
            Ok("clock paused".into())
        })
    }

    /// Restarts the clock.
    pub fn resume_clock(&self) -> Result<(), RuntimeError> {
        self.clock(|clock| {
            if !clock.paused() {
                return Err(RuntimeError::ClockRunning);
            }
            clock.set_paused(false);
            Ok("clock resumed".into())
        })
    }

    /// Stops (`hold`) or restarts the clock without an event, and says
    /// whether it changed. A guided tour holds the clock while a step waits
    /// for its go; two events per step would bury the ones that matter.
    pub fn hold_clock(&self, hold: bool) -> Result<bool, RuntimeError> {
        self.check_running_cluster()?;
        let changed = {
            let mut clock = lock(&self.shared.clock);
            let changed = clock.paused() != hold;
            if changed {
                clock.set_paused(hold);
            }
            self.shared
                .clock_paused
                .store(clock.paused(), Ordering::Release);
            changed
        };
        let _ = self.shared.timer.send(TimerInput::Wake);
        self.shared.view.touch();
        Ok(changed)
    }

    /// Advances a paused clock by one tick (and delivers what falls due).
    pub fn step(&self) -> Result<(), RuntimeError> {
        self.clock(|clock| {
            if !clock.paused() {
                return Err(RuntimeError::ClockRunning);
            }
            clock.step();
            Ok("clock stepped one tick".into())
        })
    }

    /// Sets the speed factor, 0.1 (ten times slower) to 10 (ten times faster).
    pub fn set_speed(&self, speed: f64) -> Result<(), RuntimeError> {
        if !SPEED_RANGE.contains(&speed) {
            return Err(RuntimeError::InvalidSpeed(speed));
        }
        self.clock(|clock| {
            clock.set_speed(speed);
            self.shared.set_speed(speed);
            Ok(format!("speed {speed}×"))
        })
    }

    fn clock(
        &self,
        f: impl FnOnce(&mut super::clock::Clock) -> Result<String, RuntimeError>,
    ) -> Result<(), RuntimeError> {
        self.check_running_cluster()?;
        let what = {
            let mut clock = lock(&self.shared.clock);
            let what = f(&mut clock);
            let paused = clock.paused();
            self.shared.clock_paused.store(paused, Ordering::Release);
            what?
        };
        let _ = self.shared.timer.send(TimerInput::Wake);
        self.shared.event(None, what);
        Ok(())
    }
}

/// A probability as people write it: `0.1` → `10%`.
fn percent(p: f64) -> String {
    let pct = p * 100.0;
    if (pct - pct.round()).abs() < 1e-9 {
        format!("{}%", pct.round())
    } else {
        format!("{pct:.1}%")
    }
}

/// Microseconds as milliseconds: `5000` → `5ms`, `1500` → `1.5ms`.
fn millis(us: u64) -> String {
    if us.is_multiple_of(1000) {
        format!("{}ms", us / 1000)
    } else {
        format!("{:.1}ms", us as f64 / 1000.0)
    }
}
