//! Messages on the wire, as the main view draws them travelling between
//! the nodes: each [`Flight`] knows when it left and when it lands (or
//! where it dies, or that it is held on its link by hand), so where its
//! marker stands at a moment is arithmetic, not a guess. A [`FlightLog`]
//! collects them as they are sent and forgets each once it has landed
//! (or its drop mark has been shown long enough); a view carries the
//! ones in the air at its moment as a [`Wire`]. The live runtime fills a
//! log from its nodes' sends and the simulated dashboard from the
//! simulator's, with the same types.

use std::collections::VecDeque;
use std::sync::Arc;

use super::messages::{DropCause, MsgClass};
use crate::raft::{Index, Message, NodeId, Term};

/// How long a dropped message's `✕` stays where it died, cluster µs
/// (three ticks: 0.75 s on screen in `raftlab class`).
pub const DROP_LINGER_US: u64 = 30_000;

/// Most flights a log keeps; past it the oldest go (a `delay 10s` on a
/// busy cluster would otherwise grow it without bound).
pub const FLIGHT_CAPACITY: usize = 1024;

/// Where a message's way ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// It reaches the receiver at the flight's `due_us`.
    Arrives,
    /// It dies on the way, `permille` thousandths of the way along (a cut
    /// or lossy link: halfway; a receiver that is down: at its door).
    Dies {
        /// Why.
        cause: DropCause,
        /// How far it gets, 0 to 1000.
        permille: u16,
    },
    /// It waits on its link, held by hand, until delivered or dropped.
    Held {
        /// Its number in the hold list.
        number: u64,
    },
}

/// One message on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flight {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Its exchange (vote, append, heartbeat, snapshot, timeout).
    pub class: MsgClass,
    /// Whether it answers a request (a response), rather than asks.
    pub answer: bool,
    /// Its type, as [`Body::name`] spells it.
    pub kind: &'static str,
    /// The sender's term.
    pub term: Term,
    /// The index it is about, as the message list shows it.
    pub index: Option<Index>,
    /// Entries it carries.
    pub entries: u32,
    /// Cluster time it left, µs.
    pub sent_us: u64,
    /// Cluster time it lands, µs (for a dropped one, when it would have).
    pub due_us: u64,
    /// Where its way ends.
    pub path: Path,
}

impl Flight {
    /// The flight of `msg`, sent at `sent_us` and due at `due_us`.
    pub fn of(msg: &Message, sent_us: u64, due_us: u64, path: Path) -> Flight {
        let record = super::MessageRecord::of(msg, 0, super::Fate::Delivered);
        Flight {
            from: msg.from,
            to: msg.to,
            class: record.class,
            answer: record.is_answer(),
            kind: record.kind,
            term: msg.term,
            index: record.index,
            entries: record.entries,
            sent_us,
            due_us: due_us.max(sent_us),
            path,
        }
    }

    /// How far along its link it is at `now_us`: 0 at the sender, 1 at
    /// the receiver (a held one waits halfway; a dropped one stops where
    /// it dies).
    pub fn progress(&self, now_us: u64) -> f64 {
        let way = match self.path {
            Path::Held { .. } => return 0.5,
            _ if self.due_us <= self.sent_us => 1.0,
            _ => {
                let done = now_us.saturating_sub(self.sent_us) as f64;
                (done / (self.due_us - self.sent_us) as f64).min(1.0)
            }
        };
        match self.path {
            Path::Dies { permille, .. } => way.min(f64::from(permille) / 1000.0),
            _ => way,
        }
    }

    /// When a dropped one dies (its `✕` shows from then); `None` for others.
    pub fn dies_at(&self) -> Option<u64> {
        let Path::Dies { permille, .. } = self.path else {
            return None;
        };
        let way = self.due_us - self.sent_us;
        Some(self.sent_us + way * u64::from(permille.min(1000)) / 1000)
    }

    /// Whether it has died by `now_us`.
    pub fn dead(&self, now_us: u64) -> bool {
        self.dies_at().is_some_and(|t| now_us >= t)
    }

    /// Whether the main view draws it at `now_us`: on its way, held, or a
    /// drop's mark still lingering.
    pub fn shown_at(&self, now_us: u64) -> bool {
        match self.path {
            Path::Held { .. } => true,
            Path::Arrives => now_us < self.due_us,
            Path::Dies { .. } => self
                .dies_at()
                .is_some_and(|t| now_us < t.saturating_add(DROP_LINGER_US)),
        }
    }

    /// Whether it moves (or its mark must vanish) as time passes: not held.
    pub fn moving(&self) -> bool {
        !matches!(self.path, Path::Held { .. })
    }
}

/// Flights as they are sent, until they land.
#[derive(Debug)]
pub struct FlightLog {
    flights: VecDeque<Flight>,
    capacity: usize,
}

impl Default for FlightLog {
    fn default() -> FlightLog {
        FlightLog {
            flights: VecDeque::new(),
            capacity: FLIGHT_CAPACITY,
        }
    }
}

impl FlightLog {
    /// Records `msg`, sent at `now_us`: one flight per copy the network
    /// delivers (`delays`, µs after now), or one that dies for `cause`
    /// when there is none. A dropped message dies halfway along a link
    /// that is cut or lossy, at the receiver's door when the receiver is
    /// down; it would have taken `latency_us`.
    pub fn sent(
        &mut self,
        msg: &Message,
        now_us: u64,
        delays: &[u64],
        cause: DropCause,
        latency_us: u64,
    ) {
        if delays.is_empty() {
            let permille = if cause == DropCause::NodeDown {
                1000
            } else {
                500
            };
            let path = Path::Dies { cause, permille };
            self.push(Flight::of(msg, now_us, now_us + latency_us, path));
            return;
        }
        for &delay in delays {
            self.push(Flight::of(msg, now_us, now_us + delay, Path::Arrives));
        }
    }

    /// Records that a held message was dropped by hand at `now_us`: its
    /// `✕` shows at once where it waited, halfway.
    pub fn dropped_by_hand(&mut self, msg: &Message, now_us: u64) {
        let path = Path::Dies {
            cause: DropCause::LinkDown,
            permille: 500,
        };
        self.push(Flight::of(msg, now_us, now_us, path));
    }

    fn push(&mut self, flight: Flight) {
        if self.flights.len() >= self.capacity {
            self.flights.pop_front();
        }
        self.flights.push_back(flight);
    }

    /// The flights shown at `now_us`, in the order sent; forgets those
    /// that will not be shown again.
    pub fn at(&mut self, now_us: u64) -> Vec<Flight> {
        self.flights.retain(|f| f.shown_at(now_us));
        self.flights.iter().cloned().collect()
    }
}

/// What a view shows of the messages on the wire.
#[derive(Clone, Debug, Default)]
pub struct Wire {
    /// The view's moment in cluster time, µs: where each marker stands
    /// is computed from it.
    pub now_us: u64,
    /// The messages on the wire then (held ones included), in the order
    /// they were sent.
    pub flights: Arc<[Flight]>,
    /// Whether new messages are held on their links.
    pub holding: bool,
    /// A frame between two tick views, made only to move the markers on:
    /// shown, but not kept for time travel.
    pub between_ticks: bool,
}

impl Wire {
    /// The held messages, by number.
    pub fn held(&self) -> Vec<&Flight> {
        let mut held: Vec<&Flight> = self
            .flights
            .iter()
            .filter(|f| matches!(f.path, Path::Held { .. }))
            .collect();
        held.sort_by_key(|f| held_number(f));
        held
    }

    /// The numbers of the held messages, in order.
    pub fn held_numbers(&self) -> Vec<u64> {
        self.held().into_iter().filter_map(held_number).collect()
    }

    /// Whether something on it moves as time passes (so a dashboard with a
    /// running clock should draw it again soon).
    pub fn moving(&self) -> bool {
        self.flights.iter().any(Flight::moving)
    }
}

/// A held flight's number.
pub fn held_number(flight: &Flight) -> Option<u64> {
    match flight.path {
        Path::Held { number } => Some(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Body;

    fn vote(from: NodeId, to: NodeId) -> Message {
        Message {
            from,
            to,
            term: 3,
            body: Body::Vote {
                last_index: 4,
                last_term: 2,
                transfer: false,
            },
        }
    }

    fn granted(from: NodeId, to: NodeId) -> Message {
        Message {
            from,
            to,
            term: 3,
            body: Body::VoteResponse { granted: true },
        }
    }

    /// A marker's place is the share of its time on the wire gone by.
    #[test]
    fn progress_follows_send_and_delivery_times() {
        let mut log = FlightLog::default();
        log.sent(&vote(1, 2), 100_000, &[20_000], DropCause::Lost, 15_000);
        let f = log.at(100_000).remove(0);
        assert_eq!((f.class, f.answer, f.kind), (MsgClass::Vote, false, "Vote"));
        assert_eq!(f.progress(100_000), 0.0);
        assert_eq!(f.progress(105_000), 0.25);
        assert_eq!(f.progress(115_000), 0.75);
        assert!(f.shown_at(119_999) && !f.shown_at(120_000));
        // Landed: forgotten.
        assert!(log.at(120_000).is_empty());
        let answer = Flight::of(&granted(2, 1), 0, 10, Path::Arrives);
        assert!(answer.answer);
    }

    /// A dropped message stops halfway (a cut or lossy link) or at the
    /// receiver (down), and its mark lingers there.
    #[test]
    fn a_drop_dies_where_it_should_and_lingers() {
        let mut log = FlightLog::default();
        log.sent(&vote(1, 2), 0, &[], DropCause::LinkDown, 20_000);
        log.sent(&vote(1, 3), 0, &[], DropCause::NodeDown, 20_000);
        let flights = log.at(0);
        let (cut, down) = (&flights[0], &flights[1]);
        assert_eq!(cut.dies_at(), Some(10_000));
        assert_eq!(cut.progress(5_000), 0.25);
        assert_eq!(cut.progress(15_000), 0.5);
        assert!(!cut.dead(9_999) && cut.dead(10_000));
        assert_eq!(down.progress(25_000), 1.0);
        assert!(cut.shown_at(10_000 + DROP_LINGER_US - 1));
        assert!(!cut.shown_at(10_000 + DROP_LINGER_US));
        assert_eq!(
            log.at(10_000 + DROP_LINGER_US).len(),
            1,
            "the other lingers"
        );
        // Duplicated: two flights.
        log.sent(&vote(4, 5), 0, &[10, 20], DropCause::Lost, 15);
        assert_eq!(log.at(0).iter().filter(|f| f.from == 4).count(), 2);
    }

    #[test]
    fn held_ones_wait_halfway_and_a_hand_drop_shows_at_once() {
        let held = Flight::of(&vote(2, 3), 0, 0, Path::Held { number: 4 });
        assert_eq!(held.progress(1_000_000), 0.5);
        assert!(held.shown_at(u64::MAX) && !held.moving());
        let mut log = FlightLog::default();
        log.dropped_by_hand(&vote(2, 3), 500);
        let f = log.at(500).remove(0);
        assert!(f.dead(500) && f.progress(500) == 0.5);
        let wire = Wire {
            flights: vec![
                Flight::of(&vote(1, 2), 0, 0, Path::Held { number: 7 }),
                held,
                f,
            ]
            .into(),
            ..Wire::default()
        };
        assert_eq!(wire.held_numbers(), [4, 7]);
        assert!(wire.moving(), "the drop mark must vanish on time");
    }

    #[test]
    fn the_log_is_bounded() {
        let mut log = FlightLog::default();
        for i in 0..(FLIGHT_CAPACITY as u64 + 10) {
            log.sent(&vote(1, 2), i, &[10_000_000], DropCause::Lost, 1);
        }
        assert_eq!(log.at(0).len(), FLIGHT_CAPACITY);
    }
}
