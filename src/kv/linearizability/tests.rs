//! Hand-written histories with known verdicts, and generated ones.

use super::generate::{corrupt_read, random_history};
use super::*;
use crate::kv::test_ops::{cas, put};
use std::collections::BTreeMap;

/// Builds a history one operation at a time; each operation's invoke and
/// completion are pushed together, which pairs them whatever the times.
#[derive(Default)]
struct H(Vec<HistoryEvent>);

impl H {
    fn ok(mut self, p: u64, op: Op, result: OpResult, call: u64, ret: u64) -> H {
        self.0.push(HistoryEvent::invoke(p, &op, call));
        self.0.push(HistoryEvent::ok(p, &op, &result, ret));
        self
    }

    fn put(self, p: u64, k: &str, v: &str, call: u64, ret: u64) -> H {
        self.ok(p, put(k, v), OpResult::Done, call, ret)
    }

    fn get(self, p: u64, k: &str, v: Option<&str>, call: u64, ret: u64) -> H {
        let read = OpResult::Value(v.map(str::to_string));
        self.ok(p, Op::Get { key: k.into() }, read, call, ret)
    }

    fn delete(self, p: u64, k: &str, call: u64, ret: u64) -> H {
        self.ok(p, Op::Delete { key: k.into() }, OpResult::Done, call, ret)
    }

    fn cas(
        self,
        p: u64,
        k: &str,
        (old, new): (&str, &str),
        swapped: bool,
        call: u64,
        ret: u64,
    ) -> H {
        self.ok(p, cas(k, old, new), OpResult::Swapped(swapped), call, ret)
    }

    /// An operation of unknown outcome; `ret: None` leaves it never completed.
    fn info(mut self, p: u64, op: Op, call: u64, ret: Option<u64>) -> H {
        self.0.push(HistoryEvent::invoke(p, &op, call));
        if let Some(ret) = ret {
            self.0.push(HistoryEvent::info(p, &op, ret));
        }
        self
    }

    fn fail(mut self, p: u64, op: Op, call: u64, ret: u64) -> H {
        self.0.push(HistoryEvent::invoke(p, &op, call));
        self.0.push(HistoryEvent::fail(p, &op, ret));
        self
    }

    fn verdict(&self) -> Verdict {
        check(&self.0).unwrap()
    }

    fn linearizable(&self) -> bool {
        match self.verdict() {
            Verdict::Linearizable => true,
            Verdict::NotLinearizable { .. } => false,
            Verdict::Unknown => panic!("no verdict"),
        }
    }
}

#[test]
fn empty_history_is_linearizable() {
    assert!(H::default().linearizable());
}

#[test]
fn sequential_history_is_linearizable() {
    let h = H::default()
        .get(1, "x", None, 0, 5)
        .put(1, "x", "1", 10, 20)
        .get(2, "x", Some("1"), 30, 40)
        .put(2, "y", "a", 50, 60)
        .get(1, "y", Some("a"), 70, 80);
    assert!(h.linearizable());
}

#[test]
fn stale_read_after_completed_write_is_not_linearizable() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .put(2, "x", "2", 20, 30)
        .get(3, "x", Some("1"), 40, 50);
    assert!(!h.linearizable());
    // The same read overlapping the second write is fine.
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .put(2, "x", "2", 20, 30)
        .get(3, "x", Some("1"), 25, 50);
    assert!(h.linearizable());
}

#[test]
fn read_of_a_value_never_written_is_not_linearizable() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .get(2, "x", Some("9"), 0, 50);
    assert!(!h.linearizable());
}

#[test]
fn reads_may_see_concurrent_puts_in_either_order() {
    let h = H::default()
        .put(1, "x", "1", 0, 100)
        .put(2, "x", "2", 0, 100)
        .get(3, "x", Some("2"), 10, 20)
        .get(3, "x", Some("1"), 30, 40)
        .get(4, "x", Some("1"), 200, 210);
    assert!(h.linearizable());
}

#[test]
fn reads_disagreeing_on_the_order_of_concurrent_puts_are_not_linearizable() {
    // Both puts are over when the reads start: every later read must see
    // the same last write.
    let h = H::default()
        .put(1, "x", "1", 0, 100)
        .put(2, "x", "2", 0, 100)
        .get(3, "x", Some("1"), 200, 210)
        .get(4, "x", Some("2"), 220, 230);
    assert!(!h.linearizable());
}

#[test]
fn reads_going_back_in_time_are_not_linearizable() {
    let h = H::default()
        .put(1, "x", "1", 0, 100)
        .put(2, "x", "2", 0, 100)
        .get(3, "x", Some("1"), 10, 20)
        .get(3, "x", Some("2"), 30, 40)
        .get(3, "x", Some("1"), 50, 60);
    assert!(!h.linearizable());
}

#[test]
fn lost_write_is_not_linearizable() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .put(2, "x", "2", 20, 30)
        .get(1, "x", Some("2"), 40, 50)
        .get(2, "x", None, 60, 70);
    assert!(!h.linearizable());
}

#[test]
fn cas_swaps_only_from_the_value_held() {
    let h = H::default()
        .put(1, "x", "a", 0, 10)
        .cas(1, "x", ("a", "b"), true, 20, 30)
        .cas(2, "x", ("a", "c"), false, 40, 50)
        .get(1, "x", Some("b"), 60, 70);
    assert!(h.linearizable());
    // Two cas from the same old value cannot both swap...
    let h = H::default()
        .put(1, "x", "a", 0, 10)
        .cas(1, "x", ("a", "b"), true, 20, 30)
        .cas(2, "x", ("a", "c"), true, 20, 30);
    assert!(!h.linearizable());
    // ...a cas on an absent key never swaps...
    let h = H::default().cas(1, "x", ("a", "b"), true, 0, 10);
    assert!(!h.linearizable());
    // ...and a cas that finds its old value must swap.
    let h = H::default()
        .put(1, "x", "a", 0, 10)
        .cas(2, "x", ("a", "b"), false, 20, 30);
    assert!(!h.linearizable());
}

#[test]
fn delete_clears_the_key() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .delete(2, "x", 20, 30)
        .get(1, "x", None, 40, 50);
    assert!(h.linearizable());
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .delete(2, "x", 20, 30)
        .get(1, "x", Some("1"), 40, 50);
    assert!(!h.linearizable());
}

#[test]
fn info_write_may_have_taken_effect() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .info(2, put("x", "2"), 20, Some(30))
        .get(1, "x", Some("2"), 100, 110);
    assert!(h.linearizable());
}

#[test]
fn info_write_may_not_have_taken_effect() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .info(2, put("x", "2"), 20, Some(30))
        .get(1, "x", Some("1"), 100, 110);
    assert!(h.linearizable());
}

#[test]
fn info_write_may_take_effect_after_its_info() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .info(2, put("x", "2"), 20, Some(30))
        .get(1, "x", Some("1"), 40, 50)
        .get(1, "x", Some("2"), 60, 70);
    assert!(h.linearizable());
}

#[test]
fn info_write_takes_effect_at_most_once() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .info(2, put("x", "2"), 20, Some(30))
        .get(1, "x", Some("2"), 40, 50)
        .put(3, "x", "3", 60, 70)
        .get(1, "x", Some("2"), 80, 90)
        .get(1, "x", Some("3"), 100, 110);
    assert!(!h.linearizable());
}

#[test]
fn info_write_cannot_take_effect_before_its_invoke() {
    let h = H::default()
        .get(1, "x", Some("2"), 0, 10)
        .info(2, put("x", "2"), 20, Some(30));
    assert!(!h.linearizable());
}

#[test]
fn never_completed_invoke_may_take_effect() {
    let h = H::default()
        .info(2, put("x", "2"), 0, None)
        .get(1, "x", None, 10, 20)
        .get(1, "x", Some("2"), 1000, 1010);
    assert!(h.linearizable());
}

#[test]
fn info_cas_result_is_unconstrained() {
    let h = H::default()
        .put(1, "x", "a", 0, 10)
        .info(2, cas("x", "a", "b"), 20, Some(30))
        .get(1, "x", Some("b"), 40, 50);
    assert!(h.linearizable());
    // It cannot swap from a value the key does not hold.
    let h = H::default()
        .put(1, "x", "z", 0, 10)
        .info(2, cas("x", "a", "b"), 20, Some(30))
        .get(1, "x", Some("b"), 40, 50);
    assert!(!h.linearizable());
}

#[test]
fn info_get_is_ignored() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .info(2, Op::Get { key: "x".into() }, 20, None);
    assert!(h.linearizable());
}

#[test]
fn failed_operations_did_not_take_effect() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .fail(2, put("x", "2"), 20, 30)
        .get(1, "x", Some("1"), 40, 50);
    assert!(h.linearizable());
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .fail(2, put("x", "2"), 20, 30)
        .get(1, "x", Some("2"), 40, 50);
    assert!(!h.linearizable());
}

#[test]
fn keys_are_independent() {
    // Per key this is fine; only a checker mixing keys would object.
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .put(2, "y", "1", 0, 10)
        .get(3, "x", Some("1"), 20, 30)
        .get(3, "y", Some("1"), 40, 50)
        .delete(1, "x", 60, 70)
        .get(2, "y", Some("1"), 80, 90);
    assert!(h.linearizable());
}

/// `writes` pending writes of unknown outcome, alternately "a" and "b",
/// then `reads` reads that see the value flip every time.
fn flips(writes: u64, reads: u64) -> H {
    let mut h = H::default();
    for p in 0..writes {
        let v = if p % 2 == 0 { "a" } else { "b" };
        h = h.info(1000 + p, put("x", v), p, None);
    }
    for i in 0..reads {
        let v = if i % 2 == 0 { "a" } else { "b" };
        h = h.get(1, "x", Some(v), 1000 + 10 * i, 1005 + 10 * i);
    }
    h
}

#[test]
fn many_pending_unknown_writes_stay_cheap() {
    // Without treating equal pending writes as interchangeable these are
    // searches over 2^200 and 2^40 subsets.
    let verdict = check_with_budget(&flips(200, 100).0, Duration::from_secs(5)).unwrap();
    assert_eq!(verdict, Verdict::Linearizable);
    // One flip more than the writes allow.
    let verdict = check_with_budget(&flips(40, 41).0, Duration::from_secs(5)).unwrap();
    assert!(
        matches!(verdict, Verdict::NotLinearizable { .. }),
        "{verdict:?}"
    );
}

#[test]
fn explanation_names_the_operations_and_times() {
    let h = H::default()
        .put(1, "x", "1", 0, 10)
        .put(2, "x", "2", 20, 30)
        .get(3, "x", Some("1"), 40, 50);
    let Verdict::NotLinearizable { key, explanation } = h.verdict() else {
        panic!("expected a violation");
    };
    assert_eq!(key, "x");
    assert!(
        explanation.contains("process 1: put \"x\" \"1\" → ok [0µs, 10µs]"),
        "{explanation}"
    );
    assert!(
        explanation.contains("process 2: put \"x\" \"2\" → ok [20µs, 30µs]"),
        "{explanation}"
    );
    assert!(
        explanation.contains("returned without any order letting it take effect:\n  process 3: get \"x\" → \"1\" [40µs, 50µs]"),
        "{explanation}"
    );
    assert!(
        explanation.contains("after which \"x\" holds \"2\""),
        "{explanation}"
    );
}

#[test]
fn the_smallest_failing_key_is_reported() {
    let h = H::default()
        .put(1, "big", "1", 0, 10)
        .put(1, "big", "2", 20, 30)
        .get(1, "big", Some("1"), 40, 50)
        .get(1, "big", Some("2"), 60, 70)
        .get(2, "small", Some("ghost"), 0, 10)
        .put(3, "fine", "1", 0, 10);
    let Verdict::NotLinearizable { key, explanation } = h.verdict() else {
        panic!("expected a violation");
    };
    assert_eq!(key, "small", "{explanation}");
    assert!(
        explanation.contains("process 2: get \"small\" → \"ghost\""),
        "{explanation}"
    );
}

#[test]
fn unpaired_events_are_an_error() {
    let events = vec![HistoryEvent::ok(1, &put("x", "1"), &OpResult::Done, 5)];
    assert!(check(&events).is_err());
}

#[test]
fn an_exhausted_budget_gives_unknown() {
    let events = random_history(1, 2000, 1, 10);
    assert_eq!(
        check_with_budget(&events, Duration::ZERO).unwrap(),
        Verdict::Unknown
    );
}

#[test]
fn generated_histories_are_deterministic() {
    assert_eq!(random_history(7, 300, 3, 5), random_history(7, 300, 3, 5));
    assert_ne!(random_history(7, 300, 3, 5), random_history(8, 300, 3, 5));
}

#[test]
fn generated_histories_are_linearizable() {
    for seed in 0..40 {
        // Few keys and many clients: high concurrency per key.
        let events = random_history(seed, 400, 2, 8);
        assert_eq!(
            check(&events).unwrap(),
            Verdict::Linearizable,
            "seed {seed}"
        );
        let events = random_history(seed, 400, 10, 20);
        assert_eq!(
            check(&events).unwrap(),
            Verdict::Linearizable,
            "seed {seed}"
        );
    }
}

#[test]
fn corrupted_generated_histories_are_not_linearizable() {
    for seed in 0..40 {
        let mut events = random_history(seed, 400, 2, 8);
        assert!(corrupt_read(&mut events, seed));
        let verdict = check(&events).unwrap();
        assert!(
            matches!(verdict, Verdict::NotLinearizable { ref explanation, .. } if explanation.contains("never-written")),
            "seed {seed}: {verdict:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn any_generated_history_is_linearizable(seed: u64, keys in 1usize..4, clients in 1usize..12) {
        let events = random_history(seed, 200, keys, clients);
        proptest::prop_assert_eq!(check(&events).unwrap(), Verdict::Linearizable);
        let mut events = events;
        if corrupt_read(&mut events, seed) {
            let verdict = check(&events).unwrap();
            let rejected = matches!(verdict, Verdict::NotLinearizable { .. });
            proptest::prop_assert!(rejected, "seed {}: {:?}", seed, verdict);
        }
    }
}

#[test]
#[ignore = "prints an explanation for a person to read"]
fn show_explanation() {
    let mut events = random_history(3, 60, 1, 4);
    corrupt_read(&mut events, 3);
    if let Verdict::NotLinearizable { explanation, .. } = check(&events).unwrap() {
        println!("{explanation}");
    }
}

/// A reference checker for tiny histories: tries every order of the
/// operations that respects real time (ties count as concurrent, as in the
/// checker) against one store holding all keys.
fn brute_force(ops: &[Operation]) -> bool {
    fn dfs(ops: &[&Operation], done: &mut Vec<bool>, store: &BTreeMap<String, String>) -> bool {
        if done.iter().all(|d| *d) {
            return true;
        }
        for (i, op) in ops.iter().enumerate() {
            if done[i] {
                continue;
            }
            // Some other remaining operation returned before this one began.
            let blocked = ops
                .iter()
                .enumerate()
                .any(|(j, other)| !done[j] && j != i && other.ret.is_some_and(|r| r < op.call));
            if blocked {
                continue;
            }
            let mut next = store.clone();
            let key = op.op.key().to_string();
            let result = match &op.op {
                Op::Put { value, .. } => {
                    next.insert(key, value.clone());
                    OpResult::Done
                }
                Op::Delete { .. } => {
                    next.remove(&key);
                    OpResult::Done
                }
                Op::Get { .. } => OpResult::Value(store.get(&key).cloned()),
                Op::Cas { old, new, .. } => {
                    let swap = store.get(&key) == Some(old);
                    if swap {
                        next.insert(key, new.clone());
                    }
                    OpResult::Swapped(swap)
                }
            };
            if let Outcome::Ok(told) = &op.outcome
                && *told != result
            {
                continue;
            }
            done[i] = true;
            if dfs(ops, done, &next) {
                return true;
            }
            done[i] = false;
        }
        false
    }
    let relevant: Vec<&Operation> = ops
        .iter()
        .filter(|op| op.outcome != Outcome::Fail)
        .collect();
    dfs(
        &relevant,
        &mut vec![false; relevant.len()],
        &BTreeMap::new(),
    )
}

/// A tiny history with arbitrary (mostly wrong) results and overlapping,
/// sometimes touching, intervals.
fn tiny_history(seed: u64) -> Vec<HistoryEvent> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let values = ["a", "b"];
    let pick = |rng: &mut rand_chacha::ChaCha8Rng| values[rng.random_range(0..2)].to_string();
    let mut events = Vec::new();
    for p in 0..3u64 {
        let mut time = rng.random_range(0..4u64);
        for _ in 0..rng.random_range(0..4) {
            let key = if rng.random_bool(0.8) { "x" } else { "y" }.to_string();
            let (op, result) = match rng.random_range(0..4) {
                0 => (
                    Op::Put {
                        key,
                        value: pick(&mut rng),
                    },
                    OpResult::Done,
                ),
                1 => (Op::Delete { key }, OpResult::Done),
                2 => {
                    let read = rng.random_bool(0.7).then(|| pick(&mut rng));
                    (Op::Get { key }, OpResult::Value(read))
                }
                _ => (
                    Op::Cas {
                        key,
                        old: pick(&mut rng),
                        new: pick(&mut rng),
                    },
                    OpResult::Swapped(rng.random_bool(0.5)),
                ),
            };
            let call = time;
            let ret = call + rng.random_range(0..6u64);
            events.push(HistoryEvent::invoke(p, &op, call));
            match rng.random_range(0..10) {
                0 => events.push(HistoryEvent::fail(p, &op, ret)),
                1 => events.push(HistoryEvent::info(p, &op, ret)),
                _ => events.push(HistoryEvent::ok(p, &op, &result, ret)),
            }
            time = ret + rng.random_range(0..3u64);
        }
    }
    events
}

#[test]
fn agrees_with_brute_force_on_tiny_histories() {
    let mut rejected = 0;
    for seed in 0..3000 {
        let events = tiny_history(seed);
        let expected = brute_force(&operations(&events).unwrap());
        let verdict = check(&events).unwrap();
        assert_eq!(
            verdict == Verdict::Linearizable,
            expected,
            "seed {seed}: {verdict:?}\n{events:#?}"
        );
        rejected += usize::from(!expected);
    }
    // Both verdicts must be well represented for the comparison to mean much.
    assert!(
        (300..2700).contains(&rejected),
        "{rejected} of 3000 rejected"
    );
}

#[test]
fn checks_a_history_read_from_a_file() {
    let text = r#"{"process":1,"type":"invoke","f":"put","key":"x","value":"1","time":0}
{"process":1,"type":"ok","f":"put","key":"x","value":"1","time":10}
{"process":2,"type":"invoke","f":"cas","key":"x","value":["1","2"],"time":20}
{"process":2,"type":"ok","f":"cas","key":"x","value":true,"time":30}
{"process":3,"type":"invoke","f":"get","key":"x","value":null,"time":40}
{"process":3,"type":"ok","f":"get","key":"x","value":"1","time":50}
"#;
    let events = crate::kv::history::read_jsonl(text.as_bytes()).unwrap();
    let Verdict::NotLinearizable { key, explanation } = check(&events).unwrap() else {
        panic!("a read of the value the cas replaced must be rejected");
    };
    assert_eq!(key, "x");
    assert!(
        explanation.contains("process 2: cas \"x\" \"1\"→\"2\" → true [20µs, 30µs]"),
        "{explanation}"
    );
    // Written back out, it is byte for byte the text read.
    let mut out = Vec::new();
    crate::kv::history::write_jsonl(&events, &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), text);
}
