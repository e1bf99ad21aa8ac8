//! The wire on the main view: messages in flight drawn between the cards
//! where their send and delivery times put them, coloured by exchange,
//! requests told from answers, a dropped one marked where it died, held
//! ones numbered and listed — and the keys that hold, choose, deliver and
//! drop them. At 100×30 (the class layout), 120×40 and 200×50, in colour,
//! without it and in ASCII.

use super::*;
use crate::net::HeldRef;
use crate::raft::{Body, Message};
use crate::runtime::observe::{DropCause, Flight, Path, Wire};
use crate::tui::layout::Preset;
use ratatui::style::Modifier;

fn assert_screen(name: &str, screen: String) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(true);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

fn msg(from: NodeId, to: NodeId, body: Body) -> Message {
    Message {
        from,
        to,
        term: 2,
        body,
    }
}

fn vote(from: NodeId, to: NodeId) -> Message {
    let body = Body::Vote {
        last_index: 12,
        last_term: 2,
        transfer: false,
    };
    msg(from, to, body)
}

fn granted(from: NodeId, to: NodeId) -> Message {
    msg(from, to, Body::VoteResponse { granted: true })
}

fn heartbeat(from: NodeId, to: NodeId) -> Message {
    msg(
        from,
        to,
        Body::Heartbeat {
            commit: 11,
            read_seq: 0,
        },
    )
}

fn pre_vote(from: NodeId, to: NodeId) -> Message {
    let body = Body::PreVote {
        last_index: 10,
        last_term: 2,
    };
    msg(from, to, body)
}

fn heartbeat_ok(from: NodeId, to: NodeId) -> Message {
    msg(from, to, Body::HeartbeatResponse { read_seq: 0 })
}

/// At cluster time 1 s: n1's vote request a quarter of the way to n3,
/// n5's grant three quarters of the way to n3, n2's heartbeat answer just
/// off to n1, n4's pre-vote to n5 dead halfway on a cut link (its ✕
/// lingering), and two messages held by hand: #1 n2→n3 and #2 n5→n4.
/// They fit three rows.
fn wire(holding: bool) -> Wire {
    let t = 1_000_000;
    let flights = vec![
        Flight::of(&vote(1, 3), t - 5_000, t + 15_000, Path::Arrives),
        Flight::of(&granted(5, 3), t - 15_000, t + 5_000, Path::Arrives),
        Flight::of(&heartbeat_ok(2, 1), t, t + 10_000, Path::Arrives),
        Flight::of(
            &pre_vote(4, 5),
            t - 12_000,
            t + 8_000,
            Path::Dies {
                cause: DropCause::LinkDown,
                permille: 500,
            },
        ),
        Flight::of(&vote(2, 3), t - 1, t - 1, Path::Held { number: 1 }),
        Flight::of(&granted(5, 4), t - 1, t - 1, Path::Held { number: 2 }),
    ];
    Wire {
        now_us: t,
        flights: flights.into(),
        holding,
        between_ticks: false,
    }
}

fn on_the_wire(holding: bool) -> ClusterView {
    let mut v = elected();
    v.teaching.wire = wire(holding);
    v
}

fn options(color: bool, ascii: bool, preset: Preset) -> Options {
    Options {
        theme: Theme { color, ascii },
        mouse: true,
        preset,
    }
}

/// The row and column of the first `needle` on the screen that is not
/// a held message's (no number right before or after it).
fn find(s: &str, needle: &str) -> (usize, usize) {
    let held = |l: &str, b: usize| {
        l[..b].ends_with(|c: char| c.is_ascii_digit()) || l[b + needle.len()..].starts_with('#')
    };
    s.lines()
        .enumerate()
        // Not in the title's legend.
        .filter(|(_, l)| !l.contains("In flight"))
        .find_map(|(y, l)| {
            l.match_indices(needle)
                .find(|(b, _)| !held(l, *b))
                .map(|(b, _)| (y, l[..b].chars().count()))
        })
        .unwrap_or_else(|| panic!("no {needle:?} on the screen:\n{s}"))
}

#[test]
fn messages_travel_between_the_cards_at_every_size() {
    for (w, h, preset) in [
        (100, 30, Preset::Class),
        (120, 40, Preset::Dashboard),
        (200, 50, Preset::Dashboard),
    ] {
        let (mut app, _) = app_with(on_the_wire(true), options(true, false, preset));
        let s = screen(&mut app, w, h);
        assert!(!s.contains("not drawn"), "{w}x{h}:\n{s}");
        // The cards' middles, where the tracks end.
        let w5 = usize::from(w);
        let mid = |i: usize| i * w5 / 5 + (w5 / 5) / 2;
        let at = |from: usize, to: usize, share: f64| {
            let (a, b) = (mid(from) as f64, mid(to) as f64);
            (a + (b - a) * share).round() as usize
        };
        // The arrow head leads: a quarter of the way from n1 to n3.
        let (vy, vx) = find(&s, "V▶");
        assert_eq!(vx + 1, at(0, 2, 0.25), "{w}x{h}:\n{s}");
        assert_eq!(find(&s, "◁v").1, at(4, 2, 0.75), "{w}x{h}");
        assert_eq!(find(&s, "◁h").1, at(1, 0, 0.0) - 1, "{w}x{h}: just off");
        // Dead halfway to n5, the ✕ where it stopped.
        assert_eq!(find(&s, "P✕").1 + 1, at(3, 4, 0.5), "{w}x{h}:\n{s}");
        // Held ones wait halfway with their numbers, and are listed.
        assert_eq!(find(&s, "#1V▶").1 + 3, at(1, 2, 0.5), "{w}x{h}");
        assert!(s.contains("◁v#2"), "{w}x{h}:\n{s}");
        assert!(s.contains("HOLDING: 2 held"), "{w}x{h}:\n{s}");
        let list = s.lines().find(|l| l.starts_with("held:")).unwrap_or("");
        assert!(
            list.contains("▶#1 n2→n3 Vote t2") && list.contains("#2 n5→n4 VoteResp t2"),
            "{w}x{h}: {list}"
        );
        // The wire is between the cards and the log.
        let log = s.lines().position(|l| l.contains("Log (")).unwrap_or(0);
        assert!(vy > 7 && vy < log, "{w}x{h}:\n{s}");
        let name = match preset {
            Preset::Class => format!("class_{w}x{h}"),
            Preset::Dashboard => format!("dashboard_{w}x{h}"),
        };
        assert_screen(&name, s);
    }
    // The dashboard at 100×30 has two rows of messages beside the list
    // of held ones: what does not fit is counted.
    let (mut app, _) = app(on_the_wire(true));
    let s = screen(&mut app, 100, 30);
    assert!(s.contains("In flight 6 (+2 not drawn)"), "{s}");
    assert_screen("dashboard_100x30", s);
}

/// Colour tells the exchange, weight the request; without colour the
/// letters and arrows say the same.
#[test]
fn markers_are_coloured_by_exchange_and_readable_without_colour() {
    let (mut app, _) = app_with(on_the_wire(false), options(true, false, Preset::Class));
    let buf = render(&mut app, 100, 30);
    let s = text(&buf);
    let cell = |needle: &str| {
        let (y, x) = find(&s, needle);
        buf[(x as u16, y as u16)].clone()
    };
    let vote = cell("V▶");
    assert_eq!(vote.fg, Color::LightYellow);
    assert!(vote.modifier.contains(Modifier::BOLD), "a request is bold");
    let answer = cell("◁v");
    assert_eq!(answer.fg, Color::LightYellow);
    assert!(
        !answer.modifier.contains(Modifier::BOLD),
        "an answer is not"
    );
    assert_eq!(cell("◁h").fg, Color::Gray);
    assert_eq!(cell("P✕").fg, Color::LightYellow);
    let (y, x) = find(&s, "P✕");
    assert_eq!(buf[(x as u16 + 1, y as u16)].fg, Color::LightRed, "the ✕");
    // Not holding, but two still held: the title says so.
    assert!(s.contains("held: 2 held"), "{s}");

    let (mut plain, _) = app_with(on_the_wire(true), options(false, false, Preset::Class));
    let buf = render(&mut plain, 100, 30);
    assert!(
        buf.content()
            .iter()
            .all(|c| (c.fg, c.bg) == (Color::Reset, Color::Reset)),
        "a colour under NO_COLOR"
    );
    let s = text(&buf);
    for mark in ["V▶", "◁v", "◁h", "P✕", "#1V▶", "◁v#2"] {
        assert!(s.contains(mark), "{mark}:\n{s}");
    }
    assert_screen("class_100x30_no_color", s);
}

#[test]
fn the_wire_is_ascii_with_ascii() {
    for (w, h) in [(100, 30), (120, 40), (200, 50)] {
        let preset = if w == 100 {
            Preset::Class
        } else {
            Preset::Dashboard
        };
        let (mut app, _) = app_with(on_the_wire(true), options(true, true, preset));
        let s = screen(&mut app, w, h);
        let wire: String = s
            .lines()
            .skip_while(|l| !l.contains("In flight"))
            .take_while(|l| !l.contains("Log ("))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(wire.is_ascii(), "{w}x{h}:\n{wire}");
        for mark in ["V>", "<v", "<h", "Px", "#1V>", "<v#2", "held: >#1 n2->n3"] {
            assert!(wire.contains(mark), "{w}x{h}: {mark}\n{wire}");
        }
        assert_screen(&format!("ascii_{w}x{h}"), s);
    }
}

/// The same message a moment later stands nearer its receiver; when the
/// view's time passes its delivery, it is gone.
#[test]
fn a_marker_moves_as_time_passes() {
    let at = |now: u64| {
        let mut v = elected();
        v.teaching.wire = Wire {
            now_us: now,
            flights: vec![Flight::of(&vote(1, 5), 0, 20_000, Path::Arrives)].into(),
            ..Wire::default()
        };
        let (mut app, _) = app(v);
        screen(&mut app, 120, 40)
    };
    let x = |s: &str| find(s, "V▶").1;
    let (early, later) = (at(4_000), at(12_000));
    assert!(x(&later) > x(&early) + 20, "{early}\n{later}");
    let landed = at(20_000);
    let lanes = landed
        .lines()
        .skip_while(|l| !l.contains("In flight"))
        .nth(1);
    assert_eq!(lanes.map(str::trim), Some(""), "{landed}");
}

/// More messages than rows: the ones left out are counted, not lost.
#[test]
fn messages_that_do_not_fit_are_counted() {
    let mut v = elected();
    let flights: Vec<Flight> = (2..=5)
        .flat_map(|to| {
            [
                Flight::of(&heartbeat(1, to), 0, 20_000, Path::Arrives),
                Flight::of(&vote(1, to), 0, 20_000, Path::Arrives),
            ]
        })
        .collect();
    v.teaching.wire = Wire {
        now_us: 5_000,
        flights: flights.into(),
        ..Wire::default()
    };
    let (mut app, _) = app(v);
    let s = screen(&mut app, 100, 30);
    // Three rows of messages at 100×30: three drawn, five counted.
    assert!(s.contains("In flight 8 (+5 not drawn)"), "{s}");
}

#[test]
fn o_holds_and_releases() {
    let (mut idle, rec) = app(elected());
    press(&mut idle, &[key('o')]);
    let (mut holding, rec2) = app(on_the_wire(true));
    press(&mut holding, &[key('o')]);
    assert_eq!(rec.requests(), [Request::Hold]);
    assert_eq!(rec2.requests(), [Request::Release]);
}

/// `[` `]` choose among the held messages; `d` delivers and `D` drops the
/// chosen one; with nothing held they say so instead of asking anything.
#[test]
fn keys_choose_deliver_and_drop_the_held_message() {
    let (mut a, rec) = app(on_the_wire(true));
    assert_eq!(a.held_selection(), Some(1));
    press(&mut a, &[key(']'), key(']')]);
    assert_eq!(a.held_selection(), Some(2), "stops at the last");
    press(&mut a, &[key('D'), key('['), key('d')]);
    assert_eq!(
        rec.requests(),
        [
            Request::DropHeld(HeldRef::One(2)),
            Request::Deliver(HeldRef::One(1))
        ]
    );
    // #1 delivered: the choice moves on to what is still held.
    let mut v = on_the_wire(true);
    let mut w = wire(true);
    w.flights = w
        .flights
        .iter()
        .filter(|f| f.path != Path::Held { number: 1 })
        .cloned()
        .collect();
    v.teaching.wire = w;
    a.update(Action::View(NewView(Arc::new(v))));
    assert_eq!(a.held_selection(), Some(2));

    let (mut none, rec) = app(elected());
    press(&mut none, &[key('d'), key('D'), key(']')]);
    assert!(rec.requests().is_empty());
    let s = screen(&mut none, 120, 40);
    assert!(s.contains("nothing is held: o holds new messages"), "{s}");
}

/// A frame made only to move the markers on is shown, and not kept for
/// time travel.
#[test]
fn frames_between_ticks_are_shown_not_recorded() {
    let (mut app, _) = app(elected());
    let before = app.history.len();
    let mut frame = elected();
    frame.version = 8;
    frame.tick = 413;
    frame.teaching.wire = Wire {
        between_ticks: true,
        ..wire(false)
    };
    app.update(Action::View(NewView(Arc::new(frame))));
    assert_eq!(app.history.len(), before);
    assert!(app.view.teaching.wire.between_ticks);
    assert!(screen(&mut app, 120, 40).contains("V▶"));
}
