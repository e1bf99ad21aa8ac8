//! Linearizability checking of KV histories (Wing–Gong/Lowe search,
//! partitioned per key as Porcupine does).
//!
//! A history is linearizable when every operation can be given one instant
//! between its invoke and its completion such that, executed one at a time
//! in the order of those instants, a single register per key gives every
//! result the clients saw. Each operation touches one key and keys are
//! independent, so the history splits into one small problem per key
//! (Porcupine's partitioning), checked smallest first.
//!
//! Per key the search is Wing and Gong's: walk the invoke/return events in
//! time order, tentatively linearize any operation whose invoke has been
//! seen, and backtrack when the return of an operation not yet linearized
//! is reached. Lowe's memoization makes it practical: a configuration is
//! (set of operations linearized, register value), and one already explored
//! is never explored again. Failed operations are dropped; operations of
//! unknown outcome (`info`) may take effect at any time after their invoke
//! or never, with any result.

pub mod generate;

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use super::OpResult;
use super::command::Op;
use super::history::{HistoryError, HistoryEvent, Operation, Outcome, operations};

/// The budget [`check`] gives the search before answering `Unknown`.
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// The most memory Lowe's cache may hold, in 64-bit words (1 GiB): past
/// it the search gives up with `Unknown` rather than exhaust the machine.
const MAX_CACHE_WORDS: usize = 1 << 27;

/// What the checker concluded about a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some order of the operations explains every result.
    Linearizable,
    /// No order does; `key` is the smallest key whose operations alone
    /// cannot be ordered.
    NotLinearizable {
        /// The key whose operations cannot be linearized.
        key: String,
        /// The operations involved, and where the search got stuck.
        explanation: String,
    },
    /// The time budget (or the memory cap of the search) ran out before
    /// an answer.
    Unknown,
}

/// Checks a history with [`DEFAULT_BUDGET`] and says in words why it is
/// not known to be linearizable: what the simulator and the live tours
/// report.
pub fn check_described(history: &[HistoryEvent]) -> Result<(), String> {
    match check(history) {
        Ok(Verdict::Linearizable) => Ok(()),
        Ok(Verdict::Unknown) => Err("the checker ran out of its time or memory budget, so the history could not be shown linearizable".into()),
        Ok(Verdict::NotLinearizable { key, explanation }) => {
            Err(format!("the history is not linearizable on key {key:?}: {explanation}"))
        }
        Err(e) => Err(format!("the history does not pair up: {e}")),
    }
}

/// Checks a history with [`DEFAULT_BUDGET`].
pub fn check(events: &[HistoryEvent]) -> Result<Verdict, HistoryError> {
    check_with_budget(events, DEFAULT_BUDGET)
}

/// Checks a history, answering `Unknown` if the search takes longer than
/// `budget`. Errors only when the events do not pair into operations.
pub fn check_with_budget(
    events: &[HistoryEvent],
    budget: Duration,
) -> Result<Verdict, HistoryError> {
    Ok(check_operations(&operations(events)?, budget))
}

/// Checks paired operations, answering `Unknown` after `budget`.
pub fn check_operations(ops: &[Operation], budget: Duration) -> Verdict {
    let deadline = Deadline::new(budget);
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        let relevant = match (&op.outcome, &op.op) {
            (Outcome::Fail, _) => false,
            // A read of unknown outcome neither changes nor constrains anything.
            (Outcome::Info, Op::Get { .. }) => false,
            _ => true,
        };
        if relevant {
            by_key.entry(op.op.key()).or_default().push(op);
        }
    }
    // Smallest first: the first failing key is then the smallest failing
    // partition, the easiest for a person to read.
    let mut partitions: Vec<(&str, Vec<&Operation>)> = by_key.into_iter().collect();
    partitions.sort_by_key(|(key, ops)| (ops.len(), *key));
    for (key, ops) in partitions {
        match Partition::new(ops).search(&deadline) {
            Search::Linearizable => {}
            Search::Stuck(stuck) => {
                return Verdict::NotLinearizable {
                    key: key.to_string(),
                    explanation: stuck.explain(key),
                };
            }
            Search::OutOfTime => return Verdict::Unknown,
        }
    }
    Verdict::Linearizable
}

/// A time limit, checked every so many search steps because reading the
/// clock costs more than a step.
struct Deadline {
    at: Option<Instant>,
}

impl Deadline {
    fn new(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(budget),
        }
    }

    fn passed(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }
}

/// A value of a key's register: 0 is absent, `n` is the `n`th distinct
/// string seen in the partition. Comparing and hashing small integers keeps
/// model steps and the cache cheap.
type Value = u32;

/// The register absent.
const ABSENT: Value = 0;

/// One operation as a step of the register model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Step {
    /// Set the value (an ok or unknown put).
    Put(Value),
    /// Clear the value (an ok or unknown delete).
    Delete,
    /// The value must be this one (an ok get).
    Get(Value),
    /// Swap if equal; `swapped` is what the client was told, `None` when
    /// the outcome is unknown (then the step always succeeds).
    Cas {
        old: Value,
        new: Value,
        swapped: Option<bool>,
    },
}

impl Step {
    /// Whether the step never changes the register, whatever it holds.
    fn is_read(self) -> bool {
        matches!(
            self,
            Step::Get(_)
                | Step::Cas {
                    swapped: Some(false),
                    ..
                }
        )
    }

    /// The register after this step from `state`, or `None` if the step's
    /// result contradicts `state`.
    fn apply(self, state: Value) -> Option<Value> {
        match self {
            Step::Put(v) => Some(v),
            Step::Delete => Some(ABSENT),
            Step::Get(v) => (v == state).then_some(state),
            Step::Cas { old, new, swapped } => {
                let equal = state == old;
                match swapped {
                    Some(told) if told != equal => None,
                    _ => Some(if equal { new } else { state }),
                }
            }
        }
    }
}

/// Sentinel index ending the entry list.
const NIL: u32 = u32::MAX;

/// The head of the entry list (a sentinel, not an event).
const HEAD: u32 = 0;

/// One key's operations, prepared for the search.
struct Partition<'a> {
    ops: Vec<&'a Operation>,
    steps: Vec<Step>,
    /// For an operation of unknown outcome, the previous one (by invoke
    /// time) with the same step; see `search`.
    class_prev: Vec<Option<u32>>,
    /// An ok get of a value no operation writes, if any: a sure failure.
    never_written: Option<usize>,
}

impl<'a> Partition<'a> {
    fn new(ops: Vec<&'a Operation>) -> Partition<'a> {
        // Values that can make a difference are those some result is
        // compared with: values read, and the old values of cas. Writes of
        // any other value behave alike, so they all become one value; that
        // makes more configurations equal and the cache more effective.
        let mut ids: HashMap<&'a str, Value> = HashMap::new();
        for op in &ops {
            let observed = match (&op.op, &op.outcome) {
                (Op::Get { .. }, Outcome::Ok(OpResult::Value(Some(v)))) => Some(v),
                (Op::Cas { old, .. }, _) => Some(old),
                _ => None,
            };
            if let Some(v) = observed {
                // Counts stay far below u32::MAX: one value per operation.
                let next = Value::try_from(ids.len() + 1).unwrap_or(Value::MAX);
                ids.entry(v).or_insert(next);
            }
        }
        let unobserved = Value::try_from(ids.len() + 1).unwrap_or(Value::MAX);
        let id = |v: &str| ids.get(v).copied().unwrap_or(unobserved);
        let mut steps = Vec::with_capacity(ops.len());
        let mut written = vec![false; ids.len() + 2];
        for op in &ops {
            let known = match &op.outcome {
                Outcome::Ok(result) => Some(result),
                _ => None,
            };
            let step = match (&op.op, known) {
                (Op::Put { value, .. }, _) => Step::Put(id(value)),
                (Op::Delete { .. }, _) => Step::Delete,
                (Op::Get { .. }, Some(OpResult::Value(Some(v)))) => Step::Get(id(v)),
                (Op::Get { .. }, _) => Step::Get(ABSENT),
                (Op::Cas { old, new, .. }, result) => Step::Cas {
                    old: id(old),
                    new: id(new),
                    swapped: match result {
                        Some(OpResult::Swapped(b)) => Some(*b),
                        _ => None,
                    },
                },
            };
            if let Step::Put(v) | Step::Cas { new: v, .. } = step {
                written[v as usize] = true;
            }
            steps.push(step);
        }
        let never_written = steps
            .iter()
            .position(|step| matches!(step, Step::Get(v) if *v != ABSENT && !written[*v as usize]));

        // Operations of unknown outcome with the same step are
        // interchangeable: whichever was invoked earlier can stand in for a
        // later one anywhere the later one could take effect. So the search
        // only linearizes them in invoke order, which cuts the 2^k subsets
        // of k such operations down to k + 1 prefixes.
        let mut unknown: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_none()).collect();
        unknown.sort_by_key(|&i| (ops[i].call, i));
        let mut last: HashMap<Step, u32> = HashMap::new();
        let mut class_prev = vec![None; ops.len()];
        for i in unknown {
            class_prev[i] = last.insert(steps[i], i as u32);
        }
        Partition {
            ops,
            steps,
            class_prev,
            never_written,
        }
    }

    /// Wing–Gong search with Lowe's cache over this partition.
    fn search(&self, deadline: &Deadline) -> Search<'a> {
        let n = self.ops.len();
        if n == 0 {
            return Search::Linearizable;
        }
        if let Some(get) = self.never_written {
            return Search::Stuck(Stuck {
                prefix: Vec::new(),
                state: None,
                blocked: self.ops[get],
                pending: Vec::new(),
                never_written: true,
            });
        }
        let mut list = EntryList::new(&self.ops);
        let words = n.div_ceil(64);
        let zobrist: Vec<u64> = (0..n as u64).map(splitmix64).collect();
        let mut linearized = vec![0u64; words];
        let mut lin_hash = 0u64;
        let mut cache = Cache::new(words);
        let mut state = ABSENT;
        // Call entries linearized so far, each with the state before it.
        let mut stack: Vec<(u32, Value)> = Vec::new();
        // Whether each choice on the stack was forced (see below).
        let mut forced: Vec<bool> = Vec::new();
        // The deepest point where the search got stuck, kept to explain a
        // failure: the stack then and the blocked operation.
        // Copying into a reused buffer keeps this cheap on success.
        let mut deepest: Option<u32> = None;
        let mut deepest_stack: Vec<(u32, Value)> = Vec::new();
        let mut entry = list.next[HEAD as usize];
        let mut steps_taken: u64 = 0;
        while list.next[HEAD as usize] != NIL {
            if steps_taken.is_multiple_of(1024)
                && (deadline.passed() || cache.bits.len() > MAX_CACHE_WORDS)
            {
                return Search::OutOfTime;
            }
            steps_taken += 1;
            let e = entry as usize;
            let mut dead = false;
            if let Some(ret) = list.call_of[e] {
                let op = list.op[e] as usize;
                let out_of_turn =
                    self.class_prev[op].is_some_and(|prev| !has_bit(&linearized, prev as usize));
                if out_of_turn {
                    entry = list.next[e];
                    continue;
                }
                if let Some(next_state) = self.steps[op].apply(state) {
                    // A read (a get, or a cas that did not swap) can go
                    // first in any order that exists from here: whatever had
                    // to precede it is linearized already (its return would
                    // have come first in the list), it succeeds now, and
                    // since it never changes the register, taking it out of
                    // its later place changes no other result. So if it
                    // fails here, so does every other choice at this level.
                    // (A put of the value held is not a read: later on it
                    // might have changed the register.)
                    let keeps = self.steps[op].is_read();
                    set_bit(&mut linearized, op);
                    lin_hash ^= zobrist[op];
                    if cache.insert(&linearized, lin_hash, next_state) {
                        stack.push((entry, state));
                        forced.push(keeps);
                        state = next_state;
                        list.lift(entry, ret);
                        entry = list.next[HEAD as usize];
                        continue;
                    }
                    clear_bit(&mut linearized, op);
                    lin_hash ^= zobrist[op];
                    // Already explored, and it failed: this level is dead.
                    dead = keeps;
                }
                if !dead {
                    entry = list.next[e];
                    continue;
                }
            } else {
                // The return of an operation not yet linearized: it had to
                // take effect by now, so this branch is dead.
                if deepest.is_none() || stack.len() > deepest_stack.len() {
                    deepest = Some(list.op[e]);
                    deepest_stack.clear();
                    deepest_stack.extend_from_slice(&stack);
                }
            }
            // Backtrack: undo the last choice and try the next one at its
            // level, skipping levels whose choice was forced.
            loop {
                let Some((call, previous)) = stack.pop() else {
                    // Nothing left to undo: no linearization exists.
                    let blocked = deepest.unwrap_or(list.op[e]);
                    return Search::Stuck(self.stuck(&list, &deepest_stack, blocked));
                };
                let was_forced = forced.pop().unwrap_or(false);
                let op = list.op[call as usize] as usize;
                clear_bit(&mut linearized, op);
                lin_hash ^= zobrist[op];
                state = previous;
                list.unlift(call);
                entry = list.next[call as usize];
                if !was_forced {
                    break;
                }
            }
        }
        Search::Linearizable
    }

    /// Describes the search stuck after linearizing the calls in `stack`,
    /// when operation `blocked` returned.
    fn stuck(&self, list: &EntryList, stack: &[(u32, Value)], blocked: u32) -> Stuck<'a> {
        let mut in_prefix = vec![false; self.ops.len()];
        let prefix: Vec<&Operation> = stack
            .iter()
            .map(|(call, _)| {
                let op = list.op[*call as usize] as usize;
                in_prefix[op] = true;
                self.ops[op]
            })
            .collect();
        let blocked = self.ops[blocked as usize];
        // The operations not in the order that were invoked before the
        // blocked one returned: the candidates that could have come next.
        let pending = self
            .ops
            .iter()
            .zip(&in_prefix)
            .filter(|(op, done)| !**done && blocked.ret.is_none_or(|r| op.call <= r))
            .map(|(op, _)| *op)
            .filter(|op| !std::ptr::eq(*op, blocked))
            .collect();
        Stuck {
            state: replay(&prefix),
            prefix,
            blocked,
            pending,
            never_written: false,
        }
    }
}

/// The value a register holds after `ops` in this order (a linearization
/// found by the search), shown quoted; the search itself only knows values
/// by number, and merges those never observed.
fn replay(ops: &[&Operation]) -> Option<String> {
    let mut value: Option<&str> = None;
    for op in ops {
        match &op.op {
            Op::Put { value: v, .. } => value = Some(v),
            Op::Delete { .. } => value = None,
            Op::Cas { old, new, .. } if value == Some(old.as_str()) => value = Some(new),
            Op::Get { .. } | Op::Cas { .. } => {}
        }
    }
    value.map(|v| format!("{v:?}"))
}

/// How the search of one partition ended.
enum Search<'a> {
    Linearizable,
    Stuck(Stuck<'a>),
    OutOfTime,
}

/// Where the search got stuck deepest: the operations it had linearized,
/// the register then, and the operation that could not follow.
struct Stuck<'a> {
    prefix: Vec<&'a Operation>,
    /// The register after the prefix, as shown to a person.
    state: Option<String>,
    blocked: &'a Operation,
    pending: Vec<&'a Operation>,
    /// The blocked operation reads a value nothing writes.
    never_written: bool,
}

/// How many operations of a long prefix the explanation lists.
const SHOWN: usize = 10;

impl Stuck<'_> {
    fn explain(&self, key: &str) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        if self.never_written {
            let _ = writeln!(
                s,
                "this read of key {key:?} returned a value no operation on the key writes:\n  {}",
                self.blocked
            );
            return s;
        }
        let _ = writeln!(
            s,
            "the operations on key {key:?} cannot be linearized; the longest order found explains {} of them:",
            self.prefix.len()
        );
        let skipped = self.prefix.len().saturating_sub(SHOWN);
        if skipped > 0 {
            let _ = writeln!(s, "  … {skipped} earlier operations");
        }
        for op in &self.prefix[skipped..] {
            let _ = writeln!(s, "  {op}");
        }
        let _ = match &self.state {
            Some(v) => writeln!(s, "after which {key:?} holds {v}."),
            None => writeln!(s, "after which {key:?} is absent."),
        };
        let _ = writeln!(
            s,
            "Then this operation returned without any order letting it take effect:\n  {}",
            self.blocked
        );
        let others = &self.pending;
        if !others.is_empty() {
            let _ = writeln!(s, "while these were also pending:");
            for op in others.iter().take(SHOWN) {
                let _ = writeln!(s, "  {op}");
            }
            if others.len() > SHOWN {
                let _ = writeln!(s, "  … and {} more", others.len() - SHOWN);
            }
        }
        s
    }
}

/// The call and return events of a partition in time order, as a doubly
/// linked list from which a linearized operation's two entries are lifted
/// and put back in O(1) (dancing links).
struct EntryList {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The operation of each entry.
    op: Vec<u32>,
    /// For a call entry, the index of its return entry.
    call_of: Vec<Option<u32>>,
}

impl EntryList {
    fn new(ops: &[&Operation]) -> EntryList {
        // (time, is_return, op): on equal times calls come first, so
        // operations that touch in time count as concurrent, never as
        // ordered (giving the history the benefit of the doubt).
        let mut events: Vec<(u64, bool, u32)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            let i = i as u32;
            events.push((op.call, false, i));
            events.push((op.ret.unwrap_or(u64::MAX), true, i));
        }
        events.sort_unstable();
        let len = events.len() + 1;
        let mut list = EntryList {
            next: vec![NIL; len],
            prev: vec![NIL; len],
            op: vec![0; len],
            call_of: vec![None; len],
        };
        let mut return_entry = vec![0u32; ops.len()];
        for (i, &(_, is_return, op)) in events.iter().enumerate() {
            let e = i + 1;
            list.op[e] = op;
            list.prev[e] = i as u32;
            list.next[i] = e as u32;
            if is_return {
                return_entry[op as usize] = e as u32;
            }
        }
        for e in 1..len {
            if let Some(&(_, false, op)) = events.get(e - 1) {
                list.call_of[e] = Some(return_entry[op as usize]);
            }
        }
        list
    }

    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        if n != NIL {
            self.prev[n as usize] = p;
        }
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        if n != NIL {
            self.prev[n as usize] = e;
        }
    }

    /// Removes a call entry and its return entry.
    fn lift(&mut self, call: u32, ret: u32) {
        self.unlink(call);
        self.unlink(ret);
    }

    /// Puts back a lifted call entry and its return, in reverse order.
    fn unlift(&mut self, call: u32) {
        if let Some(ret) = self.call_of[call as usize] {
            self.relink(ret);
        }
        self.relink(call);
    }
}

fn has_bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

fn set_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

fn clear_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] &= !(1 << (i % 64));
}

/// A well-mixed 64-bit value for `x`: the per-operation keys of the
/// Zobrist hash of the linearized set, updated by one XOR per step.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hasher for keys that are already hashes.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Lowe's cache: the configurations (linearized set, register value)
/// already explored. Bitsets live in one flat arena and configurations with
/// the same hash are chained, so an insert allocates nothing per entry.
struct Cache {
    words: usize,
    /// Hash → first configuration with that hash.
    heads: HashMap<u64, u32, BuildHasherDefault<IdentityHasher>>,
    /// Per configuration: its state and the next one with the same hash.
    entries: Vec<(Value, u32)>,
    bits: Vec<u64>,
}

impl Cache {
    fn new(words: usize) -> Cache {
        Cache {
            words,
            heads: HashMap::default(),
            entries: Vec::new(),
            bits: Vec::new(),
        }
    }

    /// Records a configuration; false if it was already there.
    fn insert(&mut self, linearized: &[u64], lin_hash: u64, state: Value) -> bool {
        let hash = lin_hash ^ splitmix64(u64::from(state) ^ 0x5bd1_e995);
        let new = self.entries.len() as u32;
        let first = *self.heads.entry(hash).or_insert(new);
        if first != new {
            let mut at = first;
            while at != NIL {
                let (s, next) = self.entries[at as usize];
                let start = at as usize * self.words;
                if s == state && self.bits[start..start + self.words] == *linearized {
                    return false;
                }
                at = next;
            }
        }
        // Chain the new configuration in front of the others with its hash.
        let next = if first == new { NIL } else { first };
        self.entries.push((state, next));
        self.bits.extend_from_slice(linearized);
        if first != new {
            self.heads.insert(hash, new);
        }
        true
    }
}

#[cfg(test)]
mod tests;
