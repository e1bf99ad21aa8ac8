//! Random concurrent histories that are linearizable by construction, for
//! tests and the checker's benchmark.
//!
//! Each client runs operations one after another; every operation that
//! takes effect is given a random instant between its invoke and its
//! completion, and a register per key executed in the order of those
//! instants decides every result. Some operations fail (and do not take
//! effect), some end as `info` (taking effect or not), and a client's last
//! operation may never complete. The same seed gives the same history.

use std::collections::BTreeMap;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::kv::history::{EventType, EventValue, HistoryEvent, OpKind};
use crate::kv::{Op, OpResult};

/// How an operation of the plan ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Ok,
    Fail,
    /// Unknown to the client; `applied` says whether it took effect.
    Info {
        applied: bool,
    },
    /// Never completed; `applied` as for `Info`.
    Open {
        applied: bool,
    },
}

struct Planned {
    process: u64,
    op: Op,
    call: u64,
    ret: u64,
    /// The instant it takes effect.
    at: u64,
    end: End,
}

/// A linearizable history of `ops` operations over `keys` keys (`k0`, `k1`,
/// …) from `clients` clients, as events sorted by time. Values are drawn
/// from a small set (`v0`…`v9`) so that equal values recur, which is what
/// makes checking hard.
pub fn random_history(seed: u64, ops: usize, keys: usize, clients: usize) -> Vec<HistoryEvent> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let keys = keys.max(1);
    let clients = clients.max(1);
    let mut plan: Vec<Planned> = Vec::with_capacity(ops);
    for client in 0..clients {
        let count = ops / clients + usize::from(client < ops % clients);
        let mut time = rng.random_range(0..20u64);
        for i in 0..count {
            let key = format!("k{}", rng.random_range(0..keys));
            let value = |rng: &mut ChaCha8Rng| format!("v{}", rng.random_range(0..10));
            let op = match rng.random_range(0..100) {
                0..40 => Op::Get { key },
                40..70 => Op::Put {
                    value: value(&mut rng),
                    key,
                },
                70..78 => Op::Delete { key },
                _ => Op::Cas {
                    old: value(&mut rng),
                    new: value(&mut rng),
                    key,
                },
            };
            let call = time + rng.random_range(0..50u64);
            let ret = call + rng.random_range(1..300u64);
            let end = match rng.random_range(0..100) {
                _ if i + 1 == count && rng.random_bool(0.2) => End::Open {
                    applied: rng.random_bool(0.5),
                },
                0..4 => End::Fail,
                4..8 => End::Info {
                    applied: rng.random_bool(0.5),
                },
                _ => End::Ok,
            };
            plan.push(Planned {
                process: client as u64,
                op,
                call,
                ret,
                at: rng.random_range(call..=ret),
                end,
            });
            time = ret;
        }
    }

    // Execute in the order of the instants to learn every result.
    let mut order: Vec<usize> = (0..plan.len()).collect();
    order.sort_by_key(|&i| (plan[i].at, i));
    let mut store: BTreeMap<&str, &str> = BTreeMap::new();
    let mut results: Vec<OpResult> = vec![OpResult::Done; plan.len()];
    for i in order {
        let p = &plan[i];
        let applied = match p.end {
            End::Ok => true,
            End::Fail => false,
            End::Info { applied } | End::Open { applied } => applied,
        };
        if !applied {
            continue;
        }
        results[i] = match &p.op {
            Op::Put { key, value } => {
                store.insert(key, value);
                OpResult::Done
            }
            Op::Get { key } => OpResult::Value(store.get(key.as_str()).map(|v| v.to_string())),
            Op::Delete { key } => {
                store.remove(key.as_str());
                OpResult::Done
            }
            Op::Cas { key, old, new } => {
                let swap = store.get(key.as_str()) == Some(&old.as_str());
                if swap {
                    store.insert(key, new);
                }
                OpResult::Swapped(swap)
            }
        };
    }

    // Emit events; at equal times a completion sorts before an invoke so a
    // client's next invoke never precedes its previous completion.
    let mut events: Vec<(u64, u8, HistoryEvent)> = Vec::with_capacity(2 * plan.len());
    for (p, result) in plan.iter().zip(&results) {
        events.push((p.call, 1, HistoryEvent::invoke(p.process, &p.op, p.call)));
        let done = match p.end {
            End::Ok => HistoryEvent::ok(p.process, &p.op, result, p.ret),
            End::Fail => HistoryEvent::fail(p.process, &p.op, p.ret),
            End::Info { .. } => HistoryEvent::info(p.process, &p.op, p.ret),
            End::Open { .. } => continue,
        };
        events.push((p.ret, 0, done));
    }
    events.sort_by_key(|(time, rank, e)| (*time, *rank, e.process));
    events.into_iter().map(|(_, _, e)| e).collect()
}

/// Changes the result of one successful get, chosen by `seed`, to a value
/// no operation ever writes, which makes any history non-linearizable.
/// Returns false (and changes nothing) if the history has no such get.
pub fn corrupt_read(events: &mut [HistoryEvent], seed: u64) -> bool {
    let gets: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == EventType::Ok && e.f == OpKind::Get)
        .map(|(i, _)| i)
        .collect();
    if gets.is_empty() {
        return false;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let i = gets[rng.random_range(0..gets.len())];
    events[i].value = EventValue::Str("never-written".into());
    true
}
