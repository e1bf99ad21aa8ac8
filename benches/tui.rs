//! Render time of one dashboard frame: 9 nodes with 500 log entries each,
//! with no message on the wire and with a busy wire (the leader's
//! heartbeats to its 8 followers on their way, their 8 answers, a dropped
//! one and 2 held by hand).
//!
//! `cargo bench --bench tui` draws the full dashboard on ratatui's
//! `TestBackend` (the same `draw` the terminal uses; only the escape codes
//! to a real terminal are left out) at 120×40 and 200×50 and prints the
//! mean time per frame.

use std::sync::Arc;
use std::time::{Duration, Instant};

use raftlab::raft::{Body, Message, Progress, Role};
use raftlab::runtime::observe::{DropCause, Flight, Path, Wire};
use raftlab::runtime::{ClusterView, LinkView, LogEntryView, NodeState, NodeView, ViewEvent};
use raftlab::tui::{Action, App, Driver, Options, Request, draw};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

struct Nothing;

impl Driver for Nothing {
    fn submit(&mut self, _: u64, _: Request) {}
}

fn view(nodes: u64, entries: u64) -> ClusterView {
    let log: Arc<[LogEntryView]> = (1..=entries)
        .map(|i| LogEntryView {
            index: i,
            term: 1 + i / 50,
            text: format!("put key{i}=value{i}"),
        })
        .collect();
    let last_term = 1 + entries / 50;
    let nodes: Vec<Arc<NodeView>> = (1..=nodes)
        .map(|id| {
            Arc::new(NodeView {
                id,
                state: NodeState::Up,
                role: if id == 1 {
                    Role::Leader
                } else {
                    Role::Follower
                },
                term: last_term,
                vote: Some(1),
                leader: Some(1),
                commit: entries - 2,
                applied: entries - 2,
                last_index: entries,
                last_term,
                snapshot_index: 0,
                election_elapsed: id,
                election_timeout: 20,
                log: log.clone(),
                sent: 1000,
                received: 1000,
                membership: Default::default(),
                membership_pending: false,
                votes: None,
                progress: if id == 1 {
                    (2..=nodes)
                        .map(|f| {
                            let p = Progress {
                                match_index: entries - f,
                                next_index: entries + 1,
                            };
                            (f, p)
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                refusals: Vec::new(),
            })
        })
        .collect();
    let mut links = Vec::new();
    for from in 1..=nodes.len() as u64 {
        for to in 1..=nodes.len() as u64 {
            if from != to {
                links.push(LinkView {
                    from,
                    to,
                    up: true,
                    loss: 0.0,
                    delay_min_us: 500,
                    delay_max_us: 2000,
                    duplicate: 0.0,
                    in_flight: 1,
                    delivered: 100,
                    dropped: 0,
                });
            }
        }
    }
    ClusterView {
        version: 1,
        at_us: 0,
        tick: 1000,
        clock_paused: false,
        speed: 1.0,
        tick_wall: Duration::from_millis(50),
        groups: vec![nodes.iter().map(|n| n.id).collect()],
        nodes,
        links,
        events: (0..256)
            .map(|i| ViewEvent {
                at_us: i * 1000,
                tick: i,
                node: Some(1 + i % 9),
                text: format!("event number {i}"),
                count: 1,
            })
            .collect(),
        teaching: Default::default(),
    }
}

/// The leader's heartbeats to every follower mid-way, the answers on
/// their way back, one dropped on a cut link and two held by hand.
fn busy_wire(nodes: u64) -> Wire {
    let now = 1_000_000;
    let msg = |from, to, body| Message {
        from,
        to,
        term: 3,
        body,
    };
    let mut flights = Vec::new();
    for f in 2..=nodes {
        let beat = Body::Heartbeat {
            commit: 498,
            read_seq: 0,
        };
        let sent = now - 1_000 * f;
        flights.push(Flight::of(
            &msg(1, f, beat),
            sent,
            sent + 15_000,
            Path::Arrives,
        ));
        let ok = Body::HeartbeatResponse { read_seq: 0 };
        flights.push(Flight::of(
            &msg(f, 1, ok),
            sent,
            sent + 12_000,
            Path::Arrives,
        ));
    }
    let lost = Path::Dies {
        cause: DropCause::LinkDown,
        permille: 500,
    };
    let beat = Body::Heartbeat {
        commit: 498,
        read_seq: 0,
    };
    flights.push(Flight::of(
        &msg(1, nodes, beat.clone()),
        now - 9_000,
        now + 6_000,
        lost,
    ));
    for (number, to) in [(1, 2), (2, 3)] {
        let path = Path::Held { number };
        flights.push(Flight::of(&msg(1, to, beat.clone()), now, now, path));
    }
    Wire {
        now_us: now,
        flights: flights.into(),
        holding: true,
        between_ticks: false,
    }
}

fn main() {
    for (w, h, busy) in [
        (120u16, 40u16, false),
        (120, 40, true),
        (200, 50, false),
        (200, 50, true),
    ] {
        let mut shown = view(9, 500);
        if busy {
            shown.teaching.wire = busy_wire(9);
        }
        let wire = if busy {
            "busy wire (19 messages)"
        } else {
            "quiet wire"
        };
        let mut app = App::new(Arc::new(shown), Box::new(Nothing), Options::default());
        app.update(Action::Resize(w, h));
        // The test backend cannot fail.
        let Ok(mut terminal) = Terminal::new(TestBackend::new(w, h));
        let frames = 2000u32;
        let mut best = Duration::MAX;
        let cpu_before = thread_cpu();
        for _ in 0..3 {
            let start = Instant::now();
            for i in 0..frames {
                // Alternate scroll so every frame differs from the last.
                app.log_scroll = u64::from(i % 2);
                if terminal.draw(|f| draw(&app, f)).is_err() {
                    eprintln!("draw failed");
                    std::process::exit(1);
                }
            }
            best = best.min(start.elapsed());
        }
        let per = best / frames;
        // CPU time this thread spent per frame: on a loaded machine the
        // wall time above also counts the time others had the core.
        let cpu = match (cpu_before, thread_cpu()) {
            (Some(a), Some(b)) => format!(
                "{:.1} µs of CPU",
                b.saturating_sub(a).as_secs_f64() * 1e6 / f64::from(3 * frames)
            ),
            _ => "CPU time unknown".to_string(),
        };
        // The same loop drawing only a clear screen: the cost of ratatui's
        // buffer swap and diff and of the test backend, not of our panes.
        let start = Instant::now();
        for i in 0..frames {
            let fill = if i % 2 == 0 { "a" } else { "b" };
            let _ = terminal.draw(|f| {
                let area = f.area();
                f.buffer_mut()
                    .set_string(0, 0, fill, ratatui::style::Style::new());
                let _ = area;
            });
        }
        let base = start.elapsed() / frames;
        println!(
            "render {w}x{h}, 9 nodes x 500 entries, {wire}: {:.1} µs per frame, {cpu} ({:.1} µs of it ratatui's diff and the test backend)",
            per.as_secs_f64() * 1e6,
            base.as_secs_f64() * 1e6
        );
        // The same frames with the "why?" answer open on the log cursor's
        // entry: it is computed from the view on every frame.
        app.focus = raftlab::tui::Focus::Log;
        app.why = true;
        let mut best = Duration::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            for i in 0..frames {
                app.log_scroll = u64::from(i % 2);
                let _ = terminal.draw(|f| draw(&app, f));
            }
            best = best.min(start.elapsed());
        }
        println!(
            "render {w}x{h} with the why? answer open: {:.1} µs per frame",
            (best / frames).as_secs_f64() * 1e6
        );
    }
}

/// The CPU time this thread has used (user and system), from
/// `/proc/thread-self/stat` (Linux; `None` elsewhere), to the clock tick.
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // The fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the file: 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // The kernel's USER_HZ, 100 on every Linux this runs on.
    Some(Duration::from_millis(ticks * 10))
}
