//! The simulator's event queue, the trace hash and the ring of recent events.
//!
//! Everything that happens in a simulation is an [`Event`] scheduled at a
//! virtual time. Events at the same time run in the order they were
//! scheduled (a sequence number breaks ties), which is what makes a run a
//! pure function of its seed. Every processed event is folded into a
//! [`TraceHash`]; the last few are kept as [`Note`]s so a violation can show
//! what led to it.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

use crate::check::mix;
use crate::kv::{Op, OpResult};
use crate::raft::{Message, NodeId, Role, Term};

/// Something scheduled to happen.
#[derive(Debug)]
pub(super) enum Event {
    /// A node's logical clock advances one tick.
    Tick(NodeId),
    /// A message arrives, if its receiver has not crashed since it was sent.
    Deliver {
        /// The message.
        msg: Message,
        /// The receiver's incarnation when the message was sent.
        incarnation: u64,
    },
    /// The fault schedule does its next step.
    Fault(FaultStep),
    /// A client's timer: start an op, retry, or give up. Stale when `gen`
    /// is not the client's current generation.
    Client {
        /// Index of the client.
        client: usize,
        /// The client's timer generation when scheduled.
        generation: u64,
    },
}

/// A step of the fault tracks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FaultStep {
    /// Crash a random up node.
    CrashStart,
    /// Restart the node the crash track took down.
    CrashEnd(NodeId),
    /// Inject a random network fault.
    NetStart,
    /// Reset the fabric.
    NetEnd,
    /// Begin a window of leader churn.
    ChurnStart,
    /// One blow of leader churn; the window lasts until `until` (µs).
    ChurnTick {
        /// When the window closes.
        until: u64,
    },
    /// Restart a node a crash point took down.
    Reboot(NodeId),
    /// A step of the membership track.
    MemberChange,
    /// Start a reconfiguration race (the `reconfig` nemesis).
    RaceStart,
    /// The race's second step: the majority's leader changes other nodes;
    /// asked again up to `retries` times while it is not ready.
    RaceSecond {
        /// Attempts left.
        retries: u8,
    },
    /// End the race's partition.
    RaceHeal,
}

impl FaultStep {
    /// A small number identifying the step, for the trace hash.
    pub(super) fn code(self) -> u64 {
        match self {
            FaultStep::CrashStart => 1,
            FaultStep::CrashEnd(id) => 2 + (id << 8),
            FaultStep::NetStart => 3,
            FaultStep::NetEnd => 4,
            FaultStep::ChurnStart => 5,
            FaultStep::ChurnTick { until } => 6 + (until << 8),
            FaultStep::Reboot(id) => 7 + (id << 8),
            FaultStep::MemberChange => 8,
            FaultStep::RaceStart => 9,
            FaultStep::RaceSecond { retries } => 10 + ((retries as u64) << 8),
            FaultStep::RaceHeal => 11,
        }
    }
}

/// A queue entry: when, in which order, and where the event waits. Kept
/// small so the heap moves 24 bytes per sift step, not a whole message.
struct Scheduled {
    time: u64,
    seq: u64,
    slot: usize,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed, so the max-heap pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// A min-queue of events by (time, scheduling order). The events live in
/// reusable slots; the heap orders small keys pointing at them.
#[derive(Default)]
pub(super) struct EventQueue {
    heap: BinaryHeap<Scheduled>,
    seq: u64,
    slots: Vec<Option<Event>>,
    free: Vec<usize>,
}

impl EventQueue {
    /// Schedules `event` at `time`.
    pub(super) fn push(&mut self, time: u64, event: Event) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(event);
                slot
            }
            None => {
                self.slots.push(Some(event));
                self.slots.len() - 1
            }
        };
        self.heap.push(Scheduled {
            time,
            seq: self.seq,
            slot,
        });
    }

    /// Time of the earliest event.
    pub(super) fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|s| s.time)
    }

    /// (from, to) of every message waiting to be delivered.
    pub(super) fn deliveries(&self) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        self.slots.iter().filter_map(|e| match e {
            Some(Event::Deliver { msg, .. }) => Some((msg.from, msg.to)),
            _ => None,
        })
    }

    /// Removes and returns the earliest event.
    pub(super) fn pop(&mut self) -> Option<(u64, Event)> {
        let Scheduled { time, slot, .. } = self.heap.pop()?;
        let event = self.slots[slot]
            .take()
            .expect("a queued key points at its event until popped");
        self.free.push(slot);
        Some((time, event))
    }
}

/// A running 64-bit hash of the words fed to it (FNV-style multiply with a
/// SplitMix finaliser per word), stable across platforms and Rust versions.
#[derive(Clone, Copy, Debug)]
pub(super) struct TraceHash(u64);

impl Default for TraceHash {
    fn default() -> TraceHash {
        TraceHash(0xcbf2_9ce4_8422_2325)
    }
}

impl TraceHash {
    /// Folds one word in.
    pub(super) fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ mix(word)).wrapping_mul(0x0100_0000_01b3);
    }

    /// The hash so far.
    pub(super) fn value(self) -> u64 {
        mix(self.0)
    }
}

/// A compact record of something that happened, formatted only when a
/// violation needs it.
#[derive(Clone, Debug)]
pub(super) enum Note {
    /// A message arrived.
    Deliver {
        from: NodeId,
        to: NodeId,
        term: Term,
        kind: &'static str,
    },
    /// A message was lost (link down, loss, or a crashed receiver).
    Drop {
        from: NodeId,
        to: NodeId,
        kind: &'static str,
    },
    /// A node changed role.
    Role { id: NodeId, role: Role, term: Term },
    /// A node's commit index moved.
    Commit { id: NodeId, index: u64 },
    /// A client operation began or ended (boxed: it is large and rarer
    /// than the notes above, which stay small to move).
    Client(Box<ClientNote>),
    /// Anything rarer: faults, crashes, stale reads.
    Text(String),
}

/// A step of a client operation, kept as data and formatted only when a
/// violation shows it.
#[derive(Clone, Debug)]
pub(super) enum ClientNote {
    /// A client started an operation.
    Invoke { process: u64, op: Op },
    /// A client's operation succeeded.
    Done {
        process: u64,
        op: Op,
        result: OpResult,
    },
    /// A client gave up on an operation: `info` when it may still take
    /// effect, `fail` when it did not.
    GaveUp {
        process: u64,
        op: Op,
        info: bool,
        error: String,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Deliver {
                from,
                to,
                term,
                kind,
            } => write!(f, "n{from} → n{to} {kind} t{term}"),
            Note::Drop { from, to, kind } => write!(f, "n{from} ⇥ n{to} {kind} (lost)"),
            Note::Role { id, role, term } => write!(f, "n{id} is {role} in t{term}"),
            Note::Commit { id, index } => write!(f, "n{id} commit {index}"),
            Note::Client(note) => note.fmt(f),
            Note::Text(text) => f.write_str(text),
        }
    }
}

impl fmt::Display for ClientNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientNote::Invoke { process, op } => {
                write!(f, "c{process} invoke {}", Describe(op))
            }
            ClientNote::Done {
                process,
                op,
                result,
            } => write!(f, "c{process} ok {} → {result:?}", Describe(op)),
            ClientNote::GaveUp {
                process,
                op,
                info,
                error,
            } => {
                let kind = if *info { "info" } else { "fail" };
                write!(f, "c{process} {kind} {}: {error}", Describe(op))
            }
        }
    }
}

/// An operation as a client would type it: `put k v`, `cas k old new`.
struct Describe<'a>(&'a Op);

impl fmt::Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Op::Put { key, value } => write!(f, "put {key} {value}"),
            Op::Get { key } => write!(f, "get {key}"),
            Op::Delete { key } => write!(f, "delete {key}"),
            Op::Cas { key, old, new } => write!(f, "cas {key} {old} {new}"),
        }
    }
}

/// The last `cap` notes with their times.
pub(super) struct Recent {
    notes: VecDeque<(u64, Note)>,
    cap: usize,
}

impl Recent {
    /// A ring holding up to `cap` notes.
    pub(super) fn new(cap: usize) -> Recent {
        Recent {
            notes: VecDeque::with_capacity(cap),
            cap,
        }
    }

    /// Records a note at `time`, forgetting the oldest when full.
    pub(super) fn push(&mut self, time: u64, note: Note) {
        if self.notes.len() == self.cap {
            self.notes.pop_front();
        }
        self.notes.push_back((time, note));
    }

    /// The notes, oldest first, as `[   1.234567s] text` lines.
    pub(super) fn lines(&self) -> Vec<String> {
        self.notes
            .iter()
            .map(|(t, n)| format!("[{}] {n}", fmt_time(*t)))
            .collect()
    }
}

/// Formats microseconds as seconds with six decimals.
pub(super) fn fmt_time(us: u64) -> String {
    format!("{}.{:06}s", us / 1_000_000, us % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_pops_by_time_then_schedule_order() {
        let mut q = EventQueue::default();
        q.push(5, Event::Tick(1));
        q.push(3, Event::Tick(2));
        q.push(5, Event::Tick(3));
        q.push(3, Event::Tick(4));
        let order: Vec<(u64, NodeId)> = std::iter::from_fn(|| q.pop())
            .map(|(t, e)| match e {
                Event::Tick(id) => (t, id),
                _ => (t, 0),
            })
            .collect();
        assert_eq!(order, vec![(3, 2), (3, 4), (5, 1), (5, 3)]);
    }

    #[test]
    fn recent_keeps_the_last_notes() {
        let mut r = Recent::new(2);
        for i in 0..3 {
            r.push(i, Note::Text(format!("e{i}")));
        }
        assert_eq!(r.lines(), vec!["[0.000001s] e1", "[0.000002s] e2"]);
    }
}
