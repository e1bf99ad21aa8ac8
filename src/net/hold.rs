//! Messages held by hand, as a debugger holds threads: while holding is
//! on, each message that survives the network (its fate on the link is
//! decided as usual: a cut or lossy link still drops it) waits on its
//! link, numbered, until someone delivers it — it arrives at once — or
//! drops it. Turning holding off stops holding new messages; the ones
//! already held stay until delivered or dropped (`release` does both:
//! holding off, then every held message delivered in number order).
//!
//! [`HoldQueue`] is the one piece both drivers use: the simulator keeps
//! one beside its event queue, the live runtime one beside its fabric.
//! Numbers start at 1 and are never reused within a run, so `deliver 3`
//! names the same message however the list changed meanwhile, and a
//! simulated run replayed from its seed numbers its messages the same.

use std::collections::VecDeque;
use std::fmt;

use crate::raft::{Message, NodeId, Term};

/// Which held messages a `deliver` or `drop` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldRef {
    /// The message with this number.
    One(u64),
    /// Every held message, in number order.
    All,
}

impl HeldRef {
    /// `3`, `#3` or `all`.
    pub fn parse(word: &str) -> Result<HeldRef, String> {
        if word.eq_ignore_ascii_case("all") {
            return Ok(HeldRef::All);
        }
        let digits = word.strip_prefix('#').unwrap_or(word);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 => Ok(HeldRef::One(n)),
            _ => Err(format!(
                "'{word}' is not a held message: write its number (as the list shows it, e.g. 3) or `all`"
            )),
        }
    }
}

impl fmt::Display for HeldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeldRef::One(n) => write!(f, "{n}"),
            HeldRef::All => f.write_str("all"),
        }
    }
}

/// Why a held message could not be delivered or dropped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HoldError {
    /// No held message has that number (never held, or already gone).
    #[error("no message #{number} is held ({})", held_list(.held))]
    NotHeld {
        /// The number asked for.
        number: u64,
        /// The numbers held now.
        held: Vec<u64>,
    },
}

fn held_list(held: &[u64]) -> String {
    if held.is_empty() {
        return "nothing is held".to_string();
    }
    let numbers: Vec<String> = held.iter().map(|n| format!("#{n}")).collect();
    format!("held: {}", numbers.join(" "))
}

/// A message waiting on its link.
#[derive(Clone, Debug)]
pub struct Held<T> {
    /// Its number, from 1.
    pub number: u64,
    /// The message.
    pub msg: Message,
    /// Copies the network would have delivered (2 when it duplicated it).
    pub copies: usize,
    /// Cluster time it was held at, µs.
    pub since_us: u64,
    /// What the driver needs to deliver it later (the simulator: the
    /// receiver's incarnation when it was sent).
    pub extra: T,
}

impl<T> Held<T> {
    /// What a person is told about it.
    pub fn info(&self) -> HeldInfo {
        HeldInfo {
            number: self.number,
            from: self.msg.from,
            to: self.msg.to,
            kind: self.msg.body.name(),
            term: self.msg.term,
            copies: self.copies,
        }
    }
}

/// A held message as people read it: `#3 n2→n4 Vote t2`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldInfo {
    /// Its number.
    pub number: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Its type, as [`crate::raft::Body::name`] spells it.
    pub kind: &'static str,
    /// The sender's term.
    pub term: Term,
    /// Copies that go when it is delivered.
    pub copies: usize,
}

impl fmt::Display for HeldInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} n{}→n{} {} t{}",
            self.number, self.from, self.to, self.kind, self.term
        )?;
        if self.copies > 1 {
            write!(f, " ×{}", self.copies)?;
        }
        Ok(())
    }
}

/// Most held messages a line names; the rest are counted.
const NAMED: usize = 4;

/// `#1 n2→n3 Vote t2, #2 n2→n4 Vote t2`, the first few and how many more;
/// `nothing` for none.
pub fn held_text(held: &[HeldInfo]) -> String {
    if held.is_empty() {
        return "nothing".to_string();
    }
    let parts: Vec<String> = held.iter().take(NAMED).map(HeldInfo::to_string).collect();
    let mut text = parts.join(", ");
    if held.len() > NAMED {
        text.push_str(&format!(" and {} more", held.len() - NAMED));
    }
    text
}

/// What `hold` did, in words (`was`: holding was on already; `held`:
/// the messages held now).
pub fn hold_text(was: bool, held: &[HeldInfo]) -> String {
    if was {
        format!(
            "already holding new messages ({} held); `release` lets them go",
            held.len()
        )
    } else {
        "holding: new messages wait on their links".to_string()
    }
}

/// What `deliver` did, in words.
pub fn delivered_text(delivered: &[HeldInfo]) -> String {
    match delivered {
        [] => "nothing is held".to_string(),
        [one] => format!("delivered {one}"),
        many => format!("delivered {}: {}", many.len(), held_text(many)),
    }
}

/// What `drop` did, in words.
pub fn dropped_text(dropped: &[HeldInfo]) -> String {
    match dropped {
        [] => "nothing is held".to_string(),
        [one] => format!("dropped {one}"),
        many => format!("dropped {}: {}", many.len(), held_text(many)),
    }
}

/// What `release` did, in words.
pub fn released_text(delivered: &[HeldInfo]) -> String {
    if delivered.is_empty() {
        "new messages travel again; nothing was held".to_string()
    } else {
        format!("new messages travel again; {}", delivered_text(delivered))
    }
}

/// The held messages of a cluster and whether new ones are held.
#[derive(Clone, Debug)]
pub struct HoldQueue<T> {
    on: bool,
    next: u64,
    held: VecDeque<Held<T>>,
}

impl<T> Default for HoldQueue<T> {
    fn default() -> HoldQueue<T> {
        HoldQueue {
            on: false,
            next: 1,
            held: VecDeque::new(),
        }
    }
}

impl<T> HoldQueue<T> {
    /// Whether new messages are held.
    pub fn is_on(&self) -> bool {
        self.on
    }

    /// Holds new messages (`true`) or lets them travel; returns whether
    /// it was on before.
    pub fn set(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.on, on)
    }

    /// Holds `msg` (of which the network would deliver `copies`) from
    /// cluster time `at_us`; returns its number.
    pub fn hold(&mut self, msg: Message, copies: usize, at_us: u64, extra: T) -> u64 {
        let number = self.next;
        self.next += 1;
        self.held.push_back(Held {
            number,
            msg,
            copies: copies.max(1),
            since_us: at_us,
            extra,
        });
        number
    }

    /// Takes the messages `which` names out of the queue, in number order
    /// (`All` with nothing held takes nothing).
    pub fn take(&mut self, which: HeldRef) -> Result<Vec<Held<T>>, HoldError> {
        match which {
            HeldRef::All => Ok(self.held.drain(..).collect()),
            HeldRef::One(number) => {
                let at = self.held.iter().position(|h| h.number == number);
                match at.and_then(|i| self.held.remove(i)) {
                    Some(held) => Ok(vec![held]),
                    None => Err(HoldError::NotHeld {
                        number,
                        held: self.held.iter().map(|h| h.number).collect(),
                    }),
                }
            }
        }
    }

    /// The held messages, oldest (lowest number) first.
    pub fn iter(&self) -> impl Iterator<Item = &Held<T>> {
        self.held.iter()
    }

    /// What a person is told of each held message, in number order.
    pub fn infos(&self) -> Vec<HeldInfo> {
        self.held.iter().map(Held::info).collect()
    }

    /// How many messages are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
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
            term: 2,
            body: Body::Vote {
                last_index: 0,
                last_term: 0,
                transfer: false,
            },
        }
    }

    #[test]
    fn numbers_are_never_reused_and_name_the_same_message() {
        let mut q: HoldQueue<()> = HoldQueue::default();
        assert!(!q.set(true) && q.is_on());
        assert_eq!(q.hold(vote(2, 3), 1, 10, ()), 1);
        assert_eq!(q.hold(vote(2, 4), 2, 11, ()), 2);
        assert_eq!(q.hold(vote(2, 5), 1, 12, ()), 3);
        let taken = q.take(HeldRef::One(2)).unwrap();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].info().to_string(), "#2 n2→n4 Vote t2 ×2");
        // 2 is gone; the next message is 4, not 2.
        assert_eq!(q.hold(vote(3, 1), 1, 13, ()), 4);
        let err = q.take(HeldRef::One(2)).unwrap_err();
        assert_eq!(err.to_string(), "no message #2 is held (held: #1 #3 #4)");
        let all: Vec<u64> = q
            .take(HeldRef::All)
            .unwrap()
            .iter()
            .map(|h| h.number)
            .collect();
        assert_eq!(all, [1, 3, 4]);
        assert!(q.is_empty() && q.take(HeldRef::All).unwrap().is_empty());
        assert_eq!(
            q.take(HeldRef::One(1)).unwrap_err().to_string(),
            "no message #1 is held (nothing is held)"
        );
        for at in 0..6 {
            q.hold(vote(1, 2), 1, at, ());
        }
        let six = q.infos();
        assert_eq!(
            held_text(&six),
            "#5 n1→n2 Vote t2, #6 n1→n2 Vote t2, #7 n1→n2 Vote t2, #8 n1→n2 Vote t2 and 2 more"
        );
        assert_eq!(held_text(&[]), "nothing");
    }

    #[test]
    fn held_refs_as_people_write_them() {
        assert_eq!(HeldRef::parse("3"), Ok(HeldRef::One(3)));
        assert_eq!(HeldRef::parse("#12"), Ok(HeldRef::One(12)));
        assert_eq!(HeldRef::parse("ALL"), Ok(HeldRef::All));
        assert!(HeldRef::parse("0").unwrap_err().contains("its number"));
        assert!(HeldRef::parse("x").is_err());
        assert_eq!(HeldRef::One(3).to_string(), "3");
    }
}
