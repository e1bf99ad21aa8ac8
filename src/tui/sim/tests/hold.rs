//! Messages on the wire and held by hand in the simulated mode: the view
//! carries what is in flight with its times, `hold`, `deliver N`, `drop N`
//! and `release` are inputs like any other — recorded with their virtual
//! time and replayed by `R` into the same run — and frames between ticks
//! move the markers without changing the run.

use super::*;
use super::{assert_replay_repeats, fingerprint, session};
use crate::net::HeldRef;
use crate::runtime::ClusterView;
use crate::runtime::observe::Path;
use crate::tui::driver::Request;

const CLOCK: ClockState = ClockState {
    paused: false,
    speed: 1.0,
    tick_wall: TICK_WALL,
};

/// What the wire shows: holding, and each message with its times and end.
fn wire_print(view: &ClusterView) -> String {
    let w = &view.teaching.wire;
    let mut out = format!("hold={} ", w.holding);
    for f in w.flights.iter() {
        out.push_str(&format!(
            "{}>{}:{}@{}-{}:{:?} ",
            f.from, f.to, f.kind, f.sent_us, f.due_us, f.path
        ));
    }
    out
}

/// A run with the dashboards' visible latency (10–20 ms).
fn visible(seed: u64) -> SimSession {
    let opts = crate::sim::SimOptions {
        seed,
        latency_us: crate::tui::VISIBLE_LATENCY_US,
        ..crate::sim::SimOptions::default()
    };
    SimSession::new(opts, None, 64, format!("sim seed {seed}")).unwrap()
}

fn held(view: &ClusterView) -> Vec<u64> {
    view.teaching.wire.held_numbers()
}

fn until_leader(s: &mut SimSession) {
    for _ in 0..300 {
        if s.sim().leader().is_some() {
            return;
        }
        s.tick();
    }
    panic!("no leader in 3 s");
}

#[test]
fn the_view_shows_messages_in_flight_with_their_times() {
    let mut s = session(2);
    until_leader(&mut s);
    // Heartbeats go out every five ticks; one is on the wire soon.
    let mut seen = None;
    for _ in 0..10 {
        s.tick();
        let view = s.view(CLOCK);
        if let Some(f) = view.teaching.wire.flights.first() {
            seen = Some((view.teaching.wire.now_us, f.clone()));
            break;
        }
    }
    let (now, f) = seen.expect("a message in flight within ten ticks");
    assert!(f.sent_us <= now && now < f.due_us, "{f:?} at {now}");
    // The dashboards' latency is 0.5–2 ms here (the session's options).
    assert!(f.due_us - f.sent_us <= 2_000, "{f:?}");
    assert_eq!(f.path, Path::Arrives);
}

#[test]
fn held_messages_show_on_the_wire_and_go_by_hand() {
    let mut s = session(2);
    until_leader(&mut s);
    let answer = s.request(1, Request::Hold).expect("answered at once");
    assert!(
        answer.1.as_ref().is_ok_and(|t| t.starts_with("holding")),
        "{answer:?}"
    );
    for _ in 0..6 {
        s.tick();
    }
    let view = s.view(CLOCK);
    assert!(view.teaching.wire.holding);
    let numbers = held(&view);
    assert!(numbers.len() >= 2, "{}", wire_print(&view));

    let (_, delivered) = s
        .request(2, Request::Deliver(HeldRef::One(numbers[0])))
        .expect("answered");
    let delivered = delivered.unwrap();
    assert!(
        delivered.starts_with(&format!("delivered #{} n", numbers[0])),
        "{delivered}"
    );
    let (_, dropped) = s
        .request(3, Request::DropHeld(HeldRef::One(numbers[1])))
        .expect("answered");
    assert!(
        dropped
            .unwrap()
            .starts_with(&format!("dropped #{}", numbers[1]))
    );
    let view = s.view(CLOCK);
    let left = held(&view);
    assert!(!left.contains(&numbers[0]) && !left.contains(&numbers[1]));
    // The dropped one shows its ✕ where it waited.
    let now = view.teaching.wire.now_us;
    assert!(
        view.teaching
            .wire
            .flights
            .iter()
            .any(|f| f.dead(now) && f.progress(now) == 0.5),
        "{}",
        wire_print(&view)
    );
    let missing = s.request(4, Request::Deliver(HeldRef::One(numbers[0])));
    let err = missing.expect("answered").1.unwrap_err();
    assert!(
        err.contains(&format!("no message #{} is held", numbers[0])),
        "{err}"
    );

    let (_, released) = s.request(5, Request::Release).expect("answered");
    assert!(released.unwrap().starts_with("new messages travel again"));
    let view = s.view(CLOCK);
    assert!(!view.teaching.wire.holding && held(&view).is_empty());
}

/// The inputs of a lesson that holds an election's messages, at fixed
/// ticks (numbers as the simulator gives them, the same every run).
fn hold_inputs(tick: u64) -> Vec<Request> {
    match tick {
        10 => vec![Request::Hold],
        25 => vec![Request::Deliver(HeldRef::One(1))],
        26 => vec![Request::DropHeld(HeldRef::One(2))],
        30 => vec![Request::Deliver(HeldRef::All)],
        40 => vec![Request::Deliver(HeldRef::One(9))],
        60 => vec![Request::Release],
        90 => vec![Request::Put("x".into(), "1".into())],
        _ => vec![],
    }
}

fn drive_holding(s: &mut SimSession, ticks: u64) -> (Vec<String>, Vec<Answer>) {
    let (mut prints, mut answers, mut id) = (Vec::new(), Vec::new(), 0);
    for tick in 0..ticks {
        for r in hold_inputs(tick) {
            id += 1;
            answers.extend(s.request(id, r));
        }
        answers.extend(s.tick().answers);
        let view = s.view(CLOCK);
        prints.push(format!("{} {}", fingerprint(&view), wire_print(&view)));
    }
    (prints, answers)
}

/// `R` replays a run with holds identically: the same messages held with
/// the same numbers, delivered and dropped at the same times, the same
/// views tick for tick and the same trace.
#[test]
fn r_replays_a_run_with_holds_identically() {
    let mut s = session(4);
    let (first, answers) = drive_holding(&mut s, 200);
    let hash = s.sim().trace_hash();
    // The lesson did what it says: something held, delivered, dropped.
    let said = |start: &str| {
        answers
            .iter()
            .any(|(_, r)| r.as_ref().is_ok_and(|t| t.starts_with(start)))
    };
    assert!(said("holding") && said("delivered #1 ") && said("dropped #2 "));
    assert!(said("new messages travel again"), "{answers:?}");
    assert!(first.iter().any(|p| p.contains("Held { number: 3 }")));
    let print = |view: &ClusterView| format!("{} {}", fingerprint(view), wire_print(view));
    let events = assert_replay_repeats(&mut s, &first, hash, print);
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("replayed: delivered #1 ")),
        "{events:?}"
    );
}

/// Frames between ticks (for the markers' motion) stop the simulator at
/// other times, and change nothing in the run.
#[test]
fn frames_between_ticks_change_nothing_in_the_run() {
    let mut plain = visible(6);
    let (ticks, _) = drive_holding(&mut plain, 150);
    let mut framed = visible(6);
    let mut id = 100;
    let mut moved = false;
    for (tick, expected) in ticks.iter().enumerate() {
        for r in hold_inputs(tick as u64) {
            id += 1;
            framed.request(id, r);
        }
        let now = framed.now_us();
        framed.advance_to(now + 3_300, None);
        let a = framed.frame(CLOCK);
        framed.advance_to(now + 6_600, None);
        let b = framed.frame(CLOCK);
        assert!(a.teaching.wire.between_ticks && b.teaching.wire.between_ticks);
        let at = |v: &ClusterView| {
            v.teaching
                .wire
                .flights
                .iter()
                .map(|f| f.progress(v.teaching.wire.now_us))
                .collect::<Vec<_>>()
        };
        moved |= at(&a).iter().zip(at(&b)).any(|(x, y)| *x < y);
        framed.tick();
        let view = framed.view(CLOCK);
        assert_eq!(
            &format!("{} {}", fingerprint(&view), wire_print(&view)),
            expected,
            "tick {tick}"
        );
    }
    assert!(moved, "a marker moved between two frames");
    assert_eq!(framed.sim().trace_hash(), plain.sim().trace_hash());
}
