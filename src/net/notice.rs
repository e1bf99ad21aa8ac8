//! Repeated network errors, said once and then counted.
//!
//! A stranger looping over bad frames must not flood a node's log, nor
//! push real events out of the dashboard's event buffer. [`Notices`] lets
//! the first error of a kind through at once (a secret mismatch is seen
//! the moment it happens), counts the same kind for the rest of the
//! interval, and at the end of it says one line with the counts:
//! `ignored 812 frames that failed authentication from 3 connections in
//! the last 10s (latest: …)`. While the errors go on, one such line per
//! interval; once an interval passes without any, the next is said at
//! once again. The clock is passed in, so tests drive it by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::raft::NodeId;

/// Distinct remote addresses remembered per kind and interval (the count
/// says "at least" past this).
const MAX_SOURCES: usize = 4096;

/// A kind of repeated error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NoticeKind {
    /// An incoming connection failed the handshake (wrong secret,
    /// another cluster, not raftlab), claiming to be node N (`None`: a
    /// client, or it never said). Counted per claim, so a stranger's
    /// failures never hide the first word that a peer holds another
    /// secret.
    Handshake(Option<NodeId>),
    /// An incoming connection did not finish the handshake (or send its
    /// first frame) in time.
    Slow,
    /// A frame's tag was wrong.
    BadTag,
    /// An authenticated frame did not decode.
    Undecodable,
    /// A frame announced a length over the limit (its connection closes).
    Oversized,
    /// A connection was closed for lack of room in its budget.
    Crowded,
    /// This node could not authenticate to peer N.
    Outgoing(NodeId),
    /// A frame for peer N could not be encoded (or was over the size
    /// limit) and was dropped.
    Unsendable(NodeId),
    /// A node ignored a frame it may not believe (a Raft message or a
    /// hello from a client, a frame claiming another node's id…).
    Ignored,
}

impl NoticeKind {
    /// What is counted, in the summary's words.
    fn counted(self) -> String {
        match self {
            NoticeKind::Handshake(Some(id)) => format!("failed handshakes claiming to be n{id}"),
            NoticeKind::Handshake(None) => "failed handshakes".into(),
            NoticeKind::Slow => "connections that did not authenticate in time".into(),
            NoticeKind::BadTag => "frames that failed authentication".into(),
            NoticeKind::Undecodable => "frames that did not decode".into(),
            NoticeKind::Oversized => "frames over the size limit".into(),
            NoticeKind::Crowded => "connections closed for lack of room".into(),
            NoticeKind::Outgoing(id) => format!("failed attempts to authenticate to n{id}"),
            NoticeKind::Unsendable(id) => format!("frames for n{id} dropped unsent"),
            NoticeKind::Ignored => "frames ignored".into(),
        }
    }
}

/// One kind's open interval.
#[derive(Debug)]
struct Tally {
    since: Instant,
    count: u64,
    sources: BTreeSet<SocketAddr>,
    latest: String,
}

/// Errors said once per interval, per kind.
#[derive(Debug)]
pub struct Notices {
    every: Duration,
    open: BTreeMap<NoticeKind, Tally>,
}

impl Notices {
    /// Counts over intervals of `every`.
    pub fn new(every: Duration) -> Notices {
        Notices {
            every,
            open: BTreeMap::new(),
        }
    }

    /// An error of `kind` from `from`, described by `text` (called only
    /// if the line is said). Returns the line to say now, if any.
    pub fn record(
        &mut self,
        kind: NoticeKind,
        from: SocketAddr,
        text: impl FnOnce() -> String,
        now: Instant,
    ) -> Option<String> {
        match self.open.get_mut(&kind) {
            Some(tally) => {
                tally.count += 1;
                if tally.sources.len() < MAX_SOURCES {
                    tally.sources.insert(from);
                }
                // Keep the latest words for the summary, cheaply: only
                // the first of each interval and every 64th are rendered.
                if tally.count == 1 || tally.count.is_multiple_of(64) {
                    tally.latest = text();
                }
                None
            }
            None => {
                self.open.insert(
                    kind,
                    Tally {
                        since: now,
                        count: 0,
                        sources: BTreeSet::new(),
                        latest: String::new(),
                    },
                );
                Some(text())
            }
        }
    }

    /// The summary lines of every interval that ended by `now`.
    pub fn flush(&mut self, now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        let every = self.every;
        self.open.retain(|kind, tally| {
            if now.saturating_duration_since(tally.since) < every {
                return true;
            }
            if tally.count == 0 {
                return false;
            }
            let sources = tally.sources.len();
            let more = if sources >= MAX_SOURCES { "at least " } else { "" };
            let plural = if sources == 1 { "" } else { "s" };
            lines.push(format!(
                "ignored {} {} from {more}{sources} connection{plural} in the last {}s (latest: {})",
                tally.count,
                kind.counted(),
                every.as_secs().max(1),
                tally.latest
            ));
            tally.since = now;
            tally.count = 0;
            tally.sources.clear();
            true
        });
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_flood_becomes_one_line_per_interval_with_counts() {
        let t0 = Instant::now();
        let mut n = Notices::new(Duration::from_secs(10));
        let first = n.record(NoticeKind::BadTag, addr(1), || "bad tag from :1".into(), t0);
        assert_eq!(first.as_deref(), Some("bad tag from :1"));
        let mut said = 0;
        for i in 0..812u64 {
            let port = 2 + (i % 3) as u16;
            let at = t0 + Duration::from_millis(i);
            said += usize::from(
                n.record(
                    NoticeKind::BadTag,
                    addr(port),
                    || format!("from :{port}"),
                    at,
                )
                .is_some(),
            );
        }
        assert_eq!(said, 0, "the flood said nothing until the interval ended");
        // Another kind is not held back by the first.
        assert!(
            n.record(NoticeKind::Outgoing(2), addr(9), || "n2".into(), t0)
                .is_some()
        );
        assert!(n.flush(t0 + Duration::from_secs(9)).is_empty());
        let lines = n.flush(t0 + Duration::from_secs(10));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "ignored 812 frames that failed authentication from 3 connections in the last 10s"
            ),
            "{}",
            lines[0]
        );
        // Still flooding: counted into the next interval, not said.
        let t1 = t0 + Duration::from_secs(11);
        assert!(
            n.record(NoticeKind::BadTag, addr(2), || "x".into(), t1)
                .is_none()
        );
        let lines = n.flush(t0 + Duration::from_secs(20));
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("ignored 1 frames that failed authentication from 1 connection ")
        );
        // A quiet interval closes the kind: the next error is said at once.
        assert!(n.flush(t0 + Duration::from_secs(30)).is_empty());
        let t2 = t0 + Duration::from_secs(31);
        assert!(
            n.record(NoticeKind::BadTag, addr(2), || "again".into(), t2)
                .is_some()
        );
    }
}
